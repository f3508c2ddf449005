"""Each matcher at its boundaries, as a scenario file states it, and the "expected" column a person reads.

Every row is an expectation written as in a scenario file, a reply the bot sent, and whether it passes; where
it fails, what the failure shows as expected. These pin what a QA tester relies on when a scenario is green.
"""

from __future__ import annotations

import json

import pytest

from apichat.payloads import parse_bot_message
from apichat.scenarios import evaluate, parse_scenario


def reply(body: dict, id_: int = 1) -> dict:
    msg = parse_bot_message(body)
    return {"id": id_, "kind": msg.kind, "author": msg.author, "data": json.dumps(msg.to_dict(raw=False)),
            "raw": json.dumps(body), "created_at": 0.0}


def text(value: str) -> dict:
    return {"sender_id": "c", "conv_id": 1, "type": "text", "message_type": "outgoing", "text": value}


def buttons(*items: dict, text_: str = "Pick one") -> dict:
    return {**text(text_), "content_type": "button_template",
            "content_attributes": {"text": text_, "buttons": list(items)}}


def postback(title: str, payload: str | None = None) -> dict:
    return {"type": "postback", "title": title, "payload": payload if payload is not None else title.upper()}


def link(title: str, url: str) -> dict:
    return {"type": "web_url", "title": title, "url": url}


def call(title: str, number: str) -> dict:
    return {"type": "phone_number", "title": title, "payload": number}


def cards(*titles: str, ratio: str = "horizontal") -> dict:
    return {**text("Cards"), "content_type": "generic_template",
            "content_attributes": {"ratio": ratio, "items": [{"title": t, "buttons": []} for t in titles]}}


def failures(expect: str, replies: list[dict], step_extra: str = "") -> list:
    step = parse_scenario(f"steps:\n  - send: hi\n{step_extra}    expect: {expect}\n", "m.yaml").steps[0]
    return evaluate(step, [reply(r, i) for i, r in enumerate(replies, 1)])


def passes(expect: str, *replies: dict) -> bool:
    return failures(expect, list(replies)) == []


def expected_column(expect: str, *replies: dict) -> list[tuple[str, str]]:
    """What the failure of the closest reply shows as expected, per row."""
    found = failures(expect, list(replies))
    assert found, f"{expect} should fail"
    return [(m.what, m.expected) for m in found[0].rows]


# ---------------------------------------------------------------- text operators, each positive and negative

@pytest.mark.parametrize("expect, value, ok", [
    ("{text: Hello there}", "Hello there", True),
    ("{text: Hello there}", "Hello there!", False),
    ("{text: Hello there}", "hello there", False),
    ("{text: {equals: Hi}}", "Hi", True),
    ("{text: {equals: Hi}}", "Hi!", False),
    ("{text: {contains: open}}", "We are open now", True),
    ("{text: {contains: open}}", "We are closed", False),
    ("{text: {contains: [open, Monday]}}", "open on Monday", True),
    ("{text: {contains: [open, Monday]}}", "open on Tuesday", False),
    ("{text: {matches: 'order #\\d+'}}", "Your order #123 is ready", True),
    ("{text: {matches: 'order #\\d+'}}", "Your order is ready", False),
    ("{text: {starts_with: Welcome}}", "Welcome back", True),
    ("{text: {starts_with: Welcome}}", "Oh, Welcome", False),
    ("{text: {ends_with: 'today?'}}", "How can I help today?", True),
    ("{text: {ends_with: 'today?'}}", "today? How can I help", False),
    ("{text: {not: {contains: error}}}", "All good", True),
    ("{text: {not: {contains: error}}}", "An error happened", False),
    ("{text: {contains: good, not: {contains: error}}}", "All good", True),
    ("{text: {contains: good, not: {contains: error}}}", "good error", False),
    ("{text: {starts_with: A, ends_with: Z}}", "A to Z", True),
    ("{text: {starts_with: A, ends_with: Z}}", "A to Y", False),
    ("{text: {starts_with: A, ends_with: Z}}", "B to Z", False),
    ("{text: true}", "anything at all", True),
    ("{text: true}", "", False),
    ("{text: ''}", "", True),
    ("{text: ''}", "x", False),
    ("{text: {not: {contains: X}}}", "", True),
])
def test_each_text_operator_accepts_what_it_says_and_refuses_the_rest(expect, value, ok):
    assert passes(expect, text(value)) is ok


@pytest.mark.parametrize("expect, shown", [
    ("{text: Hi}", '"Hi"'),
    ("{text: {contains: [a, b]}}", 'contains "a" and contains "b"'),
    ("{text: {matches: '^x+$'}}", "matches /^x+$/"),
    ("{text: {starts_with: Go}}", 'starts with "Go"'),
    ("{text: {ends_with: end}}", 'ends with "end"'),
    ("{text: {not: {contains: yes}}}", 'not (contains "yes")'),
    ("{text: {equals: yes, not: {ends_with: s}}}", '"yes" and not (ends with "s")'),
])
def test_a_text_failure_says_what_was_expected_and_what_came(expect, shown):
    assert expected_column(expect, text("yes")) == [("text", shown)]
    assert [m.arrived for m in failures(expect, [text("yes")])[0].rows] == ['"yes"']


def test_media_true_needs_a_url_and_a_media_matcher_reads_the_url():
    image = {"sender_id": "c", "conv_id": 1, "type": "image", "url": "https://x.test/cat.png"}
    assert passes("{image: true}", image)
    assert not passes("{image: true}", text("no picture"))
    assert passes("{image: {ends_with: .png}}", image)
    assert not passes("{image: {ends_with: .jpg}}", image)
    assert expected_column("{image: true}", text("none")) == [("image", "any value")]
    assert expected_column("{image: {ends_with: .jpg}}", image) == [("image", 'ends with ".jpg"')]


# ---------------------------------------------------------------- buttons: each field and each type alias

MENU = buttons(postback("Products", "SHOW_PRODUCTS"), link("Website", "https://shop.test/"), call("Call us", "+6100"))


@pytest.mark.parametrize("spec, ok", [
    ("{title: Products}", True),
    ("{title: Product}", False),
    ("{payload: SHOW_PRODUCTS}", True),
    ("{payload: SHOW}", False),
    ("{payload: {starts_with: SHOW}}", True),
    ("{url: 'https://shop.test/'}", True),
    ("{url: {contains: shop.test}}", True),
    ("{url: 'https://other.test/'}", False),
    ("{title: Website, url: 'https://shop.test/'}", True),
    ("{title: Products, url: 'https://shop.test/'}", False),
    ("{title: Products, payload: WRONG}", False),
    ("{title: Products, type: postback}", True),
    ("{title: Products, type: web_url}", False),
    ("{title: Website, type: web_url}", True),
    ("{title: Website, type: url}", True),
    ("{title: Website, type: postback}", False),
    ("{title: Call us, type: phone_number}", True),
    ("{title: Call us, type: call}", True),
    ("{title: Call us, type: web_url}", False),
    ("{type: phone_number}", True),
])
def test_a_button_is_matched_by_each_of_its_fields(spec, ok):
    assert passes(f"{{buttons: {{include: [{spec}]}}}}", MENU) is ok


def test_a_button_of_another_type_is_refused_even_when_every_other_field_matches():
    only_link = buttons(link("Products", "https://shop.test/"))
    assert not passes("{buttons: [{title: Products, type: postback}]}", only_link)
    assert passes("{buttons: [{title: Products, type: web_url}]}", only_link)


@pytest.mark.parametrize("spec, shown", [
    ("[Products]", '["Products"]'),
    ("[{title: Products}]", '["Products"]'),
    ("[{title: Products, payload: X}]", '[{title "Products", payload "X"}]'),
    ("[{url: {contains: z}}]", '[{url contains "z"}]'),
    ("[{title: Products, type: web_url}]", '[{title "Products", type url}]'),
    ("[{type: call}]", "[{type call}]"),
])
def test_a_button_failure_shows_each_field_expected(spec, shown):
    one = buttons(postback("Other", "O"))
    assert expected_column(f"{{buttons: {spec}}}", one) == [("buttons", shown)]


def test_the_buttons_that_came_are_shown_with_their_payload_or_link():
    found = failures("{buttons: [Nope]}", [MENU])
    assert found[0].rows[0].arrived == '["Products" (SHOW_PRODUCTS), "Website" (https://shop.test/), "Call us" (tel:+6100)]'
    same = failures("{buttons: [Nope]}", [buttons(postback("YES", "YES"))])
    assert same[0].rows[0].arrived == '["YES"]'


# ---------------------------------------------------------------- lists: exactly, any_order, include, exclude, count

AB = buttons(postback("A"), postback("B"))
ABC = buttons(postback("A"), postback("B"), postback("C"))


@pytest.mark.parametrize("expect, reply_, ok", [
    ("{buttons: [A, B]}", AB, True),
    ("{buttons: [B, A]}", AB, False),
    ("{buttons: [A]}", AB, False),
    ("{buttons: [A, B, C]}", AB, False),
    ("{buttons: {exactly: [A, B]}}", AB, True),
    ("{buttons: {exactly: [A, B]}}", ABC, False),
    ("{buttons: {exactly: [A, {contains: X}]}}", AB, False),
    ("{buttons: {any_order: [B, A]}}", AB, True),
    ("{buttons: {any_order: [B, A]}}", ABC, False),
    ("{buttons: {any_order: [A, A]}}", AB, False),
    ("{buttons: {any_order: [A, C]}}", AB, False),
    ("{buttons: {include: [C]}}", ABC, True),
    ("{buttons: {include: [C]}}", AB, False),
    ("{buttons: {include: [A, A]}}", AB, False),
    ("{buttons: {include: [{matches: '.'}, {matches: '.'}]}}", AB, True),
    ("{buttons: {exclude: [C]}}", AB, True),
    ("{buttons: {exclude: [C]}}", ABC, False),
    ("{buttons: {exclude: [X, B]}}", AB, False),
    ("{buttons: {count: 2}}", AB, True),
    ("{buttons: {count: 2}}", ABC, False),
    ("{buttons: {count: 3}}", AB, False),
    ("{buttons: {count: 0}}", text("plain"), True),
    ("{buttons: {include: [A], count: 2}}", AB, True),
    ("{buttons: {include: [A], count: 2}}", ABC, False),
    ("{buttons: {include: [A], exclude: [C]}}", ABC, False),
])
def test_each_list_rule_at_its_boundaries(expect, reply_, ok):
    assert passes(expect, reply_) is ok


@pytest.mark.parametrize("expect, shown", [
    ("{buttons: {any_order: [X, Y]}}", 'any order ["X", "Y"]'),
    ("{buttons: {include: [X]}}", 'include ["X"]'),
    ("{buttons: {exclude: [A]}}", 'exclude ["A"]'),
    ("{buttons: {count: 5}}", "count 5"),
    ("{buttons: {include: [X], count: 5}}", 'include ["X"]; count 5'),
])
def test_a_list_failure_names_the_rule(expect, shown):
    assert expected_column(expect, AB) == [("buttons", shown)]


def test_quick_replies_are_matched_like_buttons():
    quick = {**text("Choose"), "quick_replies": [{"title": "Yes", "payload": "Y"}, {"title": "No", "payload": "N"}]}
    assert passes("{quick_replies: [Yes, No]}", quick)
    assert not passes("{quick_replies: [No, Yes]}", quick)
    assert expected_column("{quick_replies: {include: [Maybe]}}", quick) == [("quick_replies", 'include ["Maybe"]')]


# ---------------------------------------------------------------- cards

@pytest.mark.parametrize("expect, ok", [
    ("{cards: 2}", True),
    ("{cards: 1}", False),
    ("{cards: {count: 2, ratio: square}}", True),
    ("{cards: {ratio: horizontal}}", False),
    ("{cards: {titles: [One, Two]}}", True),
    ("{cards: {titles: [Two, One]}}", False),
    ("{cards: {titles: {any_order: [Two, One]}}}", True),
    ("{cards: {titles: {include: [{starts_with: T}]}}}", True),
    ("{cards: {titles: {exclude: [One]}}}", False),
])
def test_cards_by_count_ratio_and_titles(expect, ok):
    assert passes(expect, cards("One", "Two", ratio="square")) is ok


def test_a_ratio_expected_of_a_reply_without_cards_says_so():
    assert expected_column("{cards: {ratio: square}}", text("plain")) == [("cards.ratio", "square")]
    assert [m.arrived for m in failures("{cards: {ratio: square}}", [text("plain")])[0].rows][-1] == "no cards"


# ---------------------------------------------------------------- how many replies

@pytest.mark.parametrize("rule, count, ok", [
    ("2", 2, True), ("2", 1, False), ("2", 3, False),
    ("{min: 2}", 1, False), ("{min: 2}", 2, True), ("{min: 2}", 3, True),
    ("{max: 2}", 1, True), ("{max: 2}", 2, True), ("{max: 2}", 3, False),
    ("{min: 1, max: 2}", 0, False), ("{min: 1, max: 2}", 2, True), ("{min: 1, max: 2}", 3, False),
])
def test_messages_at_below_and_above_each_bound(rule, count, ok):
    step = parse_scenario(f"steps:\n  - send: hi\n    messages: {rule}\n", "m.yaml").steps[0]
    assert (evaluate(step, [reply(text(str(i)), i) for i in range(1, count + 1)]) == []) is ok


@pytest.mark.parametrize("rule, count, problem, shown", [
    ("1", 2, "expected 1 reply, 2 arrived", "1"),
    ("3", 1, "expected 3 replies, 1 arrived", "3"),
    ("{min: 2}", 1, "expected at least 2 replies, 1 arrived", "at least 2"),
    ("{max: 1}", 2, "expected at most 1 replies, 2 arrived", "at most 1"),
    ("{min: 2, max: 3}", 1, "expected at least 2 and at most 3 replies, 1 arrived", "at least 2 and at most 3"),
])
def test_a_count_failure_says_how_many_were_expected_and_came(rule, count, problem, shown):
    step = parse_scenario(f"steps:\n  - send: hi\n    messages: {rule}\n", "m.yaml").steps[0]
    found = evaluate(step, [reply(text(str(i)), i) for i in range(1, count + 1)])
    assert [(f.problem, [(m.what, m.expected, m.arrived) for m in f.rows]) for f in found] == [
        (problem, [("messages", shown, str(count))])]


# ---------------------------------------------------------------- lint

LONG_MENU = buttons(*(postback(f"Option {i}") for i in range(1, 5)))  # 4 buttons: over both channels' 3


@pytest.mark.parametrize("expect, broken", [
    ("{lint: clean}", ["messenger.button_count", "whatsapp.reply_buttons"]),
    ("{lint: {channels: [messenger]}}", ["messenger.button_count"]),
    ("{lint: {allow: [whatsapp]}}", ["messenger.button_count"]),
    ("{lint: {allow: [messenger.button_count]}}", ["whatsapp.reply_buttons"]),
    ("{lint: {allow: [messenger.button_count], channels: [messenger]}}", []),
])
def test_lint_reports_the_rules_broken_on_the_channels_given_less_those_allowed(expect, broken):
    found = failures(expect, [LONG_MENU])
    arrived = found[0].rows[0].arrived if found else ""
    assert [rule for rule in ("messenger.button_count", "whatsapp.reply_buttons") if rule in arrived] == broken


@pytest.mark.parametrize("expect, shown", [
    ("{lint: clean}", "clean"),
    ("{lint: {allow: [whatsapp]}}", "clean except whatsapp"),
    ("{lint: {allow: [whatsapp, messenger.button_title]}}", "clean except whatsapp, messenger.button_title"),
    ("{lint: {channels: [messenger, whatsapp]}}", "clean on messenger, whatsapp"),
    ("{lint: {allow: [whatsapp], channels: [messenger]}}", "clean except whatsapp on messenger"),
])
def test_a_lint_failure_says_which_allowance_and_channels_were_expected(expect, shown):
    assert expected_column(expect, LONG_MENU) == [("lint", shown)]
