"""The store from the command line: report a store's state, or move one to PostgreSQL.

    python -m apichat.store check [--db PATH_OR_URL]
    python -m apichat.store copy --from data/console.db --to postgresql://user:pass@host:5432/db

`check` reports the backend, where the store is (a database URL's password masked), its schema version and
the rows of each table. `copy` copies every table of one store into a new, empty one (SQLite to
PostgreSQL, or back) in one transaction, then counts the rows of both and says whether they match.
Opening a store migrates it to this code's schema. Exit status: 0 done (counts match), 1 the counts
differ or the destination is not empty, 2 a store cannot be opened (missing file, not a database,
unreachable server, wrong credentials, a newer schema).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..config import SettingsError, is_shared_store, load_settings
from ..redact import masked_url
from . import SQLiteStore, Store, StoreUnavailable, open_store
from .copy import TABLES, CopyError, copy_store, row_counts


class CannotOpen(Exception):
    """A store that cannot be used; the message is the one line printed."""


def _open(target: str, *, must_exist: bool) -> Store:
    if must_exist and not is_shared_store(target) and not os.path.isfile(target):
        raise CannotOpen(f"there is no store at {os.path.abspath(target)}")
    try:
        return open_store(target)
    except StoreUnavailable as exc:
        raise CannotOpen(str(exc)) from None
    except RuntimeError as exc:  # a newer schema
        raise CannotOpen(str(exc)) from None
    except SQLiteStore.errors as exc:  # PostgreSQL's are StoreUnavailable
        raise CannotOpen(f"cannot open the store {masked_url(target)}: {' '.join(str(exc).split())}") from None


def _versions(store: Store) -> str:
    from ..schema import MIGRATIONS, PG_MIGRATIONS

    current = len(PG_MIGRATIONS if store.shared else MIGRATIONS)
    return f"{store.schema_version} (this code: {current})"


def check(args) -> int:
    target = args.db or load_settings().db_path
    store = _open(target, must_exist=True)
    print(f"{'backend':<18}{store.BACKEND}")
    print(f"{'store':<18}{store.label}")
    print(f"{'schema version':<18}{_versions(store)}")
    for table, count in row_counts(store).items():
        print(f"{table:<18}{count}")
    store.close()
    return 0


def copy(args) -> int:
    if os.path.abspath(args.source) == os.path.abspath(args.destination) or args.source == args.destination:
        raise CannotOpen("--from and --to name the same store")
    source = _open(args.source, must_exist=True)
    destination = _open(args.destination, must_exist=False)
    print(f"copying {source.label} ({source.BACKEND}) -> {destination.label} ({destination.BACKEND})", flush=True)
    try:
        counts = copy_store(source, destination)
    except CopyError as exc:
        print(f"store: {exc}", file=sys.stderr)
        return 1
    print(f"{'table':<18}{'from':>10}{'to':>10}")
    for table in TABLES:
        before, after = counts[table]
        print(f"{table:<18}{before:>10}{after:>10}{'' if before == after else '  MISMATCH'}")
    if any(before != after for before, after in counts.values()):
        print("store: the row counts differ; the destination is not a complete copy", file=sys.stderr)
        return 1
    print(f"copied {sum(after for _, after in counts.values())} rows; every count matches")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="backend, schema version and row counts of a store")
    checking.add_argument("--db", help="a SQLite path or postgresql:// URL (default $APICHAT_DB or data/console.db)")
    copying = commands.add_parser("copy", help="copy every table of a store into a new, empty one")
    copying.add_argument("--from", dest="source", required=True, help="the store to copy (a path or URL)")
    copying.add_argument("--to", dest="destination", required=True, help="the new, empty store (a path or URL)")
    args = parser.parse_args(argv)
    try:
        return check(args) if args.command == "check" else copy(args)
    except (CannotOpen, SettingsError) as exc:
        print(f"store: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
