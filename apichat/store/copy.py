"""Moving up: copy every table of one store into another (SQLite to PostgreSQL, or back), counts verified.

The destination must be empty (nothing is merged or overwritten); the copy is one transaction there, so a
failure leaves it as empty as it was. Ids are kept (messages still name their deliveries and replies), and a
PostgreSQL destination's sequences continue after the highest copied id. The source's `store_id` setting is
not copied: the new store is another store, and a console can tell the two apart.
"""

from __future__ import annotations

from . import Store

# in the order of their references (a message names its conversation, a result its run); monitor_leases are
# not copied: a lease belongs to a process running on the source
TABLES = ("profiles", "settings", "contacts", "conversations", "messages", "deliveries", "requests",
          "scenario_runs", "scenario_results", "judge_verdicts", "monitor_runs", "monitor_alerts",
          "simulator_answers")
KEYS = {"profiles": "name", "settings": "key", "contacts": "id", "judge_verdicts": "key",
        "simulator_answers": "key"}  # the others are ordered by id
NOT_COPIED = {"settings": "key <> 'store_id'"}
ROWS_PER_INSERT = 100


class CopyError(Exception):
    """The copy cannot be made (the destination holds data, a row does not fit); nothing was changed."""


def count_rows(store: Store, table: str) -> int:
    where = f" WHERE {NOT_COPIED[table]}" if table in NOT_COPIED else ""
    return store.conn.execute(f"SELECT COUNT(*) FROM {table}{where}").fetchone()[0]


def row_counts(store: Store) -> dict[str, int]:
    """Rows per table, as `check` reports them and `copy` verifies them."""
    return {table: count_rows(store, table) for table in TABLES}


def _columns(store: Store, table: str) -> list[str]:
    cursor = store.conn.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    return [column[0] if isinstance(column, tuple) else column.name for column in cursor.description]


def copy_store(source: Store, destination: Store, progress=None) -> dict[str, tuple[int, int]]:
    """Copy every table of `source` into the empty `destination`; {table: (source rows, destination rows)}.

    Raises CopyError when the destination is not empty or a row cannot be stored there (nothing copied).
    """
    held = {table: count for table, count in row_counts(destination).items() if count}
    if held:
        listed = ", ".join(f"{count} {table}" for table, count in held.items())
        raise CopyError(f"the destination {destination.label} is not empty ({listed}); copy into a new, empty store")
    expected = row_counts(source)
    with destination.write() as conn:
        for table in TABLES:
            wanted = set(_columns(destination, table))
            columns = [c for c in _columns(source, table) if c in wanted]
            names = ", ".join(columns)
            where = f" WHERE {NOT_COPIED[table]}" if table in NOT_COPIED else ""
            rows = source.conn.execute(f"SELECT {names} FROM {table}{where} ORDER BY {KEYS.get(table, 'id')}")
            one = "(" + ", ".join("?" * len(columns)) + ")"
            copied = 0
            while True:
                chunk = rows.fetchmany(ROWS_PER_INSERT)
                if not chunk:
                    break
                try:
                    conn.execute(f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * len(chunk)),
                                 [value for row in chunk for value in row])
                except destination.errors as exc:
                    first = " ".join(str(exc).split())
                    raise CopyError(f"{table}: a row among {copied + 1}-{copied + len(chunk)} cannot be stored in "
                                    f"{destination.label}: {first}; nothing was copied") from exc
                copied += len(chunk)
            if table not in KEYS:  # its rows have ids
                destination._after_copy(conn, table)
            if progress:
                progress(table, copied)
    counts = row_counts(destination)
    return {table: (expected[table], counts[table]) for table in TABLES}
