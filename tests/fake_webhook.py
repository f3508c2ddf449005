"""A test receiver for alerts (Slack's incoming webhooks, an ops webhook): `python -m tests.fake_webhook --port P`.

It is outside the product, as Slack is, and started as a process (tests.conftest.start_process). Every POST is
kept (path, JSON body) and answered 200, except on two kinds of path:

    /status/<code>/…   always answers <code> (a target that is down)
    /flaky<N>/…        answers 503 to the first N POSTs to that path, then 200 (a target that comes back)

`GET /received` lists what was posted, answered or not: {"posts": [{"path", "body", "status"}]}.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_posts: list[dict] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/healthz":
            self._send(200, {"status": "ok", "service": "fake-webhook"})
        elif self.path == "/received":
            with _lock:
                self._send(200, {"posts": list(_posts)})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = {"not_json": raw.decode("utf-8", "replace")}
        fixed = re.match(r"^/status/(\d{3})/", self.path)
        flaky = re.match(r"^/flaky(\d+)/", self.path)
        with _lock:
            earlier = sum(1 for p in _posts if p["path"] == self.path)
            status = int(fixed.group(1)) if fixed else 503 if flaky and earlier < int(flaky.group(1)) else 200
            _posts.append({"path": self.path, "body": body, "status": status})
        self._send(status, {"ok": status == 200})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
