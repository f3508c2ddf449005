"""The store from the command line: report a store's state, move one to PostgreSQL, or trim it.

    python -m apichat.store check [--db PATH_OR_URL]
    python -m apichat.store copy --from data/console.db --to postgresql://user:pass@host:5432/db
    python -m apichat.store prune --older-than 30d [--profile P] [--what deliveries,requests,messages,runs,load]
        [--dry-run] [--vacuum] [--db PATH_OR_URL]

`check` reports the backend, where the store is (a database URL's password masked), its schema version and,
per table, its rows, its bytes (indexes included, where the backend tells), its oldest row and how long its
rows are kept (the retention settings in force, docs/retention.md). `copy` copies every table of one store into a new, empty one (SQLite to
PostgreSQL, or back) in one transaction, then counts the rows of both and says whether they match.
`prune` deletes what `--what` names (default deliveries,requests) older than `--older-than` (30d, 12h,
90m; a bare number is days), in batches of 500 rows, each its own short transaction, so a receiver writing
webhooks meanwhile waits for one batch at most; `--dry-run` counts the same rows and deletes nothing. It
prints the rows per table. On SQLite the freed space goes back to the file system (a store made by this
version gives it back a step at a time; `--vacuum` rewrites the whole file, which an older store needs).
docs/retention.md says what each `--what` removes.
Opening a store migrates it to this code's schema. Exit status: 0 done (counts match), 1 the counts
differ or the destination is not empty, or another process is pruning, 2 a store cannot be opened (missing
file, not a database, unreachable server, wrong credentials, a newer schema) or a bad argument.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

from ..config import SettingsError, is_shared_store, load_settings
from ..redact import masked_url
from . import SQLiteStore, Store, StoreUnavailable, open_store
from .copy import TABLES, CopyError, copy_store, row_counts
from .retention import TABLES as PRUNED_TABLES
from .retention import WHATS, PruneBusy

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DEFAULT_WHAT = "deliveries,requests"


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
    held = {row["table"]: row for row in store.holdings(sizes=True)}
    retention = load_settings().retention
    size = _file_bytes(store)
    if size is not None:
        print(f"{'file':<18}{_size(size)}")
    print(f"{'table':<18}{'rows':<10}{'bytes':<10}{'oldest row':<18}kept (APICHAT_*RETENTION_DAYS)")
    for table, count in row_counts(store).items():
        row = held.get(table)
        if row is None:  # profiles, settings: the console's own, never pruned
            print(f"{table:<18}{count}")
            continue
        oldest = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["oldest"])) if row["oldest"] else "-"
        print(f"{table:<18}{count:<10}{_size(row['bytes']):<10}{oldest:<18}{retention.kept_for(table)}")
    claim = store.prune_claim()
    if claim:
        print(f"{'pruning now':<18}{claim['owner']}")
    store.close()
    return 0


def _size(count: int | None) -> str:
    if count is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


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


def age(text: str) -> float:
    """`30d`, `12h`, `90m`, `45s` or a bare number of days, as seconds (an argparse type)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*", text or "")
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 30d, 12h or 90m")
    return float(found[1]) * UNITS[found[2] or "d"]


def whats(text: str) -> list[str]:
    """A comma-separated list of what to prune (an argparse type)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in WHATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{text!r}: choose among {','.join(WHATS)}")
    return names


def _file_bytes(store: Store) -> int | None:
    if store.shared or store.path == ":memory:":
        return None
    return sum(os.path.getsize(store.label + suffix) for suffix in ("", "-wal") if os.path.exists(store.label + suffix))


def prune(args) -> int:
    target = args.db or load_settings().db_path
    store = _open(target, must_exist=True)
    before = time.time() - args.older_than
    print(f"{'would delete' if args.dry_run else 'deleting'} {','.join(args.what)} older than "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(before))}"
          f"{f' of profile {args.profile}' if args.profile else ''} from {store.label}", flush=True)
    size = _file_bytes(store)
    try:
        counts = store.prune(before, args.what, profile=args.profile, dry_run=args.dry_run)
    except PruneBusy as exc:
        print(f"store: {exc}", file=sys.stderr)
        return 1
    print(f"{'table':<18}{'would delete' if args.dry_run else 'deleted':>12}")
    for table in PRUNED_TABLES:
        print(f"{table:<18}{counts[table]:>12}")
    print(f"{'total':<18}{sum(counts.values()):>12}")
    if not args.dry_run and size is not None:
        store.give_space_back(full=args.vacuum)
        print(f"file size: {size / 1e6:.1f} MB -> {_file_bytes(store) / 1e6:.1f} MB")
    store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.store", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="backend, schema version, and per table its rows, bytes, oldest "
                                   "row and retention")
    checking.add_argument("--db", help="a SQLite path or postgresql:// URL (default $APICHAT_DB or data/console.db)")
    copying = commands.add_parser("copy", help="copy every table of a store into a new, empty one")
    copying.add_argument("--from", dest="source", required=True, help="the store to copy (a path or URL)")
    copying.add_argument("--to", dest="destination", required=True, help="the new, empty store (a path or URL)")
    pruning = commands.add_parser("prune", help="delete what is older than an age, in small batches")
    pruning.add_argument("--older-than", type=age, required=True, metavar="AGE",
                         help="what is older than this goes: 30d, 12h, 90m (a bare number is days)")
    pruning.add_argument("--what", type=whats, default=whats(DEFAULT_WHAT),
                         help=f"a comma-separated list among {','.join(WHATS)} (default {DEFAULT_WHAT})")
    pruning.add_argument("--profile", help="only this profile's rows (default: every profile)")
    pruning.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    pruning.add_argument("--vacuum", action="store_true",
                         help="SQLite: rewrite the file afterwards (VACUUM), giving all the free space back")
    pruning.add_argument("--db", help="a SQLite path or postgresql:// URL (default $APICHAT_DB or data/console.db)")
    args = parser.parse_args(argv)
    try:
        return {"check": check, "copy": copy, "prune": prune}[args.command](args)
    except (CannotOpen, SettingsError) as exc:
        print(f"store: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
