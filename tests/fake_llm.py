"""A fake OpenAI-compatible server for the judge and embeddings tests: `python -m tests.fake_llm --port P`.

It is outside the product, as a real model server is, and started as a process (tests.conftest.start_process).
What it answers is scripted per test with `POST /script` (or `--script FILE`), JSON:

    {"chat": [{"when": "SLOW", "delay": 3, "answer": "..."},        # the first rule whose `when` (a text, or
              {"when": ["A", "B"], "answer": "..."},                # texts that must all be there) is in the
              {"when": "GARBAGE", "answer": "I think it passes"},   # user's message wins; no `when`: any
              {"when": "BROKEN", "status": 500, "body": "..."},
              {"answer": "{\"pass\": true, \"reason\": \"fine\"}"}],
     "embeddings": {"fail_when": "BROKEN", "status": 500, "body": "..."}}

A chat with no matching rule answers 500 "fake_llm: no rule matches", so an unscripted call is seen. Embeddings
are bags of words (each word counted at crc32(word) % 256): texts with the same words point the same way.
`GET /calls` counts the calls per endpoint and lists their requests (path, Authorization header, JSON body).
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DIMENSIONS = 256
_lock = threading.Lock()
_state: dict = {"script": {"chat": [], "embeddings": {}}, "calls": {"chat": 0, "embeddings": 0}, "requests": []}


def bag_of_words(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.casefold()):
        vector[zlib.crc32(word.encode()) % DIMENSIONS] += 1.0
    return vector


def _listed(when) -> list[str]:
    return when if isinstance(when, list) else [when]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: str | dict, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/healthz":
            self._send(200, {"service": "fake-llm"})
        elif self.path == "/calls":
            with _lock:
                self._send(200, {**_state["calls"], "requests": _state["requests"]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path == "/script":
            with _lock:
                _state["script"] = {"chat": body.get("chat", []), "embeddings": body.get("embeddings", {})}
            return self._send(200, {"ok": True})
        kind = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}.get(self.path)
        if kind is None:
            return self._send(404, {"error": f"no route {self.path}"})
        with _lock:
            _state["calls"][kind] += 1
            _state["requests"].append({"path": self.path, "authorization": self.headers.get("Authorization", ""),
                                       "body": body})
            script = _state["script"]
        if kind == "chat":
            return self._chat(body, script["chat"])
        return self._embeddings(body, script["embeddings"])

    def _chat(self, body: dict, rules: list[dict]) -> None:
        asked = " ".join(m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user")
        rule = next((r for r in rules if all(w in asked for w in _listed(r.get("when", "")))), None)
        if rule is None:
            return self._send(500, {"error": "fake_llm: no rule matches"})
        time.sleep(rule.get("delay", 0))
        if "status" in rule:
            return self._send(rule["status"], rule.get("body", ""), "text/plain")
        self._send(200, {"id": "fake", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": rule["answer"]},
                                      "finish_reason": "stop"}]})

    def _embeddings(self, body: dict, rule: dict) -> None:
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        if rule.get("fail_when") and any(rule["fail_when"] in t for t in texts):
            return self._send(rule.get("status", 500), rule.get("body", ""), "text/plain")
        self._send(200, {"object": "list", "model": body.get("model"),
                         "data": [{"object": "embedding", "index": i, "embedding": bag_of_words(t)}
                                  for i, t in enumerate(texts)]})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_llm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", help="a JSON script to start with (as POST /script takes it)")
    args = parser.parse_args()
    if args.script:
        script = json.loads(Path(args.script).read_text())
        _state["script"] = {"chat": script.get("chat", []), "embeddings": script.get("embeddings", {})}
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
