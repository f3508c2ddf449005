"""The runner: clicking through replies, fresh conversations, settling a turn, errors that stop a run."""

from __future__ import annotations

import json
import time

import pytest

from apichat.scenarios import first_problem, percentile, text_report
from tests.scenario_helpers import InstantBot, failing_deliver, run, scenario_store


@pytest.fixture
def store():
    yield from scenario_store()


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_a_run_clicks_through_menus_and_cards_and_is_kept_with_its_timings(store):
    result = run(store, """
name: walk
contact: {name: Ana}
steps:
  - send: hi
    expect: {buttons: {include: ["☕ Products"]}}
    messages: 1
  - click: products
    expect: {cards: {count: 3}}
  - click: {card: Travel Mug, button: Tell me more}
    expect: {text: {starts_with: Travel Mug}}
  - send_image: https://x.test/cat.png
    expect: [{text: {contains: your image}}, {image: https://x.test/cat.png}]
""")
    assert result.passed, text_report(result)
    run_row = store.get_scenario_run(result.run_id)
    assert run_row["status"] == "passed" and run_row["passed_steps"] == 4 and run_row["total_steps"] == 4
    assert run_row["first_p50_ms"] is not None and run_row["settle_p95_ms"] >= run_row["settle_p50_ms"]
    steps = store.scenario_results(result.run_id)
    assert [s["status"] for s in steps] == ["passed"] * 4
    assert [s["line"] for s in steps] == [5, 8, 10, 12]
    assert json.loads(steps[1]["detail"])["reply_ids"]
    assert result.contact["id"].startswith("qa-") and store.get_contact(result.contact["id"])["name"] == "Ana"


def test_every_run_is_a_fresh_conversation(store):
    text = "contact: {id: fixed-contact}\nsteps:\n  - send: hi\n    messages: 1\n"
    first, second = run(store, text), run(store, text)
    assert first.passed and second.passed
    assert first.conversation != second.conversation and first.conv_id != second.conv_id


def test_a_turn_ends_early_once_the_exact_count_is_there(store):
    started = time.monotonic()
    result = run(store, "steps:\n  - send: hi\n    messages: 1\n", settle=5.0)
    assert result.passed and time.monotonic() - started < 4.0


def test_a_missing_button_stops_the_run_and_lists_what_was_there(store):
    result = run(store, "steps:\n  - send: hi\n  - click: Checkout\n  - send: help\n")
    assert [s.status for s in result.steps] == ["passed", "error", "skipped"]
    assert 'no button "Checkout"' in result.steps[1].error and "☕ Products" in result.steps[1].error
    assert first_problem(result).startswith("t.yaml:3: step 2 (click \"Checkout\"): no button")
    assert store.get_scenario_run(result.run_id)["status"] == "error"


def test_a_link_button_cannot_be_clicked(store):
    result = run(store, "steps:\n  - send: links\n  - click: Open our website\n")
    assert "is a url button (https://example.com/northwind-coffee), not a postback" in result.steps[1].error


def test_clicking_a_card_needs_the_card_form(store):
    result = run(store, "steps:\n  - send: products\n  - click: Tell me more\n")
    assert "several buttons" in result.steps[1].error or "carousel" in result.steps[1].error


def test_a_failed_send_is_an_error_with_uchats_reason(store):
    result = run(store, "steps:\n  - send: hi\n", deliver=failing_deliver)
    assert result.steps[0].status == "error"
    assert result.steps[0].error == "sending failed: 400 conversation_id must be an integer"


def test_no_reply_fails_the_expectations_and_the_latency_budget(store):
    result = run(store, "timeout: 300ms\nsteps:\n  - send: hi\n    within: 200ms\n    expect: {text: x}\n",
                 deliver=InstantBot(skip=("Hi ",)))
    failures = result.steps[0].failures
    assert result.status == "failed"
    assert any("no reply arrived" in f.problem for f in failures)
    assert any(f.problem == "latency budget of 0.2 s exceeded: no reply" for f in failures)


def test_a_check_step_looks_at_the_latest_turn(store):
    result = run(store, "steps:\n  - send: image\n  - wait: 10ms\n  - expect_messages: 3\n"
                        "  - expect: [{not: {video: true}}, {image: {ends_with: latte.png}}]\n")
    assert result.passed, text_report(result)  # greeting + caption + image


def test_reports_say_what_failed_with_file_and_line(store):
    result = run(store, "steps:\n  - send: hi\n    expect:\n      - buttons: [Products]\n")
    text = text_report(result)
    assert "FAILED" in text and "t.yaml:4: expected a reply like" in text
    assert "buttons" in text and '"☕ Products" (MENU_PRODUCTS)' in text and "raw payload:" in text
