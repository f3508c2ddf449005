"""`lint:` in a scenario: channel limits as an expectation, on one reply or on every reply of a step."""

from __future__ import annotations

import pytest

from apichat.scenarios import ScenarioError, parse_scenario

from .test_scenarios_expect import check, say

FOUR = say(text="Pick", content_type="button_template", content_attributes={"text": "Pick", "buttons": [
    {"type": "postback", "title": f"Option {i}", "payload": f"P{i}"} for i in range(4)]})
TWELVE = say(text="Cards", content_type="generic_template", content_attributes={"items": [
    {"title": f"Card {i}", "buttons": []} for i in range(12)]})
CLEAN = say(text="Hello")


@pytest.mark.parametrize("expect, replies, passes", [
    ("    expect: {lint: clean}\n", [CLEAN], True),
    ("    expect: {lint: clean}\n", [CLEAN, TWELVE], False),  # alone: every reply of the step
    ("    expect: {lint: [messenger.elements, whatsapp.list_rows]}\n", [CLEAN, TWELVE], True),
    ("    expect: {lint: [messenger]}\n", [TWELVE], False),  # whatsapp's list limit still applies
    ("    expect: {lint: {channels: [messenger], allow: [messenger.elements]}}\n", [TWELVE], True),
    ("    expect: {lint: {channels: [whatsapp]}}\n", [FOUR], False),
    ("    expect: {lint: {allow: [messenger.button_count, whatsapp]}}\n", [FOUR], True),
    ("    expect: {text: Hello, lint: clean}\n", [TWELVE, CLEAN], True),  # with other keys: that one reply
    ("    expect: {cards: 12, lint: clean}\n", [TWELVE], False),
    ("    expect: {not: {lint: clean}}\n", [FOUR], True),
])
def test_lint_expectations(expect, replies, passes):
    assert (not check(expect, replies)) is passes


def test_a_lint_failure_names_the_reply_the_rule_and_the_numbers():
    [failure] = check("    expect: {lint: clean}\n", [CLEAN, TWELVE])
    assert failure.line == 3 and "reply 2 of 2" in failure.problem
    [row] = failure.rows
    assert row.what == "lint" and row.expected == "clean"
    assert "messenger.elements: cards has 12, limit 10" in row.arrived and "whatsapp.list_rows" in row.arrived


@pytest.mark.parametrize("expect, problem", [
    ("    expect: {lint: dirty}\n", "lint must be clean, a list of the rules allowed to fail"),
    ("    expect: {lint: [messenger.nope]}\n", "unknown \"messenger.nope\""),
    ("    expect: {lint: {channels: [telegram]}}\n", "lint.channels: unknown \"telegram\""),
    ("    expect: {lint: {alow: [whatsapp]}}\n", "unknown key 'alow'"),
])
def test_bad_lint_values_are_reported_with_their_line(expect, problem):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(f"steps:\n  - send: hi\n{expect}", "m.yaml")
    assert problem in str(caught.value) and "m.yaml:3" in str(caught.value)
