"""Reply correlation for many contacts in one Locust process: one dispatcher, one query per tick.

Locust runs every user as a greenlet on gevent's hub. SQLite calls are C code that never yields to the
hub (a write can wait on the receiver's write lock for as long as busy_timeout), so no user calls the store
directly: `ThreadedStore` runs every store call on a native thread of gevent's threadpool (one for writes, one
for reads), and the calling greenlet waits for its result while the hub goes on running every other user. One
thread a kind serializes the process's store calls (about 0.2 ms each here), which also keeps the store's own
locks uncontended (they are gevent's once Locust has patched threading, used by one thread each).

`Dispatcher` is the only reader of replies: every tick it asks the store for the messages newer than the last
one it saw (`Store.messages_after`, a range scan of the primary key), files each under its conversation
if a run opened it, and wakes that run's greenlet. A run opens its conversation before it sends anything
in it, so none of its replies can pass unseen, and it only ever reads its own conversation's box: a reply
reaches the contact it was addressed to, or no one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import gevent
from gevent.event import Event
from gevent.threadpool import ThreadPool

log = logging.getLogger("apichat.load")
BATCH = 5000


CLOSE_WAIT = 5.0  # seconds close() waits for a thread still in a store call
READS = ("get_", "list_", "messages_", "count_", "last_")


class ThreadedStore:
    """A Store whose methods run on native threads, so a greenlet waiting for SQLite never blocks the hub.

    Writes run on one thread (they queue there, not on the store's lock, and only that thread waits when the
    receiver holds SQLite's write lock); reads run on another, so the dispatcher's poll never waits behind them.
    """

    def __init__(self, store):
        self._store = store
        self._writes, self._reads = ThreadPool(1), ThreadPool(1)

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr
        pool = self._reads if name.startswith(READS) else self._writes

        def call(*args, **kwargs):
            return pool.apply(attr, args, kwargs)
        call.__name__ = name
        return call

    def close(self) -> None:
        """Stop both threads, and wait until they have, before closing the store.

        A native thread of the pool still blocked in a call at the interpreter's exit aborts the process
        ("terminate called without an active exception", exit -6) though the run went well.
        """
        pools = (self._writes, self._reads)
        for pool in pools:
            pool.kill()  # one stop mark per thread, queued behind the call it may be in
        with gevent.Timeout(CLOSE_WAIT, False):  # a call that never returns (a hung database) must not hang the exit
            while self.threads:
                gevent.sleep(0.005)
        self._store.close()

    @property
    def threads(self) -> int:
        """Native threads running for this store (0 once closed)."""
        return self._writes.size + self._reads.size


@dataclass(eq=False)
class _Box:
    rows: list[dict] = field(default_factory=list)
    event: Event = field(default_factory=Event)


class Dispatcher:
    """A scenario runner's feed (see apichat.scenarios.StoreFeed) shared by every user of this process."""

    def __init__(self, store, tick: float = 0.02):
        self.store, self.tick = store, tick
        self._boxes: dict[int, _Box] = {}
        self._last = store.last_message_id()
        self.queries = 0
        self.delivered = 0
        self.error = ""
        self._greenlet = gevent.spawn(self._loop)

    def open(self, conversation: int) -> None:
        self._boxes[conversation] = _Box()

    def close(self, conversation: int) -> None:
        self._boxes.pop(conversation, None)

    def since(self, conversation: int, after_id: int) -> list[dict]:
        box = self._boxes.get(conversation)
        if box is None:
            return []
        box.event.clear()  # the event says "filed since the last since()": this read has seen all of it
        return [r for r in box.rows if r["id"] > after_id]

    def wait(self, conversation: int, seconds: float) -> bool:
        """Up to `seconds`, until a message of `conversation` not yet returned by since() is there; whether one is."""
        box = self._boxes.get(conversation)
        if box is None:
            gevent.sleep(max(0.0, seconds))
            return False
        # A message filed after the last since() ends the wait at once, even one filed before this call.
        return bool(box.event.wait(max(0.0, seconds)))

    def stop(self) -> None:
        self._greenlet.kill()

    def poll_once(self) -> int:
        """One tick: file the new messages under their conversations and wake their runs; how many came."""
        rows = self.store.messages_after(self._last, BATCH)
        self.queries += 1
        if not rows:
            return 0
        self._last = rows[-1]["id"]
        for row in rows:
            box = self._boxes.get(row["conversation"])
            if box is not None:
                box.rows.append(row)
                self.delivered += 1
                box.event.set()
        return len(rows)

    def _loop(self) -> None:
        while True:
            try:
                count = self.poll_once()
                self.error = ""
            except Exception as exc:  # the store is gone or busy: say so once, keep trying
                if str(exc) != self.error:
                    log.warning("dispatcher: %s", exc)
                self.error, count = str(exc), 0
            if count < BATCH:
                gevent.sleep(self.tick)


class RateLimit:
    """At most `rate` messages per second from this process (0: no cap), spaced evenly; waiting yields."""

    def __init__(self, rate: float):
        self.rate = rate
        self._next = 0.0

    def take(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            gevent.sleep(slot - now)
