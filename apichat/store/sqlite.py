"""The store in a SQLite file (the default): WAL mode, one connection per thread and the writer's.

A page polling for new messages never blocks the receiver writing one (WAL), and writes are short
transactions taken at once (BEGIN IMMEDIATE takes the file's one write lock for every process). The store
never touches a file deleted or replaced under it: it checks the device and inode of the path it opened
(one os.stat before and after each write; a batch of webhooks after its commit only) and says so with
StoreUnavailable from then on.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from urllib.request import pathname2url

from ..schema import MIGRATIONS
from .base import Store
from .core import Dialect, SchemaTooNew, StoreUnavailable, announce_migration
from .retention import VACUUM_PAGES

DIALECT = Dialect(
    mark_read="UPDATE conversations SET last_read_id = MAX(last_read_id, ?) WHERE id = ?",
    # SQLite's LIKE ignores ASCII case; a BLOB is compared as its bytes. The scan serves terms under 3
    # characters, and the rows the FTS5 index does not hold yet (search)
    delivery_search="(CAST(body AS TEXT) LIKE ? ESCAPE '\\' OR reason LIKE ? ESCAPE '\\' OR route LIKE ? ESCAPE '\\' "
                    "OR headers LIKE ? ESCAPE '\\')",
    request_search="(url LIKE ? ESCAPE '\\' OR request_body LIKE ? ESCAPE '\\' OR response_body LIKE ? ESCAPE '\\' "
                   "OR error LIKE ? ESCAPE '\\')",
)
# the FTS5 tables of migration 9: (columns, the values indexed from the table's row)
SEARCHED = {"deliveries": ("body, reason, route, headers", "CAST(body AS TEXT), reason, route, headers"),
            "requests": ("url, request_body, response_body, error", "url, request_body, response_body, error")}
TRIGRAM = 3  # the shortest term the trigram index finds


def statements(script: str) -> Iterator[str]:
    """The SQL statements of `script`, split on the semicolons that end one (not those inside a trigger)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                yield statement
            statement = ""


class SQLiteStore(Store):
    """The console's store in the SQLite file at `path` (':memory:' for tests)."""

    BACKEND = "sqlite"
    BEGIN_WRITE = "BEGIN IMMEDIATE"
    errors = (sqlite3.Error,)
    dialect = DIALECT

    def __init__(self, path: str):
        self.path = path
        self._file = os.path.abspath(path)
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened; set once it exists
        self._gone: StoreUnavailable | None = None  # the file was found deleted or replaced: for good
        self._init_state()
        if path == ":memory:":
            self._uri = f"file:apichat-{uuid.uuid4().hex}?mode=memory&cache=shared"
            self._keepalive = self._open()
        else:
            os.makedirs(os.path.dirname(self._file), exist_ok=True)
            self._uri = None
        self._migrate()
        if self._uri is None:
            self._identity = self._file_identity()

    @property
    def label(self) -> str:
        return self._file if self.path != ":memory:" else ":memory:"

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
                if mode == "rwc":  # a new file gives freed pages back a step at a time (give_space_back);
                    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only before WAL and the first table
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

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # a COMMIT that failed may have ended it
            conn.execute("ROLLBACK")

    def _migrate(self) -> None:
        with self._holding_write_lock(), self._transaction(track_profiles=False) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise SchemaTooNew(f"{self.path} has schema version {version}, newer than this code "
                                   f"({len(MIGRATIONS)}); upgrade the console")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                announce_migration(script, conn)
                for statement in statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _batch_start(self, conn, messages: int, deliveries: int) -> tuple[int, int, int]:
        """The ids after the last ones are free while this transaction holds the file's write lock."""
        return conn.execute("SELECT version, (SELECT COALESCE(MAX(id), 0) FROM messages), "
                            "(SELECT COALESCE(MAX(id), 0) FROM deliveries) FROM profile_version").fetchone()

    # ------------------------------------------------------------ the file's identity

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

    # ------------------------------------------------------------ the Inspector's text search (FTS5, trigram)

    def _indexed_up_to(self, conn, table: str) -> int:
        """Every row of `table` up to this id is in its index (index_search goes in id order), none above; an
        entry's rowid is -id (migration 9: newest first is FTS5's fast order)."""
        return -conn.execute(f"SELECT COALESCE((SELECT rowid FROM {table}_search ORDER BY rowid LIMIT 1), 0)"
                             ).fetchone()[0]

    def _search(self, table: str, where: list[str], params: list, text: str, limit: int,
                after_id: int = 0) -> list[dict]:
        """The index's rows for a term of 3 characters or more, after the rows not indexed yet (scanned: the
        newest, a range of the primary key); a shorter term is a scan (the trigram index cannot find it)."""
        if len(text) < TRIGRAM:
            return super()._search(table, where, params, text, limit, after_id)
        mark = self._indexed_up_to(self.conn, table)
        rows = super()._search(table, where, params, text, limit, max(after_id, mark))
        if len(rows) >= limit or after_id >= mark:
            return rows
        phrase = '"' + text.replace('"', '""') + '"'
        rows += self._rows(  # -rowid < -after_id: bounded in the index's own order
            f"SELECT t.* FROM {table}_search s JOIN {table} t ON t.id = -s.rowid WHERE {table}_search MATCH ? AND "
            f"s.rowid < ? {''.join(f'AND {w} ' for w in where)}ORDER BY s.rowid LIMIT ?",
            (phrase, -after_id, *params, limit - len(rows)))
        return rows

    def search_backlog(self) -> int:
        """How many rows of the searched tables are not in their index yet (ids above the indexed mark)."""
        return sum(self.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
                   - self._indexed_up_to(self.conn, table) for table in SEARCHED)

    def index_search(self, batch: int = 200) -> int:
        """Index the next `batch` rows of deliveries and of requests, in id order, each table a short write."""
        done = 0
        for table, (columns, values) in SEARCHED.items():
            with self.write() as conn:
                done += conn.execute(
                    f"INSERT INTO {table}_search (rowid, {columns}) SELECT -id, {values} FROM {table} WHERE id > ? "
                    "ORDER BY id LIMIT ?", (self._indexed_up_to(conn, table), batch)).rowcount
        return done

    def _table_bytes(self) -> dict[str, int]:
        """Pages per table with its indexes, from the dbstat table (it reads every page: `check` only); the
        search index counts for the table it searches."""
        owner = {name: table for name, table in self.conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")}
        sizes: dict[str, int] = {}
        for name, size in self.conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            for searched in SEARCHED:
                if table.startswith(f"{searched}_search"):
                    table = searched
            sizes[table] = sizes.get(table, 0) + size
        return sizes

    def give_space_back(self, full: bool = False) -> None:
        """Return the pages a prune freed to the file system. A store made with auto_vacuum=INCREMENTAL (every
        new one) does it in steps of VACUUM_PAGES, each a short write; `full` (or an older store) runs VACUUM,
        which rewrites the whole file under the write lock (by hand only: `prune --vacuum`) and switches an
        older store to incremental. Then a WAL checkpoint, so the file itself shrinks."""
        mode = self.conn.execute("PRAGMA auto_vacuum").fetchone()[0]
        if full or mode != 2:
            if not full:
                return  # an older store: freed pages are reused by new rows; VACUUM only when asked
            with self._holding_write_lock():
                self.check()
                writer = self._writer_conn()
                writer.execute("PRAGMA auto_vacuum=INCREMENTAL")
                writer.execute("VACUUM")
        else:
            free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
            for _ in range(free // VACUUM_PAGES + 1):
                with self._holding_write_lock():
                    self.check()
                    # executescript steps the pragma to its end: execute() frees one page per call
                    self._writer_conn().executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
        with self._holding_write_lock():
            self._writer_conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
