"""The store: the only package that holds SQL.

`Store(path)` opens SQLite (the default: WAL mode, one connection per thread, short write transactions, so
a page polling for new messages never blocks the receiver writing one); `Store("postgresql://...")` opens
the same store on PostgreSQL (team mode, `postgres.py`): the SQL here is written once for both, and the
backend-specific parts (connections, the write lock, id reservation, migrations) are methods that
`PostgresStore` overrides. The schema is migrated on open.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.request import pathname2url

from ..config import is_shared_store
from ..payloads import BotMessage
from ..redact import masked_body, masked_headers
from ..schema import MIGRATIONS

DUPLICATE_WINDOW_SECONDS = 600
BODY_CAP_BYTES = 1024 * 1024
REJECTED_BODY_CAP_BYTES = 64 * 1024
TEXT_CAP_CHARS = 64 * 1024
PROFILE_FIELDS = ("base_url", "partner_key", "workspace_id", "flow_key", "verify_key",
                  "bot_url", "webhook_url", "webhook_status", "lint_channels")
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


def _now() -> float:
    return time.time()


SURROGATE_RE = re.compile("[\ud800-\udfff]")


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


INSERT_DELIVERY = (
    "INSERT INTO deliveries (received_at, profile, route, method, remote_addr, headers, body, body_size, "
    "body_sha256, outcome, status_code, reason, flow_ns, action, kind, message_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")


class StoreUnavailable(sqlite3.OperationalError):
    """The store's file is gone, was replaced or cannot be read: nothing more is read from or written to it.

    SQLite keeps working on a file deleted under an open connection (writes "succeed" into an unlinked
    inode), so the store checks the path itself. The message is the one line a person reads.
    """

    def __init__(self, path: str, why: str, message: str | None = None):
        self.path, self.why = (os.path.abspath(path) if message is None else path), why
        super().__init__(message or f"the store at {self.path} is missing or unreadable: {why}; restart the "
                         "console or point APICHAT_DB at a store")


class SchemaTooNew(RuntimeError):
    """The store was migrated by a newer console: this code does not know its schema and leaves it alone."""


class StaleProfiles(Exception):
    """The profiles changed after the receiver read them: verify the webhook again with the new ones."""


@dataclass(frozen=True)
class ProfileSnapshot:
    """Every profile and the default one, as of `version` of the profile_version table (migration 5)."""

    version: int
    by_name: dict[str, dict]
    default: dict | None

    def lookup(self, name: str | None) -> dict | None:
        """Profile `name`, or the default profile when `name` is None."""
        return self.by_name.get(name) if name else self.default

    def verification_keys(self) -> dict[str, str]:
        return {name: p["verify_key"] for name, p in self.by_name.items() if p["verify_key"]}


def _done() -> threading.Lock:
    """A lock held until the writer has finished with a job (releasing it wakes the one waiting caller)."""
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Job:
    """A write for the group commit: `apply(conn)` inside its batch's transaction."""

    apply: Any
    result: Any = None
    error: BaseException | None = None
    done: threading.Lock = field(default_factory=_done)
    lead: bool = False  # its caller writes the batch it is in


DUPLICATE_REASON = "same body accepted within the last 10 minutes; shown once"
MAX_ROWS_PER_INSERT = 500  # 18 values a delivery: well under SQLite's 32,766 variables a statement
INSERT_MESSAGES = ("INSERT INTO messages (id, conversation, direction, author, kind, text, data, raw, status, "
                   "reply_to, delivery, created_at, updated_at) VALUES ")
MESSAGE_VALUES = ("(?, ?, 'in', ?, ?, ?, ?, ?, 'received', "
                  "(SELECT MAX(id) FROM messages WHERE conversation = ? AND direction = 'out'), ?, ?, ?)")
INSERT_DELIVERIES = ("INSERT INTO deliveries (id, received_at, profile, route, method, remote_addr, headers, body, "
                     "body_size, body_sha256, outcome, status_code, reason, flow_ns, action, kind, message_id) VALUES ")
DELIVERY_VALUES = "(" + ", ".join("?" * 17) + ")"
# The duplicate window's rule, once for the full way (`_earlier_sql`) and the fast path's trigger: an earlier
# acceptance of the same body to the same profile counts while its contact has said nothing since.
EARLIER_FROM = "FROM deliveries d INDEXED BY deliveries_by_hash JOIN messages m ON m.id = d.message_id"
EARLIER_COUNTS = ("d.outcome = 'accepted' AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.conversation = "
                  "m.conversation AND c.direction = 'out' AND c.id > m.id)")


def _earlier_sql(count: int) -> str:
    """Rows (delivery id, body SHA-256, profile, message id) of the acceptances of `count` hashes within the
    duplicate window that count; parameters: the hashes, then the window's start."""
    return (f"SELECT d.id, d.body_sha256, d.profile, d.message_id {EARLIER_FROM} WHERE d.body_sha256 IN "
            f"({','.join('?' * count)}) AND d.received_at > ? AND {EARLIER_COUNTS}")


def _earlier(rows) -> dict[tuple[str, str], int]:
    """(body SHA-256, profile) -> message id of the newest earlier acceptance, from rows of `_earlier_sql`."""
    return {(sha, profile): message for _, sha, profile, message in sorted(tuple(row) for row in rows)}


@dataclass(eq=False)
class _BatchState:
    """What a batch's webhooks are written against: read once per transaction, moved on as rows are added."""

    version: int  # the profile version, to refuse what was verified against older profiles
    earlier: dict[tuple[str, str], int]  # (body SHA-256, profile) -> message id: its duplicates point there
    last_message: int | None  # the ids just before the next free ones; None: reserved before writing
    last_delivery: int | None


@dataclass(eq=False)
class _FastState:
    """What the last batch left: the profile version and the last ids (`Store._write_fast` predicts from it)."""

    version: int
    last_message: int
    last_delivery: int


RECENT_BODIES = 100_000  # acceptances remembered to predict duplicates (one forgotten is predicted new)
FAST_COLUMNS = ("version", "window_start", "earlier", "id", "received_at", "profile", "route", "method",
                "remote_addr", "headers", "body", "body_size", "body_sha256", "outcome", "status_code", "reason",
                "flow_ns", "action", "kind", "message_id", "conversation", "author", "message_kind", "text", "data",
                "raw", "created_at")
# The lookups of the fast path's trigger (tests/test_store.py checks that each uses an index): the newest
# earlier acceptance of a body that counts; the contact's last message, which a bot message replies to; the
# last ids.
FAST_LOOKUPS = {
    "earlier": f"SELECT d.message_id {EARLIER_FROM} WHERE d.body_sha256 = NEW.body_sha256 AND d.profile = "
               f"NEW.profile AND d.received_at > NEW.window_start AND {EARLIER_COUNTS} ORDER BY d.id DESC LIMIT 1",
    "reply_to": "SELECT MAX(id) FROM messages WHERE conversation = NEW.conversation AND direction = 'out'",
    "last_delivery": "SELECT IFNULL(MAX(id), 0) FROM deliveries",
    "last_message": "SELECT IFNULL(MAX(id), 0) FROM messages",
}
# A view that holds nothing: inserting into it runs the trigger, which checks each row's predictions (the
# profile version, ids after the last ones, the earlier copy of its body or none) and writes the message and
# the delivery. RAISE(ABORT) undoes the whole statement: nothing of the batch is written.
FAST_PATH_SCHEMA = (
    f"CREATE TEMP VIEW apichat_webhooks ({', '.join(FAST_COLUMNS)}) AS SELECT "
    + ", ".join(["NULL"] * len(FAST_COLUMNS)),
    "CREATE TEMP TRIGGER apichat_webhooks_insert INSTEAD OF INSERT ON apichat_webhooks BEGIN "
    "SELECT RAISE(ABORT, 'apichat fast path: the profiles changed') FROM profile_version "
    "WHERE version IS NOT NEW.version; "
    "SELECT RAISE(ABORT, 'apichat fast path: another writer took these ids') "
    f"WHERE NEW.id <= ({FAST_LOOKUPS['last_delivery']}) "
    f"OR (NEW.earlier IS NULL AND NEW.message_id <= ({FAST_LOOKUPS['last_message']})); "
    "SELECT RAISE(ABORT, 'apichat fast path: the earlier copy of this body is another') "
    f"WHERE NEW.earlier IS NOT ({FAST_LOOKUPS['earlier']}); "
    "INSERT INTO messages (id, conversation, direction, author, kind, text, data, raw, status, reply_to, delivery, "
    "created_at, updated_at) SELECT NEW.message_id, NEW.conversation, 'in', NEW.author, NEW.message_kind, NEW.text, "
    f"NEW.data, NEW.raw, 'received', ({FAST_LOOKUPS['reply_to']}), NEW.id, NEW.created_at, NEW.created_at "
    "WHERE NEW.earlier IS NULL; "
    "INSERT INTO deliveries (id, received_at, profile, route, method, remote_addr, headers, body, body_size, "
    "body_sha256, outcome, status_code, reason, flow_ns, action, kind, message_id) VALUES (NEW.id, "
    "NEW.received_at, NEW.profile, NEW.route, NEW.method, NEW.remote_addr, NEW.headers, NEW.body, NEW.body_size, "
    "NEW.body_sha256, NEW.outcome, NEW.status_code, NEW.reason, NEW.flow_ns, NEW.action, NEW.kind, "
    "NEW.message_id); END",
)
INSERT_FAST = f"INSERT INTO apichat_webhooks ({', '.join(FAST_COLUMNS)}) VALUES "
FAST_VALUES = "(" + ", ".join("?" * len(FAST_COLUMNS)) + ")"


@dataclass(eq=False)
class _Webhook:
    """A verified webhook prepared for the store, and what became of it."""

    row: tuple
    profile: str
    author: str
    kind: str
    text: str
    data: str
    raw: str
    contact: str
    conv_id: int | None
    profiles_version: int | None = None  # the profiles it was verified against; None: not checked
    result: tuple[str, int, int | None] | None = None
    error: BaseException | None = None
    done: threading.Lock = field(default_factory=_done)
    lead: bool = False  # its caller writes the batch it is in


def _delivery_row(profile, route, method, headers, body, outcome, status_code, reason, remote_addr, flow_ns,
                  action, kind, body_size=None) -> tuple:
    """The values of INSERT_DELIVERY but message_id (index 8 is the body's SHA-256, 9 the outcome, 11 the reason)."""
    body = body or b""
    # Anyone can post junk to a tunnel: a refused body keeps its first 64 KiB (its size and hash stay whole),
    # so unsigned traffic cannot fill the disk a megabyte at a time.
    cap = BODY_CAP_BYTES if outcome in ("accepted", "duplicate") else REJECTED_BODY_CAP_BYTES
    return (_now(), storable(profile), storable(route), storable(method), storable(remote_addr),
            json.dumps(masked_headers(dict(headers))), body[:cap], len(body) if body_size is None else
            body_size, hashlib.sha256(body).hexdigest() if body else "", outcome, status_code,
            storable(reason[:2000]), storable(flow_ns[:200]), storable(action[:200]), kind)


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of `script`, split on the semicolons that end one (not those inside a trigger)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                yield statement
            statement = ""


def _dict(row: sqlite3.Row | None) -> dict | None:
    return dict(row) if row is not None else None


class Store:
    """The console's store at `path` (a file, or ':memory:' for tests), or at a `postgresql://` URL.

    `Store(url)` returns a `PostgresStore` (postgres.py) for a PostgreSQL URL: callers never choose.
    """

    BACKEND = "sqlite"
    shared = False  # one machine's file; PostgreSQL is shared by several receivers and consoles
    FAST_PATH = True  # a batch of webhooks may be one statement (`_write_fast`)
    IDS_FROM_SEQUENCE = False  # ids are MAX(id) + 1, read once per batch (PostgreSQL: sequences, taken per INSERT)
    BEGIN_WRITE = ("BEGIN IMMEDIATE",)  # takes the database's one write lock, for every process at once
    BEGIN_READ = "BEGIN"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)  # what the database raises

    def __new__(cls, path: str = ":memory:", *args, **kwargs):
        if cls is Store and is_shared_store(path):
            from .postgres import PostgresStore
            return super().__new__(PostgresStore)
        return super().__new__(cls)

    @property
    def label(self) -> str:
        """Where this store is, as it may be shown or logged (a database URL's password masked)."""
        return self._file if self.path != ":memory:" else ":memory:"

    def __init__(self, path: str):
        self.path = path
        self._file = os.path.abspath(path)
        if path == ":memory:":
            self._uri = f"file:apichat-{uuid.uuid4().hex}?mode=memory&cache=shared"
            self._keepalive = self._open()
        else:
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
            self._uri = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened; set once it exists
        self._init_state()
        self._migrate()
        if self._uri is None:
            self._identity = self._file_identity()

    def _init_state(self) -> None:
        """What every backend keeps in process memory: connections, the group commit's queue, the caches."""
        self._local = threading.local()
        self._gone: StoreUnavailable | None = None  # the file was found deleted or replaced: nothing more is written
        # All writes of this process go through one connection, one at a time: writers queue on this
        # lock rather than in SQLite's busy handler (which sleeps in steps of milliseconds), and the
        # writer's page cache stays warm (a connection drops its cache whenever another one wrote).
        # Other processes still meet busy_timeout.
        self._write_lock = threading.RLock()
        self._writer: sqlite3.Connection | None = None
        # Webhooks and refused deliveries (the receiver's hot path) are group-committed: whatever is waiting
        # goes in one transaction, written by one of the waiting callers (`_submit`), so throughput rises
        # with concurrency instead of convoying on the write lock.
        self._pending: list[_Webhook | _Job] = []
        self._wake = threading.Lock()
        self._leading = False  # a caller is writing a batch; the others queue
        self._leader_pid = 0
        self._fast: _FastState | None = None  # what the next batch may be predicted from (`_write_fast`)
        self._recent: dict[tuple[str, str], tuple[int, float]] = {}  # (body SHA-256, profile) -> (message, time)
        self._snapshot: ProfileSnapshot | None = None
        self._profiles_version = 0  # the newest profile_version this process has seen
        self._conversations: dict[tuple[str, str, int], int] = {}  # the writer's (profile, contact, conv_id) -> id

    # ------------------------------------------------------------ connections

    def _open(self) -> sqlite3.Connection:
        if self._uri:
            conn = sqlite3.connect(self._uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            # Only the first connection may create the file: a later one on a deleted store must fail, not
            # start an empty database beside the one this store holds open.
            mode = "rwc" if self._identity is None else "rw"
            conn = None
            try:
                conn = sqlite3.connect(f"file:{pathname2url(self._file)}?mode={mode}", uri=True,
                                       isolation_level=None, timeout=30, check_same_thread=False)
                self.check()  # the path may lead to another file now
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.DatabaseError as exc:  # not there, not a database, no permission
                if conn is not None:
                    conn.close()
                if isinstance(exc, StoreUnavailable):
                    raise
                self.check()
                raise StoreUnavailable(self.path, str(exc)) from exc
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.row_factory = sqlite3.Row
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        """The connection all of this process's writes go through; it has the fast path's view (TEMP: its own)."""
        conn = self._open()
        for statement in FAST_PATH_SCHEMA if self.FAST_PATH else ():
            conn.execute(statement)
        return conn

    def _usable(self, conn) -> bool:
        """False when `conn` was lost (PostgreSQL restarted): it is replaced by a new one."""
        return True

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._usable(conn):
            conn = self._local.conn = self._open()
        return conn

    @contextmanager
    def write(self, track_profiles: bool = True, check_first: bool = True) -> Iterator[sqlite3.Connection]:
        """A short write transaction, taken at once so concurrent writers queue instead of failing.

        With `track_profiles`, this process learns the profile version it leaves behind, so its own
        changes to profiles are seen by `profiles()` at once. Without `check_first`, a deleted or replaced
        store is found by the check after the commit alone (the writer's batches: each os.stat lets the
        GIL go, and the one after the commit is the one that decides what the callers are told).
        """
        with self._write_lock:
            if check_first:
                self.check()  # nothing is written to a store whose file was deleted or replaced
            else:
                self._raise_if_gone()
            conn = self._writer
            if conn is None or not self._usable(conn):
                conn = self._writer = self._open_writer()
            try:
                for statement in self.BEGIN_WRITE:
                    conn.execute(statement)
            except BaseException:
                self._begin_failed(conn)
                raise
            try:
                yield conn
                if track_profiles:
                    version = conn.execute("SELECT version FROM profile_version").fetchone()[0]
                    self._profiles_version = max(self._profiles_version, version)
                conn.execute("COMMIT")
            except BaseException:  # a failed COMMIT too: no transaction is left open for the next write to join
                self._rollback(conn)
                raise
            self.check()  # deleted during the transaction: what was committed is gone, say so

    # errors of the store as a whole, not of one webhook: a batch that meets one is not retried one by one
    _batch_errors: tuple[type[BaseException], ...] = (StoreUnavailable,)

    def _rollback(self, conn) -> None:
        if conn.in_transaction:  # a COMMIT that failed may have ended it
            conn.execute("ROLLBACK")

    def _begin_failed(self, conn) -> None:
        """BEGIN IMMEDIATE that fails (busy) leaves no transaction in SQLite: nothing to undo."""

    def _rows(self, sql: str, params: tuple | list = ()) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def _row(self, sql: str, params: tuple | list = ()) -> dict | None:
        return _dict(self.conn.execute(sql, params).fetchone())

    def _migrate(self) -> None:
        with self.write(track_profiles=False) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise SchemaTooNew(f"{self.path} has schema version {version}, newer than this code "
                                   f"({len(MIGRATIONS)}); upgrade the console")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    @property
    def store_id(self) -> str:
        """A random id of this store, so a console can tell its own receiver from one serving another store."""
        value = self.get_setting("store_id")
        if value is None:
            with self.write() as conn:
                conn.execute("INSERT INTO settings (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
                             (uuid.uuid4().hex,))
            value = self.get_setting("store_id")
        return value

    def _file_identity(self) -> tuple[int, int]:
        info = os.stat(self._file)
        return info.st_dev, info.st_ino

    def check(self) -> None:
        """Raise StoreUnavailable when the file this store opened was deleted or replaced (one os.stat)."""
        if self._identity is None:
            self._raise_if_gone()
            return
        try:
            identity = self._file_identity()
        except FileNotFoundError:
            folder = os.path.dirname(self._file)
            self._gone = StoreUnavailable(self.path, f"its folder {folder} was deleted" if not os.path.isdir(folder)
                                          else "the file was deleted")
        except OSError as exc:  # e.g. no permission now: may pass, so checked again next time
            raise StoreUnavailable(self.path, exc.strerror or str(exc)) from None
        else:
            if identity != self._identity:
                self._gone = StoreUnavailable(self.path,
                                              "the file was replaced by another one after the console opened it")
        self._raise_if_gone()

    def _raise_if_gone(self) -> None:
        """Raise the StoreUnavailable of a file once found deleted or replaced: that is for good, and nothing
        more is written into it (its WAL is still beside the path). No os.stat: batches call this before writing."""
        if self._gone is not None:
            raise StoreUnavailable(self._gone.path, self._gone.why, str(self._gone))

    def ping(self) -> bool:
        """True when the store's file is the one opened and answers a read; StoreUnavailable otherwise."""
        self.check()
        try:
            return self.conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone() is not None
        except StoreUnavailable:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(self.path, str(exc)) from exc

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

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

    # ------------------------------------------------------------ settings

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self._row("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def delete_setting(self, key: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM settings WHERE key = ?", (key,))

    # ------------------------------------------------------------ profiles

    def save_profile(self, name: str, **fields: Any) -> dict:
        """Create or update profile `name` with the given fields (others unchanged)."""
        unknown = set(fields) - set(PROFILE_FIELDS)
        if unknown:
            raise ValueError(f"unknown profile field(s): {', '.join(sorted(unknown))}")
        name = name.strip()
        if not PROFILE_NAME_RE.match(name):
            # the name is a path segment of /webhook/<profile>: '.', '..' or 'é' would not route cleanly
            raise ValueError("a profile name uses letters, digits, '-', '_' or '.' only (ASCII, not starting "
                             "with '.', at most 64 characters)")
        now = _now()
        values = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        with self.write() as conn:
            conn.execute("INSERT INTO profiles (name, created_at, updated_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (name) DO NOTHING", (name, now, now))
            if values:
                sets = ", ".join(f"{k} = ?" for k in values)
                conn.execute(f"UPDATE profiles SET {sets}, updated_at = ? WHERE name = ?",
                             (*values.values(), now, name))
        return self.get_profile(name)

    def get_profile(self, name: str) -> dict | None:
        return self._row("SELECT * FROM profiles WHERE name = ?", (name,))

    def list_profiles(self) -> list[dict]:
        return self._rows("SELECT * FROM profiles ORDER BY created_at, name")

    def delete_profile(self, name: str) -> None:
        """Forget the profile's settings; its conversations, messages and deliveries stay readable."""
        with self.write() as conn:
            conn.execute("DELETE FROM profiles WHERE name = ?", (name,))
            if self.get_setting("default_profile") == name:
                conn.execute("DELETE FROM settings WHERE key = 'default_profile'")

    def default_profile(self) -> dict | None:
        """The profile chosen as default, else the oldest one, else None (one query: the receiver asks often)."""
        return self._row("SELECT * FROM profiles ORDER BY name = (SELECT value FROM settings "
                         "WHERE key = 'default_profile') DESC, created_at, name LIMIT 1")

    def set_default_profile(self, name: str) -> None:
        self.set_setting("default_profile", name)

    def verification_keys(self) -> dict[str, str]:
        return {p["name"]: p["verify_key"] for p in self.list_profiles() if p["verify_key"]}

    def profiles(self, fresh: bool = False) -> ProfileSnapshot:
        """Every profile and the default one, from memory while no process has changed them.

        The receiver asks for every request. The copy is read again when `fresh`, or when the writer saw
        profile_version move (it reads it once per batch, and refuses a webhook verified against an older
        version with StaleProfiles), so a changed key is never missed and an unchanged one costs no query.
        """
        snapshot = self._snapshot
        if fresh or snapshot is None or snapshot.version != self._profiles_version:
            conn = self.conn
            conn.execute(self.BEGIN_READ)  # one consistent read of the version and what it numbers
            try:
                version = conn.execute("SELECT version FROM profile_version").fetchone()[0]
                rows = [dict(r) for r in conn.execute("SELECT * FROM profiles ORDER BY created_at, name")]
                chosen = conn.execute("SELECT value FROM settings WHERE key = 'default_profile'").fetchone()
            finally:
                conn.execute("COMMIT")
            by_name = {row["name"]: row for row in rows}
            default = by_name.get(chosen[0]) if chosen else None
            snapshot = self._snapshot = ProfileSnapshot(version, by_name, default or (rows[0] if rows else None))
            self._profiles_version = max(self._profiles_version, version)
        return snapshot

    # ------------------------------------------------------------ contacts and conversations

    def save_contact(self, contact_id: str, name: str = "", email: str = "", phone: str = "") -> dict:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO contacts (id, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, "
                "phone = excluded.phone", (contact_id, name, email, phone, _now()))
        return self.get_contact(contact_id)

    def get_contact(self, contact_id: str) -> dict | None:
        return self._row("SELECT * FROM contacts WHERE id = ?", (contact_id,))

    def list_contacts(self) -> list[dict]:
        return self._rows("SELECT * FROM contacts ORDER BY created_at")

    def ensure_conversation(self, profile: str, contact_id: str, conv_id: int) -> dict:
        with self.write() as conn:
            return self._ensure_conversation(conn, profile, contact_id, conv_id)

    def _ensure_conversation(self, conn, profile: str, contact_id: str, conv_id: int) -> dict:
        conn.execute("INSERT INTO contacts (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                     (contact_id, contact_id, _now()))
        conn.execute("INSERT INTO conversations (profile, contact_id, conv_id, created_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (profile, contact_id, conv_id) DO NOTHING",
                     (profile, contact_id, int(conv_id), _now()))
        return _dict(conn.execute("SELECT * FROM conversations WHERE profile = ? AND contact_id = ? "
                                  "AND conv_id = ?", (profile, contact_id, int(conv_id))).fetchone())

    def get_conversation(self, conversation: int) -> dict | None:
        return self._row("SELECT * FROM conversations WHERE id = ?", (conversation,))

    def list_conversations(self, profile: str, contact_id: str | None = None) -> list[dict]:
        """Conversations with their last message and the count of unread replies, newest first."""
        where, params = "c.profile = ?", [profile]
        if contact_id is not None:
            where += " AND c.contact_id = ?"
            params.append(contact_id)
        return self._rows(f"""
            SELECT c.*, m.text AS last_text, m.kind AS last_kind, m.created_at AS last_at,
                   (SELECT COUNT(*) FROM messages u WHERE u.conversation = c.id AND u.direction = 'in'
                      AND u.id > c.last_read_id) AS unread
            FROM conversations c
            LEFT JOIN messages m ON m.id = (SELECT MAX(id) FROM messages WHERE conversation = c.id)
            WHERE {where}
            ORDER BY COALESCE(m.created_at, c.created_at) DESC""", params)

    def next_conv_id(self, profile: str, contact_id: str) -> int:
        row = self._row("SELECT MAX(conv_id) AS top FROM conversations WHERE profile = ? AND contact_id = ?",
                        (profile, contact_id))
        top = row["top"] if row and row["top"] is not None else None
        return top + 1 if top is not None else int(time.time()) % 1_000_000

    def mark_read(self, conversation: int, up_to_id: int) -> None:
        with self.write() as conn:
            conn.execute("UPDATE conversations SET last_read_id = MAX(last_read_id, ?) WHERE id = ?",
                         (up_to_id, conversation))

    # ------------------------------------------------------------ messages

    def add_contact_message(self, conversation: int, kind: str, text: str, data: dict, raw: dict) -> int:
        """A message the contact is sending, in state 'sending' until the bot_url answers."""
        now = _now()
        with self.write() as conn:
            cur = conn.execute(
                "INSERT INTO messages (conversation, direction, author, kind, text, data, raw, status, "
                "created_at, updated_at) VALUES (?, 'out', 'contact', ?, ?, ?, ?, 'sending', ?, ?) RETURNING id",
                (conversation, kind, storable(text), storable(json.dumps(data, ensure_ascii=False)),
                 storable(json.dumps(raw, ensure_ascii=False)), now, now))
            return cur.fetchone()[0]

    def set_message_status(self, message_id: int, status: str, error: str = "") -> None:
        with self.write() as conn:
            conn.execute("UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                         (status, error[:TEXT_CAP_CHARS], _now(), message_id))

    def get_message(self, message_id: int) -> dict | None:
        return self._row("SELECT * FROM messages WHERE id = ?", (message_id,))

    def messages_since(self, conversation: int, after_id: int = 0, limit: int = 500) -> list[dict]:
        """Messages of `conversation` newer than `after_id`, oldest first (the live poll)."""
        return self._rows("SELECT * FROM messages WHERE conversation = ? AND id > ? ORDER BY id LIMIT ?",
                          (conversation, after_id, limit))

    def messages_after(self, after_id: int, limit: int = 1000) -> list[dict]:
        """Messages of every conversation newer than `after_id`, oldest first: one range scan of the primary key
        (messages.id is the rowid), so a load test's dispatcher pays one indexed query per tick for all contacts."""
        return self._rows("SELECT * FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit))

    def last_message_id(self) -> int:
        """The newest message's id (0 for none): where a dispatcher starts watching."""
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]

    def messages_before(self, conversation: int, before_id: int | None = None, limit: int = 50) -> list[dict]:
        """The `limit` messages just before `before_id` (or the latest ones), oldest first."""
        rows = self._rows("SELECT * FROM messages WHERE conversation = ? AND id < ? ORDER BY id DESC LIMIT ?",
                          (conversation, before_id if before_id is not None else 2**62, limit))
        return rows[::-1]

    def wait_for_messages(self, conversation: int, after_id: int, timeout: float) -> bool:
        """True as soon as `conversation` has a message newer than `after_id`; False after `timeout` seconds.

        On PostgreSQL the wait is woken by the database's NOTIFY when any host commits one; on SQLite it is
        the indexed look repeated every WAIT_STEP_SECONDS (one process's file: nothing to be told by).
        """
        deadline = time.monotonic() + timeout
        while True:
            mark = self._change_mark(conversation)  # taken before the look: a commit after it is not missed
            if self.conn.execute("SELECT 1 FROM messages WHERE conversation = ? AND id > ? LIMIT 1",
                                 (conversation, after_id)).fetchone() is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._wait_for_change(conversation, mark, min(left, self.WAIT_STEP_SECONDS))

    WAIT_STEP_SECONDS = 0.05

    def _change_mark(self, conversation: int):
        """Something that moves when `conversation` changes (PostgreSQL: a count of its notifications)."""
        return None

    def _wait_for_change(self, conversation: int, mark, seconds: float) -> None:
        time.sleep(seconds)

    def message_changes(self, conversation: int, ids: list[int], since: float) -> list[dict]:
        """Messages among `ids` whose status changed after `since` (delivery states)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._rows(f"SELECT * FROM messages WHERE conversation = ? AND updated_at > ? AND id IN ({marks})",
                          (conversation, since, *ids))

    def count_messages(self, conversation: int) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM messages WHERE conversation = ?",
                                 (conversation,)).fetchone()[0]

    # ------------------------------------------------------------ webhook deliveries

    def record_delivery(self, *, profile: str, route: str, method: str, headers: dict, body: bytes | None,
                        outcome: str, status_code: int, reason: str = "", remote_addr: str = "",
                        flow_ns: str = "", action: str = "", kind: str = "", body_size: int | None = None) -> int:
        """Keep a delivery that did not become a message (rejected, handshake, error)."""
        row = _delivery_row(profile, route, method, headers, body, outcome, status_code, reason, remote_addr,
                            flow_ns, action, kind, body_size)
        return self._submit(_Job(lambda conn: conn.execute(INSERT_DELIVERY, (*row, None)).fetchone()[0]))

    def accept_webhook(self, *, profile: str, route: str, method: str, headers: dict, body: bytes,
                       message: BotMessage, remote_addr: str = "", flow_ns: str = "",
                       action: str = "", profiles_version: int | None = None) -> tuple[str, int, int | None]:
        """Store a verified webhook as a message, or as a duplicate of one seen within 10 minutes.

        Committed (with its delivery) before this returns, so the receiver answers 2xx only for
        what is on disk. Webhooks arriving together are written in one transaction (group commit) by
        one of their callers, in arrival order. With `profiles_version` (from `profiles()`), a webhook
        verified against profiles that changed since is not written: StaleProfiles is raised.
        Returns (outcome, delivery id, message id).
        """
        item = _Webhook(
            row=_delivery_row(profile, route, method, headers, body, "accepted", 200, "", remote_addr, flow_ns,
                              action, message.kind),
            profile=profile, author=message.author, kind=message.kind, text=storable(message.text[:TEXT_CAP_CHARS]),
            data=storable(json.dumps(message.to_dict(raw=False), ensure_ascii=False)),
            raw=body.decode("utf-8", errors="replace"), contact=storable(message.sender_id or "(unknown contact)"),
            conv_id=message.conv_id if isinstance(message.conv_id, int) else None, profiles_version=profiles_version)
        return self._submit(item)

    # ------------------------------------------------------------ group commit (leader and followers)

    def _submit(self, job: _Webhook | _Job):
        """Queue `job` and return once the transaction that holds it committed (or raise what failed it).

        Group commit without a thread of its own: the caller that finds nobody writing leads, and writes
        whatever is queued (its own job first among them) in one transaction; callers arriving meanwhile
        queue, and each waits on its own job only. When the leader is done it hands the lead to the
        oldest job still queued, whose caller wakes to write the next batch. So the caller that writes never
        waits for another thread to be scheduled, and a batch costs no wake of a writer thread, whose
        every SQLite call would make it take the GIL back from the request threads.
        """
        if self._write_lock._is_owned():  # the job would wait for this thread's own transaction forever
            raise RuntimeError("webhooks and deliveries are written in a batch of their own: not inside write()")
        with self._wake:
            if self._leader_pid != os.getpid():  # first use, or a forked child: nobody leads here yet, and the
                self._leader_pid, self._leading, self._pending = os.getpid(), False, []  # parent's jobs are not ours
                self._fast, self._recent = None, {}
            self._pending.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            try:
                job.done.acquire()  # released when its batch committed, or to hand this caller the lead
            except BaseException:  # interrupted (a signal): leave the queue, or pass on the lead if it came
                with self._wake:
                    handed = job.lead
                    if not handed and job in self._pending:
                        self._pending.remove(job)
                if handed:
                    self._lead()
                raise
        if lead or job.lead:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self) -> None:
        """Write one batch of what is queued, then pass the lead to the oldest job left (or to nobody)."""
        batch: list[_Webhook | _Job] = []
        written = False
        try:
            with self._write_lock:  # taken before the batch is cut: whatever arrives meanwhile joins it
                with self._wake:
                    batch, self._pending = self._pending, []
                self._write_batch(batch)  # never raises: each job gets its result or its error
                written = True
        finally:
            with self._wake:
                for job in batch:
                    if not written and job.result is None and job.error is None:
                        job.error = RuntimeError("the store write was interrupted")
                    if not job.lead:  # the leader's own job: its caller is not waiting on it
                        job.done.release()
                if self._pending:
                    successor = self._pending[0]
                    successor.lead = True
                    successor.done.release()
                else:
                    self._leading = False

    # ------------------------------------------------------------ the fast path of a batch (SQLite)

    def _write_fast(self, batch: list[_Webhook | _Job]) -> bool:
        """Write `batch` as one INSERT that checks what it was built on, or return False (the full way then).

        The full way is five statements (BEGIN IMMEDIATE, the batch's state, two INSERTs, COMMIT), and each lets
        the GIL go. Here this process predicts what that state would say (the profile version, the last ids,
        the earlier copies of the bodies: its own last batch told it) and sends everything in one INSERT
        into a view, whose trigger checks each prediction against the database inside that statement and
        aborts it, so nothing is written, when one is wrong (another process wrote, a profile changed, a
        contact spoke since the copy). One statement in autocommit is one transaction: atomic as the full way.
        """
        self._raise_if_gone()
        if not self.FAST_PATH:
            return False
        fast, conn = self._fast, self._writer
        # in autocommit only: inside a transaction left open, the INSERT would join it and commit nothing
        if fast is None or conn is None or conn.in_transaction or len(batch) > MAX_ROWS_PER_INSERT:
            return False
        rows, results, now = [], [], _now()
        window_start = now - DUPLICATE_WINDOW_SECONDS
        accepted: dict[tuple[str, str], tuple[int, float]] = {}  # this batch's: a later copy names the first
        last_message, last_delivery = fast.last_message, fast.last_delivery
        for job in batch:
            if not isinstance(job, _Webhook) or job.profiles_version not in (None, fast.version) \
                    or job.conv_id is None:
                return False
            conversation = self._conversations.get((job.profile, job.contact, job.conv_id))
            if conversation is None:
                return False
            key = (job.row[8], job.profile)
            last_delivery += 1
            earlier = accepted.get(key) or self._recent.get(key)
            if earlier is not None and earlier[1] > window_start:
                row = list(job.row)
                row[9], row[11] = "duplicate", DUPLICATE_REASON
                rows.append((fast.version, window_start, earlier[0], last_delivery, *row, earlier[0],
                             *(None,) * 7))  # no message: conversation ... created_at
                results.append(("duplicate", last_delivery, earlier[0]))
                continue
            last_message += 1
            rows.append((fast.version, window_start, None, last_delivery, *job.row, last_message, conversation,
                         job.author, job.kind, job.text, job.data, job.raw, now))
            accepted[key] = (last_message, job.row[0])
            results.append(("accepted", last_delivery, last_message))
        try:
            conn.execute(INSERT_FAST + ", ".join([FAST_VALUES] * len(rows)), [v for row in rows for v in row])
        except sqlite3.OperationalError as exc:
            self._fast = None
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                return False
            for job in batch:  # busy for busy_timeout already: the full way would wait as long again
                job.error = exc
            return True
        except Exception:  # noqa: BLE001 - a prediction was wrong (RAISE, a taken id), or worse: nothing was
            self._fast = None  # written, and the full way decides (and reports what is still wrong)
            return False
        self.check()  # raises StoreUnavailable (for the whole batch) when the file went while it was written
        for job, result in zip(batch, results, strict=True):
            job.result = result
        fast.last_message, fast.last_delivery = last_message, last_delivery
        self._remember(accepted)
        return True

    def _remember(self, accepted: dict[tuple[str, str], tuple[int, float]]) -> None:
        """Keep the latest acceptance of each body (its message id and time) for the next predictions."""
        if len(self._recent) + len(accepted) > RECENT_BODIES:
            cutoff = _now() - DUPLICATE_WINDOW_SECONDS
            self._recent = {k: v for k, v in self._recent.items() if v[1] > cutoff}
            if len(self._recent) + len(accepted) > RECENT_BODIES:
                self._recent = {}  # a body not remembered is predicted new; the trigger catches a wrong guess
        self._recent.update(accepted)

    def _apply_all(self, conn: sqlite3.Connection, batch: list[_Webhook | _Job]) -> tuple[list, _BatchState]:
        """Every job of `batch`, in order, in the open transaction; runs of webhooks in a few statements.

        The writer lets the GIL go around every SQLite call (and the prefetch after each row), and with the
        request threads busy each release is a thread switch there and one back: so a batch costs a fixed
        handful of statements whatever its size (SQLite: one read of the profile version, the ids and the
        earlier copies of its bodies; one multi-row INSERT per table), not a few per webhook.
        """
        hashes = sorted({job.row[8] for job in batch if isinstance(job, _Webhook)})
        state = self._batch_state(conn, hashes, _now())
        self._profiles_version = max(self._profiles_version, state.version)
        results: list = [None] * len(batch)
        run: list[int] = []

        def flush() -> None:
            for start in range(0, len(run), MAX_ROWS_PER_INSERT):
                chunk = run[start:start + MAX_ROWS_PER_INSERT]
                for index, result in zip(chunk, self._accept_many(conn, [batch[i] for i in chunk], state),
                                         strict=True):
                    results[index] = result
            run.clear()

        for index, job in enumerate(batch):
            if isinstance(job, _Job):
                flush()  # a refused delivery between webhooks keeps its place in the order of ids
                results[index] = job.apply(conn)
                state.last_message = state.last_delivery = None  # it took the next free id: read them again
            elif job.profiles_version is None or job.profiles_version == state.version:
                run.append(index)
            else:  # not written, and the rest of the batch is unaffected: the caller verifies again and resubmits
                job.error = StaleProfiles(f"profiles changed (version {job.profiles_version} -> {state.version})")
        flush()
        return results, state

    def _batch_state(self, conn: sqlite3.Connection, hashes: list[str], now: float) -> _BatchState:
        """The profile version, the last ids and the earlier acceptances of `hashes`, in one statement: its
        first row (marked 0) holds the version and the ids, each other row an earlier acceptance."""
        rows = conn.execute(
            "SELECT 0, version, (SELECT IFNULL(MAX(id), 0) FROM messages), (SELECT IFNULL(MAX(id), 0) FROM "
            f"deliveries) FROM profile_version UNION ALL {_earlier_sql(len(hashes))}",
            (*hashes, now - DUPLICATE_WINDOW_SECONDS)).fetchall()
        (_, version, last_message, last_delivery), = [row for row in rows if row[0] == 0]  # delivery ids are > 0
        return _BatchState(version, _earlier(row for row in rows if row[0] != 0), last_message, last_delivery)

    def _accept_many(self, conn: sqlite3.Connection, items: list[_Webhook],
                     state: _BatchState) -> list[tuple[str, int, int | None]]:
        """Store `items` as messages (or duplicates of one seen within 10 minutes) with their deliveries, at once."""
        now = _now()
        earlier = state.earlier
        if state.last_message is None or state.last_delivery is None or self.IDS_FROM_SEQUENCE:
            state.last_message, state.last_delivery = self._reserve_ids(conn, len(items))
        # ids are chosen here, so a message and its delivery can name each other in one INSERT each; safe
        # because this transaction holds the write lock
        last_message, last_delivery = state.last_message, state.last_delivery
        messages, deliveries, results = [], [], []
        for item in items:
            last_delivery += 1
            key = (item.row[8], item.profile)
            if key in earlier:
                duplicate = list(item.row)
                duplicate[9], duplicate[11] = "duplicate", DUPLICATE_REASON
                deliveries.append((last_delivery, *duplicate, earlier[key]))
                results.append(("duplicate", last_delivery, earlier[key]))
                continue
            last_message += 1
            conversation = self._conversation_of(conn, item)
            messages.append((last_message, conversation, item.author, item.kind, item.text, item.data, item.raw,
                             conversation, last_delivery, now, now))
            deliveries.append((last_delivery, *item.row, last_message))
            earlier[key] = last_message  # a copy later in this batch is a duplicate of this one
            results.append(("accepted", last_delivery, last_message))
        if messages:
            conn.execute(INSERT_MESSAGES + ", ".join([MESSAGE_VALUES] * len(messages)),
                         [value for row in messages for value in row])
        conn.execute(INSERT_DELIVERIES + ", ".join([DELIVERY_VALUES] * len(deliveries)),
                     [value for row in deliveries for value in row])
        state.last_message, state.last_delivery = last_message, last_delivery
        return results

    def _reserve_ids(self, conn, count: int) -> tuple[int, int]:
        """The ids just before `count` free message ids and `count` free delivery ids (the write lock is held)."""
        return conn.execute("SELECT (SELECT IFNULL(MAX(id), 0) FROM messages), "
                            "(SELECT IFNULL(MAX(id), 0) FROM deliveries)").fetchone()

    def _after_copy(self, conn, table: str) -> None:
        """After rows were copied into `table` with their ids (copy.py): nothing to do in SQLite."""

    def _conversation_of(self, conn: sqlite3.Connection, item: _Webhook) -> int:
        """The conversation a webhook belongs to, created if new; remembered (conversations are never deleted)."""
        conv_id = item.conv_id
        if conv_id is None:  # no usable conv_id: the contact's latest conversation
            found = conn.execute("SELECT conv_id FROM conversations WHERE profile = ? AND contact_id = ? "
                                 "ORDER BY id DESC LIMIT 1", (item.profile, item.contact)).fetchone()
            conv_id = found[0] if found else 0
        key = (item.profile, item.contact, conv_id)
        conversation = self._conversations.get(key)
        if conversation is None:
            found = conn.execute("SELECT id FROM conversations WHERE profile = ? AND contact_id = ? AND conv_id = ?",
                                 key).fetchone()
            conversation = found[0] if found else self._ensure_conversation(conn, *key)["id"]
            if len(self._conversations) > 100_000:
                self._conversations.clear()
            self._conversations[key] = conversation
        return conversation

    def _write_batch(self, batch: list[_Webhook | _Job]) -> None:
        """Write `batch` in one transaction; if that fails, each alone, so only a bad one fails."""
        try:
            try:
                if self._write_fast(batch):
                    return
            except StoreUnavailable as exc:  # written into a file that is gone: lost, say so
                for job in batch:
                    job.error = exc
                return
            try:
                with self.write(track_profiles=False, check_first=False) as conn:
                    results, state = self._apply_all(conn, batch)
            except Exception as exc:
                self._conversations.clear()  # it may name conversations this rollback undid
                for job in batch:
                    if isinstance(job, _Webhook) and isinstance(job.error, StaleProfiles):
                        job.error = None  # decided again alone
                if len(batch) == 1 or isinstance(exc, self._batch_errors):  # no store, no lock: each alone would
                    for job in batch:  # fail too, and each try would wait its own timeout
                        job.error = exc
                    return
                for job in batch:
                    try:
                        with self.write(track_profiles=False, check_first=False) as conn:
                            result = self._apply_all(conn, [job])[0][0]
                        if job.error is None:
                            job.result = result
                    except Exception as own:
                        self._conversations.clear()  # it may name a conversation this rollback undid
                        job.error = own
                return
            for job, result in zip(batch, results, strict=True):
                if job.error is None:
                    job.result = result
            if self.FAST_PATH:  # what the next batch may be predicted from (the fast path checks each prediction)
                self._fast = (_FastState(state.version, state.last_message, state.last_delivery)
                              if state.last_message is not None and state.last_delivery is not None else None)
                self._remember({(job.row[8], job.profile): (job.result[2], job.row[0]) for job in batch
                                if isinstance(job, _Webhook) and job.result is not None
                                and job.result[0] == "accepted"})
        except BaseException as exc:  # never leave a waiting caller without an answer, never stop the writer
            self._fast = None
            for job in batch:
                if job.result is None and job.error is None:
                    job.error = RuntimeError(f"the store write was interrupted: {exc!r}")

    def get_delivery(self, delivery_id: int) -> dict | None:
        return self._row("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))

    def refused_since(self, profile: str, since: float, limit: int = 3) -> list[dict]:
        """Deliveries to `profile` refused after `since`, newest first: why an awaited reply may not show."""
        return self._rows("SELECT id, received_at, status_code, reason FROM deliveries WHERE profile = ? "
                          "AND received_at > ? AND outcome = 'rejected' ORDER BY received_at DESC LIMIT ?",
                          (profile, since, limit))

    def list_deliveries(self, *, profile: str | None = None, outcome: str | None = None, kind: str | None = None,
                        text: str | None = None, after_id: int = 0, limit: int = 200) -> list[dict]:
        """Deliveries newest first, filtered; `text` searches body, reason, route and headers."""
        where, params = ["id > ?"], [after_id]
        for column, value in (("profile", profile), ("outcome", outcome), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if text:
            where.append("(CAST(body AS TEXT) LIKE ? OR reason LIKE ? OR route LIKE ? OR headers LIKE ?)")
            params += [f"%{text}%"] * 4
        return self._rows(f"SELECT * FROM deliveries WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                          (*params, limit))

    def count_deliveries(self, outcome: str | None = None) -> int:
        if outcome:
            return self.conn.execute("SELECT COUNT(*) FROM deliveries WHERE outcome = ?", (outcome,)).fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]

    # ------------------------------------------------------------ requests sent to UChat

    def record_request(self, *, profile: str, target: str, method: str, url: str, request_headers: dict,
                       request_body: str, status: int | None, response_body: str, duration_ms: float,
                       error: str = "", message_id: int | None = None) -> int:
        """Keep a request the console sent (partner API or bot_url); credentials and verification keys masked."""
        with self.write() as conn:
            cur = conn.execute(
                "INSERT INTO requests (created_at, profile, target, method, url, request_headers, request_body, "
                "status, response_body, duration_ms, error, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (_now(), profile, target, method, url, json.dumps(masked_headers(request_headers)),
                 storable(masked_body(request_body)[:TEXT_CAP_CHARS]), status,
                 storable(masked_body(response_body or "")[:TEXT_CAP_CHARS]),
                 duration_ms, storable(error[:2000]), message_id))
            return cur.fetchone()[0]

    def list_requests(self, *, profile: str | None = None, text: str | None = None, after_id: int = 0,
                      limit: int = 200) -> list[dict]:
        where, params = ["id > ?"], [after_id]
        if profile:
            where.append("profile = ?")
            params.append(profile)
        if text:
            where.append("(url LIKE ? OR request_body LIKE ? OR response_body LIKE ? OR error LIKE ?)")
            params += [f"%{text}%"] * 4
        return self._rows(f"SELECT * FROM requests WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                          (*params, limit))

    def get_request(self, request_id: int) -> dict | None:
        return self._row("SELECT * FROM requests WHERE id = ?", (request_id,))

    # ---- scenario runs

    def start_scenario_run(self, *, scenario: str, path: str, profile: str, total_steps: int, source: str = "",
                           batch: str = "", contact_id: str = "", conversation: int | None = None) -> int:
        """A scenario run in state 'running'; its steps are added as they finish."""
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO scenario_runs (batch, scenario, path, profile, contact_id, conversation, status, "
                "started_at, total_steps, source) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) RETURNING id",
                (batch, scenario, path, profile, contact_id, conversation, _now(), total_steps,
                 source[:TEXT_CAP_CHARS])).fetchone()[0]

    def add_scenario_result(self, run: int, *, position: int, line: int, label: str, status: str,
                            first_reply_ms: float | None = None, settle_ms: float | None = None,
                            replies: int = 0, detail: dict | None = None) -> int:
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO scenario_results (run, position, line, label, status, first_reply_ms, settle_ms, "
                "replies, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (run, position, line, label, status, first_reply_ms, settle_ms, replies,
                 json.dumps(detail or {}, ensure_ascii=False, default=str), _now())).fetchone()[0]

    def finish_scenario_run(self, run: int, *, status: str, error: str = "", passed: int = 0, failed: int = 0,
                            first_p50_ms: float | None = None, first_p95_ms: float | None = None,
                            settle_p50_ms: float | None = None, settle_p95_ms: float | None = None) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE scenario_runs SET status = ?, error = ?, passed_steps = ?, failed_steps = ?, finished_at = ?, "
                "first_p50_ms = ?, first_p95_ms = ?, settle_p50_ms = ?, settle_p95_ms = ? WHERE id = ?",
                (status, error[:TEXT_CAP_CHARS], passed, failed, _now(), first_p50_ms, first_p95_ms, settle_p50_ms,
                 settle_p95_ms, run))

    def get_scenario_run(self, run: int) -> dict | None:
        return self._row("SELECT * FROM scenario_runs WHERE id = ?", (run,))

    def list_scenario_runs(self, *, batch: str | None = None, limit: int = 200) -> list[dict]:
        """Scenario runs newest first; `batch` keeps those started together."""
        if batch is not None:
            return self._rows("SELECT * FROM scenario_runs WHERE batch = ? ORDER BY id LIMIT ?", (batch, limit))
        return self._rows("SELECT * FROM scenario_runs ORDER BY id DESC LIMIT ?", (limit,))

    def scenario_results(self, run: int) -> list[dict]:
        """The finished steps of a run, in order."""
        return self._rows("SELECT * FROM scenario_results WHERE run = ? ORDER BY position, id", (run,))
