"""The load test's dispatcher and threaded store, with gevent but without Locust (no monkey-patching here)."""

from __future__ import annotations

import gevent
import pytest

from apichat.load import stats
from apichat.load.feed import Dispatcher, RateLimit, ThreadedStore
from apichat.store import open_store


@pytest.fixture
def threaded(tmp_path):
    store = ThreadedStore(open_store(str(tmp_path / "console.db")))
    store.save_profile("p")
    yield store
    store.close()


def _reply(store, conversation: int, text: str) -> int:
    return store.add_contact_message(conversation, "text", text, {}, {})


def test_each_run_gets_the_messages_of_its_own_conversation_only(threaded):
    a, b, c = (threaded.ensure_conversation("p", f"load-ab-{n}", n)["id"] for n in (1, 2, 3))
    old = _reply(threaded, a, "before the dispatcher")
    dispatcher = Dispatcher(threaded, tick=0.01)
    try:
        dispatcher.open(a)
        dispatcher.open(b)
        ids = {conv: [_reply(threaded, conv, f"{conv}-{i}") for i in range(3)] for conv in (a, b, c)}
        assert dispatcher.wait(a, 30), "a message of a arrived: the wait ends with it"
        gevent.sleep(0)
        while len(dispatcher.since(a, 0)) < 3 or len(dispatcher.since(b, 0)) < 3:
            dispatcher.wait(b, 30)
        assert [r["id"] for r in dispatcher.since(a, 0)] == ids[a] and old not in ids[a]
        assert [r["id"] for r in dispatcher.since(b, 0)] == ids[b]
        assert [r["id"] for r in dispatcher.since(b, ids[b][0])] == ids[b][1:]
        assert dispatcher.since(c, 0) == []  # nobody opened c: its messages are nobody's
        dispatcher.close(a)
        assert dispatcher.since(a, 0) == []
        assert dispatcher.delivered == 6
    finally:
        dispatcher.stop()


def test_a_wait_without_news_times_out(threaded):
    dispatcher = Dispatcher(threaded, tick=0.01)
    try:
        conversation = threaded.ensure_conversation("p", "load-ab-9", 9)["id"]
        dispatcher.open(conversation)
        assert dispatcher.wait(conversation, 0.05) is False
    finally:
        dispatcher.stop()


def test_the_rate_cap_spaces_messages_evenly(monkeypatch):
    slept = []
    monkeypatch.setattr(gevent, "sleep", slept.append)
    limit = RateLimit(10.0)
    for _ in range(5):
        limit.take()
    # the clock barely moves here (sleep is recorded, not taken): each message waits 0.1 s more than the last
    gaps = [later - earlier for earlier, later in zip(slept, slept[1:], strict=False)]
    assert len(slept) == 4 and all(abs(gap - 0.1) < 0.01 for gap in gaps), slept
    RateLimit(0).take()  # no cap: never waits


def test_stats_read_a_run_and_tolerate_missing_or_partial_files(tmp_path):
    prefix = tmp_path / "run"
    assert stats.history(prefix) == [] and stats.steps(prefix) == [] and stats.summary(prefix) == {}
    (tmp_path / "run_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,Total Request Count,Total Failure Count\n"
        "100,0,,Aggregated,0.000000,0.000000,N/A,N/A,0,0\n"
        "101,5,STEP,\"A › 1. send\",2.0,0.0,10,20,2,0\n"
        "101,5,,Aggregated,2.0,0.5,10,40,2,1\n"
        "102,5,,Aggreg")  # a row being written
    points = stats.history(prefix)
    assert [(p["users"], p["p95 ms"], p["failures"]) for p in points] == [(0, None, 0), (5, 40.0, 1)]


def test_closing_the_threaded_store_ends_its_threads_even_one_in_a_call(tmp_path):
    store = ThreadedStore(open_store(str(tmp_path / "console.db")))
    store.save_profile("p")
    reading = gevent.spawn(lambda: [store.list_profiles() for _ in range(200)])  # a read thread kept busy
    gevent.sleep(0.01)
    assert store.threads == 2  # one writer, one reader
    store.close()
    reading.kill()
    assert store.threads == 0  # none left to be caught in a call by the interpreter's exit
