"""Receiver throughput against a bare Flask route served the same way, and loss (2xx vs rows stored).

    python -m bench.receiver [--count 3000] [--concurrency 16] [--rounds 6] [--time-cap 60]

Starts `python -m receiver` (temp store, free port, UCHAT_VERIFY_TOKEN) and `python -m bench.bare_app`
(waitress, same thread count) as subprocesses, loads each from a pool of `requests.Session`s on
loopback with distinct signed webhooks, and prints both rates, their ratio and the loss.
Target (DESIGN.md): ratio >= 0.6, loss 0. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from apichat.services import ChildError, ChildProcess, free_port
from apichat.signing import sign
from apichat.store import Store

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-verify-key"
TARGET_RATIO = 0.6


@dataclass
class Result:
    sent: int = 0
    ok: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: float | None = None  # the server's CPU seconds during the load

    def add(self, other: Result) -> None:
        self.sent += other.sent
        self.ok += other.ok
        self.seconds += other.seconds
        if other.cpu is not None:
            self.cpu = (self.cpu or 0.0) + other.cpu
        for k, v in other.failed.items():
            self.failed[k] = self.failed.get(k, 0) + v

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


class Server(ChildProcess):
    """A subprocess serving HTTP on `port`, its output kept in a log file."""

    def __init__(self, name: str, args: list[str], env: dict, port: int, folder: Path):
        super().__init__(args, env, folder / f"{name}.log", name=name)
        self.port, self.url = port, f"http://127.0.0.1:{port}"

    def wait_healthy(self, timeout: float = 30.0) -> None:
        try:
            self.wait_ready(lambda: requests.get(f"{self.url}/healthz", timeout=1).status_code == 200, timeout)
        except ChildError as exc:
            raise SystemExit(f"bench: {exc}") from None


def signed_bodies(prefix: str, count: int) -> list[tuple[bytes, dict]]:
    """Distinct webhook bodies (none is a duplicate of another), signed as UChat signs them."""
    out = []
    for i in range(count):
        body = json.dumps({"sender_id": f"bench-contact-{i % 50}", "conv_id": 1000 + i % 50,
                           "text": f"{prefix} reply number {i}: the quick brown fox", "type": "text",
                           "message_type": "outgoing", "private": False}, separators=(",", ":")).encode()
        out.append((body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, KEY),
                           "x-flow-ns": "f-bench", "x-action": "messages"}))
    return out


def load(url: str, bodies: list[tuple[bytes, dict]], concurrency: int, time_cap: float) -> Result:
    """POST every body (or until `time_cap` seconds) from `concurrency` threads, one Session each."""
    result, lock = Result(), threading.Lock()
    index = itertools.count()
    deadline = time.monotonic() + time_cap

    def worker() -> None:
        session = requests.Session()
        sent = ok = 0
        failed: dict[str, int] = {}
        while time.monotonic() < deadline:
            i = next(index)  # itertools.count is atomic under the GIL
            if i >= len(bodies):
                break
            body, headers = bodies[i]
            sent += 1
            try:
                status = session.post(url, data=body, headers=headers, timeout=30).status_code
            except requests.RequestException as exc:
                failed[type(exc).__name__] = failed.get(type(exc).__name__, 0) + 1
                continue
            if 200 <= status < 300:
                ok += 1
            else:
                failed[str(status)] = failed.get(str(status), 0) + 1
        session.close()
        with lock:
            result.sent += sent
            result.ok += ok
            for k, v in failed.items():
                result.failed[k] = result.failed.get(k, 0) + v

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000, help="webhooks per server (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (default %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers "
                        "(default %(default)s, the receiver's default)")
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per server at most "
                        "(default %(default)s)")
    parser.add_argument("--rounds", type=int, default=6, help="alternations of bare and receiver "
                        "(default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temp store and server logs")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring (default %(default)s)")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="apichat-bench-"))
    db = folder / "console.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UCHAT_", "APICHAT_"))}
    rport, bport = free_port(), free_port()
    env.update({"UCHAT_VERIFY_TOKEN": KEY, "APICHAT_DB": str(db), "APICHAT_MEDIA_DIR": str(folder / "media"),
                "APICHAT_RECEIVER_PORT": str(rport), "APICHAT_SANDBOX": "0", "PYTHONUNBUFFERED": "1"})
    receiver = Server("receiver", ["-m", "receiver", "--threads", str(args.threads)], env, rport, folder)
    bare = Server("bare", ["-m", "bench.bare_app", "--port", str(bport), "--threads", str(args.threads)], env,
                  bport, folder)
    try:
        receiver.wait_healthy()
        bare.wait_healthy()
        warm = signed_bodies("warm-up", args.warmup)
        warm_results = [load(f"{s.url}/webhook", warm, args.concurrency, args.time_cap) for s in (bare, receiver)]
        bodies = signed_bodies("measured", args.count)
        # alternate the two in rounds, so a burst of other work on the machine hits both alike
        base, got, round_ratios = Result(), Result(), []
        size = -(-len(bodies) // args.rounds)
        for start in range(0, len(bodies), size):
            chunk = bodies[start:start + size]
            parts = []
            for server, total in ((bare, base), (receiver, got)):
                cpu = server.cpu_seconds()
                part = load(f"{server.url}/webhook", chunk, args.concurrency, args.time_cap / args.rounds)
                if cpu is not None:
                    part.cpu = server.cpu_seconds() - cpu
                total.add(part)
                parts.append(part)
            if parts[0].rate:
                round_ratios.append(parts[1].rate / parts[0].rate)
        if receiver.proc.poll() is not None:
            raise SystemExit(f"the receiver died:\n{receiver.log_path.read_text()[-3000:]}")
    finally:
        receiver.stop()
        bare.stop()

    store = Store(str(db))
    acknowledged = warm_results[1].ok + got.ok
    stored = store.count_deliveries("accepted")
    messages = sum(store.count_messages(c["id"]) for c in store.list_conversations("env"))
    loss = acknowledged - stored
    ratio = got.rate / base.rate if base.rate else 0.0

    print(f"cpus={os.cpu_count()} concurrency={args.concurrency} waitress threads={args.threads} "
          f"count={args.count} rounds={args.rounds}")
    print(f"bare flask route : {base.ok:>6} ok in {base.seconds:6.2f}s = {base.rate:8.1f} req/s"
          f"  failed={base.failed or 0}")
    print(f"receiver (signed, stored): {got.ok:>6} ok in {got.seconds:6.2f}s = {got.rate:8.1f} req/s"
          f"  failed={got.failed or 0}")
    if base.cpu and got.cpu and base.ok and got.ok:
        print(f"server CPU per request: bare {1000 * base.cpu / base.ok:.2f} ms, "
              f"receiver {1000 * got.cpu / got.ok:.2f} ms")
    print(f"ratio receiver/bare = {ratio:.2f} (target >= {TARGET_RATIO}); per round: "
          + " ".join(f"{r:.2f}" for r in round_ratios) + f", median {statistics.median(round_ratios):.2f}")
    print(f"loss = {loss} (2xx answers {acknowledged}, accepted deliveries stored {stored}, messages {messages})")
    if got.sent < args.count or base.sent < args.count:
        print(f"note: the time cap stopped a run early (bare sent {base.sent}, receiver sent {got.sent})")
    missed = ratio < TARGET_RATIO or loss != 0 or messages != stored
    store.close()
    if missed or args.keep:
        print("RESULT:", "targets met" if not missed else "TARGET MISSED", f"(logs and store kept in {folder})")
    else:
        shutil.rmtree(folder, ignore_errors=True)
        print("RESULT: targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
