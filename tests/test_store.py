"""The store: versioned schema, indexed polls, readers that never block the writer, nothing lost.

Every test of the store's behaviour runs on both backends (`store` and `store_target` are parametrised:
SQLite, and a fresh database of the session's PostgreSQL cluster). What only SQLite has (WAL, a file that
can be deleted or replaced, SQLite's query plans) is tested on SQLite alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading

import pytest

from apichat import store as store_module
from apichat.payloads import parse_bot_message
from apichat.schema import MIGRATIONS
from apichat.store import DUPLICATE_WINDOW_SECONDS, SQLiteStore, Store, StoreUnavailable, core, open_store
from apichat.store import postgres as pg_module
from apichat.store import sqlite as sqlite_module

from .conftest import wait_until


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "data" / "console.db")


@pytest.fixture
def store(store_target):
    s = open_store(store_target)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(db_path):
    """A SQLite store, for what only SQLite has (its query plans)."""
    s = open_store(db_path)
    yield s
    s.close()


def raw_query(target: str, sql: str) -> list[tuple]:
    """`sql` run on the store's database directly, outside the Store (committed)."""
    if target.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(target, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []
    conn = sqlite3.connect(target)
    try:
        rows = conn.execute(sql).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def migrations_of(target: str) -> tuple[str, list[str]]:
    """(module attribute name, list) of the migrations the store at `target` runs."""
    if target.startswith("postgresql://"):
        return "PG_MIGRATIONS", pg_module.PG_MIGRATIONS
    return "MIGRATIONS", MIGRATIONS


def migration_module(target: str):
    return pg_module if target.startswith("postgresql://") else sqlite_module


def version_sql(target: str, version: int | None = None) -> str:
    if target.startswith("postgresql://"):
        return "SELECT version FROM schema_version" if version is None else \
            f"UPDATE schema_version SET version = {version}"
    return "PRAGMA user_version" if version is None else f"PRAGMA user_version = {version}"


def webhook(store: Store, body: dict | bytes, profile: str = "p", **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    return store.accept_webhook(profile=profile, route=f"/webhook/{profile}", method="POST", headers=headers,
                                body=raw, message=parse_bot_message(raw), **extra)


def reply(text: str, conv_id=123, sender_id="c1") -> dict:
    return {"sender_id": sender_id, "conv_id": conv_id, "text": text, "type": "text", "message_type": "outgoing"}


# ---------------------------------------------------------------- file, WAL, schema

def test_creates_the_folder_and_uses_wal(db_path):
    s = open_store(db_path)
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.schema_version == len(MIGRATIONS) and s.ping() and s.integrity_check() == "ok"


def test_opens_a_version_0_file_and_keeps_its_data(db_path, tmp_path):
    (tmp_path / "data").mkdir()
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE notes (t TEXT)")
    raw.execute("INSERT INTO notes VALUES ('kept')")
    raw.commit()
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 0
    raw.close()

    s = open_store(db_path)
    assert s.schema_version == len(MIGRATIONS)
    assert s.conn.execute("SELECT t FROM notes").fetchall()[0][0] == "kept"
    s.save_profile("p", verify_key="k")
    s.close()

    again = open_store(db_path)
    assert again.schema_version == len(MIGRATIONS)
    assert again.get_profile("p")["verify_key"] == "k"


def test_reopening_keeps_version_and_data(store_target):
    s = open_store(store_target)
    s.save_profile("p", verify_key="k")
    outcome, _, message_id = webhook(s, reply("hello"))
    s.close()

    again = open_store(store_target)
    assert again.schema_version == len(migrations_of(store_target)[1])
    assert again.get_message(message_id)["text"] == "hello"
    assert again.get_profile("p")["verify_key"] == "k"


def test_new_migrations_run_on_open_and_keep_data(store_target, monkeypatch):
    s = open_store(store_target)
    s.save_profile("p", verify_key="k")
    s.close()
    name, migrations = migrations_of(store_target)
    monkeypatch.setattr(migration_module(store_target), name,
                        [*migrations, "ALTER TABLE profiles ADD COLUMN note TEXT NOT NULL DEFAULT 'n/a'"])
    again = open_store(store_target)
    assert again.schema_version == len(migrations) + 1
    assert again.get_profile("p")["note"] == "n/a" and again.get_profile("p")["verify_key"] == "k"


def test_a_failing_migration_changes_nothing(store_target, monkeypatch):
    open_store(store_target).save_profile("p")
    name, migrations = migrations_of(store_target)
    monkeypatch.setattr(migration_module(store_target), name,
                        [*migrations, "CREATE TABLE extra (x INTEGER); ALTER TABLE nowhere ADD COLUMN y INTEGER"])
    with pytest.raises(SQLiteStore.errors + pg_module.PostgresStore.errors):
        open_store(store_target)
    assert raw_query(store_target, version_sql(store_target)) == [(len(migrations),)]
    tables = ("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'extra'"
              if store_target.startswith("postgresql://") else
              "SELECT COUNT(*) FROM sqlite_master WHERE name = 'extra'")
    assert raw_query(store_target, tables) == [(0,)]
    assert raw_query(store_target, "SELECT name FROM profiles") == [("p",)]


def test_a_newer_schema_is_a_clear_error(store_target):
    open_store(store_target).save_profile("p")
    raw_query(store_target, version_sql(store_target, 99))
    current = len(migrations_of(store_target)[1])
    with pytest.raises(RuntimeError, match=rf"schema version 99, newer than this code \({current}\); upgrade") as caught:
        open_store(store_target)
    assert "apichat-test-password" not in str(caught.value)  # a database URL is shown masked
    assert raw_query(store_target, version_sql(store_target)) == [(99,)]  # left alone


def test_memory_store_is_shared_by_threads():
    s = open_store(":memory:")
    s.save_profile("p")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(s.get_profile("p")))
    thread.start()
    thread.join(10)
    assert seen and seen[0]["name"] == "p"
    assert open_store(":memory:").get_profile("p") is None  # each ':memory:' store is its own


# ---------------------------------------------------------------- indexes

def plans_of(store: Store, call) -> list[str]:
    """The query plans of the statements `call` runs (captured as SQLite executes them)."""
    statements = []
    store.trace(lambda sql: statements.append(sql) if sql.lstrip().upper().startswith(("SELECT", "INSERT")) else None)
    try:
        call()
    finally:
        store.trace(None)
    assert statements
    return [" | ".join(row["detail"] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql))
            for sql in statements]


@pytest.mark.parametrize("call", [
    lambda s, c: s.messages_since(c, 5),
    lambda s, c: s.messages_before(c, 50, limit=10),
    lambda s, c: s.messages_before(c),
])
def test_message_polls_use_the_index(sqlite_store, call):
    sqlite_store.save_profile("p")
    conversation = sqlite_store.ensure_conversation("p", "c1", 1)["id"]
    other = sqlite_store.ensure_conversation("p", "c2", 1)["id"]
    for i in range(30):
        sqlite_store.add_contact_message(conversation if i % 2 else other, "text", f"m{i}", {}, {})
    sqlite_store.conn.execute("ANALYZE")
    for plan in plans_of(sqlite_store, lambda: call(sqlite_store, conversation)):
        assert "USING INDEX messages_by_conversation" in plan or "USING COVERING INDEX messages_by_conversation" \
            in plan, plan
        assert "SCAN messages" not in plan and "TEMP B-TREE" not in plan, plan


def test_duplicate_lookup_uses_the_index(sqlite_store):
    sqlite_store.save_profile("p")
    webhook(sqlite_store, reply("a"))
    plans = plans_of(sqlite_store, lambda: webhook(sqlite_store, reply("b")))
    assert any("deliveries_by_hash" in p for p in plans), plans
    assert not any("SCAN deliveries" in p or "SCAN messages" in p for p in plans), plans


@pytest.mark.parametrize("change", ["another receiver", "a profile", "a contact spoke", "a copy elsewhere"])
def test_a_batch_is_decided_on_what_the_database_holds_whoever_wrote_it(sqlite_store, db_path, change):
    """Nothing of a batch is taken from this process's memory: another writer's rows count at once."""
    sqlite_store.save_profile("p", verify_key="k")
    first = webhook(sqlite_store, reply("said once"))
    other = open_store(db_path)  # another process, as far as SQLite can tell
    expected, version = "accepted", sqlite_store.profiles().version
    if change == "another receiver":
        webhook(other, reply("through the other one"))
        body = reply("next")
    elif change == "a profile":  # verified against the key before: refused as stale, for the caller to verify again
        other.save_profile("p", verify_key="rotated")
        body, expected = reply("next"), "stale"
    elif change == "a contact spoke":  # the earlier copy no longer counts: the same text is news again
        other.add_contact_message(sqlite_store.get_message(first[2])["conversation"], "text", "hello?", {}, {})
        body = reply("said once")
    else:  # the body was accepted by another receiver: this one is a duplicate of that, not news
        copy = webhook(other, reply("first said elsewhere"))
        body, expected = reply("first said elsewhere"), "duplicate"
    before = (sqlite_store.count_deliveries(), len(sqlite_store.messages_after(0)))
    try:
        outcome, delivery, message = webhook(sqlite_store, body, profiles_version=version)
    except store_module.StaleProfiles:
        outcome = "stale"
    assert outcome == expected
    if expected == "duplicate":
        assert message == copy[2]
    assert sqlite_store.count_deliveries() == before[0] + (outcome != "stale")
    assert len(sqlite_store.messages_after(0)) == before[1] + (outcome == "accepted")
    assert webhook(sqlite_store, reply("and then"))[0] == "accepted"
    assert sqlite_store.integrity_check() == "ok"
    other.close()


def test_webhook_and_unread_counts_find_the_last_of_a_direction_by_index(sqlite_store):
    webhook(sqlite_store, reply("first"))
    plans = plans_of(sqlite_store, lambda: (webhook(sqlite_store, reply("second")),
                                            sqlite_store.list_conversations("p")))
    reply_to = [p for p in plans if "messages_by_direction (conversation=? AND direction=?)" in p]
    unread = [p for p in plans if "messages_by_direction (conversation=? AND direction=? AND id>?)" in p]
    assert reply_to and unread, plans


def test_message_polls_page_in_order(store):
    conversation = store.ensure_conversation("p", "c1", 1)["id"]
    ids = [store.add_contact_message(conversation, "text", f"m{i}", {}, {}) for i in range(10)]
    assert [m["id"] for m in store.messages_since(conversation, ids[6])] == ids[7:]
    assert [m["id"] for m in store.messages_since(conversation, 0, limit=3)] == ids[:3]
    assert [m["id"] for m in store.messages_before(conversation, limit=4)] == ids[-4:]
    assert [m["id"] for m in store.messages_before(conversation, ids[5], limit=2)] == ids[3:5]
    assert store.count_messages(conversation) == 10


# ---------------------------------------------------------------- concurrency

def test_a_reader_never_blocks_the_writer(store_target):
    s = open_store(store_target)
    s.save_profile("p")
    _, _, first = webhook(s, reply("first"))
    conversation = s.get_message(first)["conversation"]

    reader = s.conn  # this thread's connection: hold a read transaction open
    reader.execute(s.BEGIN_READ)  # SQLite's BEGIN; PostgreSQL's repeatable read, as profiles() reads
    assert [m["text"] for m in s.messages_since(conversation)] == ["first"]

    done, errors = threading.Event(), []

    def write():
        try:
            for i in range(5):
                webhook(s, reply(f"second {i}"))
            done.set()
        except Exception as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(10)  # blocked would mean waiting for busy_timeout (30 s) or a lock
    assert done.is_set() and not errors, errors
    assert [m["text"] for m in s.messages_since(conversation)] == ["first"]  # its own snapshot
    reader.execute("COMMIT")
    assert len(s.messages_since(conversation)) == 6


def test_a_writer_never_blocks_a_reader(store_target):
    s = open_store(store_target)
    conversation = s.ensure_conversation("p", "c1", 1)["id"]
    s.add_contact_message(conversation, "text", "committed", {}, {})
    with s.write() as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('x', 'uncommitted')")
        seen = []
        thread = threading.Thread(target=lambda: seen.append((s.messages_since(conversation),
                                                              s.get_setting("x"))))
        thread.start()
        thread.join(10)
        assert seen and [m["text"] for m in seen[0][0]] == ["committed"] and seen[0][1] is None


def test_a_reader_waiting_for_new_messages_wakes_on_a_commit_by_another_store(store_target):
    """What the chat's live tail waits on in team mode: PostgreSQL's NOTIFY, or SQLite's indexed look."""
    s, other = open_store(store_target), open_store(store_target)  # two processes, as far as the database can tell
    conversation = s.ensure_conversation("p", "c1", 123)["id"]
    elsewhere = s.ensure_conversation("p", "c2", 1)["id"]
    first = s.add_contact_message(conversation, "text", "hello", {}, {})
    assert s.wait_for_messages(conversation, 0, 0) is True  # already there: no wait
    assert s.wait_for_messages(conversation, first, 0.1) is False
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(s.wait_for_messages(conversation, first, 60)))
    waiter.start()
    other.add_contact_message(elsewhere, "text", "another conversation", {}, {})
    waiter.join(0.3)
    assert waiter.is_alive() and not woke  # a message elsewhere does not end the wait
    webhook(other, reply("the answer"))
    waiter.join(60)
    assert woke == [True]
    if s.shared:
        assert s.listener().received >= 2  # told by the database, not found by polling


def test_concurrent_writers_lose_nothing(store_target):
    s = open_store(store_target)
    s.save_profile("p")
    errors = []

    def write(n):
        try:
            for i in range(25):
                webhook(s, reply(f"t{n}-{i}", conv_id=n))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert s.count_deliveries("accepted") == 100
    assert sum(c["unread"] for c in s.list_conversations("p")) == 100


def waiting_webhooks(store: Store, bodies: list[bytes]) -> tuple[list, list[threading.Thread]]:
    """Start one thread per body while this thread holds the write lock, so they queue together."""
    results: list = [None] * len(bodies)

    def send(i):
        try:
            results[i] = webhook(store, bodies[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    wait_until(lambda: store.queued_writes() == len(bodies), 10, message="all webhooks queued")
    return results, threads


def test_webhooks_arriving_together_are_committed_together(store_target):
    s = open_store(store_target)
    bodies = [json.dumps(reply(f"together {i}")).encode() for i in range(6)]
    bodies.append(bodies[0])  # a copy in the same group is still a duplicate
    commits = []
    s.trace(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    with s.write():
        results, threads = waiting_webhooks(s, bodies)
    for t in threads:
        t.join(10)
    assert len(commits) == 2  # this thread's empty transaction, then one for all seven
    assert sorted(r[0] for r in results) == ["accepted"] * 6 + ["duplicate"]
    assert {results[0][0], results[6][0]} == {"accepted", "duplicate"} and results[0][2] == results[6][2]
    assert s.count_deliveries("accepted") == 6 and s.count_deliveries("duplicate") == 1
    assert len({r[1] for r in results}) == 7  # a delivery each
    for outcome, delivery, message in results:
        assert s.get_delivery(delivery)["message_id"] == message
        if outcome == "accepted":
            assert s.get_message(message)["delivery"] == delivery


def test_thirty_concurrent_webhooks_are_one_transaction_with_one_profile_check(store_target):
    s = open_store(store_target)
    s.save_profile("p", verify_key="k")
    version = s.profiles().version
    statements = []
    s.trace(statements.append)
    bodies = [json.dumps(reply(f"together {i}", conv_id=i)).encode() for i in range(30)]
    results: list = [None] * 30

    def send(i):
        stale = i == 7  # verified against profiles older than the store's
        try:
            results[i] = webhook(s, bodies[i], profiles_version=version - 1 if stale else version)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(30)]
    with s.write():  # hold the writer back until all thirty wait
        for t in threads:
            t.start()
        wait_until(lambda: s.queued_writes() == 30, 10, message="all webhooks queued")
    for t in threads:
        t.join(10)
    assert isinstance(results[7], store_module.StaleProfiles)
    assert [r[0] for i, r in enumerate(results) if i != 7] == ["accepted"] * 29
    assert statements.count(s.BEGIN_WRITE) == 2  # this thread's, then one for the thirty
    assert sum("FROM profile_version" in x for x in statements) == 2  # likewise: once per transaction
    # the writer takes the GIL back after every statement: a batch is a fixed handful, not five per webhook
    assert sum(x.startswith("INSERT INTO messages") for x in statements) == 1
    assert sum(x.startswith("INSERT INTO deliveries") for x in statements) == 1
    assert s.count_deliveries() == 29 and not [m for m in s.list_conversations("p") if m["conv_id"] == 7]


def test_the_profile_version_moves_with_every_change_of_profiles_or_default(store):
    seen = [store.profiles().version]

    def moved():
        seen.append(store.profiles().version)
        return seen[-1] > seen[-2]

    store.save_profile("a", verify_key="k1")
    assert moved()
    store.save_profile("a", verify_key="k2")
    assert moved() and store.profiles().lookup("a")["verify_key"] == "k2"
    store.save_profile("b")
    assert moved() and store.profiles().default["name"] == "a"  # the oldest, while none is chosen
    store.set_default_profile("b")
    assert moved() and store.profiles().lookup(None)["name"] == "b"
    store.set_setting("unrelated", "x")
    assert not moved()
    store.delete_profile("b")
    assert moved() and store.profiles().lookup(None)["name"] == "a" and store.profiles().lookup("b") is None


POISON = {  # the database itself refuses one row, as a full disk or a constraint would
    "sqlite": ["CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.text LIKE '%poison%' "
               "BEGIN SELECT RAISE(ABORT, 'cannot store this one'); END"],
    "postgresql": ["ALTER TABLE messages ADD CONSTRAINT poison CHECK (text NOT LIKE '%poison%')"],
}


def test_a_bad_webhook_in_a_group_fails_alone(store_target):
    s = open_store(store_target)
    with s.write() as conn:
        for statement in POISON[s.BACKEND]:
            conn.execute(statement)
    bodies = [json.dumps(reply(text)).encode() for text in ("good 1", "poison", "good 2")]
    with s.write():
        results, threads = waiting_webhooks(s, bodies)
    for t in threads:
        t.join(10)
    assert isinstance(results[1], (sqlite3.IntegrityError, pg_module.psycopg.IntegrityError))
    assert results[0][0] == results[2][0] == "accepted"
    assert s.count_deliveries("accepted") == 2 and s.count_deliveries() == 2
    assert webhook(s, json.dumps(reply("after")).encode())[0] == "accepted"  # and the store goes on


# ---------------------------------------------------------------- webhooks and deliveries

def test_accept_webhook_stores_message_and_delivery_together(store):
    outcome, delivery_id, message_id = webhook(store, reply("hi"), flow_ns="f1", action="messages")
    assert outcome == "accepted"
    message, delivery = store.get_message(message_id), store.get_delivery(delivery_id)
    assert (message["direction"], message["author"], message["kind"], message["text"]) == ("in", "bot", "text", "hi")
    assert message["delivery"] == delivery_id and delivery["message_id"] == message_id
    assert json.loads(message["raw"]) == reply("hi") and "raw" not in json.loads(message["data"])
    assert (delivery["outcome"], delivery["status_code"], delivery["flow_ns"]) == ("accepted", 200, "f1")
    assert json.loads(delivery["headers"])["X-Hub-Signature-256"].startswith("sha256=")
    conv = store.get_conversation(message["conversation"])
    assert (conv["profile"], conv["contact_id"], conv["conv_id"]) == ("p", "c1", 123)


def test_same_body_within_the_window_is_shown_once(store, monkeypatch):
    body = json.dumps(reply("again")).encode()
    first = webhook(store, body)
    second = webhook(store, body)
    assert first[0] == "accepted" and second[0] == "duplicate" and second[2] == first[2]
    assert store.get_delivery(second[1])["outcome"] == "duplicate"
    assert store.count_messages(store.get_message(first[2])["conversation"]) == 1
    assert store.count_deliveries() == 2 and store.count_deliveries("duplicate") == 1
    assert webhook(store, body, profile="other")[0] == "accepted"  # another profile's webhook

    later = core.now() + DUPLICATE_WINDOW_SECONDS + 1
    monkeypatch.setattr(core, "now", lambda: later)
    third = webhook(store, body)
    assert third[0] == "accepted" and third[2] != first[2]


def test_same_body_after_the_contact_spoke_is_a_new_message(store):
    """A bot that answers the same thing to a new question (help twice) is shown twice."""
    body = json.dumps(reply("Here is the menu")).encode()
    first = webhook(store, body)
    conversation = store.get_message(first[2])["conversation"]
    store.add_contact_message(conversation, "text", "help", {}, {"content": "help"})
    second = webhook(store, body)
    assert second[0] == "accepted" and second[2] != first[2]
    assert webhook(store, body)[0] == "duplicate"  # but a copy of the second answer is still one
    assert store.count_messages(conversation) == 3


def test_a_rejected_body_does_not_make_the_next_a_duplicate(store):
    body = json.dumps(reply("x")).encode()
    store.record_delivery(profile="p", route="/webhook", method="POST", headers={}, body=body,
                          outcome="rejected", status_code=401, reason="bad signature")
    assert webhook(store, body)[0] == "accepted"


def test_conv_id_not_a_number_goes_to_the_contacts_latest_conversation(store):
    _, _, first = webhook(store, reply("numbered", conv_id=55))
    _, _, second = webhook(store, reply("named", conv_id="abc"))
    assert store.get_message(second)["conversation"] == store.get_message(first)["conversation"]
    _, _, third = webhook(store, reply("huge", conv_id=2**70))
    assert store.get_message(third)["conversation"] == store.get_message(first)["conversation"]
    _, _, lone = webhook(store, {"text": "nobody"})
    assert store.get_conversation(store.get_message(lone)["conversation"])["contact_id"] == "(unknown contact)"


def test_reply_is_linked_to_the_last_contact_message(store):
    conversation = store.ensure_conversation("p", "c1", 123)["id"]
    sent = store.add_contact_message(conversation, "text", "hello bot", {}, {"content": "hello bot"})
    assert store.get_message(sent)["status"] == "sending"
    store.set_message_status(sent, "failed", "UChat said no")
    assert (store.get_message(sent)["status"], store.get_message(sent)["error"]) == ("failed", "UChat said no")
    _, _, answer = webhook(store, reply("hello contact"))
    assert store.get_message(answer)["reply_to"] == sent and store.get_message(answer)["conversation"] == conversation


def test_record_delivery_caps_the_body(store):
    big = b"x" * (store_module.BODY_CAP_BYTES + 10)
    delivery = store.get_delivery(store.record_delivery(
        profile="p", route="/webhook", method="POST", headers={"Authorization": "Bearer secret-token-1234"},
        body=big, outcome="rejected", status_code=401, reason="r" * 5000))
    assert len(delivery["body"]) == store_module.REJECTED_BODY_CAP_BYTES and delivery["body_size"] == len(big)
    assert len(delivery["reason"]) == 2000 and "secret-token" not in delivery["headers"]
    none = store.get_delivery(store.record_delivery(profile="p", route="/webhook", method="POST", headers={},
                                                    body=None, outcome="rejected", status_code=413, body_size=7))
    assert none["body_size"] == 7 and none["body"] == b""


def test_list_deliveries_filters(store):
    webhook(store, reply("alpha"))
    store.record_delivery(profile="q", route="/webhook/q", method="POST", headers={}, body=b"{}",
                          outcome="rejected", status_code=401, reason="no X-Hub-Signature-256 header")
    assert [d["outcome"] for d in store.list_deliveries()] == ["rejected", "accepted"]
    assert [d["profile"] for d in store.list_deliveries(profile="q")] == ["q"]
    assert [d["outcome"] for d in store.list_deliveries(outcome="accepted")] == ["accepted"]
    assert [d["outcome"] for d in store.list_deliveries(text="alpha")] == ["accepted"]
    assert [d["outcome"] for d in store.list_deliveries(text="no X-Hub")] == ["rejected"]
    assert [d["outcome"] for d in store.list_deliveries(text="ALPHA")] == ["accepted"]  # case ignored, both backends


# ---------------------------------------------------------------- conversations

def test_list_conversations_counts_unread_replies(store):
    a = store.ensure_conversation("p", "c1", 1)["id"]
    b = store.ensure_conversation("p", "c1", 2)["id"]
    store.ensure_conversation("other", "c1", 3)
    store.add_contact_message(a, "text", "hi", {}, {})
    replies = [webhook(store, reply(f"r{i}", conv_id=1))[2] for i in range(3)]
    webhook(store, reply("on b", conv_id=2))

    rows = {r["id"]: r for r in store.list_conversations("p")}
    assert set(rows) == {a, b}
    assert (rows[a]["unread"], rows[a]["last_text"], rows[b]["unread"]) == (3, "r2", 1)
    assert [r["id"] for r in store.list_conversations("p")] == [b, a]  # newest first

    store.mark_read(a, replies[1])
    assert {r["id"]: r["unread"] for r in store.list_conversations("p")}[a] == 1
    store.mark_read(a, replies[0])  # never goes back
    assert {r["id"]: r["unread"] for r in store.list_conversations("p")}[a] == 1
    assert [r["conv_id"] for r in store.list_conversations("p", contact_id="c1")] == [2, 1]
    assert store.list_conversations("p", contact_id="nobody") == []


def test_next_conv_id(store):
    first = store.next_conv_id("p", "c1")
    assert isinstance(first, int) and first >= 0
    store.ensure_conversation("p", "c1", 41)
    assert store.next_conv_id("p", "c1") == 42


def test_contacts(store):
    store.save_contact("c1", "Ada", "ada@x.test", "+1")
    store.save_contact("c1", "Ada L", "ada@x.test", "+1")
    assert store.get_contact("c1")["name"] == "Ada L" and len(store.list_contacts()) == 1


# ---------------------------------------------------------------- requests and profiles

def test_record_request_masks_authorization(store):
    request_id = store.record_request(
        profile="p", target="bot_url", method="POST", url="https://bot.test/api/apichat/abc",
        request_headers={"authorization": "Bearer flow-key-SECRET-9876", "Content-Type": "application/json",
                         "X-Api-Key": "another-secret-5555"},
        request_body='{"content":"hi"}', status=200, response_body='{"status":"ok"}', duration_ms=12.5)
    row = store.get_request(request_id)
    headers = json.loads(row["request_headers"])
    assert "SECRET" not in row["request_headers"] and "another-secret" not in row["request_headers"]
    assert headers["authorization"].startswith("Bearer ") and headers["authorization"].endswith("9876")
    assert headers["Content-Type"] == "application/json" and headers["X-Api-Key"].endswith("5555")
    assert (row["status"], row["duration_ms"], row["target"]) == (200, 12.5, "bot_url")
    assert [r["id"] for r in store.list_requests(profile="p", text="apichat")] == [request_id]
    assert [r["id"] for r in store.list_requests(text="APICHAT")] == [request_id]
    assert store.list_requests(profile="nobody") == []


def test_profiles_crud(store):
    created = store.save_profile("shop", base_url="https://www.uchat.com.au", partner_key="pk",
                                 workspace_id="123", verify_key="vk")
    assert created["name"] == "shop" and created["verify_key"] == "vk" and created["flow_key"] == ""
    updated = store.save_profile("shop", flow_key="fk", verify_key=None)
    assert (updated["flow_key"], updated["partner_key"], updated["verify_key"]) == ("fk", "pk", "")
    assert updated["created_at"] == created["created_at"] and updated["updated_at"] >= created["updated_at"]
    store.save_profile("demo", verify_key="dk")
    assert [p["name"] for p in store.list_profiles()] == ["shop", "demo"]
    assert store.verification_keys() == {"demo": "dk"}
    with pytest.raises(ValueError, match="unknown profile field"):
        store.save_profile("shop", password="x")
    for bad in ("", "a b", "../x", "é", ".", "..", "x" * 65, "a/b"):
        with pytest.raises(ValueError, match="profile name"):
            store.save_profile(bad)
    store.delete_profile("shop")
    assert store.get_profile("shop") is None and [p["name"] for p in store.list_profiles()] == ["demo"]


def test_default_profile(store):
    assert store.default_profile() is None
    store.save_profile("a")
    store.save_profile("b")
    assert store.default_profile()["name"] == "a"
    store.set_default_profile("b")
    assert store.default_profile()["name"] == "b"
    store.delete_profile("b")
    assert store.get_setting("default_profile") is None and store.default_profile()["name"] == "a"


def test_delete_profile_keeps_conversations(store):
    store.save_profile("shop", verify_key="k")
    _, delivery, message = webhook(store, reply("still here"), profile="shop")
    store.delete_profile("shop")
    assert store.get_profile("shop") is None
    assert [c["last_text"] for c in store.list_conversations("shop")] == ["still here"]
    assert store.get_message(message)["text"] == "still here" and store.get_delivery(delivery)
    assert store.list_deliveries(profile="shop")


def test_settings(store):
    assert store.get_setting("x", "d") == "d"
    store.set_setting("x", "1")
    store.set_setting("x", "2")
    assert store.get_setting("x") == "2"


def test_a_failed_write_rolls_back(store):
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES ('half', 'done')")
            raise RuntimeError("crash in the middle")
    assert store.get_setting("half") is None
    store.set_setting("after", "ok")  # the connection is usable again
    assert store.get_setting("after") == "ok"


def test_the_request_log_keeps_no_verification_key_in_clear(store):
    body = json.dumps({"webhook_url": "https://x/webhook/p", "webhook_verification_key": "secret-key-123456"})
    answer = json.dumps({"status": "ok", "data": {"webhook_verification_key": "secret-key-123456", "bot_url": "u"}})
    store.record_request(profile="p", target="partner", method="POST", url="https://uchat/api", request_headers={},
                         request_body=body, status=200, response_body=answer, duration_ms=1.0)
    row = store.list_requests()[0]
    assert "secret-key-123456" not in row["request_body"] + row["response_body"]
    assert json.loads(row["request_body"])["webhook_url"] == "https://x/webhook/p"
    assert json.loads(row["response_body"])["data"]["bot_url"] == "u"
    assert json.loads(row["response_body"])["data"]["webhook_verification_key"].endswith("3456")


def test_a_refused_body_is_kept_in_part_so_junk_cannot_fill_the_disk(store):
    junk = b"x" * (900 * 1024)
    store.record_delivery(profile="p", route="/webhook/p", method="POST", headers={}, body=junk,
                          outcome="rejected", status_code=401, reason="no X-Hub-Signature-256 header")
    row = store.list_deliveries()[0]
    assert len(row["body"]) == 64 * 1024 and row["body_size"] == len(junk)
    assert row["body_sha256"] == hashlib.sha256(junk).hexdigest()


# ---------------------------------------------------------------- a store deleted or replaced under a running console

def in_new_thread(call):
    """`call()` on a thread of its own (a new connection, as a Streamlit run or a receiver thread gets)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_deleted_folder_is_reported_and_nothing_is_written_or_recreated(tmp_path, db_path):
    store = open_store(db_path)
    store.save_profile("p", verify_key="k")
    assert store.ping()
    shutil.rmtree(tmp_path / "data")  # "start fresh" while the console runs

    folder = os.path.abspath(tmp_path / "data")
    expected = (f"the store at {os.path.abspath(db_path)} is missing or unreadable: its folder {folder} was deleted; "
                "restart the console or point APICHAT_DB at a store")
    with pytest.raises(StoreUnavailable) as caught:
        store.check()
    assert str(caught.value) == expected and caught.value.path == os.path.abspath(db_path)
    for write in (lambda: store.save_profile("q"), lambda: store.set_setting("x", "1"),
                  lambda: webhook(store, reply("hi")),
                  lambda: store.record_delivery(profile="p", route="/webhook/p", method="POST", headers={}, body=b"x",
                                                outcome="rejected", status_code=401, reason="r")):
        with pytest.raises(StoreUnavailable, match="its folder .* was deleted"):
            write()
    with pytest.raises(StoreUnavailable, match="missing or unreadable"):
        store.ping()
    with pytest.raises(StoreUnavailable, match="missing or unreadable"):  # a new connection does not create one
        in_new_thread(store.list_profiles)
    assert not (tmp_path / "data").exists(), "the deleted store was written to again"
    assert isinstance(caught.value, sqlite3.OperationalError)  # code that handles database errors handles this


def test_a_deleted_file_is_not_recreated_and_a_new_store_starts_clean(tmp_path, db_path):
    store = open_store(db_path)
    store.save_profile("p")
    os.remove(db_path)
    with pytest.raises(StoreUnavailable, match=r"missing or unreadable: the file was deleted; restart"):
        store.save_profile("q")
    with pytest.raises(StoreUnavailable):
        in_new_thread(store.list_profiles)
    assert not os.path.exists(db_path)

    fresh = open_store(db_path)  # what a restart does: a new, empty store at the same path
    assert fresh.ping() and fresh.list_profiles() == []
    fresh.save_profile("new")
    with pytest.raises(StoreUnavailable, match="the file was replaced by another one"):
        store.save_profile("old")  # the old one never writes into the new file
    with pytest.raises(StoreUnavailable, match="replaced"):
        in_new_thread(store.list_profiles)
    assert [p["name"] for p in fresh.list_profiles()] == ["new"]


def test_a_store_deleted_during_a_transaction_says_the_write_is_lost(db_path):
    store = open_store(db_path)
    with pytest.raises(StoreUnavailable, match="the file was deleted"):
        with store.write() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES ('late', '1')")
            os.remove(db_path)


def test_a_store_replaced_under_the_receiver_gets_no_more_webhooks(sqlite_store, db_path, tmp_path):
    """Webhooks check the file after their commit only: once it was found replaced, none is written again."""
    sqlite_store.save_profile("p")
    for i in range(3):
        webhook(sqlite_store, reply(f"before {i}"))
    other = open_store(str(tmp_path / "other.db"))  # a restore or a copy moved over the store
    other.save_profile("q")
    other.close()
    os.replace(tmp_path / "other.db", db_path)
    for i in range(3):
        with pytest.raises(StoreUnavailable, match="the file was replaced"):
            webhook(sqlite_store, reply(f"after {i}"))
    # the first try was written into the old file before its check said so; the others wrote nothing
    assert sqlite_store.conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 4


def test_a_commit_that_fails_leaves_no_transaction_for_a_webhook_to_join(sqlite_store, db_path):
    sqlite_store.save_profile("p")
    webhook(sqlite_store, reply("warm-up"))
    unread = []
    with pytest.raises(sqlite3.OperationalError):  # COMMIT refuses while a statement's rows are unread
        with sqlite_store.write() as conn:
            unread.append(conn.execute("INSERT INTO settings (key, value) VALUES ('a', '1'), ('b', '2') RETURNING key"))
            unread[0].fetchone()
    unread.clear()
    outcome, delivery, _ = webhook(sqlite_store, reply("kept?"))
    assert outcome == "accepted"
    with sqlite3.connect(db_path) as reader:  # committed: another connection sees it
        assert reader.execute("SELECT COUNT(*) FROM deliveries WHERE id = ?", (delivery,)).fetchone()[0] == 1


def test_a_batch_larger_than_one_insert_leaves_the_ids_right_for_the_next_writes(store_target):
    s = open_store(store_target)
    bodies = [json.dumps(reply(f"many {i}", sender_id=f"c{i % 3}")).encode()
              for i in range(store_module.MAX_ROWS_PER_INSERT + 20)]
    with s.write():
        results, threads = waiting_webhooks(s, bodies)
    for t in threads:
        t.join(30)
    assert [r[0] for r in results] == ["accepted"] * len(bodies), [r for r in results if not isinstance(r, tuple)][:3]
    assert len({r[1] for r in results}) == len(bodies) and len({r[2] for r in results}) == len(bodies)
    # PostgreSQL's sequences must have moved past every id the batch used
    assert webhook(s, reply("after"))[0] == "accepted"
    conversation = s.list_conversations("p")[0]["id"]
    assert s.add_contact_message(conversation, "text", "hi", {}, {}) > max(r[2] for r in results)
    assert s.record_delivery(profile="p", route="/x", method="POST", headers={}, body=b"x", outcome="rejected",
                             status_code=401) > max(r[1] for r in results)
    s.close()


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreUnavailable, match=r"notes.txt is missing or unreadable: file is not a database; "
                                               r"restart the console or point APICHAT_DB at a store"):
        open_store(str(path))
    assert path.read_text().startswith("these are my notes")


# ---------------------------------------------------------------- the two schemas

PG_ONLY_TABLES = {"schema_version"}  # PostgreSQL's count of migrations; SQLite's is PRAGMA user_version
# SQLite's search index (FTS5 tables and their shadow tables, `<table>_search*`): PostgreSQL's is trigram
# indexes on expressions of the tables' own columns (no table of its own, and no column for this comparison)
SQLITE_SEARCH_TABLES = ("deliveries_search", "requests_search")


def schema_of(target: str) -> dict:
    """Tables with their columns (name, NOT NULL) in order, primary keys, unique constraints and named indexes
    (name, columns) of the store at `target`, as its database reports them after every migration."""
    if target.startswith("postgresql://"):
        columns = raw_query(target, "SELECT table_name, column_name, is_nullable = 'NO' FROM information_schema.columns "
                                    "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")
        keys = raw_query(target, """
            SELECT t.relname, i.relname, ix.indisprimary, ix.indisunique,
                   EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid),
                   array_agg(a.attname::text ORDER BY k.n)
            FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
            JOIN pg_namespace ns ON ns.oid = t.relnamespace
            CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE ns.nspname = 'public' GROUP BY 1, 2, 3, 4, 5""")
        primary = {(table, tuple(cols)) for table, _, is_pk, _, _, cols in keys if is_pk}
        unique = {(table, tuple(cols)) for table, _, is_pk, is_unique, constraint, cols in keys
                  if is_unique and constraint and not is_pk}
        named = {(table, name, tuple(cols)) for table, name, _, _, constraint, cols in keys
                 if not constraint and not name.startswith(SQLITE_SEARCH_TABLES)}  # its search index: see above
    else:
        conn = sqlite3.connect(target)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                             "'sqlite_%' ORDER BY name") if not r[0].startswith(SQLITE_SEARCH_TABLES)]
        columns, primary, unique, named = [], set(), set(), set()
        for table in tables:
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, default, pk
            columns += [(table, name, bool(notnull or pk)) for _, name, _, notnull, _, pk in info]
            primary.add((table, tuple(c[1] for c in sorted(info, key=lambda c: c[5]) if c[5])))
            for _, index, _, origin, _ in conn.execute(f"PRAGMA index_list({table})"):
                cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index})"))
                if origin == "u":
                    unique.add((table, cols))
                elif origin == "c":
                    named.add((table, index, cols))
        conn.close()
    by_table: dict[str, list] = {}
    for table, column, not_null in columns:
        if table not in PG_ONLY_TABLES:
            by_table.setdefault(table, []).append((column, not_null))
    return {"columns": by_table, "primary keys": primary, "unique": unique, "indexes": named}


@pytest.fixture
def both_schemas(db_path, pg_cluster):
    def read() -> tuple[dict, dict]:
        url = pg_cluster.new_database()
        open_store(db_path).close()
        open_store(url).close()
        return schema_of(db_path), schema_of(url)
    return read


def test_both_backends_have_the_same_tables_columns_and_indexes(both_schemas):
    sqlite_schema, pg_schema = both_schemas()
    assert sqlite_schema["columns"] and sqlite_schema["indexes"]
    for part in sqlite_schema:
        assert sqlite_schema[part] == pg_schema[part], part


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_column_added_to_one_backend_only_is_a_difference(both_schemas, monkeypatch, backend):
    """The comparison above, shown to fail when a migration is added to one backend's list only."""
    module, name = (sqlite_module, "MIGRATIONS") if backend == "sqlite" else (pg_module, "PG_MIGRATIONS")
    monkeypatch.setattr(module, name, [*getattr(module, name), "ALTER TABLE messages ADD COLUMN note TEXT"])
    sqlite_schema, pg_schema = both_schemas()
    assert sqlite_schema["columns"]["messages"] != pg_schema["columns"]["messages"]
    assert sqlite_schema["indexes"] == pg_schema["indexes"]


# ---------------------------------------------------------------- PostgreSQL only

def test_postgresql_connections_of_finished_threads_serve_the_next_ones(pg_cluster):
    """Streamlit runs every poll on a new thread: each would log in anew (SCRAM) without this."""
    s = open_store(pg_cluster.new_database())
    conversation = s.ensure_conversation("p", "c1", 1)["id"]
    backends = []

    def poll():
        s.messages_since(conversation, 0)
        backends.append(s.conn.execute("SELECT pg_backend_pid()").fetchone()[0])

    for _ in range(20):
        thread = threading.Thread(target=poll)
        thread.start()
        thread.join(30)
        del thread
    assert len(backends) == 20 and len(set(backends)) <= 2, backends
    busy = s.conn  # a thread that still runs keeps its own
    other = in_new_thread(lambda: s.conn)
    assert busy is not other
    s.close()


def test_postgresql_a_process_holding_the_write_lock_fails_writes_after_a_timeout_not_forever(pg_cluster, monkeypatch):
    import psycopg

    url = pg_cluster.new_database()
    monkeypatch.setattr(pg_module.PostgresStore, "LOCK_TIMEOUT", "300ms")
    s = open_store(url)
    statements = []
    with psycopg.connect(url, autocommit=True) as stuck:  # a receiver that will stop with the lock in hand
        with s.write():  # three webhooks wait together behind this transaction, the stuck receiver first in line
            results, threads = waiting_webhooks(s, [json.dumps(reply(f"w{i}")).encode() for i in range(3)])
            taker = threading.Thread(target=stuck.execute, args=(f"SELECT pg_advisory_lock({pg_module.WRITE_LOCK})",))
            taker.start()
            wait_until(lambda: raw_query(url, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT "
                                              "granted") == [(1,)], 10, message="the stuck receiver waits for the lock")
            s.trace(statements.append)
        taker.join(30)
        for thread in threads:
            thread.join(30)
        assert all(isinstance(r, psycopg.errors.LockNotAvailable) for r in results), results
        assert statements.count(s.BEGIN_WRITE) == 1  # one try for the batch, no retry of each alone
        with pytest.raises(psycopg.errors.LockNotAvailable):
            webhook(s, reply("waits for the lock"))
        with pytest.raises(psycopg.errors.LockNotAvailable):
            s.save_profile("p")
    assert webhook(s, reply("after the lock is released"))[0] == "accepted"
    assert s.count_deliveries() == 1


def test_a_profile_keeps_the_channels_its_bot_messages_are_linted_for(store):
    assert store.save_profile("p-lint", base_url="http://x")["lint_channels"] == "messenger,whatsapp"  # the default
    store.save_profile("p-lint", lint_channels="whatsapp")
    assert store.get_profile("p-lint")["lint_channels"] == "whatsapp"
    assert store.profiles().by_name["p-lint"]["lint_channels"] == "whatsapp"


def test_messages_after_reads_every_conversation_by_the_primary_key(store):
    store.save_profile("p")
    first = store.ensure_conversation("p", "c1", 1)["id"]
    second = store.ensure_conversation("p", "c2", 1)["id"]
    assert store.last_message_id() == 0
    ids = [store.add_contact_message(first if i % 2 else second, "text", f"m{i}", {}, {}) for i in range(6)]
    assert store.last_message_id() == ids[-1]
    rows = store.messages_after(ids[1], limit=3)
    assert [r["id"] for r in rows] == ids[2:5]
    assert {r["conversation"] for r in rows} == {first, second}
    assert store.messages_after(ids[-1]) == []
    if store.shared:
        return  # the query plan below is SQLite's
    for plan in plans_of(store, lambda: store.messages_after(ids[0])):
        assert "USING INTEGER PRIMARY KEY" in plan and "TEMP B-TREE" not in plan, plan


# ---------------------------------------------------------------- a judge's verdicts

def test_verdicts_are_kept_by_model_criterion_and_reply(store):
    long_reply = "We open at 8. " * 5000  # longer than an index entry may be: the key is a hash
    assert store.get_verdict("m1", "is polite", long_reply) is None
    store.save_verdict("m1", "is polite", long_reply, True, "it says please")
    store.save_verdict("m1", "is polite", long_reply, False, "a second verdict")  # the first one kept stays
    assert store.get_verdict("m1", "is polite", long_reply) == {"passed": True, "reason": "it says please"}
    store.save_verdict("m1", "is polite", "Go away.", False, "it is rude")
    assert store.get_verdict("m1", "is polite", "Go away.") == {"passed": False, "reason": "it is rude"}
    for other in (("m2", "is polite", long_reply), ("m1", "is short", long_reply), ("m1", "is polite", "Go away")):
        assert store.get_verdict(*other) is None
    assert store.count_verdicts() == 2


def test_the_chat_opens_on_the_latest_messages_of_a_long_thread_and_keeps_what_the_contact_sent(tmp_path):
    """A thread opens on its newest messages however many came before, each with what the contact sent."""
    db = open_store(str(tmp_path / "c.db"))
    conv = db.ensure_conversation("p", "c", 7)["id"]
    ids = [db.add_contact_message(conv, "text", f"m{i}", {"text": f"m{i} ☕"}, {"content": f"m{i} ☕"})
           for i in range(130)]  # ids past 124: "the latest" must not stop at a small bound
    latest = db.messages_before(conv, None, 5)
    assert [m["id"] for m in latest] == ids[-5:]
    assert [m["id"] for m in db.messages_before(conv, ids[-5], 2)] == ids[-7:-5]
    assert json.loads(latest[-1]["data"]) == {"text": "m129 ☕"}
    assert json.loads(latest[-1]["raw"]) == {"content": "m129 ☕"}
