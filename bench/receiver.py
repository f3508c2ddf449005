"""Receiver throughput and latency against a bare Flask route served the same way, swept over concurrency.

    python -m bench.receiver [--connections 1,8,32,64] [--seconds 5] [--rounds 3] [--threads 8] [--waitress]
        [--gunicorn] [--client auto]
    python -m bench.receiver --db postgresql://user:pass@host/db --gunicorn --workers 1,2,4 --connections 32,64

Starts `python -m receiver` (temp store, free port, UCHAT_VERIFY_TOKEN; gunicorn gthread, one worker of
`--threads` threads) and a bare "return ok" Flask route (`bench.bare_app`) under the same gunicorn settings as
subprocesses, then loads each with distinct,
validly signed webhooks at each number of connections. The load comes from `wrk` when it is installed
(`apt-get install wrk`; a Lua script feeds pre-signed bodies), otherwise from a multi-process raw-socket
client; either way the client's own CPU per request is printed next to the servers', so a saturated client
shows. With `--waitress` both are also measured under waitress (`--threads` threads: the server the receiver
used before, whose rate fell as connections rose); with `--gunicorn`, `python -m receiver --workers 2 --threads 4`
(or each count of `--workers`) against `--db postgresql://...`: the receiver serves a SQLite store with one worker
and refuses more. With `--db postgresql://...` the receiver writes to that PostgreSQL database
(team mode; it must exist, rows are added, and loss is counted on the rows this run added) instead of a
temporary SQLite file.

Per row: req/s bare, req/s receiver, ratio (and its lowest and highest of the rounds: at each level bare and
receiver take turns `--rounds` times, and the median round counts, since this 2-core machine's rate moves by
10 % from one run to the next), p50/p99 latency of the receiver, server CPU per request, the receiver's CPU per
request spent after each round indexing it for the Inspector's search (its housekeeper indexes in quiet time;
the bench waits for it before the next round), and loss (2xx
answered vs rows stored). The floor (docs/benchmarks-receiver.md): ratio >= 0.5 at 32 connections, the
receiver's rate not falling as connections rise (no level below 0.9 x a level with fewer connections: the
machine's own spread), p99 <= 50 ms at 32 connections, loss 0. Exits 1 when any of them is missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from apichat.processes import ChildError, ChildProcess, clean_env, free_port, tree_cpu_seconds
from apichat.redact import masked_url
from apichat.signing import sign
from apichat.store import open_store

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-verify-key"
FLOOR_RATIO, FLOOR_P99_MS, SPREAD = 0.5, 50.0, 0.9
LUA = Path(__file__).with_name("wrk_post.lua")


@dataclass
class Run:
    """One load of one server at one concurrency."""

    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def per_request_ms(self, cpu: float) -> float:
        return 1000 * cpu / self.ok if self.ok else 0.0


class Server(ChildProcess):
    """A subprocess serving HTTP on `port`, its output kept in a log file."""

    def __init__(self, name: str, args: list[str], env: dict, port: int, folder: Path):
        super().__init__(args, env, folder / f"{name}.log", name=name)
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        try:
            self.wait_ready(lambda: requests.get(f"{self.url}/healthz", timeout=1).status_code == 200, 30)
        except ChildError as exc:
            raise SystemExit(f"bench: {exc}") from None

    def cpu_total(self) -> float:
        """CPU seconds of the server and its workers (gunicorn forks them)."""
        return tree_cpu_seconds(self.proc.pid)


def write_bodies(path: Path, prefix: str, count: int) -> None:
    """`count` distinct webhook bodies (none a duplicate of another), signed as UChat signs them, one a line."""
    with open(path, "w") as out:
        for i in range(count):
            body = json.dumps({"sender_id": f"bench-contact-{i % 50}", "conv_id": 1000 + i % 50,
                               "text": f"{prefix} reply number {i}: the quick brown fox", "type": "text",
                               "message_type": "outgoing", "private": False}, separators=(",", ":"))
            out.write(f"{sign(body.encode(), KEY)}\t{body}\n")


# ---------------------------------------------------------------- load generators


def wrk_load(url: str, bodies: Path, connections: int, seconds: float) -> Run:
    threads = min(2, connections)
    proc = subprocess.Popen(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                             "-s", str(LUA), url, "--", str(bodies), str(threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    line = next((x for x in out.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"bench: wrk printed no result:\n{out}")
    r = json.loads(line[8:])
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return Run(ok=r["requests"] - r["status"], errors=errors, seconds=r["duration_us"] / 1e6,
               p50_ms=r["p50_us"] / 1000, p99_ms=r["p99_us"] / 1000, client_cpu=usage.ru_utime + usage.ru_stime)


def _socket_worker(port: int, lines: list[str], connections: int, seconds: float, queue) -> None:
    """One client process: `connections` threads, each a keep-alive raw socket posting its share of `lines`."""
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def connection(share: list[str]) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        mine, ok, errors, i = [], 0, 0, 0
        reader = sock.makefile("rb")
        while time.monotonic() < deadline and share:
            signature, body = share[i % len(share)].rstrip("\n").split("\t", 1)
            i += 1
            data = body.encode()
            request = (f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       f"X-Hub-Signature-256: {signature}\r\nx-flow-ns: f-bench\r\nx-action: messages\r\n"
                       f"Content-Length: {len(data)}\r\n\r\n").encode() + data
            started = time.perf_counter()
            sock.sendall(request)
            status = int(reader.readline().split()[1])
            length = 0
            while (header := reader.readline()) not in (b"\r\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            reader.read(length)
            mine.append(time.perf_counter() - started)
            if 200 <= status < 300:
                ok += 1
            else:
                errors += 1
        sock.close()
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["errors"] += errors

    threads = [threading.Thread(target=connection, args=(lines[k::connections],)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((counts["ok"], counts["errors"], latencies))


def socket_load(url: str, bodies: Path, connections: int, seconds: float) -> Run:
    """The fallback client: several processes of raw keep-alive sockets (a Python client alone saturates first)."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    lines = bodies.read_text().splitlines()
    processes = min(connections, 4)
    queue = multiprocessing.get_context("fork").Queue()
    shares = [connections // processes + (1 if k < connections % processes else 0) for k in range(processes)]
    workers = [multiprocessing.get_context("fork").Process(
        target=_socket_worker, args=(port, lines[k::processes], shares[k], seconds, queue)) for k in range(processes)]
    before = os.times()
    started = time.perf_counter()
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    after = os.times()
    latencies = sorted(x for _, _, lat in results for x in lat)
    pick = (lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else (
        lambda q: 0.0)
    return Run(ok=sum(r[0] for r in results), errors=sum(r[1] for r in results), seconds=elapsed,
               p50_ms=pick(0.5), p99_ms=pick(0.99),
               client_cpu=(after.children_user - before.children_user) + (after.children_system - before.children_system))


# ---------------------------------------------------------------- the sweep


def measure(server: Server, load, folder: Path, connections: int, seconds: float, label: str) -> Run:
    bodies = folder / f"{label}-{server.name}-{connections}.tsv"
    write_bodies(bodies, f"{label}-{server.name}-{connections}", max(2000, int(4000 * seconds)))
    cpu = server.cpu_total()
    run = load(f"{server.url}/webhook", bodies, connections, seconds)
    run.server_cpu = server.cpu_total() - cpu
    bodies.unlink()
    return run


def combined(runs: list[Run]) -> Run:
    """Rounds of one server at one level as one: the median round's rate and latencies, CPU over all requests."""
    middle = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    ok = sum(r.ok for r in runs)
    return Run(ok=ok, errors=sum(r.errors for r in runs), seconds=ok / middle.rate if middle.rate else 0.0,
               p50_ms=middle.p50_ms, p99_ms=middle.p99_ms, server_cpu=sum(r.server_cpu for r in runs),
               client_cpu=sum(r.client_cpu for r in runs))


def stored(db: Path | str) -> int:
    store = open_store(str(db))
    try:
        return store.count_deliveries("accepted")
    finally:
        store.close()


def index_settled(receiver: Server, db: Path | str, timeout: float = 300.0) -> float:
    """Wait until the receiver's search index holds every row (its housekeeper indexes in quiet time, so after a
    round, not during it); the receiver's CPU seconds meanwhile. So the index's cost is measured on its own, and
    the next round, bare or receiver, starts on a quiet machine."""
    cpu, deadline = receiver.cpu_total(), time.monotonic() + timeout
    store = open_store(str(db))
    try:
        while store.search_backlog() > 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: the receiver's search index did not catch up in {timeout:.0f} s")
            time.sleep(0.2)
    finally:
        store.close()
    return receiver.cpu_total() - cpu


def sweep(name: str, receiver: Server, bare: Server, db: Path, load, args, folder: Path,
          indexes: bool = True) -> tuple[list, int]:
    """`indexes`: the receiver keeps the search index (python -m receiver's workers do; a bare app factory does not)."""
    print(f"\n{name}")
    print(f"{'conns':>5} | {'bare req/s':>10} | {'receiver req/s':>14} | {'ratio':>5} | {'rounds':>9} | {'p50 ms':>6} | "
          f"{'p99 ms':>6} | {'bare p99':>8} | {'CPU/req bare':>12} | {'CPU/req recv':>12} | "
          f"{'index CPU/req':>13} | {'client CPU/req':>14} | errors")
    rows, acked = [], 0
    already = stored(db)  # a PostgreSQL database is shared by the sweeps (and may hold rows of its own)
    for c in args.connections:
        bases, gots, indexing = [], [], 0.0
        for r in range(args.rounds):  # taking turns, so a slow moment of the machine falls on both
            bases.append(measure(bare, load, folder, c, args.seconds, f"{name}-{r}"))
            gots.append(measure(receiver, load, folder, c, args.seconds, f"{name}-{r}"))  # new bodies each round
            indexing += index_settled(receiver, db) if indexes else 0.0
        base, got = combined(bases), combined(gots)
        acked += got.ok
        ratio = got.rate / base.rate if base.rate else 0.0
        spread = sorted(g.rate / b.rate for b, g in zip(bases, gots, strict=True) if b.rate) or [0.0]
        rows.append((c, base, got, ratio))
        print(f"{c:>5} | {base.rate:>10.0f} | {got.rate:>14.0f} | {ratio:>5.2f} | "
              f"{spread[0]:.2f}-{spread[-1]:.2f} | {got.p50_ms:>6.1f} | "
              f"{got.p99_ms:>6.1f} | {base.p99_ms:>8.1f} | {base.per_request_ms(base.server_cpu):>9.2f} ms | "
              f"{got.per_request_ms(got.server_cpu):>9.2f} ms | {got.per_request_ms(indexing):>10.2f} ms | "
              f"{got.per_request_ms(got.client_cpu):>11.3f} ms | "
              f"{base.errors}/{got.errors}", flush=True)
    if receiver.proc.poll() is not None:
        raise SystemExit(f"the receiver died:\n{receiver.tail(30)}")
    rows_stored = stored(db) - already
    # wrk stops with requests in flight: the server may store up to `connections` more than were answered
    loss = max(0, acked - rows_stored)
    print(f"loss = {loss} (2xx answered {acked}, accepted deliveries stored {rows_stored}; the rest were in "
          f"flight when the client stopped)")
    return rows, loss


def environment(folder: Path, name: str, port: int, database: str | None = None) -> tuple[dict, Path | str]:
    db = database or folder / f"{name}.db"
    env = clean_env(UCHAT_VERIFY_TOKEN=KEY, APICHAT_DB=db, APICHAT_MEDIA_DIR=folder / "media",
                    APICHAT_RECEIVER_PORT=port, APICHAT_SANDBOX="0")
    return env, db


def gunicorn_args(app: str, port: int, workers: int = 2, threads: int = 4) -> list[str]:
    return ["-m", "gunicorn", "-k", "gthread", "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", app]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", default="1,8,32,64", help="concurrency sweep (default %(default)s)")
    parser.add_argument("--seconds", type=int, default=5, help="whole seconds per server and level (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per level, bare and receiver taking turns; "
                        "rates and latencies are the median round's (default 3)")
    parser.add_argument("--threads", type=int, default=8, help="threads of the receiver's one worker, and of the bare "
                        "route's (default 8)")
    parser.add_argument("--waitress", action="store_true", help="also measure both under waitress")
    parser.add_argument("--client", choices=("auto", "wrk", "sockets"), default="auto",
                        help="load generator: wrk when installed (auto), or the multi-process socket client")
    parser.add_argument("--gunicorn", action="store_true", help="also measure python -m receiver --workers N "
                        "(gthread, 4 threads each; N from --workers), and the bare route so")
    parser.add_argument("--workers", default="2", help="gunicorn worker counts to measure (default %(default)s)")
    parser.add_argument("--db", help="the receiver's store: a postgresql:// URL (team mode; default: a temp SQLite file)")
    parser.add_argument("--keep", action="store_true", help="keep the temp stores and server logs")
    args = parser.parse_args(argv)
    args.connections = [int(x) for x in args.connections.split(",")]
    args.workers = [int(x) for x in args.workers.split(",")]
    if args.db:
        try:
            stored(args.db)
        except Exception as exc:  # noqa: BLE001 - one line, then out
            parser.error(f"--db {masked_url(args.db)}: {exc}")
    if not 0 < args.seconds <= 60 or any(not 0 < c <= 256 for c in args.connections) or not 0 < args.rounds <= 9:
        parser.error("--seconds must be in (0, 60], each connection count in 1..256 and --rounds in 1..9")
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    load = wrk_load if use_wrk else socket_load
    client = ("wrk (C, event loop; Lua feeds pre-signed distinct bodies)" if use_wrk
              else "multi-process raw-socket client (no wrk: apt-get install wrk for a lighter one)")

    folder = Path(tempfile.mkdtemp(prefix="apichat-bench-"))
    print(f"cpus={os.cpu_count()} client={client} seconds/round={args.seconds} rounds={args.rounds} "
          f"threads={args.threads} "
          f"store={'a temp SQLite file' if not args.db else masked_url(args.db)}")
    results, failures = [], []
    t = args.threads
    servers = [(f"python -m receiver (gunicorn gthread 1x{t})", ["-m", "receiver", "--threads", str(t)],
                lambda p: gunicorn_args("bench.bare_app:create_app()", p, 1, t))]
    if args.waitress:
        servers.append((f"waitress {t} threads", lambda p: ["-m", "waitress", "--host", "127.0.0.1", "--port", str(p),
                                                            "--threads", str(t), "--call", "receiver:create_app"],
                        lambda p: ["-m", "bench.bare_app", "--port", str(p), "--threads", str(t)]))
    if args.gunicorn:
        for w in args.workers:
            servers.append((f"python -m receiver --workers {w} (gunicorn gthread {w}x4)",
                            ["-m", "receiver", "--workers", str(w), "--threads", "4"],
                            lambda p, w=w: gunicorn_args("bench.bare_app:create_app()", p, w)))
    for name, receiver_args, bare_args in servers:
        rport, bport = free_port(), free_port()
        env, db = environment(folder, name.replace(" ", "-"), rport, args.db)
        receiver = Server("receiver", receiver_args(rport) if callable(receiver_args) else receiver_args, env,
                          rport, folder)
        bare = Server("bare", bare_args(bport), env, bport, folder)
        try:
            rows, loss = sweep(name, receiver, bare, db, load, args, folder, indexes=not name.startswith("waitress"))
        finally:
            receiver.stop()
            bare.stop()
        results.append((name, rows, loss))
        by_c = {c: (base, got, ratio) for c, base, got, ratio in rows}
        if loss:
            failures.append(f"{name}: loss {loss}")
        if 32 in by_c:
            base, got, ratio = by_c[32]
            if ratio < FLOOR_RATIO:
                failures.append(f"{name}: ratio {ratio:.2f} at 32 connections is below the floor {FLOOR_RATIO}")
            if got.p99_ms > FLOOR_P99_MS:
                failures.append(f"{name}: p99 {got.p99_ms:.0f} ms at 32 connections is above {FLOOR_P99_MS:.0f} ms")
        levels = sorted(by_c)
        for fewer, more in itertools.pairwise(levels):
            best = max(by_c[c][1].rate for c in levels if c <= fewer)
            if by_c[more][1].rate < SPREAD * best:
                failures.append(f"{name}: {by_c[more][1].rate:.0f} req/s at {more} connections fell below "
                                f"{best:.0f} at fewer")
    print()
    if failures or args.keep:
        print("RESULT:", "TARGET MISSED: " + "; ".join(failures) if failures else "targets met",
              f"(logs and stores kept in {folder})")
    else:
        shutil.rmtree(folder, ignore_errors=True)
        print("RESULT: targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
