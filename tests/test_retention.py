"""Retention: the store's prune (both backends), its batches, its claim, and the space SQLite gives back."""

from __future__ import annotations

import json
import os

import pytest

from apichat.config import LOAD_CONTACT_PREFIX
from apichat.load.options import CONTACT_PREFIX
from apichat.payloads import parse_bot_message
from apichat.store import core, open_store
from apichat.store.retention import BATCH_ROWS, CLAIM_KEY, TABLES, PruneBusy

DAY = 86400.0
NOW = 1_800_000_000.0


def webhook(store, text: str, sender: str = "c1", conv_id: int = 1, profile: str = "p"):
    body = json.dumps({"sender_id": sender, "conv_id": conv_id, "text": text}).encode()
    return store.accept_webhook(profile=profile, route=f"/webhook/{profile}", method="POST", headers={}, body=body,
                                message=parse_bot_message(body))


def at(monkeypatch, when: float) -> None:
    monkeypatch.setattr(core, "now", lambda: when)


def fill(store, monkeypatch) -> dict:
    """Old and new rows of every kind: a 40-day-old conversation of a real contact and of a load contact, the
    same contact's new conversation, requests, a refused delivery, scenario runs old and new."""
    at(monkeypatch, NOW - 40 * DAY)
    old_conv = store.ensure_conversation("p", "c1", 1)["id"]
    sent = store.add_contact_message(old_conv, "text", "hi", {}, {})
    store.record_request(profile="p", target="bot_url", method="POST", url="https://bot.test/a", request_headers={},
                         request_body="{}", status=200, response_body="{}", duration_ms=1.0, message_id=sent)
    for i in range(3):
        webhook(store, f"old reply {i}")
    load_contact = f"{LOAD_CONTACT_PREFIX}abc-1"
    store.ensure_conversation("p", load_contact, 7)
    webhook(store, "old load reply", sender=load_contact, conv_id=7)
    webhook(store, "old other profile", sender="c2", profile="q")
    store.record_delivery(profile="p", route="/webhook/p", method="POST", headers={}, body=b"junk",
                          outcome="rejected", status_code=401, reason="no signature")
    store.record_request(profile="p", target="partner", method="GET", url="https://x.test/old", request_headers={},
                         request_body="", status=200, response_body="", duration_ms=1.0)
    run = store.start_scenario_run(scenario="s", path="s.yaml", profile="p", total_steps=2)
    store.add_scenario_result(run, position=0, line=1, label="a", status="passed")
    store.add_scenario_result(run, position=1, line=2, label="b", status="passed")
    store.finish_scenario_run(run, status="passed", passed=2)
    store.start_scenario_run(scenario="still", path="s.yaml", profile="p", total_steps=1)  # running: kept
    at(monkeypatch, NOW - 1 * DAY)
    new_conv = store.ensure_conversation("p", "c1", 2)["id"]
    webhook(store, "new reply", conv_id=2)
    store.record_request(profile="p", target="partner", method="GET", url="https://x.test/new", request_headers={},
                         request_body="", status=200, response_body="", duration_ms=1.0)
    new_run = store.start_scenario_run(scenario="s", path="s.yaml", profile="p", total_steps=1)
    store.finish_scenario_run(new_run, status="passed", passed=1)
    at(monkeypatch, NOW)
    return {"old_conv": old_conv, "new_conv": new_conv, "load_contact": load_contact}


def counts(store) -> dict[str, int]:
    return {table: store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}


@pytest.fixture
def store(store_target):
    s = open_store(store_target)
    yield s
    s.close()


def test_deliveries_and_requests_older_than_the_cutoff_go_and_the_dry_run_agrees(store, monkeypatch):
    fill(store, monkeypatch)
    before = counts(store)
    dry = store.prune(NOW - 30 * DAY, ["deliveries", "requests"], dry_run=True)
    assert counts(store) == before  # a dry run deletes nothing
    # 3 old replies, the load reply, the other profile's, the refused one; the old contact's and partner requests
    assert dry == {**dict.fromkeys(TABLES, 0), "deliveries": 6, "requests": 2}
    done = store.prune(NOW - 30 * DAY, ["deliveries", "requests"])
    assert done == dry
    after = counts(store)
    assert after["deliveries"] == before["deliveries"] - 6 == 1 and after["requests"] == 1
    assert after["messages"] == before["messages"]  # conversations are kept: their own retention
    assert [d["body"] for d in store.list_deliveries()] == [store.list_deliveries()[0]["body"]]
    assert b"new reply" in bytes(store.list_deliveries()[0]["body"])
    assert store.list_requests()[0]["url"] == "https://x.test/new"
    assert store.prune_claim() is None and store.get_setting(CLAIM_KEY) is None  # released


def test_a_profile_prunes_only_its_own_rows(store, monkeypatch):
    fill(store, monkeypatch)
    dry = store.prune(NOW - 30 * DAY, ["deliveries"], profile="q", dry_run=True)
    assert dry["deliveries"] == 1
    assert store.prune(NOW - 30 * DAY, ["deliveries"], profile="q") == dry
    assert {d["profile"] for d in store.list_deliveries()} == {"p"}


def test_stale_conversations_go_whole_with_what_they_were_made_of(store, monkeypatch):
    made = fill(store, monkeypatch)
    before = counts(store)
    dry = store.prune(NOW - 30 * DAY, ["messages"], dry_run=True)
    # the old conversation (contact message + 3 replies), the load one, the other profile's
    assert dry["conversations"] == 3 and dry["messages"] == 6
    assert dry["deliveries"] == 5 and dry["requests"] == 1  # the replies' deliveries, the request that sent "hi"
    assert store.prune(NOW - 30 * DAY, ["messages"]) == dry
    after = counts(store)
    assert store.get_conversation(made["old_conv"]) is None
    assert [m["text"] for m in store.messages_since(made["new_conv"])] == ["new reply"]
    assert after["deliveries"] == before["deliveries"] - 5  # the refused one and the new reply stay
    assert after["requests"] == before["requests"] - 1
    assert after["contacts"] == before["contacts"]  # contacts are the personas: kept
    assert store.integrity_check() == "ok"


def test_deliveries_and_messages_together_count_each_row_once(store, monkeypatch):
    fill(store, monkeypatch)
    before = counts(store)
    dry = store.prune(NOW - 30 * DAY, ["deliveries", "requests", "messages"], dry_run=True)
    assert dry["deliveries"] == 6 and dry["requests"] == 2
    assert store.prune(NOW - 30 * DAY, ["deliveries", "requests", "messages"]) == dry
    assert counts(store) == {table: before[table] - dry[table] for table in TABLES}


def test_load_removes_load_contacts_and_their_conversations_only(store, monkeypatch):
    made = fill(store, monkeypatch)
    assert CONTACT_PREFIX == LOAD_CONTACT_PREFIX  # the load test makes the contacts the prune recognises
    dry = store.prune(NOW - 30 * DAY, ["load"], dry_run=True)
    assert dry == {**dict.fromkeys(TABLES, 0), "conversations": 1, "messages": 1, "deliveries": 1, "contacts": 1}
    assert store.prune(NOW - 30 * DAY, ["load"]) == dry
    assert store.get_contact(made["load_contact"]) is None and store.get_contact("c1") is not None
    assert store.get_conversation(made["old_conv"]) is not None


def test_finished_runs_go_with_their_results_and_a_running_one_stays(store, monkeypatch):
    fill(store, monkeypatch)
    dry = store.prune(NOW - 30 * DAY, ["runs"], dry_run=True)
    assert dry["scenario_runs"] == 1 and dry["scenario_results"] == 2
    assert store.prune(NOW - 30 * DAY, ["runs"]) == dry
    assert sorted(r["scenario"] for r in store.list_scenario_runs()) == ["s", "still"]


def test_a_conversation_active_again_is_kept_whole(store, monkeypatch):
    made = fill(store, monkeypatch)
    store.prune(NOW - 30 * DAY, ["messages"], dry_run=True)
    webhook(store, "back again")  # to the old conversation, now
    done = store.prune(NOW - 30 * DAY, ["messages"])
    assert done["conversations"] == 2
    assert store.get_conversation(made["old_conv"]) is not None
    assert [m["text"] for m in store.messages_since(made["old_conv"])] == [
        "hi", "old reply 0", "old reply 1", "old reply 2", "back again"]


def test_each_batch_is_its_own_short_transaction(tmp_path, monkeypatch):
    """A webhook waits for one batch at most: no transaction deletes more than `batch` rows of a table."""
    store = open_store(str(tmp_path / "console.db"))
    at(monkeypatch, NOW - 40 * DAY)
    with store.write() as conn:
        conn.execute("INSERT INTO deliveries (received_at, outcome, status_code) "
                     f"SELECT ?, 'rejected', 401 FROM (SELECT 1 FROM (VALUES {', '.join(['(1)'] * 1300)}))",
                     (NOW - 40 * DAY,))
    at(monkeypatch, NOW)
    statements: list[str] = []
    store.trace(statements.append)
    seen = []
    done = store.prune(NOW - 30 * DAY, ["deliveries"], batch=BATCH_ROWS, pause=0, on_batch=seen.append)
    assert done["deliveries"] == 1300
    assert [batch["deliveries"] for batch in seen] == [500, 1000, 1300]
    # (SQLite's trace repeats a statement for each trigger it fires: the search index forgets each row)
    deletes = sorted(set(s for s in statements if s.startswith("DELETE FROM deliveries WHERE")), key=statements.index)
    assert len(deletes) == 3
    begins = [i for i, s in enumerate(statements) if s.startswith("BEGIN")]
    commits = [i for i, s in enumerate(statements) if s == "COMMIT"]
    for index in (statements.index(s) for s in deletes):  # each DELETE inside a transaction of its own
        assert sum(1 for b in begins if b < index) == sum(1 for c in commits if c < index) + 1
    store.close()


def test_one_pruner_at_a_time(store, monkeypatch):
    fill(store, monkeypatch)
    store.set_setting(CLAIM_KEY, json.dumps({"owner": "elsewhere:1", "at": NOW - 5}))
    with pytest.raises(PruneBusy, match="elsewhere:1"):
        store.prune(NOW - 30 * DAY, ["deliveries"])
    assert store.count_deliveries() == 7
    store.set_setting(CLAIM_KEY, json.dumps({"owner": "elsewhere:1", "at": NOW - 3600}))  # died an hour ago
    assert store.prune_claim() is None
    assert store.prune(NOW - 30 * DAY, ["deliveries"])["deliveries"] == 6


def test_an_unknown_what_is_refused(store):
    with pytest.raises(ValueError, match="unknown --what everything"):
        store.prune(NOW, ["everything"])


def test_sqlite_gives_the_space_back(tmp_path, monkeypatch):
    path = str(tmp_path / "console.db")
    store = open_store(path)
    assert store.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental, on a new file
    at(monkeypatch, NOW - 40 * DAY)
    body = "x" * 2000
    with store.write() as conn:
        conn.execute("INSERT INTO deliveries (received_at, outcome, status_code, body) SELECT ?, 'rejected', 401, ? "
                     f"FROM (SELECT 1 FROM (VALUES {', '.join(['(1)'] * 2000)}))", (NOW - 40 * DAY, body.encode()))
    at(monkeypatch, NOW)
    store.give_space_back()
    full = os.path.getsize(path)
    assert full > 4_000_000
    store.prune(NOW - 30 * DAY, ["deliveries"], pause=0)
    store.give_space_back()
    assert os.path.getsize(path) < full / 4
    store.close()


def test_holdings_tell_rows_bytes_and_the_oldest_row_of_each_table(store, monkeypatch):
    fill(store, monkeypatch)
    held = {row["table"]: row for row in store.holdings(sizes=True)}
    assert held["deliveries"]["rows"] == store.count_deliveries() == 7
    assert held["deliveries"]["oldest"] == NOW - 40 * DAY and held["judge_verdicts"]["oldest"] is None
    assert held["messages"]["rows"] == 7 and held["scenario_runs"]["rows"] == 3
    assert all(row["bytes"] > 0 for row in held.values())  # both backends tell
    assert all(row["bytes"] is None for row in store.holdings())  # not asked: no page is read
    store.prune(NOW - 30 * DAY, ["deliveries"])
    assert {row["table"]: row for row in store.holdings()}["deliveries"]["oldest"] == NOW - 1 * DAY


def test_delete_a_conversation_and_clear_a_profile(store, monkeypatch):
    made = fill(store, monkeypatch)
    store.save_profile("p", verify_key="k")
    before = counts(store)
    gone = store.delete_conversation(made["new_conv"])  # a recent one: by hand, age does not matter
    assert gone["conversations"] == 1 and gone["messages"] == 1 and gone["deliveries"] == 1
    assert store.get_conversation(made["new_conv"]) is None and store.get_conversation(made["old_conv"])
    assert counts(store)["messages"] == before["messages"] - 1
    cleared = store.clear_profile("p")
    assert cleared["scenario_runs"] == 2  # the finished ones; the one still running stays
    assert store.list_conversations("p") == [] and {d["profile"] for d in store.list_deliveries()} == {"q"}
    assert store.list_requests(profile="p") == [] and [c["profile"] for c in store.list_conversations("q")] == ["q"]
    assert store.get_profile("p")["verify_key"] == "k"  # the profile itself is kept
