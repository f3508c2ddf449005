"""The evaluator: which reply each expectation takes, in order or not, and the failure a person reads.

A failure is read in three places (the terminal report, the JUnit file, History): its sentence names the line,
the expectation and the closest reply; its rows show each difference as what / expected / arrived.
"""

from __future__ import annotations

import json

import pytest

from apichat.payloads import parse_bot_message
from apichat.scenarios import evaluate, parse_scenario
from apichat.scenarios.expect import reply_summary


def reply(body: dict, id_: int) -> dict:
    msg = parse_bot_message(body)
    return {"id": id_, "kind": msg.kind, "author": msg.author, "data": json.dumps(msg.to_dict(raw=False)),
            "raw": json.dumps(body), "created_at": 0.0}


def text(value: str, **extra) -> dict:
    return {"sender_id": "c", "conv_id": 1, "type": "text", "message_type": "outgoing", "text": value, **extra}


MENU = {**text("Pick one"), "content_type": "button_template", "content_attributes": {"text": "Pick one", "buttons": [
    {"type": "postback", "title": "A", "payload": "PA"}, {"type": "web_url", "title": "Site", "url": "https://s.test"}]}}
CARDS = {**text("Cards"), "content_type": "generic_template", "content_attributes": {"ratio": "square", "items": [
    {"title": "One", "buttons": []}, {"title": "Two", "buttons": []}]}}
IMAGE = {"sender_id": "c", "conv_id": 1, "type": "image", "url": "https://x.test/a.png", "message_type": "outgoing"}
NOTE = text("internal note", private=True)
AGENT = text("Hi, I am Ana", sender={"id": "7", "type": "agent"})


def run(step_yaml: str, *bodies: dict) -> list:
    step = parse_scenario(f"steps:\n  - send: hi\n{step_yaml}", "m.yaml").steps[0]
    return evaluate(step, [reply(b, i) for i, b in enumerate(bodies, 1)])


def rows(failure) -> list[tuple[str, str, str]]:
    return [(m.what, m.expected, m.arrived) for m in failure.rows]


# ---------------------------------------------------------------- each key of an expectation, and its row

@pytest.mark.parametrize("expect, body, row", [
    ("{kind: cards}", MENU, ("kind", "cards", "buttons")),
    ("{kind: buttons}", MENU, None),
    ("{author: agent}", MENU, ("author", "agent", "bot")),
    ("{author: agent}", AGENT, None),
    ("{author: bot}", AGENT, ("author", "bot", "agent")),
    ("{private: true}", MENU, ("private", "true", "false")),
    ("{private: false}", NOTE, ("private", "false", "true")),
    ("{private: true}", NOTE, None),
    ("{text: Pick}", MENU, ("text", '"Pick"', '"Pick one"')),
    ("{text: {not: {contains: zzz}}}", IMAGE, None),
    ("{buttons: [B]}", MENU, ("buttons", '["B"]', '["A" (PA), "Site" (https://s.test)]')),
    ("{buttons: [B]}", IMAGE, ("buttons", '["B"]', "none")),
    ("{quick_replies: [Yes]}", MENU, ("quick_replies", '["Yes"]', "none")),
    ("{cards: 3}", CARDS, ("cards.count", "3", "2")),
    ("{cards: 1}", MENU, ("cards.count", "1", "0")),
    ("{cards: {titles: [Two]}}", CARDS, ("cards.titles", '["Two"]', '["One", "Two"]')),
    ("{cards: {titles: [Two]}}", MENU, ("cards.titles", '["Two"]', "none")),
    ("{cards: {ratio: horizontal}}", CARDS, ("cards.ratio", "horizontal", "square")),
    ("{cards: {ratio: horizontal}}", MENU, ("cards.ratio", "horizontal", "no cards")),
    ("{image: {contains: b.png}}", IMAGE, ("image", 'contains "b.png"', "image https://x.test/a.png")),
    ("{video: true}", IMAGE, ("video", "any value", "image https://x.test/a.png")),
    ("{video: true}", MENU, ("video", "any value", "no media")),
    ("{video: true}", {**text("Two files"), "attachments": [{"file_type": "image", "data_url": "https://x.test/1.png"},
                                                          {"file_type": "file", "data_url": "https://x.test/2.pdf"}]},
     ("video", "any value", "image https://x.test/1.png, file https://x.test/2.pdf")),
    ("{text: Pick one, not: {kind: buttons}}", MENU, ("not", 'not {"kind": "buttons"}', "it does")),
    ("{text: Pick one, not: {kind: cards}}", MENU, None),
])
def test_each_key_of_an_expectation_shows_what_was_expected_beside_what_arrived(expect, body, row):
    found = run(f"    expect: {expect}\n", body)
    assert [rows(f) for f in found] == ([[row]] if row else [])


@pytest.mark.parametrize("expect, row", [
    ("{text: ''}", None),
    ("{text: {not: {matches: .}}}", None),
    ("{text: Hello}", ("text", '"Hello"', '""')),
    ("{text: {similar_to: Fix it}}", ("text.similarity", "at least 0.70", "0.00 (lexical)")),  # the score of ""
    ("{buttons: [A]}", ("buttons", '["A"]', "none")),
    ("{image: true}", ("image", "any value", "no media")),
    ("{cards: 1}", ("cards.count", "1", "0")),
])
def test_a_reply_whose_parsed_form_cannot_be_read_is_checked_as_an_empty_message(expect, row):
    step = parse_scenario(f"steps:\n  - send: hi\n    expect: {expect}\n", "m.yaml").steps[0]
    broken = {"id": 1, "kind": "text", "author": "bot", "data": "{not json", "raw": "", "created_at": 0.0}
    found = evaluate(step, [broken])
    assert [rows(f)[-1] for f in found] == ([row] if row else [])


def test_every_difference_of_the_closest_reply_is_listed_in_the_order_of_the_file_format():
    found = run("    expect: {kind: cards, author: agent, private: true, text: x, cards: 1}\n", MENU)
    assert [m.what for m in found[0].rows] == ["kind", "author", "private", "text", "cards.count"]


def test_lint_row_lists_each_rule_broken():
    menu = {**text("Pick"), "content_type": "button_template", "content_attributes": {"text": "Pick", "buttons": [
        {"type": "postback", "title": f"Option {i}", "payload": str(i)} for i in range(4)]}}
    found = run("    expect: {lint: clean}\n", menu)
    assert rows(found[0]) == [("lint", "clean", "messenger.button_count: buttons has 4, limit 3 (button template "
                               "has 1-3 buttons); whatsapp.reply_buttons: buttons has 4, limit 3 (<= 3 reply buttons "
                               "(more need a list message))")]


# ---------------------------------------------------------------- which reply an expectation takes

def test_in_order_each_expectation_takes_a_later_reply_than_the_one_before():
    assert run("    expect: [{kind: buttons}, {kind: cards}]\n", MENU, CARDS) == []
    found = run("    expect: [{kind: cards}, {kind: buttons}]\n", MENU, CARDS)
    assert [(f.line, f.reply_id) for f in found] == [(3, 1)]
    assert found[0].problem == ('expected a reply like {"kind": "buttons"}; none of the 2 replies matches '
                                "(closest: reply 1 of 2, buttons)")


def test_in_order_one_reply_cannot_serve_two_expectations():
    found = run("    expect: [{kind: buttons}, {kind: buttons}]\n", MENU, CARDS)
    assert len(found) == 1 and found[0].reply_id == 2


def test_the_closest_reply_is_the_one_with_fewest_differences_and_a_missing_feature_counts_double():
    found = run("    expect: {cards: {count: 3, titles: [One, Three]}}\n", MENU, CARDS, IMAGE)
    assert found[0].reply_id == 2 and "closest: reply 2 of 3, cards" in found[0].problem
    found = run("    expect: {kind: cards, text: Pick one}\n", IMAGE, MENU)
    assert found[0].reply_id == 2  # one difference beats two


def test_a_reply_lacking_a_feature_counts_as_two_differences():
    no_buttons, other = text("Pick one"), {**MENU, "text": "Other", "content_attributes": {
        "text": "Other", "buttons": [{"type": "postback", "title": "B", "payload": "PB"}]}}
    assert run("    expect: {text: Pick one, buttons: [A]}\n", no_buttons, other)[0].reply_id == 1  # 2 against 2
    assert run("    expect: {text: Other, buttons: [A]}\n", no_buttons, other)[0].reply_id == 2  # 2 against 1


def test_the_first_of_equally_close_replies_is_shown():
    found = run("    expect: {text: Nope}\n", text("one"), text("two"))
    assert found[0].reply_id == 1


def test_no_reply_at_all_is_said_plainly():
    found = run("    expect: {text: Hello}\n")
    assert [(f.line, f.problem, rows(f), f.reply_id) for f in found] == [
        (3, 'expected a reply like {"text": "Hello"}; no reply arrived', [("reply", '{"text": "Hello"}', "no reply")],
         None)]


def test_any_order_takes_a_different_reply_for_each_expectation():
    assert run("    any_order: true\n    expect: [{kind: cards}, {kind: buttons}]\n", MENU, CARDS) == []
    found = run("    any_order: true\n    expect: [{kind: buttons}, {kind: buttons}]\n", MENU, CARDS)
    assert [(f.line, f.problem) for f in found] == [
        (2, "each expectation matches some reply, but 2 expectations need as many different replies")]
    found = run("    any_order: true\n    expect: [{kind: buttons}, {kind: image}]\n", MENU, CARDS)
    assert [(f.line, f.reply_id) for f in found] == [(4, 1)]


def test_an_expectation_text_is_shortened_past_160_characters():
    long = "x" * 200
    found = run(f"    expect: {{text: {long}}}\n")
    described = found[0].rows[0].expected
    assert len(described) == 158 and described.endswith("…") and described.startswith('{"text": "xxx')
    for size, shortened in ((160, False), (161, True)):
        value = "y" * (size - len('{"text": ""}'))
        shown = run(f"    expect: {{text: {value}}}\n")[0].rows[0].expected
        assert (shown != '{"text": "' + value + '"}') is shortened


def test_an_expectation_is_described_as_written_in_any_language():
    assert run("    expect: {text: Café ☕}\n")[0].rows[0].expected == '{"text": "Café ☕"}'
    assert run("    expect: {text: 2024-01-01}\n")[0].rows[0].expected == '{"text": "2024-01-01"}'  # YAML's date


# ---------------------------------------------------------------- counts, "each", "absent"

def test_messages_and_expectations_are_both_reported():
    found = run("    messages: 1\n    expect: {text: Nope}\n", MENU, CARDS)
    assert [f.line for f in found] == [2, 4]
    found = run("    messages: 1\n    any_order: true\n    expect: [{text: Nope}]\n", MENU, CARDS)
    assert [f.line for f in found] == [2, 5]


def test_a_lint_item_alone_applies_to_every_reply():
    menu = {**text("Pick"), "content_type": "button_template", "content_attributes": {"text": "Pick", "buttons": [
        {"type": "postback", "title": f"Option {i}", "payload": str(i)} for i in range(4)]}}
    found = run("    expect:\n      - lint: clean\n", text("fine"), menu, menu)
    assert [(f.line, f.reply_id) for f in found] == [(4, 2), (4, 3)]
    assert found[0].problem == 'reply 2 of 3 (buttons "Pick") is not {"lint": "clean"}'


def test_a_forbidden_reply_names_the_first_that_is_like_it():
    found = run("    expect: [{text: Pick one}, {not: {private: true}}]\n", MENU, NOTE, NOTE)
    assert [(f.line, f.reply_id, f.problem, rows(f)) for f in found] == [
        (3, 2, 'reply 2 of 3 is like {"private": true}, which it must not be',
         [("not", 'no reply like {"private": true}', 'text private "internal note"')])]


def test_a_failure_keeps_everything_history_shows():
    found = run("    expect: {cards: 3}\n", CARDS)
    assert found[0].to_dict() == {"line": 3, "reply_id": 1, "rows": [["cards.count", "3", "2"]],
                                  "problem": 'expected a reply like {"cards": 3}; none of the 1 replies matches '
                                             "(closest: reply 1 of 1, cards)"}


# ---------------------------------------------------------------- a reply in a few words

@pytest.mark.parametrize("body, summary", [
    (MENU, 'buttons "Pick one"'),
    (NOTE, 'text private "internal note"'),
    (IMAGE, "image"),
    (text("a" * 60), 'text "' + "a" * 60 + '"'),
    (text("b" * 61), 'text "' + "b" * 57 + '…"'),
    (text("café ✓"), 'text "café ✓"'),
])
def test_a_reply_summary_is_its_kind_privacy_and_the_start_of_its_text(body, summary):
    assert reply_summary(reply(body, 1)) == summary


def test_a_row_whose_parsed_form_is_unreadable_is_checked_as_an_empty_reply():
    broken = {"id": 9, "kind": "text", "author": "bot", "data": "{not json", "raw": "{not json", "created_at": 0.0}
    step = parse_scenario("steps:\n  - send: hi\n    expect: {text: Hi, buttons: [A]}\n", "m.yaml").steps[0]
    assert [rows(f) for f in evaluate(step, [broken])] == [[("text", '"Hi"', '""'), ("buttons", '["A"]', "none")]]
    step = parse_scenario("steps:\n  - send: hi\n    expect: {text: {not: {contains: x}}}\n", "m.yaml").steps[0]
    assert evaluate(step, [broken]) == []
    assert reply_summary(broken) == "text"
