"""The store: the only package that holds SQL.

`open_store(path_or_url)` opens a SQLite file (the default, `sqlite.py`) or a PostgreSQL database (team mode,
`postgres.py`) and migrates its schema. Both are a `Store` (`base.py`): the tables' methods are written once
(`profiles.py`: settings and profiles; `conversations.py`: contacts, conversations, messages;
`deliveries.py`: webhook deliveries and requests; `runs.py`: scenario runs; `verdicts.py`: a judge's
verdicts) over the core (`core.py`: connections, write transactions, the group commit, StoreUnavailable). A
backend adds its connections, its write lock, id reservation, migrations and a `Dialect`: the few statements it
spells its own way.
"""

from __future__ import annotations

from ..config import is_shared_store
from .base import Store
from .core import TEXT_CAP_CHARS, Dialect, SchemaTooNew, StaleProfiles, StoreUnavailable, storable
from .deliveries import (
    BODY_CAP_BYTES,
    DUPLICATE_REASON,
    DUPLICATE_WINDOW_SECONDS,
    MAX_ROWS_PER_INSERT,
    REJECTED_BODY_CAP_BYTES,
    Written,
)
from .profiles import PROFILE_FIELDS, ProfileSnapshot
from .sqlite import SQLiteStore


def open_store(path_or_url: str = ":memory:") -> Store:
    """The store at `path_or_url`: a SQLite file (or ':memory:'), or a `postgresql://` URL's database."""
    if is_shared_store(path_or_url):
        from .postgres import PostgresStore  # psycopg is loaded only for a PostgreSQL store

        return PostgresStore(path_or_url)
    return SQLiteStore(path_or_url)


__all__ = ["BODY_CAP_BYTES", "DUPLICATE_REASON", "DUPLICATE_WINDOW_SECONDS", "MAX_ROWS_PER_INSERT",
           "PROFILE_FIELDS", "REJECTED_BODY_CAP_BYTES", "TEXT_CAP_CHARS", "Dialect", "ProfileSnapshot",
           "SQLiteStore", "SchemaTooNew", "StaleProfiles", "Store", "StoreUnavailable", "Written", "open_store",
           "storable"]
