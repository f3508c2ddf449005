"""Monitors: scenario runs on a schedule, with alerts when the bot goes down and when it comes back.

    python -m apichat.monitor run [FILE] [--once] [--lease 30s] [--alert-backoff 0.5s]
    python -m apichat.monitor check [FILE]

FILE is a monitors file (default monitors.yaml); its scenario paths are relative to it. `run` keeps running
the monitors on their schedules until stopped (SIGTERM, Ctrl-C); with --once it runs every due monitor once
and exits (for cron or CI). Runs go to the console's store (APICHAT_DB), and so do the leases that let several
monitor processes share one PostgreSQL store. Exit status: 0 everything that ran passed, 1 a monitor failed
(or the file is invalid), 2 nothing could run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..config import SettingsError, load_settings
from ..scenarios import ScenarioError, parse_duration
from ..store import StoreUnavailable, open_store
from .check import Checked
from .config import Monitor, load_monitors
from .jobs import transcript_writer
from .schedule import holder_name, run_forever, run_once


def _said(monitor: Monitor, checked: Checked | None) -> None:
    """One line per run (nothing for a monitor that was not due), and one per alert sent or not."""
    if checked is None:
        return
    stamp = time.strftime("%H:%M:%S")
    line = f"{stamp} {monitor.name}: {checked.status.upper()} (run {checked.run})"
    print(line + (f": {checked.problem}" if checked.problem else ""), flush=True)
    for row in checked.alerts:
        tries = f"{row['attempts']} attempt{'s' if row['attempts'] != 1 else ''}"
        outcome = "sent" if row["status"] == "sent" else f"FAILED ({row['error']})"
        print(f"{stamp} {monitor.name}: {checked.notice} alert to {row['target']} {outcome} after {tries}", flush=True)


def _load(path: str) -> list[Monitor] | None:
    try:
        return load_monitors(path)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return None


def _lease(text: str) -> float:
    value = parse_duration(text)
    if value is None or not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration from 1s to 600s")
    return value


def _backoff(text: str) -> float:
    value = parse_duration(text)
    if value is None or not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration from 0s to 60s")
    return value


def _run(args) -> int:
    monitors = _load(args.file)
    if monitors is None:
        return 1
    try:
        settings = load_settings()
        store = open_store(settings.db_path)
    except (SettingsError, StoreUnavailable) as exc:
        print(f"cannot run monitors: {exc}", file=sys.stderr)
        return 2
    transcript = transcript_writer(store, Path(settings.data_dir) / "transcripts", settings.media_dir)
    holder = holder_name()
    print(f"{len(monitors)} monitor(s) from {args.file} on {store.label} as {holder}", flush=True)
    if args.once:
        done = run_once(store, monitors, holder, _said, lease=args.lease, backoff=args.alert_backoff,
                        transcript=transcript)
        return 1 if any(c.status != "passed" for c in done) else 0
    run_forever(store, monitors, holder, _said, lease=args.lease, backoff=args.alert_backoff,
                        transcript=transcript)
    return 0


def _check(args) -> int:
    monitors = _load(args.file)
    if monitors is None:
        return 1
    for m in monitors:
        print(f"ok  {m.name}: {len(m.scenarios)} scenario(s), profile {m.profile}, {m.schedule}, "
              f"down after {m.alert_after} failed run(s), {len(m.alerts)} alert target(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.monitor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the monitors on their schedules (--once: each due one once)")
    run.add_argument("file", nargs="?", default="monitors.yaml")
    run.add_argument("--once", action="store_true", help="run every due monitor once and exit")
    run.add_argument("--lease", type=_lease, default=30.0,
                     help="how long a killed process keeps a monitor before another may run it (default 30s)")
    run.add_argument("--alert-backoff", type=_backoff, default=0.5, metavar="DURATION",
                     help="wait before an alert's 2nd attempt, doubled for each next (3 attempts; default 0.5s)")
    check = commands.add_parser("check", help="only validate a monitors file")
    check.add_argument("file", nargs="?", default="monitors.yaml")
    args = parser.parse_args(argv)
    return {"run": _run, "check": _check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
