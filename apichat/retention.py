"""Retention in the background: the receiver prunes the store a few times a day (docs/retention.md).

`plan(retention)` turns the settings (`config.Retention`: APICHAT_RETENTION_DAYS and the others) into what to
prune and from when; `prune_now` does it once; `Pruner` is the thread the receiver keeps, which prunes at
start and then every `every_hours`. The deleting itself is the store's (`Store.prune`: batches of 500 rows,
each its own short transaction, one pruner at a time), so a webhook arriving meanwhile waits for one batch
at most.
"""

from __future__ import annotations

import atexit
import logging
import threading

from .config import Retention
from .store import Store, core
from .store.retention import PruneBusy, Stopped

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


class Pruner:
    """The receiver's background prune: at start, then every `retention.every_hours`; errors are logged and the
    next round tries again (the receiver stays up)."""

    def __init__(self, store: Store, retention: Retention):
        self.store, self.retention = store, retention
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> Pruner:
        if self._thread is None and plan(self.retention):
            self._thread = threading.Thread(target=self._run, name="apichat-pruner", daemon=True)
            self._thread.start()
            atexit.register(self.stop)  # not killed in the middle of a store call at exit
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                prune_now(self.store, self.retention, self._stop)
            except Exception:  # noqa: BLE001 - a store that is gone or busy now may be back next round
                log.exception("retention: the prune failed; next try in %g h", self.retention.every_hours)
            self.rounds += 1
            self._stop.wait(self.retention.every_hours * 3600)
