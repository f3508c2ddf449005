"""Crash safety: a receiver killed with SIGKILL under full load has kept every webhook it answered 2xx,
its store passes `PRAGMA integrity_check`, and a new receiver carries on with the same store. On both backends:
on PostgreSQL the killed receiver's open transaction (and the write lock it held) ends with its connection."""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter

import requests

from apichat import signing
from apichat.store import open_store

from .conftest import free_port, process_env, wait_until

KEY = "crash-verify-key-5e1d"
THREADS = 6
KILL_AFTER = 500  # 2xx answers before each kill


class Load:
    """Threads posting distinct signed webhooks, each with a unique marker, until the receiver is gone."""

    def __init__(self, url: str, prefix: str, threads: int = THREADS):
        self.url, self.prefix = url, prefix
        self.acknowledged: list[str] = []  # markers of the webhooks answered 2xx
        self.sent: set[str] = set()
        self.unanswered = 0  # in flight when the process died, or refused after
        self.other = Counter()  # any answer that is not 2xx
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(threads)]
        for thread in self.threads:
            thread.start()

    def worker(self, number: int) -> None:
        session = requests.Session()
        for count in range(100_000):
            marker = f"{self.prefix}-{number}-{count}"
            body = json.dumps({"sender_id": f"crash-contact-{count % 7}", "conv_id": 500 + count % 7, "type": "text",
                               "text": f"reply {marker}", "marker": marker}).encode()
            with self.lock:
                self.sent.add(marker)
            try:
                answer = session.post(self.url, data=body, timeout=30, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": signing.sign(body, KEY)})
            except requests.RequestException:
                with self.lock:
                    self.unanswered += 1
                break  # the receiver is gone
            with self.lock:
                if 200 <= answer.status_code < 300:
                    self.acknowledged.append(marker)
                else:
                    self.other[answer.status_code] += 1
        session.close()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive(), "a sender never noticed that the receiver was gone"


def stored_markers(db: str) -> Counter:
    """How many accepted messages hold each marker, read from a fresh connection (after WAL recovery)."""
    store = open_store(db)
    try:
        assert store.integrity_check() == "ok"
        found = Counter()
        for delivery in store.list_deliveries(outcome="accepted", limit=1_000_000):
            message = store.get_message(delivery["message_id"])
            assert message is not None and message["raw"] == bytes(delivery["body"]).decode()
            found[json.loads(message["raw"])["marker"]] += 1
        return found
    finally:
        store.close()


def test_sigkill_under_load_loses_nothing_acknowledged(start_process, tmp_path, store_target):
    db = store_target
    acknowledged: list[str] = []
    sent: set[str] = set()
    for round_number in (1, 2):  # the second round starts from the store the first crash left
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        receiver = start_process(["-m", "receiver"], process_env(tmp_path, UCHAT_VERIFY_TOKEN=KEY, APICHAT_DB=db,
                                                                 APICHAT_RECEIVER_PORT=str(port)),
                                 url=url)
        load = Load(f"{url}/webhook", f"round{round_number}")
        wait_until(lambda load=load: len(load.acknowledged) >= KILL_AFTER or not any(
            t.is_alive() for t in load.threads), 60, message=f"{KILL_AFTER} webhooks answered 2xx")
        log = receiver.output()
        receiver.stop(signal.SIGKILL)  # mid-load: the senders are still posting
        load.join()
        assert receiver.proc.returncode == -signal.SIGKILL
        assert len(load.acknowledged) >= KILL_AFTER and not load.other, (load.other, log)
        assert KEY not in log  # the receiver's log shows a key masked, never in full
        acknowledged += load.acknowledged
        sent |= load.sent

        stored = stored_markers(db)
        assert set(acknowledged) <= set(stored), f"lost: {sorted(set(acknowledged) - set(stored))[:10]}"
        assert set(stored) <= sent and max(stored.values()) == 1  # nothing made up, nothing twice
        print(f"round {round_number}: {len(load.acknowledged)} answered 2xx, {len(stored)} stored in all, "
              f"{load.unanswered} unanswered at the kill")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start_process(["-m", "receiver"], process_env(tmp_path, UCHAT_VERIFY_TOKEN=KEY, APICHAT_DB=db,
                                                  APICHAT_RECEIVER_PORT=str(port)), url=url)
    body = json.dumps({"sender_id": "after", "conv_id": 1, "type": "text", "text": "after", "marker": "after"})
    answer = requests.post(f"{url}/webhook", data=body, timeout=10,
                           headers={"X-Hub-Signature-256": signing.sign(body, KEY)})
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert stored_markers(db)["after"] == 1
