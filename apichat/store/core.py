"""The store's core: its errors, connections, write transactions and the group commit.

What a backend provides (`sqlite.py`, `postgres.py`): opening a connection, BEGIN of a write transaction,
migrations, the check that the store is still the one opened, id reservation, and its `Dialect`, the few
statements spelled differently. The tables' methods (`profiles.py`, `conversations.py`, `deliveries.py`,
`runs.py`) are written once over this core, for both backends.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

TEXT_CAP_CHARS = 64 * 1024
SURROGATE_RE = re.compile("[\ud800-\udfff]")


def now() -> float:
    """The store's clock (tests move it)."""
    return time.time()


def storable(text: str) -> str:
    """`text` as SQLite can keep it (UTF-8): a lone surrogate, which JSON's valid escape "\\ud800" decodes
    to, becomes U+FFFD rather than failing the write (and with it the webhook)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_RE.sub("\ufffd", text)
    return text


class StoreUnavailable(sqlite3.OperationalError):
    """The store cannot be used: its file is gone, was replaced or cannot be read, or its server is lost.

    SQLite keeps working on a file deleted under an open connection (writes "succeed" into an unlinked
    inode), so the SQLite store checks the path itself. The message is the one line a person reads.
    """

    def __init__(self, path: str, why: str, message: str | None = None):
        self.path, self.why = (os.path.abspath(path) if message is None else path), why
        super().__init__(message or f"the store at {self.path} is missing or unreadable: {why}; restart the "
                         "console or point APICHAT_DB at a store")


NOTE_RE = re.compile(r"\s*-- note: (.+)")
NOTE_ROWS = 50_000  # a migration with a note says it when the store holds more deliveries than this


def announce_migration(script: str, conn) -> None:
    """Before a migration whose script starts with `-- note: what it does`, on a large store: one line on
    stderr, so a person waiting for the console knows why (e.g. the search index built once)."""
    found = NOTE_RE.match(script)
    if not found:
        return
    rows = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    if rows > NOTE_ROWS:
        print(f"store: {found[1]} over {rows:,} deliveries (once, about a minute per million rows)...",
              file=sys.stderr, flush=True)


class SchemaTooNew(RuntimeError):
    """The store was migrated by a newer console: this code does not know its schema and leaves it alone."""


class StaleProfiles(Exception):
    """The profiles changed after the receiver read them: verify the webhook again with the new ones."""


@dataclass(frozen=True)
class Dialect:
    """The statements whose spelling differs between the backends, by name (everything else is written once)."""

    mark_read: str  # conversations.last_read_id moves forward only; (up_to_id, conversation)
    delivery_search: str  # the Inspector's text search over deliveries; four times the pattern
    request_search: str  # the same over requests


@dataclass(eq=False)
class _Job:
    """A write waiting for the group commit: its result, and the moment its caller is woken (with the result,
    or to write the next batch)."""

    item: Any
    future: Future = field(default_factory=Future)
    turn: threading.Event = field(default_factory=threading.Event)


class Core:
    """Connections (one per thread, plus the writer's), write transactions and the group commit."""

    BACKEND = ""
    shared = False  # one machine's file; PostgreSQL is shared by several receivers and consoles
    BEGIN_WRITE = ""  # takes the database's write lock, for every process at once
    BEGIN_READ = "BEGIN"
    WAIT_STEP_SECONDS = 0.05
    errors: tuple[type[BaseException], ...] = ()  # what the database raises
    # errors of the store as a whole, not of one write: a batch that meets one is not retried one by one
    batch_errors: tuple[type[BaseException], ...] = (StoreUnavailable,)
    dialect: Dialect
    path: str

    def _init_state(self) -> None:
        self._local = threading.local()
        # All writes of this process go through one connection, one at a time: writers queue on this lock
        # rather than in the database's busy handling, and the writer's page cache stays warm.
        self._write_lock = threading.Lock()
        self._writing: int | None = None  # the thread holding _write_lock
        self._writer = None
        self._trace: Callable[[str], None] | None = None
        # Webhooks and refused deliveries are group-committed (`_submit`): whatever is queued goes in one
        # transaction, written by one of the waiting callers (the leader).
        self._queue: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._leading = False
        self._pid = os.getpid()

    # ------------------------------------------------------------ what a backend provides

    def _open(self):
        raise NotImplementedError

    def _usable(self, conn) -> bool:
        """False when `conn` was lost (PostgreSQL restarted): it is replaced by a new one."""
        return True

    def check(self) -> None:
        """Raise StoreUnavailable when the store is not the one opened (SQLite: the file was deleted or replaced)."""

    def _raise_if_gone(self) -> None:
        """Raise StoreUnavailable when the store was already found gone (no system call)."""

    def _rollback(self, conn) -> None:
        conn.execute("ROLLBACK")

    def _begin_failed(self, conn) -> None:
        """BEGIN failed: end whatever it left open."""

    def _batch_start(self, conn, messages: int, deliveries: int) -> tuple[int, int, int]:
        """In a write transaction: the profile version, and the ids just before at least `messages` free message
        ids and `deliveries` free delivery ids, in one statement."""
        raise NotImplementedError

    # ------------------------------------------------------------ connections

    @property
    def conn(self):
        """This thread's connection, for reads."""
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._usable(conn):
            conn = self._local.conn = self._open()
        return conn

    def _writer_conn(self):
        conn = self._writer
        if conn is None or not self._usable(conn):
            conn = self._writer = self._open()
            conn.set_trace_callback(self._trace)
        return conn

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback(sql)` with every statement the writer and this thread's connection run (None: stop)."""
        self._trace = callback
        self._writer_conn().set_trace_callback(callback)
        self.conn.set_trace_callback(callback)

    def _rows(self, sql: str, params: tuple | list = ()) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def _row(self, sql: str, params: tuple | list = ()) -> dict | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def close(self) -> None:
        """Close this thread's connection and the writer (opened again when next needed)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    # ------------------------------------------------------------ write transactions

    @contextmanager
    def _holding_write_lock(self) -> Iterator[None]:
        if self._writing == threading.get_ident():
            raise RuntimeError("a write inside a write of the same thread would wait for itself")
        with self._write_lock:
            self._writing = threading.get_ident()
            try:
                yield
            finally:
                self._writing = None

    @contextmanager
    def _transaction(self, check_first: bool = True, track_profiles: bool = True) -> Iterator[Any]:
        """One transaction on the writer (the write lock is held): committed, or rolled back on any error."""
        if check_first:
            self.check()  # nothing is written to a store whose file was deleted or replaced
        else:
            self._raise_if_gone()
        conn = self._writer_conn()
        try:
            conn.execute(self.BEGIN_WRITE)
        except BaseException:
            self._begin_failed(conn)
            raise
        try:
            yield conn
            if track_profiles:  # this process sees its own changes of profiles at once (profiles())
                self._saw_profiles(conn.execute("SELECT version FROM profile_version").fetchone()[0])
            conn.execute("COMMIT")
        except BaseException:  # a failed COMMIT too: no transaction is left open for the next write to join
            self._rollback(conn)
            raise
        self.check()  # deleted during the transaction: what was committed is gone, say so

    @contextmanager
    def write(self) -> Iterator[Any]:
        """A short write transaction, taken at once so concurrent writers queue instead of failing."""
        with self._holding_write_lock(), self._transaction() as conn:
            yield conn

    _profiles_version = 0  # the newest profile_version this process has seen (profiles.py)

    def _saw_profiles(self, version: int) -> None:
        self._profiles_version = max(self._profiles_version, version)

    @property
    def store_id(self) -> str:
        """A random id of this store, so a console can tell its own receiver from one serving another store."""
        found = self._row("SELECT value FROM settings WHERE key = 'store_id'")
        if found is None:
            with self.write() as conn:
                conn.execute("INSERT INTO settings (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
                             (uuid.uuid4().hex,))
            found = self._row("SELECT value FROM settings WHERE key = 'store_id'")
        return found["value"]

    # ------------------------------------------------------------ group commit

    def _submit(self, item) -> Any:
        """Queue `item` and return its result once the transaction that holds it committed (or raise its error).

        Group commit without a thread of its own: the caller that finds nobody writing leads, and writes
        whatever is queued (its own item among them) in one transaction; callers arriving meanwhile queue, and
        each waits for its own job's turn. The leader sets every job's Future and wakes its caller, then hands
        the lead to the oldest job still queued, whose caller wakes to write the next batch. So the next batch
        never waits for the callers of the last one to be scheduled, and no writer thread takes the GIL back
        from the request threads.
        """
        if self._writing == threading.get_ident():
            raise RuntimeError("webhooks and deliveries are written in a batch of their own: not inside write()")
        job = _Job(item)
        with self._queue_lock:
            if self._pid != os.getpid():  # a forked child: the parent's queue and its leader are not ours
                self._queue, self._leading, self._pid = [], False, os.getpid()
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            try:
                job.turn.wait()
            except BaseException:  # interrupted (a signal): leave the queue, or pass the lead on if it came
                with self._queue_lock:
                    handed = job.turn.is_set() and not job.future.done()
                    if not handed and job in self._queue:
                        self._queue.remove(job)
                if handed:
                    self._lead()
                raise
            lead = not job.future.done()  # woken to write the next batch, not with its result
        if lead:
            self._lead()
        return job.future.result()

    def queued_writes(self) -> int:
        """How many webhooks and refused deliveries wait for the group commit now."""
        return len(self._queue)

    def _lead(self) -> None:
        """Write one batch of what is queued, then hand the lead to the oldest job left (or to nobody)."""
        try:
            self._commit_queued()
        finally:
            with self._queue_lock:
                if self._queue:
                    self._queue[0].turn.set()
                else:
                    self._leading = False

    def _commit_queued(self) -> None:
        """Write everything queued in one transaction; if that fails, each alone, so only a bad one fails."""
        batch: list[_Job] = []
        try:
            with self._holding_write_lock():
                with self._queue_lock:  # cut under the write lock: whatever arrived while it was waited for joins
                    batch, self._queue = self._queue, []
                items = [job.item for job in batch]
                try:
                    with self._transaction(check_first=False, track_profiles=False) as conn:
                        outcomes = self._write_batch(conn, items)
                except Exception as exc:
                    if len(items) == 1 or isinstance(exc, self.batch_errors):  # each alone would fail the same way,
                        outcomes = [exc] * len(items)  # and each try would wait its own timeout
                    else:
                        outcomes = [self._write_alone(item) for item in items]
            for job, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)
        finally:  # never leave a waiting caller without an answer
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the store write was interrupted"))
                job.turn.set()

    def _write_alone(self, item) -> Any:
        try:
            with self._transaction(check_first=False, track_profiles=False) as conn:
                return self._write_batch(conn, [item])[0]
        except Exception as exc:
            return exc

    def _write_batch(self, conn, items: list) -> list:
        """Each item's result, or the exception that refuses it alone, written in the open transaction."""
        raise NotImplementedError
