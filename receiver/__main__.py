"""`python -m receiver`: serve the receiver on APICHAT_RECEIVER_HOST:PORT.

Served by gunicorn's gthread workers (receiver/serve.py says why not waitress): one worker process of
`--threads` threads by default, whatever the store. `--workers N` above 1 needs a store that several
processes can share, PostgreSQL (`APICHAT_DB=postgresql://…`); a SQLite store is refused there: it is one
file on one machine whose webhooks are group-committed by one process's writer.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys

from apichat.config import SettingsError, is_shared_store, load_settings
from apichat.redact import mask
from apichat.store import StoreUnavailable

ENVIRONMENT = """\
environment (flags win over these):
  APICHAT_DB                 the store: a SQLite path (default data/console.db) or postgresql://… (team mode)
  APICHAT_MEDIA_DIR          uploaded files served under /media (default data/media)
  APICHAT_RECEIVER_HOST      listen address (default 127.0.0.1)
  APICHAT_RECEIVER_PORT      port (default 8502)
  UCHAT_VERIFY_TOKEN, UCHAT_*  the `env` connection profile, made the default (its key verifies /webhook)
  APICHAT_RETENTION_DAYS     deliveries and requests older than this are pruned in the background (default
                             30; keep: never); APICHAT_MESSAGES_RETENTION_DAYS, APICHAT_RUNS_RETENTION_DAYS
                             the same for conversations and scenario runs (default keep);
                             APICHAT_PRUNE_EVERY_HOURS how often (default 6; docs/retention.md)
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {text!r} is not a whole number") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"port {value} is not a TCP port (0-65535)")
    return value


def _count(name: str, most: int):
    """An argparse type: a whole number of `name` from 1 to `most`, or a one-line error that says so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{name} {text!r} must be a whole number from 1 to {most}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m receiver", description=__doc__, epilog=ENVIRONMENT,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", help="listen address (default $APICHAT_RECEIVER_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="port (default $APICHAT_RECEIVER_PORT or 8502)")
    parser.add_argument("--db", help="the store: a SQLite path or a postgresql:// URL (default $APICHAT_DB or "
                        "data/console.db)")
    parser.add_argument("--media-dir", help="uploaded files (default $APICHAT_MEDIA_DIR or data/media)")
    parser.add_argument("--threads", type=_count("threads", 256), default=8, help="threads per worker process (default 8)")
    parser.add_argument("--workers", type=_count("workers", 64), default=1,
                        help="worker processes (default 1); above 1 with a PostgreSQL store only")
    parser.add_argument("--read-timeout", type=_count("read timeout", 3600), default=30, metavar="SECONDS",
                        help="a client silent this long in the middle of a request loses its connection, so it "
                        "cannot hold a thread (default 30)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help works even when a setting is bad
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"receiver: {exc}", file=sys.stderr)
        return 2
    settings = settings.replace(**{name: value for name, value in (
        ("receiver_host", args.host), ("receiver_port", args.port), ("db_path", args.db),
        ("media_dir", args.media_dir)) if value is not None})
    if args.workers > 1 and not is_shared_store(settings.db_path):
        print(f"receiver: --workers {args.workers} needs a store several processes can share "
              f"(APICHAT_DB=postgresql://…); {settings.db_label} is SQLite, one file whose webhooks one process "
              "group-commits, so serve it with one receiver (--workers 1, the default)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s receiver %(levelname)s %(message)s")

    from receiver import create_app
    from receiver.serve import listen, serve

    try:  # opened once here, so a store that cannot be used is one line before anything listens
        app = create_app(settings)
    except StoreUnavailable as exc:
        print(f"receiver: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error, RuntimeError, ValueError) as exc:
        print(f"receiver: cannot open the store {settings.db_label}: {exc}", file=sys.stderr)
        return 2
    app.extensions["apichat"]["store"].close()  # each worker opens its own: connections do not survive a fork
    try:
        sock = listen(settings.receiver_host, settings.receiver_port)
    except OSError as exc:
        print(f"receiver: cannot listen on {settings.receiver_host}:{settings.receiver_port}: {exc}", file=sys.stderr)
        return 1
    env = settings.env_profile
    logging.info("listening on http://%s:%s store=%s env-profile=%s (%d worker%s x %d threads)",
                 settings.receiver_host, sock.getsockname()[1], settings.db_label,
                 f"verify key {mask(env.verify_key)}" if env else "none", args.workers,
                 "" if args.workers == 1 else "s", args.threads)
    return serve(settings, sock, workers=args.workers, threads=args.threads, read_timeout=args.read_timeout)


if __name__ == "__main__":
    sys.exit(main())
