"""Monitors without processes: the file's problems as file:line, when a monitor is due, when to alert, and
what an alert holds (never a key)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from apichat.monitor import DOWN, RECOVERY, Monitor, Notice, due, failing_streak, notice_for, parse_monitors
from apichat.monitor.check import with_budget
from apichat.redact import masked_hook
from apichat.scenarios import ScenarioError, parse_scenario


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "hello.yaml").write_text("steps:\n  - send: hi\n  - wait: 1s\n  - send: menu\n    within: 5s\n")
    return tmp_path


def problems(text: str, folder) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_monitors(text, "m.yaml", folder)
    return caught.value.problems


def test_a_valid_file_reads_every_field(folder):
    [m] = parse_monitors("monitors:\n  - name: greeting\n    scenarios: [hello.yaml]\n    profile: production\n"
                         "    cron: \"*/10 * * * *\"\n    within: 3s\n    alert_after: 3\n    alert:\n"
                         "      - slack: https://hooks.slack.com/services/T/B/X\n      - webhook: http://127.0.0.1:9/x\n",
                         "m.yaml", folder)
    assert (m.name, m.profile, m.cron, m.every, m.within, m.alert_after) == ("greeting", "production", "*/10 * * * *",
                                                                             None, 3.0, 3)
    assert [(a.kind, a.url) for a in m.alerts] == [("slack", "https://hooks.slack.com/services/T/B/X"),
                                                   ("webhook", "http://127.0.0.1:9/x")]
    assert [s.path for s in m.scenarios] == ["hello.yaml"] and m.schedule == "cron */10 * * * *"
    [hourly] = parse_monitors("monitors:\n  - {name: h, scenarios: hello.yaml, every: 1h}\n", "m.yaml", folder)
    assert hourly.every == 3600 and hourly.profile == "sandbox" and hourly.alert_after == 1 and hourly.schedule == "every 1h"


def test_every_problem_is_one_line_with_its_place(folder):
    assert problems("", folder) == ["m.yaml:1: the file is empty; it needs `monitors:` with a list of monitors"]
    assert problems("monitors: []\n", folder) == ["m.yaml:1: monitors must be a list with at least one monitor"]
    assert problems(
        "monitors:\n"
        "  - {name: a, scenarios: hello.yaml}\n"
        "  - {name: b, scenarios: hello.yaml, every: 1s, cron: '* * * * *'}\n"
        "  - {name: c, scenarios: hello.yaml, every: 0.5s}\n"
        "  - {name: d, scenarios: hello.yaml, cron: 'every day'}\n"
        "  - {name: e, scenarios: hello.yaml, every: 1m, alert: [{slack: ftp://x}]}\n"
        "  - {name: f, scenarios: hello.yaml, every: 1m, alert_after: 0}\n"
        "  - {name: a, scenarios: hello.yaml, every: 1m}\n"
        "  - {name: a, scenarios: hello.yaml, every: 1m}\n", folder) == [
        "m.yaml:2: monitor 1 needs one schedule: every: 10m or cron: \"*/10 * * * *\"",
        "m.yaml:3: monitor 2 needs one schedule: every: 10m or cron: \"*/10 * * * *\"",
        "m.yaml:4: every is 0.5 s; it must be from 1 s to 7 days",
        "m.yaml:5: cron \"every day\" is not a crontab schedule (minute hour day month weekday, e.g. \"*/10 * * * *\"): "
        "Wrong number of fields; got 2, expected 5",
        "m.yaml:6: slack needs an http(s) URL; got \"ftp://x\"",
        "m.yaml:7: alert_after must be a whole number from 1 to 100; got int 0",
        "m.yaml:9: a second monitor named \"a\"; names must differ"]
    (folder / "bad.yaml").write_text("steps:\n  - sned: hi\n")
    assert problems("monitors:\n  - {name: x, scenarios: [bad.yaml], every: 1m}\n", folder) == [
        "bad.yaml:2: unknown key 'sned' in step 1 (did you mean 'send'?)"]


def test_due_after_the_interval_or_a_cron_time():
    every = Monitor("m", 1, [], every=600)
    assert due(every, None, 1000)
    assert not due(every, 1000, 1000 + 300), "two processes' ticks a few minutes apart would both run"
    assert due(every, 1000, 1000 + 599), "a scheduler's own tick a moment early was passed over"
    cron = Monitor("m", 1, [], cron="*/10 * * * *")
    at = datetime(2026, 1, 1, 0, 10, 0, 50_000, tzinfo=timezone.utc).timestamp()  # just after the 00:10 tick
    assert not due(cron, at, at + 60) and due(cron, at, at + 600) and due(cron, at - 300, at)


def test_one_down_after_alert_after_failures_and_one_recovery():
    m = Monitor("m", 1, [], every=1, alert_after=2)

    def runs(*statuses):  # newest first
        return [{"status": s} for s in statuses]

    assert notice_for(m, runs("failed"), None) is None
    assert notice_for(m, runs("failed", "interrupted", "error"), None) == DOWN, "an interrupted run broke the streak"
    assert notice_for(m, runs("failed", "failed", "failed"), DOWN) is None, "a second down alert"
    assert notice_for(m, runs("passed", "failed", "failed"), DOWN) == RECOVERY
    assert notice_for(m, runs("passed", "passed"), RECOVERY) is None
    assert notice_for(m, runs("running", "failed", "failed"), RECOVERY) == DOWN
    assert failing_streak(runs("failed", "error", "passed", "failed")) == 2


def test_an_alert_holds_no_key_and_a_slack_one_only_text():
    notice = Notice("m", DOWN, 7, 3, "a.yaml:4: step 1: sending failed: 401 for key sandbox-flow-key",
                    "text: hi", "0 replies", "/srv/transcripts/monitor-m-run-7.html")
    hook = "https://hooks.slack.com/services/T000/B000/SECRETPART"
    slack = notice.body("slack", ["sandbox-flow-key", hook])
    assert set(slack) == {"text"} and "sandbox-flow-key" not in slack["text"] and "••••••-key" in slack["text"]
    assert "Transcript: /srv/transcripts/monitor-m-run-7.html" in slack["text"]
    generic = notice.body("webhook", ["sandbox-flow-key"])
    assert (generic["event"], generic["failures"], generic["run"]) == ("down", 3, 7)
    assert "sandbox-flow-key" not in str(generic)
    assert masked_hook(hook) == "https://hooks.slack.com/••••••PART"


def test_the_latency_budget_goes_on_every_sending_step_without_one():
    scenario = parse_scenario("steps:\n  - send: hi\n  - wait: 1s\n  - send: menu\n    within: 5s\n", "s.yaml")
    steps = with_budget(scenario, 2.0).steps
    assert [s.within for s in steps] == [2.0, None, 5.0]
    assert scenario.steps[0].within is None, "the loaded scenario was changed"
