"""The baseline: a bare "return ok" Flask route. bench/receiver.py serves it under gunicorn (`create_app`) as the
receiver is, and with `python -m bench.bare_app` under waitress, to compare with the receiver under waitress."""

from __future__ import annotations

import argparse
import sys

from flask import Flask, jsonify
from waitress import create_server


def create_app() -> Flask:
    app = Flask(__name__)

    @app.route("/webhook", methods=["GET", "POST"])
    def webhook():
        return jsonify(status="ok")

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (the receiver's default: 8)")
    args = parser.parse_args(argv)
    server = create_server(create_app(), host=args.host, port=args.port, threads=args.threads)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
