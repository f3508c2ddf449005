"""The chat's poll interval: fast while a reply is expected, idle otherwise."""

from __future__ import annotations

import pytest

from apichat.store import open_store
from ui.live import (
    AFTER_REPLY_SECONDS,
    AFTER_SEND_SECONDS,
    FAST_SECONDS,
    WAIT_CAP_SECONDS,
    poll_interval,
    wait_for_reply,
)

IDLE = 1.0


def out(id_, at, status="sent"):
    return {"id": id_, "direction": "out", "created_at": at, "status": status}


def reply(id_, at):
    return {"id": id_, "direction": "in", "created_at": at, "status": "received"}


def test_an_empty_thread_or_one_with_only_replies_polls_at_the_idle_rate():
    assert poll_interval([], 100.0, IDLE) == IDLE
    assert poll_interval([reply(1, 99.9)], 100.0, IDLE) == IDLE


@pytest.mark.parametrize("status", ["sending", "sent"])
def test_waiting_for_the_first_reply_polls_fast_until_the_cap(status):
    rows = [reply(1, 0.0), out(2, 100.0, status)]
    assert poll_interval(rows, 100.1, IDLE) == FAST_SECONDS
    assert poll_interval(rows, 100.0 + WAIT_CAP_SECONDS - 0.1, IDLE) == FAST_SECONDS
    assert poll_interval(rows, 100.0 + WAIT_CAP_SECONDS + 0.1, IDLE) == IDLE  # a bot that never answers


def test_a_failed_send_expects_nothing_after_the_first_seconds():
    rows = [out(1, 100.0, "failed")]
    assert poll_interval(rows, 100.0 + AFTER_SEND_SECONDS - 0.1, IDLE) == FAST_SECONDS
    assert poll_interval(rows, 100.0 + AFTER_SEND_SECONDS + 0.1, IDLE) == IDLE


def test_after_a_reply_it_stays_fast_for_a_burst_then_idles():
    rows = [out(1, 100.0), reply(2, 104.0)]
    assert poll_interval(rows, 104.0 + AFTER_REPLY_SECONDS - 0.1, IDLE) == FAST_SECONDS
    assert poll_interval(rows, 104.0 + AFTER_REPLY_SECONDS + 0.1, IDLE) == IDLE
    rows.append(reply(3, 107.0))  # the burst goes on
    assert poll_interval(rows, 108.0, IDLE) == FAST_SECONDS


def test_replies_before_the_last_send_do_not_count_as_its_answer():
    rows = [reply(1, 99.0), out(2, 100.0)]
    assert poll_interval(rows, 100.0 + AFTER_SEND_SECONDS + 1, IDLE) == FAST_SECONDS  # still waiting


def test_never_slower_than_the_idle_setting():
    assert poll_interval([out(1, 100.0)], 100.1, 0.1) == 0.1


def test_in_team_mode_the_tail_waits_for_a_reply_only_while_one_is_expected(store_target):
    db = open_store(store_target)
    conversation = db.ensure_conversation("p", "c1", 1)["id"]
    sent = db.add_contact_message(conversation, "text", "hi", {}, {})
    calls = []
    real = db.wait_for_messages
    db.wait_for_messages = lambda *args: calls.append(args) or real(*args)
    assert wait_for_reply(db, conversation, 0, FAST_SECONDS) is (db.shared or False)
    assert wait_for_reply(db, conversation, sent, IDLE) is False  # idle: the poll alone, the thread never held
    assert wait_for_reply(db, conversation, sent, FAST_SECONDS) is False  # nothing new within the wait
    assert calls == ([(conversation, 0, 0.8 * FAST_SECONDS), (conversation, sent, 0.8 * FAST_SECONDS)]
                     if db.shared else [])  # SQLite: no wait at all, the next tick looks
    if db.shared:
        db.add_contact_message(conversation, "text", "again", {}, {})
        assert wait_for_reply(db, conversation, sent, FAST_SECONDS) is True
