"""Team mode's reliability, with real processes on one PostgreSQL database: two receivers (one of them two
gunicorn workers) writing the same conversation at once lose and duplicate nothing (and a reader polling "id > N" misses nothing), and a
PostgreSQL restart under load makes the receiver answer 503, never 2xx for what is not stored, until it
recovers by itself."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter

import requests

from apichat import signing
from apichat.store import open_store
from tests.pg import PASSWORD

from .conftest import free_port, process_env, wait_until

KEY = "team-verify-key-t1"


def body_of(marker: str) -> bytes:
    return json.dumps({"sender_id": "team-contact", "conv_id": 4242, "type": "text", "text": f"reply {marker}",
                       "marker": marker}).encode()


def post(http: requests.Session, url: str, body: bytes) -> int | str:
    try:
        return http.post(f"{url}/webhook", data=body, timeout=60, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signing.sign(body, KEY)}).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def start_receiver(start_process, tmp_path, db: str, name: str, *flags: str) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start_process(["-m", "receiver", *flags], process_env(tmp_path, APICHAT_DB=db, UCHAT_VERIFY_TOKEN=KEY,
                                                          APICHAT_RECEIVER_PORT=str(port)), url=url, name=name)
    return url


def test_two_receivers_writing_one_conversation_lose_and_duplicate_nothing(start_process, tmp_path, pg_cluster):
    db = pg_cluster.new_database()
    # one receiver of two gunicorn worker processes, one of waitress: three processes writing, on two ports
    urls = [start_receiver(start_process, tmp_path, db, "receiver-0", "--workers", "2"),
            start_receiver(start_process, tmp_path, db, "receiver-1")]
    answered: dict[str, list] = {}
    lock, done = threading.Lock(), threading.Event()

    def send(sender: int) -> None:
        http = requests.Session()
        for count in range(60):
            marker = f"s{sender}-{count}"
            statuses = []
            if count % 10 == 0:  # the same webhook delivered to both receivers at once (a retry, a proxy)
                body = body_of(marker)
                both = [threading.Thread(target=lambda u=u, out=statuses, body=body: out.append(
                    post(requests.Session(), u, body))) for u in urls]
                for thread in both:
                    thread.start()
                for thread in both:
                    thread.join(60)
            else:
                statuses.append(post(http, urls[(sender + count) % 2], body_of(marker)))
            with lock:
                answered[marker] = statuses

    seen: list[int] = []

    def tail() -> None:  # the chat's live tail: messages of the conversation after the last id seen
        store = open_store(db)
        conversation = None
        while True:
            finished = done.is_set()
            if conversation is None:
                found = store.list_conversations("env")
                conversation = found[0]["id"] if found else None
            if conversation is not None:
                seen.extend(m["id"] for m in store.messages_since(conversation, seen[-1] if seen else 0, 100_000))
            if finished:
                return

    reader = threading.Thread(target=tail)
    reader.start()
    senders = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(120)
    done.set()
    reader.join(60)

    statuses = Counter(status for marker_statuses in answered.values() for status in marker_statuses)
    assert set(statuses) == {200}, statuses
    assert len(answered) == 240 and statuses[200] == 240 + 24

    store = open_store(db)
    conversations = store.list_conversations("env")
    assert len(conversations) == 1  # both receivers found or made the same conversation
    messages = store.messages_since(conversations[0]["id"], 0, limit=100_000)
    markers = Counter(json.loads(m["raw"])["marker"] for m in messages)
    assert set(markers) == set(answered) and set(markers.values()) == {1}  # every 2xx stored, each shown once
    outcomes = Counter(d["outcome"] for d in store.list_deliveries(limit=100_000))
    assert outcomes == {"accepted": 240, "duplicate": 24}  # the copy at the other receiver: a duplicate
    ids = [m["id"] for m in messages]
    assert seen == ids, "the live tail skipped or repeated a message committed by the other receiver"
    assert store.integrity_check() == "ok"
    logs = {log.name: log.read_text(errors="replace") for log in tmp_path.glob("receiver-*.log")}
    assert len(logs) == 2 and all("store=postgresql://postgres:••••••@127.0.0.1" in text for text in logs.values()), logs
    assert not any(PASSWORD in text for text in logs.values()), "the database password is in a receiver's log"


def test_postgresql_restarted_under_load_means_503_never_a_lost_2xx_and_the_receiver_recovers(
        start_process, tmp_path, pg_cluster):
    db = pg_cluster.new_database()
    url = start_receiver(start_process, tmp_path, db, "receiver")
    answers: list[tuple[str, int | str]] = []
    stop = threading.Event()

    def send() -> None:
        http = requests.Session()
        count = 0
        while not stop.is_set():
            marker = f"load-{count}"
            answers.append((marker, post(http, url, body_of(marker))))
            count += 1

    sender = threading.Thread(target=send)
    sender.start()
    try:
        wait_until(lambda: sum(s == 200 for _, s in answers) >= 20, 30, message="webhooks stored before the restart")
        pg_cluster.stop("immediate")  # a crash, as far as the receiver can tell
        try:
            wait_until(lambda: sum(s == 503 for _, s in answers) >= 5, 30, message="503s while the database is down")
            health = requests.get(f"{url}/healthz", timeout=30)
            assert health.status_code == 503 and "PostgreSQL" in health.json()["reason"]
        finally:
            pg_cluster.start()
        before = len(answers)
        wait_until(lambda: sum(s == 200 for _, s in answers[before:]) >= 20, 60,
                   message="the receiver storing webhooks again, by itself")
    finally:
        stop.set()
        sender.join(60)

    statuses = Counter(status for _, status in answers)
    assert set(statuses) <= {200, 503}, statuses
    store = open_store(db)
    stored = Counter(json.loads(bytes(d["body"]))["marker"]
                     for d in store.list_deliveries(outcome="accepted", limit=100_000))
    acknowledged = {marker for marker, status in answers if status == 200}
    assert acknowledged <= set(stored), f"answered 2xx but not stored: {sorted(acknowledged - set(stored))[:5]}"
    assert set(stored.values()) == {1}
    assert requests.get(f"{url}/healthz", timeout=30).status_code == 200


def _lan_address() -> str | None:
    """An address of this machine other than loopback (what a worker on another host would dial)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_a_load_test_spread_over_a_master_and_two_workers_sees_every_reply_through_the_shared_store(
        start_process, tmp_path, pg_cluster):
    """Three processes with three environments, as three hosts would be: they share only APICHAT_DB."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    db = pg_cluster.new_database()
    receiver_port, sandbox_port = free_port(), free_port()
    server = tmp_path / "server"
    server.mkdir()
    common = {"APICHAT_DB": db, "APICHAT_RECEIVER_PORT": str(receiver_port), "APICHAT_SANDBOX_PORT": str(sandbox_port),
              "PYTHONPATH": str(ROOT)}
    # the team server: one receiver and the sandbox, writing to PostgreSQL
    start_process(["-m", "receiver"], process_env(server, **common), url=f"http://127.0.0.1:{receiver_port}",
                  name="receiver")
    start_process(["-m", "sandbox", "--port", str(sandbox_port), "--state", str(server / "sandbox.json")],
                  process_env(server, **common), url=f"http://127.0.0.1:{sandbox_port}", name="sandbox")
    scenario = tmp_path / "greeting.yaml"
    scenario.write_text("name: Greeting\nsteps:\n  - send: hi\n    messages: 1\n    expect:\n"
                        "      - text: {contains: 'Hi load-'}\n  - click: Products\n    messages: 1\n")
    master_host, master_port = _lan_address() or "127.0.0.1", str(free_port())
    hosts = {}
    for name in ("master", "worker-1", "worker-2"):
        (tmp_path / name).mkdir()
        hosts[name] = process_env(tmp_path / name, **common)  # its own folder, media and logs: only the DB is shared
    run = ["-m", "apichat.load", "run", str(scenario), "--profile", "sandbox", "--think", "0.2s", "--settle", "0.3s"]
    logs = {name: open(tmp_path / name / "output.log", "w+") for name in hosts}
    master = subprocess.Popen(
        [sys.executable, *run, "--master", "--expect-workers", "2", "--users", "12", "--spawn-rate", "12",
         "--run-time", "8s", "--master-port", master_port, "--csv", str(tmp_path / "master" / "run")],
        cwd=ROOT, env=hosts["master"], stdout=logs["master"], stderr=subprocess.STDOUT)

    def said() -> str:
        return "\n".join(f"--- {name}\n{(tmp_path / name / 'output.log').read_text()}" for name in hosts)

    def listening() -> bool:  # the master's port takes connections: the workers may dial it
        assert master.poll() is None, said()
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", int(master_port))) == 0

    workers = []
    try:
        wait_until(listening, 90, 0.2, "the Locust master to listen")
        workers = [subprocess.Popen([sys.executable, *run, "--worker", "--master-host", master_host,
                                     "--master-port", master_port], cwd=ROOT, env=hosts[name], stdout=logs[name],
                                    stderr=subprocess.STDOUT) for name in ("worker-1", "worker-2")]
        try:
            master.wait(150)
            for worker in workers:  # told to quit by the master, each is still shutting down: kill none of them
                worker.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the master or a worker did not finish:\n{said()}") from None
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
            process.wait(30)
        for log in logs.values():
            log.close()
    assert master.returncode == 0, said()
    assert [w.returncode for w in workers] == [0, 0], said()

    import csv

    rows = {row["Name"]: row for row in csv.DictReader(open(tmp_path / "master" / "run_stats.csv"))}
    steps = {name: row for name, row in rows.items() if "›" in name}
    assert steps and all(int(row["Failure Count"]) == 0 for row in steps.values()), rows
    sent = sum(int(row["Request Count"]) for row in steps.values())
    assert sent >= 12, rows

    store = open_store(db)
    contacts = {c["contact_id"] for c in store.list_conversations("sandbox") if c["contact_id"].startswith("load-")}
    processes = {contact.rsplit("-", 1)[0] for contact in contacts}
    assert len(processes) == 2, contacts  # both workers' contacts talked, each through the one receiver
    replies = [m for conv in store.list_conversations("sandbox") if conv["contact_id"] in contacts
               for m in store.messages_since(conv["id"], 0, limit=1000) if m["direction"] == "in"]
    assert len(replies) >= sent  # every step answered, each reply seen by the worker that waited for it
    store.close()
