"""Webhook latency while the receiver's background prune runs, against the same load once it is done.

    python -m bench.prune [--old 300000] [--connections 4] [--threads 8]

Fills a temp SQLite store with `--old` deliveries 40 days old (and a profile), starts `python -m receiver` on
it with APICHAT_RETENTION_DAYS=30, so its housekeeper starts pruning at once, and posts distinct, validly
signed webhooks from `--connections` client threads (each one request after the other) for as long as the
prune's claim is held; then the same load for as long again, with nothing to prune (the baseline, measured
in the same run). Prints p50/p99/max latency of both, their ratio, the rate, and the rows pruned; every 2xx
must be stored. The target (DESIGN.md): a prune never delays a webhook past the receiver's p99 (<= 50 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from apichat.processes import ChildProcess, clean_env, free_port
from apichat.signing import HEADER, sign
from apichat.store import core, open_store

KEY = "bench-verify-key"


def load(url: str, connections: int, keep_going, counter: list[int]) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(number: int) -> None:
        session = requests.Session()
        while keep_going():
            with lock:
                counter[0] += 1
                n = counter[0]
            body = json.dumps({"sender_id": f"bench-{number}", "conv_id": 1, "text": f"webhook {n}"}).encode()
            started = time.perf_counter()
            answer = session.post(f"{url}/webhook/bench", data=body, timeout=30,
                                  headers={"Content-Type": "application/json", HEADER: sign(body, KEY)})
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                failures[0] += answer.status_code != 200

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def summary(name: str, latencies: list[float], seconds: float) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]
    print(f"{name:<16}{len(ordered):>8}{len(ordered) / seconds:>9.0f}{p50:>9.1f}{p99:>9.1f}{ordered[-1]:>9.1f}")
    return p50, p99


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=int, default=300_000, help="deliveries to prune (default %(default)s)")
    parser.add_argument("--connections", type=int, default=4, help="client threads (default %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="the receiver's threads (default %(default)s)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="apichat-bench-prune-"))
    db = str(folder / "console.db")
    store = open_store(db)
    store.save_profile("bench", verify_key=KEY)
    many = "SELECT 1 FROM (VALUES " + ", ".join(["(1)"] * 1000) + ")"
    with store.write() as conn:
        for _ in range(args.old // 1000):
            conn.execute("INSERT INTO deliveries (received_at, profile, outcome, status_code, body, headers) "
                         f"SELECT ?, 'bench', 'accepted', 200, ?, ? FROM ({many})",
                         (core.now() - 40 * 86400, b'{"sender_id": "old", "text": "an old reply"}' * 4,
                          '{"Content-Type": "application/json"}'))
    print(f"store {db}: {store.count_deliveries():,} deliveries 40 days old", flush=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(APICHAT_DB=db, APICHAT_MEDIA_DIR=str(folder / "media"), APICHAT_RECEIVER_PORT=str(port),
                    APICHAT_RETENTION_DAYS="30")
    receiver = ChildProcess(["-m", "receiver", "--threads", str(args.threads)], env, folder / "receiver.log")
    try:
        receiver.wait_healthy(url, "apichat-receiver", seconds=120)
        deadline = time.monotonic() + 60
        while store.prune_claim() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        counter = [0]
        started = time.monotonic()
        during, failed = load(url, args.connections, lambda: store.prune_claim() is not None, counter)
        pruning = time.monotonic() - started
        left = store.count_deliveries()
        started = time.monotonic()
        after, failed_after = load(url, args.connections, lambda: time.monotonic() - started < pruning, counter)
        print(f"\nthe prune took {pruning:.1f} s ({args.old - (left - len(during)):,} rows); {args.connections} client "
              "connections, one request after another")
        print(f"{'':<16}{'requests':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        p50_during, p99_during = summary("during the prune", during, pruning)
        p50_after, p99_after = summary("after it", after, pruning)
        stored = store.count_deliveries()
        print(f"\np99 during / after: {p99_during / p99_after:.2f}; p50: {p50_during / p50_after:.2f}")
        print(f"answered 200: {len(during) + len(after) - failed - failed_after:,}, stored: {stored:,}, "
              f"old rows left: {stored - len(during) - len(after):,}")
        ok = failed == failed_after == 0 and stored == len(during) + len(after) and p99_during <= 50
        print("target (p99 <= 50 ms during the prune, nothing lost): " + ("met" if ok else "MISSED"))
        return 0 if ok else 1
    finally:
        receiver.stop()
        store.close()


if __name__ == "__main__":
    sys.exit(main())
