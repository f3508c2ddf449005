"""Expectations against replies: what passes, and what a failure shows beside what arrived."""

from __future__ import annotations

import json

import pytest

from apichat.payloads import parse_bot_message
from apichat.scenarios import evaluate, parse_scenario, side_by_side


def row(body: dict, id_: int = 1) -> dict:
    msg = parse_bot_message(body)
    return {"id": id_, "kind": msg.kind, "author": msg.author, "data": json.dumps(msg.to_dict(raw=False)),
            "raw": json.dumps(body), "created_at": 0.0}


def say(**extra) -> dict:
    return {"sender_id": "c", "conv_id": 1, "type": "text", "message_type": "outgoing", "private": False, **extra}


MENU = say(text="Pick one", content_type="button_template", content_attributes={"text": "Pick one", "buttons": [
    {"type": "postback", "title": "A", "payload": "PA"}, {"type": "postback", "title": "B", "payload": "PB"}]})


CARDS = say(text="Cards", content_type="generic_template", content_attributes={"ratio": "square", "items": [
    {"title": "One", "buttons": []}, {"title": "Two", "buttons": []}]})


IMAGE = {"sender_id": "c", "conv_id": 1, "type": "image", "url": "https://x.test/a.png", "message_type": "outgoing"}


NOTE = say(text="internal", private=True)


def check(expect_yaml: str, replies: list[dict]) -> list:
    step = parse_scenario(f"steps:\n  - send: hi\n{expect_yaml}", "m.yaml").steps[0]
    return evaluate(step, [row(r, i) for i, r in enumerate(replies, 1)])


@pytest.mark.parametrize("expect, passes", [
    ("    expect: {buttons: [A, B]}\n", True),
    ("    expect: {buttons: [B, A]}\n", False),
    ("    expect: {buttons: {any_order: [B, A]}}\n", True),
    ("    expect: {buttons: {include: [B]}}\n", True),
    ("    expect: {buttons: {exclude: [C]}}\n", True),
    ("    expect: {text: Pick one, buttons: {exclude: [A]}}\n", False),
    ("    expect: {buttons: [{title: A, type: postback}, {title: B, type: web_url}]}\n", False),
    ("    expect: {buttons: [{title: A, payload: PA}, {title: B, payload: PX}]}\n", False),
    ("    expect: {cards: {count: 2, titles: [One, Two], ratio: square}}\n", True),
    ("    expect: {cards: {titles: {any_order: [Two, {contains: On}]}}}\n", True),
    ("    expect: {cards: 3}\n", False),
    ("    expect: {image: {ends_with: a.png}}\n", True),
    ("    expect: {video: true}\n", False),
    ("    expect: {text: {matches: '^Pick', not: {contains: nope}}}\n", True),
    ("    expect: {text: Pick}\n", False),
    ("    expect: [{text: Pick one}, {cards: 2}, {image: true}]\n", True),
    ("    expect: [{image: true}, {text: Pick one}]\n", False),
    ("    any_order: true\n    expect: [{image: true}, {text: Pick one}]\n", True),
    ("    any_order: true\n    expect: [{image: true}, {image: true}]\n", False),
    ("    expect: {not: {private: true}}\n", True),
    ("    expect: {text: Pick one, not: {private: true}}\n", True),
    ("    messages: 3\n", True),
    ("    messages: {min: 4}\n", False),
])


def test_expectations_against_replies(expect, passes):
    assert (check(expect, [MENU, CARDS, IMAGE]) == []) is passes


def test_a_failure_shows_expected_beside_what_arrived_for_the_closest_reply():
    failures = check("    expect: {cards: {count: 3, titles: [One, Three]}}\n", [MENU, CARDS])
    assert len(failures) == 1
    failure = failures[0]
    assert failure.line == 3 and failure.reply_id == 2
    assert "closest: reply 2 of 2, cards" in failure.problem
    assert [(m.what, m.expected, m.arrived) for m in failure.rows] == [
        ("cards.count", "3", "2"), ("cards.titles", '["One", "Three"]', '["One", "Two"]')]
    text = "\n".join(side_by_side(failure.rows))
    assert "expected" in text and "arrived" in text and '["One", "Two"]' in text


def test_a_forbidden_reply_is_reported_with_its_position():
    failures = check("    expect: {not: {private: true}}\n", [MENU, NOTE])
    assert failures[0].reply_id == 2 and "reply 2 of 2" in failures[0].problem
