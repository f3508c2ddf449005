"""Scenarios: the file format and its errors, matching replies, the runner, recording, the CLI and pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from apichat import scenarios
from apichat.payloads import parse_bot_message
from apichat.scenarios import Runner, ScenarioError, evaluate, parse_scenario, percentile
from apichat.scenarios.__main__ import main
from apichat.store import Store
from sandbox import bot
from sandbox.delivery import php_json
from tests.conftest import ROOT

MEDIA_BASE = "http://127.0.0.1:9/sandbox/media"


# ---------------------------------------------------------------- a bot in-process: the demo bot, answering at once


class InstantBot:
    """A `deliver` for the runner: the demo bot answers, and its replies are stored as the receiver would."""

    def __init__(self, skip: tuple[str, ...] = ()):
        self.skip, self.calls, self.seen = skip, [], set()

    def __call__(self, store: Store, profile: dict, message_id: int) -> bool:
        body = json.loads(store.get_message(message_id)["raw"])
        self.calls.append(body)
        first = body["sender"]["id"] not in self.seen
        self.seen.add(body["sender"]["id"])
        answer = bot.respond(body, media_base=MEDIA_BASE, first_contact=first)
        store.set_message_status(message_id, "sent")
        for reply in answer.replies:
            if reply.body.get("text", "").startswith(self.skip):
                continue
            raw = php_json(reply.body)
            store.accept_webhook(profile=profile["name"], route="/webhook/p", method="POST", headers={}, body=raw,
                                 message=parse_bot_message(raw))
        return True


def failing_deliver(store: Store, profile: dict, message_id: int) -> bool:
    store.set_message_status(message_id, "failed", "400 conversation_id must be an integer")
    return False


@pytest.fixture
def store():
    s = Store(":memory:")
    s.save_profile("p", bot_url="http://bot.invalid/api/apichat/x", flow_key="k")
    yield s
    s.close()


def run(store: Store, text: str, deliver=None, **options):
    runner = Runner(store, store.get_profile("p"), settle=options.pop("settle", 0.2), poll=0.01,
                    deliver=deliver or InstantBot(), **options)
    return runner.run(parse_scenario(text, "t.yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.yaml")
    return caught.value.problems


# ---------------------------------------------------------------- the format


def test_every_example_scenario_loads_and_covers_every_message_kind():
    files = scenarios.scenario_files([ROOT / "scenarios"])
    assert len(files) >= 5
    loaded = [scenarios.load_scenario(f) for f in files]
    source = "\n".join(s.source for s in loaded)
    for needed in ("buttons:", "cards:", "image:", "audio:", "video:", "file:", "private: true", "unsupported",
                   "send_image:", "send_audio:", "send_video:", "send_file:", "click: {card:", "within:", "not:",
                   "any_order", "matches:"):
        assert needed in source, f"no example uses {needed}"


@pytest.mark.parametrize("text, line, message", [
    ("steps:\n  - send: hi\n    expct: {text: hi}\n", 3, "unknown key 'expct' in step 1 (did you mean 'expect'?)"),
    ("steps:\n  - send: hi\n    expect:\n      - txt: hi\n", 4, "unknown key 'txt' in expect (did you mean 'text'?)"),
    ("steps:\n  - send: hi\n    expect:\n      - text: {contain: x}\n", 4, "unknown key 'contain' in text"),
    ("steps:\n  - sned: hi\n", 2, "unknown key 'sned' in step 1 (did you mean 'send'?)"),
    ("name: x\nstep:\n  - send: hi\n", 2, "unknown key 'step' in the scenario (did you mean 'steps'?)"),
    ("steps:\n  - send: hi\n    click: Products\n", 3, "two actions (send and click)"),
    ("steps:\n  - send: hi\n    within: soon\n", 3, "within must be a duration like 3s"),
    ("steps:\n  - send: hi\n    expect: {text: {matches: '('}}\n", 3, "not a valid regular expression"),
    ("steps:\n  - send: hi\n    expect: {buttons: {exactly: Products}}\n", 3, "buttons.exactly must be a list"),
    ("steps:\n  - send: hi\n    expect: {private: maybe}\n", 3, "private must be true or false"),
    ("steps:\n  - send: hi\n    expect: {kind: carousel}\n", 3, "kind must be one of text, buttons, cards"),
    ("steps:\n  - send_image: file.png\n", 2, "send_image needs an http(s) URL"),
    ("steps:\n  - hi\n", 2, "write `- send: hi`"),
    ("steps:\n  - wait: 1s\n    expect: {text: x}\n", 2, "waits and checks at once"),
    ("steps:\n  - send: hi\n   expect: {}\n", 3, "not valid YAML"),
    ("steps:\n\t- send: hi\n", 2, "a tab indents this line"),
    ("", 1, "the file is empty"),
    ("name: x\n", 1, "no steps"),
    ("steps: []\n", 1, "at least one step"),
    ("contact: {name: A, role: x}\nsteps:\n  - send: hi\n", 1, "unknown key 'role' in contact"),
    ("steps:\n  - click: {title: X}\n", 2, "unknown key 'title' in click"),
    ("steps:\n  - send: hi\n    messages: {min: 3, max: 1}\n", 3, "messages.min (3) is larger than messages.max (1)"),
    ("steps:\n  - send: hi\n    send: again\n", 3, "'send' appears twice in step 1"),
])
def test_bad_files_name_the_line_and_the_problem(text, line, message):
    found = problems(text)
    assert found[0].startswith(f"bad.yaml:{line}: "), found
    assert message in found[0]
    assert all("\n" not in p and "Traceback" not in p for p in found)


def test_every_problem_of_a_file_is_listed_not_only_the_first():
    found = problems("steps:\n  - send: hi\n    expct: x\n  - click: A\n  - wiat: 1s\n")
    assert [p.split(": ", 1)[0] for p in found] == ["bad.yaml:3", "bad.yaml:5"]


def test_unreadable_files_are_errors_with_the_file_name(tmp_path):
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes("steps:\n  - send: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1.yaml:2: the file is not UTF-8"):
        scenarios.load_scenario(binary)
    with pytest.raises(ScenarioError, match=r"missing.yaml:1: cannot read the file"):
        scenarios.load_scenario(tmp_path / "missing.yaml")


def test_alias_bombs_are_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    assert "too many values" in problems(bomb)[0]


def test_texts_stay_as_written_even_when_yaml_would_read_a_boolean_or_number():
    step = parse_scenario("steps:\n  - click: Yes\n    expect: {buttons: [No, On, 1.50], text: 007}\n", "x.yaml").steps[0]
    assert step.title == "Yes"
    assert [b.title.equals for b in step.expect[0].matcher.buttons.exactly] == ["No", "On", "1.50"]
    assert step.expect[0].matcher.text.equals == "007"


def test_durations_and_defaults():
    s = parse_scenario("settle: 500ms\nsteps:\n  - send: hi\n    within: 1.5s\n  - wait: 2\n", "x.yaml")
    assert s.settle == 0.5 and s.steps[0].within == 1.5 and s.steps[1].seconds == 2.0
    assert s.name == "x" and s.contact == {}


# ---------------------------------------------------------------- matching replies


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
    text = "\n".join(scenarios.side_by_side(failure.rows))
    assert "expected" in text and "arrived" in text and '["One", "Two"]' in text


def test_a_forbidden_reply_is_reported_with_its_position():
    failures = check("    expect: {not: {private: true}}\n", [MENU, NOTE])
    assert failures[0].reply_id == 2 and "reply 2 of 2" in failures[0].problem


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


# ---------------------------------------------------------------- the runner


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
    assert result.passed, scenarios.text_report(result)
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
    assert scenarios.first_problem(result).startswith("t.yaml:3: step 2 (click \"Checkout\"): no button")
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
    assert result.passed, scenarios.text_report(result)  # greeting + caption + image


def test_reports_say_what_failed_with_file_and_line(store):
    result = run(store, "steps:\n  - send: hi\n    expect:\n      - buttons: [Products]\n")
    text = scenarios.text_report(result)
    assert "FAILED" in text and "t.yaml:4: expected a reply like" in text
    assert "buttons" in text and '"☕ Products" (MENU_PRODUCTS)' in text and "raw payload:" in text


# ---------------------------------------------------------------- recording


def test_a_recorded_conversation_replays_and_passes(store):
    original = run(store, "steps:\n  - send: hi\n  - click: Products\n  - click: {card: Espresso, button: "
                          "Add to cart}\n  - send: image\n  - send: agent\n")
    assert original.passed
    text = scenarios.record_conversation(store, original.conversation, name="Replay")
    scenario = parse_scenario(text, "rec.yaml")
    assert scenario.name == "Replay" and text.startswith("# Recorded")
    assert "click: {card: Espresso Blend · $12.90, button: Add to cart}" in text
    assert "image: {ends_with: /sandbox/media/latte.png}" in text
    assert "private: true" in text and "messages: 2" in text
    replay = Runner(store, store.get_profile("p"), settle=0.2, poll=0.01, deliver=InstantBot()).run(scenario)
    assert replay.passed, scenarios.text_report(replay)


def test_recording_needs_a_contact_message(store):
    conv = store.ensure_conversation("p", "c", 5)
    with pytest.raises(ValueError, match="no message from the contact"):
        scenarios.record_conversation(store, conv["id"])
    with pytest.raises(ValueError, match="no conversation with id 999"):
        scenarios.record_conversation(store, 999)


# ---------------------------------------------------------------- headless: CLI and pytest, real processes


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UCHAT_", "APICHAT_"))}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


PASSING = "name: Passing\nsteps:\n  - send: hi\n    expect: {buttons: {include: ['🎬 Media']}}\n    messages: 1\n"
FAILING = ("name: Failing\nsteps:\n  - send: hi\n    messages: 1\n  - click: Media\n    expect:\n"
           "      - buttons: [Image, Audio]\n    messages: 1\n")
INVALID = "name: Invalid\nsteps:\n  - send: hi\n    expext: {text: x}\n"


def test_cli_checks_files_without_running_them(tmp_path, capsys):
    (tmp_path / "ok.yaml").write_text(PASSING)
    (tmp_path / "bad.yaml").write_text(INVALID)
    (tmp_path / "recorded").mkdir()
    (tmp_path / "recorded" / "draft.yaml").write_text(INVALID)
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'bad.yaml'}:4: unknown key 'expext' in step 1 (did you mean 'expect'?)" in out
    assert "ok  " in out and "draft" not in out


def test_cli_runs_against_a_fresh_sandbox_with_junit_and_exit_status(tmp_path):
    for name, text in (("passing", PASSING), ("failing", FAILING), ("invalid", INVALID)):
        (tmp_path / f"{name}.yaml").write_text(text)
    junit = tmp_path / "out" / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(tmp_path), "--junitxml", str(junit),
                           "--settle", "0.5"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "PASSED  Passing" in done.stdout and "1 passed, 2 failed" in done.stdout
    assert f"{tmp_path / 'failing.yaml'}:7: expected a reply like" in done.stdout
    assert '"🖼️ Image" (SEND_IMAGE)' in done.stdout  # what arrived, beside what was expected
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='Failing']/failure")
    assert failure.get("message").startswith(f"{tmp_path / 'failing.yaml'}:7: step 2 (click \"Media\")")
    assert "unknown key 'expext'" in suite.find("testcase[@name='invalid']/error").get("message")


def test_cli_exit_status_is_zero_when_all_pass_and_two_when_nothing_runs(tmp_path):
    (tmp_path / "passing.yaml").write_text(PASSING)
    done = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(tmp_path / "passing.yaml")],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(tmp_path / "none"),
                              "--profile", "nobody"], cwd=ROOT, env={**_env(), "APICHAT_DB": str(tmp_path / "c.db")},
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_pytest_collects_each_scenario_file_as_a_test_case(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "conftest.py").write_text((ROOT / "scenarios" / "conftest.py").read_text())
    for name, text in (("passing", PASSING), ("failing", FAILING), ("invalid", INVALID)):
        (folder / f"{name}.yaml").write_text(text)
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q",
                           f"--junitxml={junit}", "--scenario-settle=0.5"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=180)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 passed" in out and "2 failed" in out and "Traceback" not in out
    assert "invalid.yaml:4: unknown key 'expext' in step 1" in out
    assert "failing.yaml:7: step 2 (click \"Media\"): expected a reply like" in out
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"passing", "failing", "invalid"}
    assert cases["passing"].find("failure") is None and cases["failing"].find("failure") is not None


def test_the_example_scenarios_are_collected_by_the_default_test_run():
    config = (ROOT / "pyproject.toml").read_text()
    assert 'testpaths = ["tests", "scenarios"]' in config
    assert Path(ROOT / "scenarios" / "conftest.py").exists()
