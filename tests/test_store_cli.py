"""`python -m apichat.store check|copy`, and the one-line errors of a store that cannot be opened (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from apichat import processes
from apichat.payloads import parse_bot_message
from apichat.schema import MIGRATIONS, PG_MIGRATIONS
from apichat.store import Store, StoreUnavailable, open_store
from apichat.store.copy import TABLES, row_counts

from .conftest import ROOT
from .pg import PASSWORD


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apichat.store", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=processes.clean_env(**(env or {})))


def filled(path: str) -> Store:
    """A SQLite store with a row in every table: profiles, a default, 3 conversations, webhooks, a refused
    delivery with bytes that are not UTF-8, a request, a scenario run and its result."""
    store = open_store(path)
    store.save_profile("shop", verify_key="vk-1234", flow_key="fk-5678")
    store.set_default_profile("shop")
    store.save_contact("c1", "Ada", "ada@x.test", "+1")
    for i in range(120):
        body = json.dumps({"sender_id": "c1", "conv_id": i % 3, "text": f"reply {i} \u0000 é"}).encode()
        store.accept_webhook(profile="shop", route="/webhook/shop", method="POST", headers={}, body=body,
                             message=parse_bot_message(body))
    conversation = store.list_conversations("shop")[0]["id"]
    store.add_contact_message(conversation, "text", "hello", {}, {"content": "hello"})
    store.record_delivery(profile="shop", route="/webhook/shop", method="POST", headers={}, body=b"\x00\xff junk",
                          outcome="rejected", status_code=401, reason="no X-Hub-Signature-256 header")
    store.record_request(profile="shop", target="bot_url", method="POST", url="https://bot.test/x",
                         request_headers={}, request_body="{}", status=200, response_body="{}", duration_ms=3.5)
    run = store.start_scenario_run(scenario="s", path="s.yaml", profile="shop", total_steps=1)
    store.add_scenario_result(run, position=0, line=3, label="send hi", status="passed", first_reply_ms=12.0)
    store.finish_scenario_run(run, status="passed", passed=1)
    store.save_verdict("llama3.1", "is polite", "Hi Ada!", True, "it greets")
    monitor_run = store.start_monitor_run("greeting", "host:1:abc")
    store.finish_monitor_run(monitor_run, status="failed", problem="s.yaml:3: no reply", first_p50_ms=12.0)
    store.add_monitor_alert("greeting", run=monitor_run, kind="down", target="slack https://hooks.slack.com/••••••XXXX",
                            status="sent", attempts=1)
    store.save_simulator_answer("k" * 64, "llama3.1", "{\"press\": \"Products\"}")
    store.store_id  # noqa: B018 - a setting of its own, which the copy leaves behind
    return store


def test_copy_moves_every_table_to_postgresql_and_verifies_the_counts(tmp_path, pg_cluster):
    source_path = str(tmp_path / "console.db")
    source = filled(source_path)
    url = pg_cluster.new_database()

    done = cli("copy", "--from", source_path, "--to", url)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr and "••••••" in done.stdout
    assert "every count matches" in done.stdout
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.split()
             and line.split()[0] in TABLES}
    counts = row_counts(source)
    assert {table: [str(counts[table])] * 2 for table in TABLES} == lines
    assert counts["messages"] == 121 and counts["deliveries"] == 121 and all(counts.values())

    copied = open_store(url)
    assert copied.profiles().default["name"] == "shop" and copied.get_profile("shop")["verify_key"] == "vk-1234"
    assert copied.store_id != source.store_id  # another store, which a console tells apart
    for conversation in source.list_conversations("shop"):
        mine = [(m["id"], m["text"], m["reply_to"], m["delivery"]) for m in source.messages_since(conversation["id"])]
        theirs = [(m["id"], m["text"].replace("\ufffd", "\x00"), m["reply_to"], m["delivery"])
                  for m in copied.messages_since(conversation["id"])]
        assert mine == theirs
    assert bytes(copied.list_deliveries(outcome="rejected")[0]["body"]) == b"\x00\xff junk"
    assert copied.scenario_results(copied.list_scenario_runs()[0]["id"])[0]["first_reply_ms"] == 12.0
    assert copied.get_verdict("llama3.1", "is polite", "Hi Ada!") == {"passed": True, "reason": "it greets"}
    # new rows continue after the copied ids, on both sequences
    body = json.dumps({"sender_id": "c1", "conv_id": 0, "text": "after the move"}).encode()
    outcome, delivery, message = copied.accept_webhook(profile="shop", route="/webhook/shop", method="POST",
                                                       headers={}, body=body, message=parse_bot_message(body))
    top_message = max(m["id"] for c in source.list_conversations("shop") for m in source.messages_since(c["id"]))
    assert (outcome, message, delivery) == ("accepted", top_message + 1, counts["deliveries"] + 1)

    check = cli("check", env={"APICHAT_DB": url})
    assert check.returncode == 0, check.stderr
    assert "postgresql" in check.stdout and PASSWORD not in check.stdout
    assert f"schema version    {len(PG_MIGRATIONS)} (this code: {len(PG_MIGRATIONS)})" in check.stdout
    assert f"messages          {counts['messages'] + 1}" in check.stdout

    again = cli("copy", "--from", source_path, "--to", url)  # never merged into a store that holds data
    assert again.returncode == 1 and "is not empty" in again.stderr and PASSWORD not in again.stderr
    assert row_counts(open_store(url))["messages"] == counts["messages"] + 1


def test_copy_back_to_sqlite_and_check_a_sqlite_store(tmp_path, pg_cluster):
    url = pg_cluster.new_database()
    source = open_store(url)
    source.save_profile("p", verify_key="k")
    body = json.dumps({"sender_id": "c1", "conv_id": 5, "text": "hi"}).encode()
    source.accept_webhook(profile="p", route="/webhook/p", method="POST", headers={}, body=body,
                          message=parse_bot_message(body))
    target = str(tmp_path / "back.db")
    done = cli("copy", "--from", url, "--to", target)
    assert done.returncode == 0, done.stderr
    check = cli("check", "--db", target)
    assert check.returncode == 0 and "sqlite" in check.stdout
    assert f"schema version    {len(MIGRATIONS)} (this code: {len(MIGRATIONS)})" in check.stdout
    assert "messages          1" in check.stdout and "deliveries        1" in check.stdout


def test_a_failed_copy_leaves_the_destination_empty(tmp_path, pg_cluster):
    source_path = str(tmp_path / "console.db")
    source = filled(source_path)
    with source.write() as conn:  # SQLite keeps what PostgreSQL's column types refuse
        conn.execute("UPDATE requests SET status = 'not a number'")
    url = pg_cluster.new_database()
    done = cli("copy", "--from", source_path, "--to", url)
    assert done.returncode == 1
    assert "requests: a row among 1-1 cannot be stored" in done.stderr and "nothing was copied" in done.stderr
    assert not any(row_counts(open_store(url)).values())


@pytest.mark.parametrize("case", ["unreachable", "wrong password", "no such database", "newer schema",
                                  "another application's tables", "not a database", "no file"])
def test_a_store_that_cannot_be_opened_is_one_line_and_exit_2(case, tmp_path, pg_cluster):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 50)
    newer = pg_cluster.new_database() if case == "newer schema" else ""
    if newer:
        with open_store(newer).write() as conn:
            conn.execute("UPDATE schema_version SET version = 99")
    other_app = pg_cluster.new_database() if case == "another application's tables" else ""
    if other_app:
        import psycopg
        with psycopg.connect(other_app, autocommit=True) as conn:
            conn.execute("CREATE TABLE profiles (login TEXT, shoe_size INTEGER)")
    target, expected = {
        "unreachable": (f"postgresql://someone:hunter2-secret@127.0.0.1:{processes.free_port()}/apichat",
                        "cannot reach the PostgreSQL server of APICHAT_DB postgresql://someone:••••••@127.0.0.1:"),
        "wrong password": (pg_cluster.url(password="hunter2-secret"), "PostgreSQL refused the credentials in "
                           "APICHAT_DB postgresql://postgres:••••••@"),
        "no such database": (pg_cluster.url("nowhere"), "the database of APICHAT_DB"),
        "newer schema": (newer, f"has schema version 99, newer than this code ({len(PG_MIGRATIONS)}); upgrade"),
        "another application's tables": (other_app, "cannot create or migrate the store's tables (to version 1) in "
                                         "APICHAT_DB postgresql://postgres:••••••@"),
        "not a database": (str(notes), "notes.txt is missing or unreadable: file is not a database"),
        "no file": (str(tmp_path / "nothing.db"), "there is no store at"),
    }[case]
    done = cli("check", "--db", target)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr and PASSWORD not in done.stderr
    if case in ("unreachable", "wrong password", "no such database"):
        with pytest.raises(StoreUnavailable, match="APICHAT_DB postgresql://"):
            open_store(target)


def _table_counts(output: str) -> dict[str, int]:
    return {line.split()[0]: int(line.split()[-1]) for line in output.splitlines()
            if len(line.split()) == 2 and line.split()[-1].isdigit()}


def test_prune_dry_run_and_prune_agree_and_sqlite_gets_its_space_back(tmp_path):
    import os

    from apichat.store import core

    path = str(tmp_path / "console.db")
    store = filled(path)
    old = core.now() - 40 * 86400
    with store.write() as conn:  # 40 days old: 2,000 refused deliveries of 2 KB and every other row
        conn.execute("INSERT INTO deliveries (received_at, profile, outcome, status_code, body) SELECT ?, 'shop', "
                     f"'rejected', 401, ? FROM (SELECT 1 FROM (VALUES {', '.join(['(1)'] * 2000)}))",
                     (old, b"x" * 2000))
        for table, column in (("deliveries", "received_at"), ("requests", "created_at")):
            conn.execute(f"UPDATE {table} SET {column} = ?", (old,))
        conn.execute("UPDATE deliveries SET received_at = ? WHERE id = (SELECT MAX(id) FROM deliveries "
                     "WHERE body IS NULL OR length(body) < 100)", (core.now(),))
    store.close()
    size = os.path.getsize(path)

    dry = cli("prune", "--older-than", "30d", "--dry-run", "--db", path)
    assert dry.returncode == 0, dry.stderr
    assert "would delete" in dry.stdout
    counted = _table_counts(dry.stdout)
    assert counted["deliveries"] == 121 + 2000 - 1 and counted["requests"] == 1 and counted["messages"] == 0
    assert row_counts(open_store(path))["deliveries"] == 2121  # nothing deleted

    done = cli("prune", "--older-than", "30d", "--db", path)
    assert done.returncode == 0, done.stderr
    assert _table_counts(done.stdout) == counted
    assert "file size:" in done.stdout
    left = open_store(path)
    assert row_counts(left)["deliveries"] == 1 and row_counts(left)["requests"] == 0
    assert row_counts(left)["messages"] == 121  # conversations follow their own retention
    left.close()
    assert os.path.getsize(path) < size / 2

    again = cli("prune", "--older-than", "30d", "--what", "deliveries,messages", "--vacuum", "--db", path)
    assert again.returncode == 0, again.stderr
    assert _table_counts(again.stdout)["deliveries"] == 0


@pytest.mark.parametrize("args, expected", [
    (["--older-than", "soon"], "'soon' is not an age such as 30d"),
    (["--older-than", "30d", "--what", "deliveries,everything"], "choose among deliveries,requests,messages"),
])
def test_prune_refuses_bad_arguments_in_one_line(tmp_path, args, expected):
    path = str(tmp_path / "console.db")
    open_store(path).close()
    done = cli("prune", *args, "--db", path)
    assert done.returncode == 2 and expected in done.stderr
    assert "Traceback" not in done.stderr


def test_check_shows_each_tables_rows_bytes_oldest_row_and_retention(tmp_path):
    path = str(tmp_path / "console.db")
    filled(path).close()
    done = cli("check", "--db", path, env={"APICHAT_RETENTION_DAYS": "7", "APICHAT_MESSAGES_RETENTION_DAYS": "90"})
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.split()}
    assert rows["deliveries"][0] == "121" and rows["deliveries"][-2:] == ["7", "days"]
    assert rows["messages"][-2:] == ["90", "days"] and rows["scenario_runs"][-1] == "kept"
    assert rows["deliveries"][2] in ("kB", "MB") and rows["deliveries"][3].startswith("20")  # bytes, a date
    assert rows["profiles"] == ["1"]
