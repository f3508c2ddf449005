"""Load tests on Locust (apichat.load): the rules in-process, the runs as real processes.

Locust is never imported here (it monkey-patches the standard library for gevent): every run is
`python -m apichat.load run …` against a fresh sandbox, as a person would start it, read back from
Locust's own CSV files.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from apichat.load import LoadError, check_safety, misrouted, store_is_shared, think_range
from apichat.load.__main__ import main
from tests.conftest import ROOT, free_port, process_env

GREETING = ("name: Greeting\nsteps:\n  - send: hi\n    messages: 1\n    expect:\n"
            "      - text: {contains: 'Hi load-'}\n  - click: Products\n    messages: 1\n")
NAMES_THE_CONTACT = "name: Names\nsteps:\n  - send: hi\n    messages: 1\n    expect:\n      - text: {contains: 'Hi load-'}\n"
WRONG = "name: Wrong\nsteps:\n  - send: hi\n    expect:\n      - text: {contains: Goodbye}\n"
FAST = ["--think", "0.2s", "--settle", "0.3s"]


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def _load(tmp_path: Path, args: list[str], env: dict | None = None, timeout: float = 120):
    done = subprocess.run([sys.executable, "-m", "apichat.load", "run", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env or process_env(tmp_path, PYTHONPATH=str(ROOT)))
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _steps(prefix: Path) -> dict[str, dict]:
    return {r["Name"]: r for r in _rows(Path(f"{prefix}_final_stats.csv")) if r["Type"] == "STEP"}


# ---------------------------------------------------------------- rules


def test_think_time_is_a_duration_or_a_range():
    assert think_range("1s") == (1.0, 1.0)
    assert think_range("2s-5s") == (2.0, 5.0)
    assert think_range("500ms") == (0.5, 0.5)
    for bad in ("soon", "5s-2s", "1s-2s-3s"):
        with pytest.raises(LoadError, match="--think"):
            think_range(bad)


def test_safety_rules():
    check_safety(users=5, real=True, allow_real=False, master_host=None, worker=False, db="x.db")
    check_safety(users=500, real=False, allow_real=False, master_host=None, worker=False, db="x.db")
    check_safety(users=50, real=True, allow_real=True, master_host=None, worker=False, db="x.db")
    with pytest.raises(LoadError, match="need --allow-real"):
        check_safety(users=6, real=True, allow_real=False, master_host=None, worker=False, db="x.db")
    with pytest.raises(LoadError, match="at least 1"):
        check_safety(users=0, real=False, allow_real=False, master_host=None, worker=False, db="x.db")
    with pytest.raises(LoadError, match="remote workers need the shared PostgreSQL store"):
        check_safety(users=1, real=False, allow_real=False, master_host="10.1.2.3", worker=True, db="x.db")
    check_safety(users=1, real=False, allow_real=False, master_host="127.0.0.1", worker=True, db="x.db")
    check_safety(users=1, real=False, allow_real=False, master_host="10.1.2.3", worker=True,
                 db="postgresql://db/console")
    assert not store_is_shared("data/console.db") and store_is_shared("postgresql://h/db")


def _reply(sender: str, conv: int, text: str = "ok", id_: int = 7) -> dict:
    return {"id": id_, "text": text, "raw": json.dumps({"sender_id": sender, "conv_id": conv, "text": text})}


def test_a_reply_for_another_contact_is_called_misrouted():
    assert misrouted([_reply("load-ab-1", 5, "Hi load-ab-1!")], "load-ab-1", 5) == ""
    assert "sent to contact load-ab-2" in misrouted([_reply("load-ab-2", 5)], "load-ab-1", 5)
    assert "sent to conversation 6" in misrouted([_reply("load-ab-1", 6)], "load-ab-1", 5)
    assert "it names load-ab-2" in misrouted([_reply("load-ab-1", 5, "Hi load-ab-2!")], "load-ab-1", 5)


@pytest.mark.parametrize(("files", "args", "said"), [
    ({"broken.yaml": "name: x\nsteps:\n  - sned: hi\n"}, [], "unknown key 'sned' in step 1 (did you mean 'send'?)"),
    ({}, [], "no scenario files found"),
    ({"ok.yaml": GREETING}, ["--users", "0"], "--users must be at least 1 (got 0)"),
    ({"ok.yaml": GREETING}, ["--profile", "nosuch"], "no profile named 'nosuch'"),
    ({"ok.yaml": GREETING}, ["--profile", "env", "--users", "50"], "50 contacts against a real workspace need "
                                                                    "--allow-real"),
    ({"ok.yaml": GREETING}, ["--worker", "--master-host", "192.0.2.7"], "remote workers need the shared"),
    ({"ok.yaml": GREETING}, ["--think", "later"], "--think: 'later' is not a duration"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, monkeypatch, capsys, files, args, said):
    monkeypatch.setenv("APICHAT_DB", str(tmp_path / "console.db"))
    for name, text in files.items():
        _write(tmp_path, name, text)
    assert main(["run", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert said in err and err.startswith("cannot run the load test: ") and err.count("\n") == 1, err
    assert not (tmp_path / "console.db").exists()  # nothing started, nothing written


# ---------------------------------------------------------------- runs


def test_two_hundred_contacts_get_per_step_stats_and_only_their_own_replies(tmp_path):
    """The demo bot greets by name and a contact's name is its id (the file names none): a reply handed to the
    wrong contact fails its step (apichat.load.misrouted), as does one whose webhook names another contact."""
    scenario = _write(tmp_path, "greeting.yaml", GREETING)
    prefix, html = tmp_path / "out" / "run", tmp_path / "out" / "report.html"
    done = _load(tmp_path, [scenario, "-u", "200", "-r", "200", "-t", "6s", "--think", "0.5s", "--settle", "0.3s",
                            "--timeout", "20s", "--csv", str(prefix), "--html", str(html)])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = _steps(prefix)
    assert set(steps) == {'Greeting › 1. send "hi"', 'Greeting › 2. click "Products"'}
    for row in steps.values():
        assert int(row["Request Count"]) > 0 and row["Failure Count"] == "0", row
        assert float(row["Average Content Size"]) == 1.0  # one reply per step
    assert int(steps['Greeting › 1. send "hi"']["Request Count"]) >= 200  # every contact got through a turn
    assert _rows(Path(f"{prefix}_final_failures.csv")) == []
    settle = {r["Name"]: r for r in _rows(Path(f"{prefix}_settle.csv"))}
    assert set(settle) == set(steps) and all(int(r["Count"]) > 0 for r in settle.values())
    history = _rows(Path(f"{prefix}_stats_history.csv"))
    assert max(int(r["User Count"]) for r in history) == 200
    assert json.dumps('Greeting › 1. send "hi"')[1:-1] in html.read_text(encoding="utf-8")  # Locust's report


def test_two_processes_aggregate_both_workers_stats_and_failures(tmp_path):
    """--processes 2 on the console's sandbox profile: the master's totals are the messages both workers sent,
    and a failed expectation is a Locust failure with the scenario runner's message."""
    names = _write(tmp_path, "names.yaml", NAMES_THE_CONTACT)
    wrong = _write(tmp_path, "wrong.yaml", WRONG)
    prefix = tmp_path / "run"
    env = process_env(tmp_path, PYTHONPATH=str(ROOT), APICHAT_RECEIVER_PORT=str(free_port()),
                      APICHAT_SANDBOX_PORT=str(free_port()))
    done = _load(tmp_path, [names, wrong, "--profile", "sandbox", "-u", "10", "-r", "10", "-t", "3s", *FAST,
                            "--processes", "2", "--csv", str(prefix)], env=env)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    steps = _steps(prefix)
    total = sum(int(row["Request Count"]) for row in steps.values())
    assert steps['Names › 1. send "hi"']["Failure Count"] == "0"
    failures = _rows(Path(f"{prefix}_final_failures.csv"))
    assert [f["Name"] for f in failures] == ['Wrong › 1. send "hi"']
    assert failures[0]["Error"].startswith('line 5: expected a reply like {"text": {"contains": "Goodbye"}}')
    assert int(failures[0]["Occurrences"]) == int(steps['Wrong › 1. send "hi"']["Failure Count"]) > 0
    assert "line 5: expected a reply like" in done.stdout + done.stderr  # Locust's own error report
    with sqlite3.connect(tmp_path / "console.db") as db:
        contacts = [r[0] for r in db.execute("SELECT DISTINCT c.contact_id FROM conversations c JOIN messages m "
                                             "ON m.conversation = c.id WHERE m.direction = 'in'")]
        sent = db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'sent'").fetchone()[0]
    assert len({c.split("-")[1] for c in contacts}) == 2, contacts  # contacts of two worker processes
    assert len(contacts) == 10
    assert 0 < total <= sent <= total + 10  # a turn cut short by the end of the run is not counted


def test_uchat_429_and_5xx_are_failures_with_the_reason_and_never_retried(tmp_path):
    """A real workspace's bot_url that answers 429 then 503: every send is one request and one failure."""
    import itertools
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from apichat.store import open_store

    answers, seen = itertools.cycle([(429, b'{"message":"Too many requests"}'),
                                     (503, b'{"message":"Service unavailable"}')]), []

    class BotUrl(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body = next(answers)
            seen.append(status)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), BotUrl)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    store = open_store(str(tmp_path / "console.db"))
    store.save_profile("busy", bot_url=f"http://127.0.0.1:{server.server_port}/api/apichat/x", flow_key="f")
    store.close()
    scenario = _write(tmp_path, "names.yaml", NAMES_THE_CONTACT)
    prefix = tmp_path / "run"
    env = process_env(tmp_path, PYTHONPATH=str(ROOT), APICHAT_RECEIVER_PORT=str(free_port()))
    try:
        done = _load(tmp_path, [scenario, "--profile", "busy", "-u", "2", "-r", "2", "-t", "3s", *FAST,
                                "--csv", str(prefix)], env=env)
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    failures = {f["Error"]: int(f["Occurrences"]) for f in _rows(Path(f"{prefix}_final_failures.csv"))}
    assert set(failures) == {"sending failed: UChat answered 429: Too many requests",
                             "sending failed: UChat answered 503: Service unavailable"}, failures
    failed = sum(failures.values())
    assert failed <= len(seen) <= failed + 2  # one request per failed step (a retry would double them); at most
    # one send per contact was still in flight when the run ended
