"""A live fuzz run: malformed, unsigned, wrongly signed, oversized and oddly encoded requests against a real
`python -m receiver`, with a control group of validly signed webhooks mixed in.

    python -m bench.fuzz [--count 6000] [--seconds 180] [--concurrency 8] [--seed 7] [--keep]

Loopback only; stops by itself after --count requests or --seconds. Every request is written by hand on
its own socket (so duplicate headers, bad framing and odd methods reach the server as sent), from a
thread pool. Prints the answers by status and by category. Targets: no 5xx at all; the accepted
deliveries are exactly the control group; the receiver is healthy afterwards (/healthz 200, one more
signed webhook accepted, the process alive); its log holds no key and no traceback. Exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from apichat.processes import clean_env, free_port
from apichat.signing import sign
from apichat.store import open_store
from bench.receiver import Server

KEY = "fuzz-verify-key-0b7e41"
OTHER_KEY = "someone-elses-key"
MIB = 1024 * 1024
STATUS_RE = re.compile(rb"^HTTP/1\.[01] (\d{3})")


class Cut(bytes):
    """Bytes of a request the HTTP server must see as unfinished: closing without an answer is right."""


def message(rng: random.Random, marker: str) -> bytes:
    return json.dumps({"sender_id": f"fuzz-{rng.randrange(20)}", "conv_id": 7000 + rng.randrange(20),
                       "type": "text", "text": f"fuzz {marker} ✓", "private": False}).encode()


def junk(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


# Each category makes one request: (method, path, headers, body), or (raw bytes, None, None, None) for a
# request written whole. Headers are (name, value) pairs in order; duplicates are kept.

def control(rng, i):  # validly signed, in the shapes a real sender may use: each must be accepted
    body = message(rng, f"control-{i}")
    shape = rng.randrange(8)
    if shape == 1:  # PHP's json_encode: escaped slashes and \uXXXX
        body = json.dumps({"text": f"caf\xe9 https://x.test/{i}", "conv_id": str(i)}).replace("/", "\\/").encode()
    elif shape == 2:  # a lone surrogate escape, valid JSON
        body = b'{"text": "half an emoji \\ud83d ' + str(i).encode() + b'", "sender_id": "\\udc00"}'
    elif shape == 3:  # odd but valid values
        body = json.dumps({"text": f"big {i}", "conv_id": 10**30, "private": "yes", "extra": [[[[{}]]]] * 50}).encode()
    elif shape == 4:  # nested 300 deep
        body = b'{"text": "deep ' + str(i).encode() + b'", "x": ' + b"[" * 300 + b"]" * 300 + b"}"
    elif shape == 5 and rng.random() < 0.2:  # exactly at the size limit
        head = f'{{"text": "at the limit {i}", "pad": "'.encode()
        body = head + b"x" * (MIB - len(head) - 2) + b'"}'
    return "POST", "/webhook", [("Content-Type", "application/json"), ("X-Hub-Signature-256", sign(body, KEY))], body


def unsigned(rng, i):
    return "POST", "/webhook", [("Content-Type", "application/json")], message(rng, f"unsigned-{i}")


def malformed_json(rng, i):
    body = rng.choice([message(rng, str(i))[:rng.randrange(1, 40)], b"{" * rng.randrange(1, 5000), b"",
                       b'{"text": "a" "b"}', b"nul\x00l", junk(rng, rng.randrange(1, 300)), b"[" * 100_000])
    signature = rng.choice([None, sign(body, OTHER_KEY), "sha256=" + "0" * 64])
    return "POST", "/webhook", [("Content-Type", "application/json")] + (
        [("X-Hub-Signature-256", signature)] if signature else []), body


def signed_not_json(rng, i):  # a valid signature over something that is not JSON: 400, never accepted
    body = rng.choice([b"hello", b"{", junk(rng, 64), b"text=hi&conv_id=1", "caf\xe9".encode("latin-1")])
    return "POST", "/webhook", [("X-Hub-Signature-256", sign(body, KEY))], body


def wrong_key(rng, i):
    body = message(rng, f"wrongkey-{i}")
    key = rng.choice([OTHER_KEY, KEY + " ", KEY.upper(), KEY[:-1], "", " " + KEY])
    return "POST", "/webhook", [("Content-Type", "application/json"), ("X-Hub-Signature-256", sign(body, key))], body


def tampered(rng, i):
    body = bytearray(message(rng, f"tampered-{i}"))
    signature = sign(bytes(body), KEY)
    spot = rng.randrange(len(body))
    body[spot] ^= 1 << rng.randrange(8)
    return "POST", "/webhook", [("X-Hub-Signature-256", signature)], bytes(body)


def bad_signature_header(rng, i):
    body = message(rng, f"badsig-{i}")
    digest = sign(body, KEY)[7:]
    value = rng.choice([
        "sha1=" + hashlib.sha1(body).hexdigest(), "sha256=" + digest[:-1], "sha256=" + digest + "0",
        "sha256=" + digest[:-1] + "g", "sha512=" + digest, "", "sha256=", digest.encode().hex()[:64] + "zz",
        "sha256=" + "A" * 44, "sha256:" + digest, "Bearer " + KEY, "\xe9\xff sha256=" + digest[:60]])
    return "POST", "/webhook", [("X-Hub-Signature-256", value)], body


def oversized(rng, i):
    body = message(rng, f"big-{i}")[:-1] + b', "pad": "' + b"x" * (MIB + rng.randrange(1, MIB // 2)) + b'"}'
    return "POST", "/webhook", [("Content-Type", "application/json"), ("X-Hub-Signature-256", sign(body, KEY))], body


def oversized_chunked(rng, i):
    return "POST", "/webhook", [("Transfer-Encoding", "chunked"), ("X-Hub-Signature-256", "sha256=" + "1" * 64)], [
        b"y" * 65536 for _ in range(17 + rng.randrange(4))]


def latin1(rng, i):
    body = json.dumps({"text": "caf\xe9 cr\xe8me", "sender_id": "x"}, ensure_ascii=False).encode("latin-1")
    return "POST", "/webhook", [("Content-Type", "application/json; charset=latin-1"),
                                ("X-Hub-Signature-256", sign(body, OTHER_KEY))], body


def utf16(rng, i):
    body = message(rng, f"utf16-{i}").decode().encode(rng.choice(["utf-16", "utf-16-be", "utf-32"]))
    return "POST", "/webhook", [("Content-Type", "application/json; charset=utf-16")], body


def invalid_utf8(rng, i):
    body = b'{"text": "' + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]) + b'"}'
    return "POST", "/webhook", [("Content-Type", "application/json"), ("X-Hub-Signature-256", sign(body, OTHER_KEY))], body


def gzip_labelled(rng, i):
    plain = message(rng, f"gzip-{i}")
    body = rng.choice([gzip.compress(plain), b"\x1f\x8b" + junk(rng, 50), plain])
    return "POST", "/webhook", [("Content-Encoding", "gzip"), ("Content-Type", "application/json"),
                                ("X-Hub-Signature-256", sign(plain, KEY) if body != plain else "sha256=" + "2" * 64)], body


def chunked(rng, i):
    body = message(rng, f"chunked-{i}")
    cut = rng.randrange(1, len(body))
    return "POST", "/webhook", [("Transfer-Encoding", "chunked"), ("Content-Type", "application/json")], [
        body[:cut], body[cut:]]


def bad_chunked(rng, i):
    framing = rng.choice([b"zz\r\nhello\r\n0\r\n\r\n", Cut(b"5\r\nhello"), b"-1\r\nx\r\n0\r\n\r\n",
                          Cut(b"ffffffffffffffffffff\r\nx\r\n0\r\n\r\n"), b"5;ext=\x00\r\nhello\r\n0\r\n\r\n",
                          b"3\r\nhello\r\n0\r\n\r\n"])
    head = b"POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    return (Cut if isinstance(framing, Cut) else bytes)(head + framing), None, None, None


def content_types(rng, i):
    kind = rng.choice(["multipart/form-data", "multipart/form-data; boundary=zz", "application/x-www-form-urlencoded",
                       "text/xml", "text/plain", "application/octet-stream", "image/png", "", ";;;",
                       "application/json; charset=nonsense", "multipart/mixed; boundary=\"", "*/*"])
    body = rng.choice([message(rng, f"ctype-{i}"), b"--zz\r\nContent-Disposition: form-data; name=\"hub_mode\"\r\n\r\n"
                       b"subscribe\r\n--zz", b"a=1&b=2&" * 50, b"<xml/>", junk(rng, 100)])
    return "POST", "/webhook", [("Content-Type", kind), ("X-Hub-Signature-256", sign(body, OTHER_KEY))], body


def duplicate_headers(rng, i):
    body = message(rng, f"dup-{i}")
    right = sign(body, KEY)
    pairs = rng.choice([
        [("X-Hub-Signature-256", right), ("X-Hub-Signature-256", right)],  # merged into "a, b": not one signature
        [("X-Hub-Signature-256", "sha256=" + "3" * 64), ("X-Hub-Signature-256", right)],
        [("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 5))],
        [("Content-Type", "application/json"), ("Content-Type", "text/plain"), ("X-Hub-Signature-256", right[:-2])],
        [("Transfer-Encoding", "chunked"), ("Content-Length", str(len(body)))]])
    return "POST", "/webhook", pairs, Cut(body) if pairs[0][0] == "Transfer-Encoding" else body  # no chunk framing


def huge_headers(rng, i):
    body = message(rng, f"hugeh-{i}")
    headers = rng.choice([
        [("X-Padding", "a" * 300_000)],  # over waitress's 256 KiB of headers
        [("X-Padding", "b" * 100_000), ("X-Hub-Signature-256", "sha256=" + "4" * 64)],
        [(f"X-H{n}", "v" * 50) for n in range(2000)],
        [("X-Hub-Signature-256", "sha256=" + "f" * 100_000)], [("x-flow-ns", "n" * 200_000)]])
    return "POST", "/webhook", headers, body


def weird_methods(rng, i):
    method = rng.choice(["PROPFIND", "TRACE", "CONNECT", "BREW", "post", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD",
                         "GET", "M-SEARCH", "X" * 200])
    return method, rng.choice(["/webhook", "/webhook/env", "/healthz", "/media/x/y"]), [], message(rng, f"m-{i}")


def handshakes(rng, i):
    token = rng.choice(["", "wrong", KEY[:-1], KEY.upper(), KEY + "x", " " + KEY, "%" + KEY, junk(rng, 8).hex()])
    challenge = junk(rng, 16).hex()
    form = f"hub_mode=subscribe&hub_verify_token={token}&hub_challenge={challenge}"
    return rng.choice([
        ("GET", f"/webhook?{form}", [], b""),
        ("POST", "/webhook", [("Content-Type", "application/x-www-form-urlencoded")], form.encode()),
        ("POST", "/webhook", [("Content-Type", "application/json")], json.dumps(
            {"hub": {"mode": "subscribe", "verify_token": token, "challenge": challenge}}).encode()),
        ("POST", f"/webhook?hub_mode={rng.choice(['unsubscribe', '', 'x'])}&hub_verify_token={KEY}&hub_challenge=c",
         [], b""),
        ("GET", f"/webhook?hub.mode=subscribe&hub.verify_token={KEY}", [], b"")])  # no challenge: 400


def paths(rng, i):
    path = rng.choice([
        "/webhook/" + junk(rng, 6).hex(), "/webhook/..%2f..%2fetc%2fpasswd", "/media/../../etc/passwd",
        "/media/%2e%2e/%2e%2e/console.db", "/media/AAAAAAAAAAAA/..%2fconsole.db", "/media/" + "a" * 8 + "/%00x",
        "//webhook", "/webhook/%ff%fe", "/webhook/" + "x" * 8000, "/media/" + junk(rng, 8).hex() + "/x.png",
        "/media/", "/.env", "/webhook?" + "a=b&" * 2000, "/webhook/env/../../healthz", "/%0d%0aX-Injected:%201"])
    body = message(rng, f"path-{i}")
    return rng.choice(["GET", "POST"]), path, [("X-Hub-Signature-256", sign(body, OTHER_KEY))], body


def malformed_http(rng, i):
    return rng.choice([
        b"GARBAGE\r\n\r\n", b"POST /webhook\r\n\r\n", b"POST /webhook HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n",
        Cut(b"POST /webhook HTTP/1.1\nHost: x\nConnection: close\nContent-Length: 2\n\n{}"),  # bare LF: no end of head
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\n Folded: header\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"\xff\xfe\xfd /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\n{}{}" + b"GET / HTTP/1.1\r\n\r\n",
    ]), None, None, None


CATEGORIES = {f.__name__.replace("_", " "): f for f in (
    control, unsigned, malformed_json, signed_not_json, wrong_key, tampered, bad_signature_header, oversized,
    oversized_chunked, latin1, utf16, invalid_utf8, gzip_labelled, chunked, bad_chunked, content_types,
    duplicate_headers, huge_headers, weird_methods, handshakes, paths, malformed_http)}
WEIGHTS = {"control": 1, "oversized": 0.5, "oversized chunked": 0.5, "huge headers": 0.5}


def encode(port: int, method, path, headers, body) -> tuple[bytes, list[bytes] | None]:
    """The request's bytes (head and body, or the head and the chunks to send)."""
    if path is None:
        return bytes(method), None
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    names = {n.lower() for n, _ in headers}
    head += [f"{name}: {value}" for name, value in headers]
    if isinstance(body, list):
        if "transfer-encoding" not in names:
            head.append("Transfer-Encoding: chunked")
        return "\r\n".join(head).encode("latin-1") + b"\r\n\r\n", body
    if "content-length" not in names and "transfer-encoding" not in names:
        head.append(f"Content-Length: {len(body)}")
    return "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body, None


def send(port: int, data: bytes, chunks: list[bytes] | None, timeout: float) -> tuple[str, bytes]:
    """Send one request on a new connection: (its status code, or what happened instead; the answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            for chunk in chunks or ():
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if chunks is not None:
                sock.sendall(b"0\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)  # all sent: a request cut short is now seen as one, not waited for
        except OSError:  # EPIPE, ECONNRESET, or ENOTCONN at shutdown: the server may answer (413, 431) and
            pass  # close before reading everything (seen once in three runs as an "OSError" row): read its answer
        answer = b""
        try:
            while len(answer) < 4 * MIB:
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
        except TimeoutError:
            return "timeout", answer
    found = STATUS_RE.match(answer)
    return found.group(1).decode() if found else ("no answer" if not answer else "not HTTP"), answer


def process_stats(pid: int) -> tuple[int, int]:
    """(resident KiB, open file descriptors) of a process, from /proc (0, 0 elsewhere)."""
    try:
        rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration, ValueError):
        return 0, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=6000, help="requests to send (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=180.0, help="stop sending after this long (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="random seed, for a run that can be repeated")
    parser.add_argument("--keep", action="store_true", help="keep the temp store and the receiver's log")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    names = list(CATEGORIES)
    plan = rng.choices(names, weights=[WEIGHTS.get(n, 1.0) for n in names], k=args.count)
    folder = Path(tempfile.mkdtemp(prefix="apichat-fuzz-"))
    port = free_port()
    env = clean_env(UCHAT_VERIFY_TOKEN=KEY, APICHAT_DB=folder / "console.db", APICHAT_MEDIA_DIR=folder / "media",
                    APICHAT_RECEIVER_PORT=port, APICHAT_SANDBOX="0")
    receiver = Server("receiver", ["-m", "receiver"], env, port, folder)  # returns once /healthz answers
    by_category: dict[str, Counter] = defaultdict(Counter)
    controls: set[str] = set()  # SHA-256 of every validly signed webhook sent
    telling = Counter()  # answers that hold a key
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    stopped_early = 0
    try:
        before = process_stats(receiver.proc.pid)

        def one(number: int, category: str) -> None:
            if time.monotonic() > deadline:
                with lock:
                    by_category[category]["not sent (time)"] += 1
                return
            # made here, from a generator of its own: the same run for a seed, and no 1 MiB bodies held in advance
            request = CATEGORIES[category](random.Random(args.seed * 1_000_003 + number), number)
            if category == "control":
                with lock:
                    controls.add(hashlib.sha256(request[3]).hexdigest())
            data, chunks = encode(port, *request)
            try:
                outcome, answer = send(port, data, chunks, timeout=60)
            except OSError as exc:
                outcome, answer = type(exc).__name__, b""
            if outcome == "no answer" and any(isinstance(part, Cut) for part in request):
                outcome = "closed (cut short)"
            with lock:
                by_category[category][outcome] += 1
                telling[category] += KEY.encode() in answer or OTHER_KEY.encode() in answer

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for future in as_completed([pool.submit(one, n, c) for n, c in enumerate(plan)]):
                future.result()
        elapsed = time.perf_counter() - started
        stopped_early = sum(c["not sent (time)"] for c in by_category.values())

        healthy = send(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", None, 10)[0]
        last = message(rng, "after-the-fuzz")
        data, _ = encode(port, "POST", "/webhook", [("X-Hub-Signature-256", sign(last, KEY))], last)
        after = send(port, data, None, 10)[0]
        controls.add(hashlib.sha256(last).hexdigest())
        after_stats = process_stats(receiver.proc.pid)
        alive = receiver.proc.poll() is None
    finally:
        receiver.stop()
    log = receiver.log_path.read_text(errors="replace")

    store = open_store(str(folder / "console.db"))
    accepted = {d["body_sha256"] for d in store.list_deliveries(outcome="accepted", limit=1_000_000)}
    outcomes = Counter({o: store.count_deliveries(o) for o in ("accepted", "duplicate", "rejected", "handshake")})
    integrity = store.integrity_check()
    store.close()

    totals = Counter()
    for counts in by_category.values():
        totals.update(counts)
    statuses = sorted(totals, key=lambda s: (not s.isdigit(), s))
    print(f"fuzz: {sum(totals.values()) - stopped_early} requests in {elapsed:.1f}s from {args.concurrency} threads "
          f"(seed {args.seed}), {len(controls) - 1} of them validly signed controls")

    def row(label: str, cells: dict) -> str:
        return f"{label:<22}" + "".join(f"{cells.get(s) or '':>{max(6, len(s) + 2)}}" for s in statuses)

    print(row("category", {s: s for s in statuses}))
    for name in names:
        if by_category.get(name):
            print(row(name, by_category[name]))
    print(row("all", totals))
    five = sum(n for s, n in totals.items() if s.isdigit() and s.startswith("5"))
    unanswered = sum(n for s, n in totals.items() if not s.isdigit() and s not in ("not sent (time)",
                                                                                  "closed (cut short)"))
    size = sum(f.stat().st_size for f in folder.glob("console.db*")) / 2**20
    print(f"deliveries stored: {dict(outcomes)}; integrity_check: {integrity}; store {size:.0f} MiB")
    print(f"receiver RSS {before[0] // 1024} -> {after_stats[0] // 1024} MiB, open fds {before[1]} -> {after_stats[1]}")

    checks = {
        "0 answers 5xx": five == 0,
        "accepted = exactly the control group": accepted == controls,
        "healthy after (/healthz 200, one more signed webhook 200, process alive)": healthy == "200" and after == "200"
        and alive,
        "store integrity ok": integrity == "ok",
        "no key in the receiver's log": KEY not in log and OTHER_KEY not in log,
        "no traceback in the receiver's log": "Traceback" not in log,
        "every complete request answered (a request cut short may be closed)": unanswered == 0,
        "no answer holds a key": not sum(telling.values()),
    }
    for what, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {what}")
    print(f"5xx: {five}; accepted: {len(accepted)} of {len(controls)} controls, "
          f"{len(accepted - controls)} not a control")
    if stopped_early:
        print(f"note: --seconds stopped the run: {stopped_early} of {args.count} requests were not sent")
    missed = not all(checks.values())
    if missed or args.keep:
        print("RESULT:", "TARGET MISSED" if missed else "targets met", f"(store and log kept in {folder})")
    else:
        shutil.rmtree(folder, ignore_errors=True)
        print("RESULT: targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
