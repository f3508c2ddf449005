"""Team mode's live latency: a webhook stored by a receiver (host A) → seen by a console's reader (host B),
with PostgreSQL's NOTIFY (the reader waits in Store.wait_for_messages) against polling every 0.25 s and 1 s.

    python -m bench.team_live --db postgresql://user:pass@host/db [--count 30]

Starts `python -m receiver` on the database (it must exist; rows are added), then for each mode posts
`--count` signed webhooks at random moments (0.1-0.6 s apart) into one conversation, while a reader thread
with a Store of its own looks for them as the chat's tail does. Per mode: median, p95 and max of
"POST sent → message in the reader's hands", next to the POST's own round trip (webhook stored and answered).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from apichat.processes import ChildError, ChildProcess, clean_env, free_port
from apichat.redact import masked_url
from apichat.signing import sign
from apichat.store import open_store

KEY = "bench-team-live-key"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_mode(mode: str, url: str, db: str, count: int, conv_id: int) -> tuple[list[float], list[float]]:
    """(post → seen, post → 200) in seconds for `count` webhooks, the reader using `mode`."""
    reader_store = open_store(db)
    seen_at: dict[str, float] = {}
    stop = threading.Event()
    ready = threading.Event()

    def reader() -> None:
        conversation, last = None, 0
        while not stop.is_set():
            if conversation is None:
                found = [c for c in reader_store.list_conversations("env") if c["conv_id"] == conv_id]
                conversation = found[0]["id"] if found else None
                ready.set()
                if conversation is None:
                    time.sleep(0.05)
                    continue
            if mode == "notify":
                reader_store.wait_for_messages(conversation, last, 1.0)
            for row in reader_store.messages_since(conversation, last):
                seen_at.setdefault(json.loads(row["raw"])["marker"], time.perf_counter())
                last = row["id"]
            if mode != "notify":
                time.sleep(float(mode))

    http = requests.Session()

    def post(marker: str) -> tuple[float, float]:
        body = json.dumps({"sender_id": "team-live", "conv_id": conv_id, "type": "text", "text": marker,
                           "marker": marker}).encode()
        started = time.perf_counter()
        answer = http.post(f"{url}/webhook", data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, KEY)})
        if answer.status_code != 200:
            raise SystemExit(f"bench: the receiver answered {answer.status_code}: {answer.text}")
        return started, time.perf_counter()

    post(f"{mode}-first")  # the conversation exists before the reader starts looking
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    ready.wait(10)
    sent: dict[str, tuple[float, float]] = {}
    for number in range(count):
        time.sleep(random.uniform(0.1, 0.6))
        marker = f"{mode}-{number}"
        sent[marker] = post(marker)
    deadline = time.monotonic() + 10
    while set(sent) - set(seen_at) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    missing = set(sent) - set(seen_at)
    if missing:
        raise SystemExit(f"bench: the reader never saw {len(missing)} webhooks ({mode})")
    reader_store.close()
    return ([seen_at[m] - sent[m][0] for m in sent], [sent[m][1] - sent[m][0] for m in sent])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.team_live", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a postgresql:// URL (the database must exist)")
    parser.add_argument("--count", type=int, default=30, help="webhooks per mode (default %(default)s)")
    args = parser.parse_args(argv)
    store = open_store(args.db)
    if not store.shared:
        parser.error("--db must be a postgresql:// URL: on SQLite there is nothing to be notified by")
    folder = Path(tempfile.mkdtemp(prefix="apichat-team-live-"))
    port = free_port()
    env = clean_env(UCHAT_VERIFY_TOKEN=KEY, APICHAT_DB=args.db, APICHAT_MEDIA_DIR=folder / "media",
                    APICHAT_RECEIVER_PORT=port, APICHAT_SANDBOX="0")
    receiver = ChildProcess(["-m", "receiver"], env, folder / "receiver.log", name="receiver")
    url = f"http://127.0.0.1:{port}"
    try:
        receiver.wait_healthy(url, "apichat-receiver")
    except ChildError as exc:
        raise SystemExit(f"bench: {exc}") from None
    print(f"store={masked_url(args.db)} webhooks/mode={args.count} reader: a Store of its own in this process")
    print(f"{'reader':<22} | {'median ms':>9} | {'p95 ms':>7} | {'max ms':>7} | {'POST round trip median ms':>25}")
    try:
        base = random.randrange(10_000, 1_000_000)
        for offset, (mode, label) in enumerate((("notify", "LISTEN/NOTIFY wait"), ("0.25", "poll every 0.25 s"),
                                                ("1.0", "poll every 1 s"))):
            seen, trip = run_mode(mode, url, args.db, args.count, base + offset)
            print(f"{label:<22} | {1000 * statistics.median(seen):>9.1f} | {1000 * quantile(seen, 0.95):>7.1f} | "
                  f"{1000 * max(seen):>7.1f} | {1000 * statistics.median(trip):>25.1f}", flush=True)
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
