"""The chat's visible window (ui/thread.py) over a real store: what opens, what each look fetches, what is
settled, what is announced, and when the page must be redrawn."""

from __future__ import annotations

import json

import pytest

from apichat.payloads import parse_bot_message
from apichat.store import Store, open_store
from ui.thread import LIVE_WINDOW, Thread


@pytest.fixture
def store(tmp_path):
    db = open_store(str(tmp_path / "console.db"))
    db.save_profile("p1")
    yield db
    db.close()


@pytest.fixture
def conv(store):
    return store.ensure_conversation("p1", "ana", 7)


def bot_says(db: Store, conv: dict, text: str) -> int:
    raw = json.dumps({"sender_id": conv["contact_id"], "conv_id": conv["conv_id"], "text": text}).encode()
    return db.accept_webhook(profile="p1", route="/webhook/p1", method="POST", headers={}, body=raw,
                             message=parse_bot_message(raw))[2]


def contact_says(db: Store, conv: dict, text: str) -> int:
    return db.add_contact_message(conv["id"], "text", text, {"text": text}, {"content": text})


def texts(rows: list[dict]) -> list[str]:
    return [r["text"] for r in rows]


def test_a_thread_opens_on_its_latest_window_and_loads_earlier_on_demand(store, conv):
    for i in range(LIVE_WINDOW + 10):
        bot_says(store, conv, f"m{i}")
    thread = Thread.open(store, conv["id"])
    assert texts(thread.rows) == [f"m{i}" for i in range(10, LIVE_WINDOW + 10)] and thread.has_older
    assert thread.settled() == thread.rows and thread.tail() == []
    thread.load_earlier(store)
    assert texts(thread.rows)[:10] == [f"m{i}" for i in range(10)] and not thread.has_older
    assert thread.limit == len(thread.rows) + LIVE_WINDOW  # what was loaded stays drawn


def test_an_empty_thread_opens_and_takes_its_first_messages(store, conv):
    thread = Thread.open(store, conv["id"])
    assert (thread.rows, thread.last_id, thread.has_older) == ([], 0, False)
    first = bot_says(store, conv, "hello")
    assert thread.refresh(store) == {first}
    assert texts(thread.rows) == ["hello"] and thread.last_id == first and thread.announce == {first}
    assert thread.tail() == thread.rows  # arrived since the last full run: the poll draws it
    assert thread.refresh(store) == set(), "an idle look found something"


def test_a_long_session_keeps_a_bounded_window(store, conv):
    thread = Thread.open(store, conv["id"])
    ids = [bot_says(store, conv, f"m{i}") for i in range(thread.limit + 5)]
    thread.refresh(store)
    assert len(thread.rows) == thread.limit and thread.rows[0]["id"] == ids[5] and thread.has_older
    assert thread.announce == set(ids[5:]), "a message no longer drawn is still to be read out"


def test_a_message_still_sending_stays_in_the_tail_until_it_settles(store, conv):
    hello = bot_says(store, conv, "hello")
    sent = contact_says(store, conv, "hi")
    thread = Thread.open(store, conv["id"], now=0.0)
    assert thread.boundary == hello and texts(thread.tail()) == ["hi"]
    store.set_message_status(sent, "sent")
    assert thread.refresh(store) == {sent}
    assert thread.rows[-1]["status"] == "sent" and thread.awaiting_reply()["id"] == sent
    assert not thread.needs_full_redraw({sent}), "the tail changed: the poll redraws it alone"
    thread.settle()
    assert thread.boundary == sent and thread.tail() == []
    assert thread.refresh(store) == set(), "a settled message was looked up again"
    reply = bot_says(store, conv, "answer")
    thread.refresh(store)
    assert thread.awaiting_reply() is None and texts(thread.tail()) == ["answer"] and reply in thread.announce


def test_a_failure_is_announced_and_a_retry_is_followed(store, conv):
    sent = contact_says(store, conv, "hi")
    thread = Thread.open(store, conv["id"], now=0.0)
    store.set_message_status(sent, "failed", "no bot_url")
    thread.refresh(store)
    assert thread.rows[0]["status"] == "failed" and thread.announce == {sent}
    thread.settle()
    assert thread.boundary == sent - 1, "a failed message can move again (Retry): it stays in the tail"
    store.set_message_status(sent, "sending")
    assert thread.refresh(store, now=thread.checked + 5) == {sent} and thread.rows[0]["status"] == "sending"


def test_a_settled_change_or_a_long_tail_asks_for_a_full_redraw(store, conv):
    first = bot_says(store, conv, "first")
    thread = Thread.open(store, conv["id"])
    assert thread.needs_full_redraw({first})
    for i in range(LIVE_WINDOW + 1):
        bot_says(store, conv, f"m{i}")
    changed = thread.refresh(store)
    assert len(thread.tail()) == LIVE_WINDOW + 1 and thread.needs_full_redraw(changed)


def test_reading_marks_the_conversation_read_once(store, conv):
    bot_says(store, conv, "unread")
    assert store.list_conversations("p1", "ana")[0]["unread"] == 1
    thread = Thread.open(store, conv["id"])
    thread.mark_read(store)
    assert store.list_conversations("p1", "ana")[0]["unread"] == 0 and thread.read == thread.last_id
