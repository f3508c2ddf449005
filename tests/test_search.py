"""The Inspector's text search over an index (SQLite FTS5 trigram, PostgreSQL pg_trgm), on both backends: the
same answers as a scan, rows not indexed yet still found, deleted rows forgotten, and the migration that builds
the index on a store of the previous schema with data in it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from apichat.payloads import parse_bot_message
from apichat.schema import MIGRATIONS, PG_MIGRATIONS
from apichat.store import open_store
from apichat.store import postgres as pg_module
from apichat.store import sqlite as sqlite_module

SEARCH_MIGRATION = next(m for m in MIGRATIONS if "deliveries_search" in m)
PG_SEARCH_MIGRATION = next(m for m in PG_MIGRATIONS if "deliveries_search" in m)


def webhook(store, text: str, profile: str = "p", headers: dict | None = None):
    body = json.dumps({"sender_id": "c1", "conv_id": 1, "text": text}).encode()
    return store.accept_webhook(profile=profile, route=f"/webhook/{profile}", method="POST", headers=headers or {},
                                body=body, message=parse_bot_message(body))


def fill(store) -> None:
    for i in range(30):
        webhook(store, f"Order {i} shipped", profile="p" if i % 2 else "q")
    webhook(store, "100% off_sale")
    webhook(store, "Ünïcode Café")
    store.record_delivery(profile="p", route="/webhook/p", method="POST", headers={"X-Trace": "trace-xyz"},
                          body=b"\xff\xfe not json", outcome="rejected", status_code=400, reason="Body is not JSON")
    store.record_request(profile="p", target="bot_url", method="POST", url="https://bot.test/api/apichat/abc123",
                         request_headers={}, request_body='{"content": "hello there"}', status=500,
                         response_body='{"message": "flow paused"}', duration_ms=2.0, error="")


def texts(rows) -> list[str]:
    return [bytes(r["body"]).decode("utf-8", "replace") if "body" in r else r["url"] for r in rows]


@pytest.fixture
def store(store_target):
    s = open_store(store_target)
    yield s
    s.close()


CASES = ["order 1", "ORDER 2", "shipped", "not there at all", "100%", "off_sale", "f_s", "café", "Body is not",
         "trace-xyz", "webhook/q", "12", "%", "_"]


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not-indexed-yet"])
def test_the_search_finds_what_a_scan_finds(store, indexed):
    fill(store)
    if indexed:
        while store.index_search(7):
            pass
    for text in CASES:
        found = [d["id"] for d in store.list_deliveries(text=text)]
        scan = [d["id"] for d in store._rows("SELECT * FROM deliveries ORDER BY id DESC")
                if text.lower() in (bytes(d["body"] or b"").decode("utf-8", "replace") + d["reason"] + d["route"]
                                    + d["headers"]).lower()]
        assert found == scan, text
    assert len(store.list_deliveries(text="order 1")) == 11  # 1, 10-19
    assert [d["profile"] for d in store.list_deliveries(text="shipped", profile="q", limit=3)] == ["q"] * 3
    assert texts(store.list_requests(text="FLOW PAUSED")) == ["https://bot.test/api/apichat/abc123"]
    assert texts(store.list_requests(text="apichat/abc")) == ["https://bot.test/api/apichat/abc123"]
    assert store.list_requests(text="nowhere") == []


def test_newest_first_across_the_indexed_rows_and_those_not_yet(store):
    fill(store)
    while store.index_search():
        pass
    webhook(store, "Order 99 shipped")  # not indexed yet on SQLite
    found = store.list_deliveries(text="shipped", limit=3)
    assert [json.loads(bytes(d["body"]))["text"] for d in found] == ["Order 99 shipped", "Order 29 shipped",
                                                                      "Order 28 shipped"]


def test_a_deleted_row_leaves_the_index(store):
    fill(store)
    while store.index_search():
        pass
    store.prune(2e9, ["deliveries", "requests"], pause=0)
    assert store.list_deliveries(text="shipped") == [] and store.list_requests(text="hello") == []
    webhook(store, "shipped again")
    assert len(store.list_deliveries(text="shipped")) == 1


def test_sqlite_searches_the_index_not_the_table(tmp_path):
    store = open_store(str(tmp_path / "console.db"))
    fill(store)
    while store.index_search():
        pass
    assert store.conn.execute("SELECT COUNT(*) FROM deliveries_search").fetchone()[0] == store.count_deliveries()
    statements: list[str] = []
    store.trace(statements.append)
    store.list_deliveries(text="shipped", profile="p")
    search = next(s for s in statements if "MATCH" in s)
    plan = " | ".join(row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {search}"))  # values in the trace
    assert "VIRTUAL TABLE" in plan and "SCAN t" not in plan, plan  # deliveries read by id only
    store.close()


def _at_previous_schema(target: str, monkeypatch) -> None:
    """The store at `target` created by the code before the search index, with data in it."""
    if target.startswith("postgresql://"):
        monkeypatch.setattr(pg_module, "PG_MIGRATIONS", PG_MIGRATIONS[:PG_MIGRATIONS.index(PG_SEARCH_MIGRATION)])
    else:
        monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:MIGRATIONS.index(SEARCH_MIGRATION)])
    old = open_store(target)
    fill(old)
    old.close()
    monkeypatch.undo()


def test_the_migration_builds_the_index_of_a_store_with_data_and_loses_nothing(store_target, monkeypatch):
    _at_previous_schema(store_target, monkeypatch)
    store = open_store(store_target)
    assert store.schema_version == len(PG_MIGRATIONS if store.shared else MIGRATIONS)
    assert store.count_deliveries() == 33 and len(store.list_requests()) == 1
    assert len(store.list_deliveries(text="shipped", limit=100)) == 30
    if store.shared:  # the planner is made to prefer the trigram index where it could
        conn = store.conn
        conn.execute("SET enable_seqscan = off")
        plan = " ".join(row[0] for row in conn.execute(
            "EXPLAIN SELECT * FROM deliveries WHERE " + pg_module.DIALECT.delivery_search,
            ["%shipped%"] * 4))
        conn.execute("RESET enable_seqscan")
        assert "deliveries_search_body" in plan, plan
    else:  # built by the migration: every row already indexed
        assert store.conn.execute("SELECT COUNT(*) FROM deliveries_search").fetchone()[0] == 33
        assert store.index_search() == 0
    store.close()


def test_the_migration_says_it_builds_the_index_of_a_large_store(tmp_path, monkeypatch, capsys):
    from apichat.store import core

    path = str(tmp_path / "console.db")
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:MIGRATIONS.index(SEARCH_MIGRATION)])
    open_store(path).close()
    monkeypatch.undo()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO deliveries (received_at, outcome, status_code) VALUES (1, 'rejected', 401)")
    raw.commit()
    raw.close()
    monkeypatch.setattr(core, "NOTE_ROWS", 0)
    open_store(path).close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "building the Inspector's search index over 1 deliveries" in err


def test_the_housekeeper_indexes_in_quiet_time_and_catches_up_after_a_burst(tmp_path):
    from apichat.config import Retention
    from apichat.retention import Housekeeper

    store = open_store(str(tmp_path / "console.db"))
    keeper = Housekeeper(store, Retention(deliveries_days=None, messages_days=None, runs_days=None))
    for i in range(Housekeeper.BUSY_ROWS + 1):  # a burst: more arrived since the last look than a quiet second
        webhook(store, f"burst {i}")
    assert keeper.index() == 0 and store.search_backlog() == Housekeeper.BUSY_ROWS + 1
    assert len(store.list_deliveries(text="burst", limit=100)) == Housekeeper.BUSY_ROWS + 1  # found all the same
    assert keeper.index() == Housekeeper.BUSY_ROWS + 1  # nothing new since: quiet, all of it indexed
    assert store.search_backlog() == 0
    for i in range(Housekeeper.BUSY_ROWS):  # a trickle is indexed as it comes
        webhook(store, f"trickle {i}")
    assert keeper.index() == Housekeeper.BUSY_ROWS and store.search_backlog() == 0
    store.close()
