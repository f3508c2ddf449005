"""Retention in the background: the receiver prunes the store a few times a day (docs/retention.md).

`plan(retention)` turns the settings (`config.Retention`: APICHAT_RETENTION_DAYS and the others) into what to
prune and from when; `prune_now` does it once; `Housekeeper` is the thread the receiver keeps, which prunes at
start and then every `every_hours`, and keeps the search index up with new rows. The deleting itself is the store's (`Store.prune`: batches of 500 rows,
each its own short transaction, one pruner at a time), so a webhook arriving meanwhile waits for one batch
at most.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time

from .config import Retention
from .store import Store, core
from .store.retention import PAUSE_SECONDS, PruneBusy, Stopped

log = logging.getLogger("apichat.retention")
DAY = 86400.0


def plan(retention: Retention) -> list[tuple[list[str], float]]:
    """[(what, age in seconds)] the settings ask to prune; empty when everything is kept."""
    steps = []
    for what, days in ((["deliveries", "requests"], retention.deliveries_days),
                       (["messages"], retention.messages_days), (["runs"], retention.runs_days)):
        if days is not None:
            steps.append((what, days * DAY))
    return steps


def prune_now(store: Store, retention: Retention, stop: threading.Event | None = None) -> dict[str, int] | None:
    """Prune what `retention` says is too old, give SQLite's space back; rows per table, or None when another
    process is pruning (it will have done the same)."""
    total: dict[str, int] = {}

    def between_batches(_counts) -> None:
        if stop is not None and stop.is_set():
            raise Stopped

    try:
        for what, age in plan(retention):
            if stop is not None and stop.is_set():
                break
            for table, count in store.prune(core.now() - age, what, on_batch=between_batches).items():
                total[table] = total.get(table, 0) + count
    except PruneBusy as exc:
        log.info("retention: %s", exc)
        return None
    if any(total.values()):
        store.give_space_back()
        log.info("retention: pruned %s", ", ".join(f"{count} {table}" for table, count in total.items() if count))
    return total


class Housekeeper:
    """The receiver's background upkeep of the store: the search index kept up with new rows, and the prune at
    start and then every `retention.every_hours`. Errors are logged and the next round tries again (the receiver
    stays up).

    Indexing is done in quiet time. Every INDEX_SECONDS the housekeeper looks at how many rows wait for the index:
    if more than BUSY_ROWS arrived since its last look, webhooks are coming fast and the CPU is theirs (indexing a
    delivery costs about as much CPU as receiving it); otherwise it indexes, a short transaction of INDEX_ROWS
    rows at a time, for at most INDEX_SECONDS. A burst is indexed after it ends; a search meanwhile scans the rows
    not indexed yet, so it finds them all the same."""

    INDEX_SECONDS = 1.0
    INDEX_ROWS = 50  # ~20 ms of the write lock a transaction (indexing a row costs ~0.4 ms)
    BUSY_ROWS = 50  # more new rows than this in a second: webhooks are arriving, the index waits

    def __init__(self, store: Store, retention: Retention):
        self.store, self.retention = store, retention
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self._backlog = 0  # rows waiting for the index at the last look

    def start(self) -> Housekeeper:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="apichat-housekeeper", daemon=True)
            self._thread.start()
            atexit.register(self.stop)  # not killed in the middle of a store call at exit
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        next_prune = 0.0
        while not self._stop.is_set():
            try:
                if plan(self.retention) and time.monotonic() >= next_prune:  # first: nothing old is indexed
                    next_prune = time.monotonic() + self.retention.every_hours * 3600
                    prune_now(self.store, self.retention, self._stop)
                    self.rounds += 1
                self.index()
            except Exception:  # noqa: BLE001 - a store that is gone or busy now may be back next round
                log.exception("retention: the store's upkeep failed; trying again")
            self._stop.wait(self.INDEX_SECONDS)

    def index(self) -> int:
        """Index what is new, a short transaction at a time, until caught up, INDEX_SECONDS spent or stopped;
        nothing while more than BUSY_ROWS rows arrived since the last look. How many rows were indexed."""
        backlog = self.store.search_backlog()
        arrived, self._backlog = backlog - self._backlog, backlog
        if arrived > self.BUSY_ROWS:
            return 0
        total, until = 0, time.monotonic() + self.INDEX_SECONDS
        while not self._stop.is_set() and time.monotonic() < until:
            done = self.store.index_search(self.INDEX_ROWS)
            total += done
            if not done:
                break
            time.sleep(PAUSE_SECONDS)
        self._backlog = self.store.search_backlog()
        return total
