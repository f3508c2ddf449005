"""`python -m apichat.monitor` as a team runs it: real receiver, sandbox and alert receiver processes.

A monitor every second against the sandbox: a fault switched on makes it fail, off makes it pass again, and
exactly one down alert and one recovery notice reach the test webhook receiver (tests/fake_webhook.py); a
flaky target gets them on a retry, a broken one is recorded as failed.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from apichat.config import load_settings
from apichat.store import open_store
from tests.conftest import ROOT, free_port, process_env, wait_until

SCENARIO = """\
name: Hello
settle: 0.3s
timeout: 1s
steps:
  - send: hi
    expect:
      - text: {contains: "Northwind Coffee"}
    messages: 1
"""

FLOW_KEY = "sandbox-flow-key"


def _posts(hook: str) -> list[dict]:
    return requests.get(f"{hook}/received", timeout=5).json()["posts"]


def _services(tmp_path, start_process, **env_extra):
    """A receiver, a sandbox and an alert receiver on free ports; (env, settings, hook URL)."""
    receiver_port, sandbox_port, hook_port = free_port(), free_port(), free_port()
    env = process_env(tmp_path, APICHAT_RECEIVER_PORT=str(receiver_port), APICHAT_SANDBOX_PORT=str(sandbox_port),
                      **env_extra)
    settings = load_settings(env)
    start_process(["-m", "receiver"], env, settings.receiver_url)
    start_process(["-m", "sandbox", "--state", str(tmp_path / "sandbox.json")], env, settings.sandbox_url)
    hook = f"http://127.0.0.1:{hook_port}"
    start_process(["-m", "tests.fake_webhook", "--port", str(hook_port)], env, hook, name="fake_webhook")
    return env, settings, hook


def test_a_fault_brings_one_down_alert_and_one_recovery(tmp_path, start_process):
    env, settings, hook = _services(tmp_path, start_process)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "hello.yaml").write_text(SCENARIO)
    (tmp_path / "monitors.yaml").write_text(f"""\
monitors:
  - name: hello
    scenarios: [checks/hello.yaml]
    every: 1s
    alert_after: 2
    alert:
      - slack: {hook}/flaky2/services/T000/B000/SECRETPATH
      - webhook: {hook}/ops
      - webhook: {hook}/status/500/broken
""")
    monitor = start_process(["-m", "apichat.monitor", "run", str(tmp_path / "monitors.yaml"), "--alert-backoff",
                             "0.05s"], env, name="monitor")
    db = open_store(settings.db_path)
    wait_until(lambda: any(r["status"] == "passed" for r in db.list_monitor_runs("hello")), 30,
               message="a first passing run")
    requests.post(f"{settings.sandbox_url}/sandbox/faults", json={"fault": "drop", "count": 1000},
                  timeout=5).raise_for_status()
    wait_until(lambda: [p for p in _posts(hook) if p["path"] == "/ops"], 30, message="the down alert")
    requests.delete(f"{settings.sandbox_url}/sandbox/faults", timeout=5).raise_for_status()
    wait_until(lambda: len([p for p in _posts(hook) if p["path"] == "/ops"]) == 2, 30, message="the recovery notice")
    recovered = max(a["run"] for a in db.list_monitor_alerts("hello"))
    wait_until(lambda: sum(r["status"] == "passed" and r["id"] > recovered for r in db.list_monitor_runs("hello")) >= 1,
               30, message="another passing run after the recovery")
    monitor.stop()
    assert monitor.proc.returncode == 0, monitor.output()

    posts = _posts(hook)
    ops = [p["body"] for p in posts if p["path"] == "/ops"]
    assert [b["event"] for b in ops] == ["down", "recovery"], "exactly one down alert and one recovery notice"
    down = ops[0]
    assert down["monitor"] == "hello" and down["failures"] == 2
    assert re.match(re.escape(str(tmp_path / "checks" / "hello.yaml")) + r':\d+: step 1 \(send "hi"\): expected 1 reply, 0 arrived$', down["problem"])
    assert (down["expected"], down["arrived"]) == ("messages: 1", "0"), down
    page = Path(down["transcript"]).read_text(encoding="utf-8")  # the failing run, as a file anyone can open
    assert "<title>Monitor hello · run " in page and "expected 1 reply, 0 arrived" in page and "<script" not in page
    assert "Transcript: " + down["transcript"] in [p for p in posts if p["path"].startswith("/flaky2/")][2]["body"]["text"]
    slack = [p for p in posts if p["path"].startswith("/flaky2/")]
    assert [p["status"] for p in slack] == [503, 503, 200, 200], "the down alert got through on its 3rd try"
    assert [set(p["body"]) for p in slack] == [{"text"}] * 4
    assert slack[0]["body"]["text"].startswith("🔴 Monitor hello is down")
    assert slack[-1]["body"]["text"].startswith("✅ Monitor hello is back up")
    everything = json.dumps([p["body"] for p in posts])
    assert FLOW_KEY not in everything and "SECRETPATH" not in everything, "a key or a hook's secret left in an alert"

    rows = db.list_monitor_alerts("hello")
    assert [(r["kind"], r["status"], r["attempts"]) for r in reversed(rows)] == [
        ("down", "sent", 3), ("down", "sent", 1), ("down", "failed", 3),
        ("recovery", "sent", 1), ("recovery", "sent", 1), ("recovery", "failed", 3)]
    broken = rows[0]
    assert broken["error"].startswith("HTTP 500") and "broken" not in broken["target"], broken
    statuses = [r["status"] for r in reversed(db.list_monitor_runs("hello"))]
    assert "failed" in statuses and statuses[0] == "passed" and statuses[-1] == "passed"
    assert "running" not in statuses and "interrupted" not in statuses, "SIGTERM cut a run short"
    assert "SECRETPATH" not in monitor.output() and FLOW_KEY not in monitor.output()


def test_an_invalid_file_is_refused_with_file_and_line(tmp_path):
    (tmp_path / "monitors.yaml").write_text("monitors:\n  - name: a\n    scenarios: [missing.yaml]\n    every: 1s\n"
                                            "  - name: b\n    scenarios: []\n    evry: 1s\n")
    out = subprocess.run([sys.executable, "-m", "apichat.monitor", "run", "--once", str(tmp_path / "monitors.yaml")],
                         cwd=ROOT, env=process_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    shown = str(tmp_path / "monitors.yaml")
    assert out.stderr.splitlines() == [
        f"{shown}:3: no scenario file or folder \"missing.yaml\" (looked for {tmp_path / 'missing.yaml'})",
        f"{shown}:7: unknown key 'evry' in monitor 2 (did you mean 'every'?)"], out.stderr


def _write_monitors(tmp_path, body: str) -> str:
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "checks" / "hello.yaml").write_text(SCENARIO)
    (tmp_path / "checks" / "long.yaml").write_text("name: Long\nsteps:\n  - send: hi\n  - wait: 60s\n")
    path = tmp_path / "monitors.yaml"
    path.write_text(body)
    return str(path)


def test_two_processes_on_one_postgresql_store_run_each_monitor_once(tmp_path, start_process, pg_cluster):
    env, settings, _hook = _services(tmp_path, start_process, APICHAT_DB=pg_cluster.new_database())
    names = ["one", "two", "three"]
    path = _write_monitors(tmp_path, "monitors:\n" + "".join(
        f"  - name: {n}\n    scenarios: [checks/hello.yaml]\n    every: 1h\n" for n in names))
    both = [subprocess.Popen([sys.executable, "-m", "apichat.monitor", "run", "--once", path], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in both]
    assert [p.returncode for p in both] == [0, 0], outputs
    db = open_store(settings.db_path)
    runs = db.list_monitor_runs()
    assert sorted(r["monitor"] for r in runs) == sorted(names), f"a monitor ran twice or never: {outputs}"
    assert {r["status"] for r in runs} == {"passed"}


def test_a_killed_monitor_process_leaves_its_run_interrupted(tmp_path, start_process, pg_cluster):
    env, settings, _hook = _services(tmp_path, start_process, APICHAT_DB=pg_cluster.new_database())
    path = _write_monitors(tmp_path, "monitors:\n  - name: long\n    scenarios: [checks/long.yaml]\n    every: 1h\n")
    doomed = start_process(["-m", "apichat.monitor", "run", "--once", "--lease", "1s", path], env, name="doomed")
    db = open_store(settings.db_path)
    run = wait_until(lambda: [r for r in db.list_monitor_runs("long") if r["status"] == "running"], 30,
                     message="the run to start")[0]
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait(10)
    wait_until(lambda: db.get_monitor_run(run["id"])["status"] == "interrupted", 10,
               message="the killed process's run to read as interrupted")
    again = subprocess.run([sys.executable, "-m", "apichat.monitor", "run", "--once", path], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [(r["id"], r["status"]) for r in db.list_monitor_runs("long")] == [(run["id"], "interrupted")], \
        "the next process ran a monitor that is not due, or left the killed run as it was"
    stored = db._row("SELECT status, finished_at FROM monitor_runs WHERE id = ?", (run["id"],))
    assert stored["status"] == "interrupted" and stored["finished_at"] is not None, "the next claimer did not write it"
