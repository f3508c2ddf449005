"""`python -m receiver`: serve the receiver with waitress on APICHAT_RECEIVER_HOST:PORT."""

from __future__ import annotations

import argparse
import logging
import sys

from apichat.config import SettingsError, load_settings, mask


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"receiver: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m receiver", description=__doc__)
    parser.add_argument("--host", default=settings.receiver_host, help="listen address (default %(default)s)")
    parser.add_argument("--port", type=int, default=settings.receiver_port, help="port (default %(default)s)")
    parser.add_argument("--db", default=settings.db_path, help="SQLite store (default %(default)s)")
    parser.add_argument("--media-dir", default=settings.media_dir, help="uploaded files (default %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (default %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s receiver %(levelname)s %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    from waitress import serve

    from receiver import create_app

    settings = settings.replace(receiver_host=args.host, receiver_port=args.port, db_path=args.db,
                                media_dir=args.media_dir)
    app = create_app(settings)
    env = settings.env_profile
    logging.info("listening on http://%s:%s store=%s env-profile=%s", args.host, args.port, args.db,
                 f"verify key {mask(env.verify_key)}" if env else "none")
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="apichat-receiver",
          max_request_body_size=32 * settings.max_body_bytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
