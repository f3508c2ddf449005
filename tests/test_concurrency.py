"""Concurrency: the receiver (a real process) writing at full speed while console sessions poll and write the
same store from their own connections — no "database is locked" anywhere, every 2xx stored, no poll misses
a message. On both backends: SQLite, and PostgreSQL (one receiver; tests/test_team.py runs two)."""

from __future__ import annotations

import json
import threading
import traceback
from collections import Counter, defaultdict

import requests

from apichat import signing
from apichat.store import Store, open_store

from .conftest import free_port, process_env, wait_until

KEY = "concurrency-verify-key-c3"
SENDERS = 4
PER_SENDER = 200
SESSIONS = 3
CONTACTS = 5


def webhook(marker: str, number: int) -> bytes:
    return json.dumps({"sender_id": f"contact-{number % CONTACTS}", "conv_id": 900 + number % CONTACTS,
                       "type": "text", "text": f"reply {marker}", "marker": marker}).encode()


class Session(threading.Thread):
    """A console session as the pages are one: its own Store, polling the thread list, each conversation's
    new messages (remembering the last id, as the live thread does), the inspector's new deliveries, and
    writing too: marking read and, for one of them, sending as the contact."""

    def __init__(self, db: str, done: threading.Event, quiet: threading.Barrier, sends: bool):
        super().__init__(daemon=True)
        self.db, self.done, self.quiet, self.sends = db, done, quiet, sends
        self.seen: dict[int, list[int]] = defaultdict(list)  # conversation -> message ids, in the order polled
        self.errors: list[str] = []
        self.polls = 0

    def poll(self, store: Store, last_delivery: int) -> int:
        for conversation in store.list_conversations("env"):
            seen = self.seen[conversation["id"]]
            rows = store.messages_since(conversation["id"], seen[-1] if seen else 0, limit=100_000)
            seen.extend(row["id"] for row in rows)
            if rows:
                store.mark_read(conversation["id"], rows[-1]["id"])
                store.message_changes(conversation["id"], [r["id"] for r in rows[-20:]], 0)
            store.count_messages(conversation["id"])
        deliveries = store.list_deliveries(after_id=last_delivery, limit=500)
        return max([last_delivery] + [d["id"] for d in deliveries])

    def run(self) -> None:
        try:
            store = open_store(self.db)
            last_delivery = 0
            while not self.done.is_set():
                last_delivery = self.poll(store, last_delivery)
                self.polls += 1
                if self.sends:  # the chat page keeps what the contact sends, then its state
                    conversation = store.ensure_conversation("env", "console-contact", 1)["id"]
                    sent = store.add_contact_message(conversation, "text", f"poll {self.polls}", {},
                                                     {"content": f"poll {self.polls}"})
                    store.set_message_status(sent, "sent")
            self.quiet.wait(30)  # every session has stopped writing
            self.poll(store, last_delivery)  # once more after the last write
            store.close()
        except Exception:
            self.errors.append(traceback.format_exc())


def test_sessions_polling_while_the_receiver_writes(start_process, tmp_path, store_target):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = store_target
    receiver = start_process(["-m", "receiver"], process_env(tmp_path, UCHAT_VERIFY_TOKEN=KEY, APICHAT_DB=db,
                                                             APICHAT_RECEIVER_PORT=str(port)),
                             url=url)
    done = threading.Event()
    quiet = threading.Barrier(SESSIONS)
    sessions = [Session(db, done, quiet, sends=n == 0) for n in range(SESSIONS)]
    for session in sessions:
        session.start()
    wait_until(lambda: all(s.polls for s in sessions) or any(s.errors for s in sessions), 30,
               message="every session polling")

    answers, failures, lock = [], Counter(), threading.Lock()

    def send(number: int) -> None:
        http = requests.Session()
        for count in range(PER_SENDER):
            marker = f"s{number}-{count}"
            body = webhook(marker, count)
            try:
                status = http.post(f"{url}/webhook", data=body, timeout=60, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": signing.sign(body, KEY)}).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            with lock:
                if status == 200:
                    answers.append(marker)
                else:
                    failures[status] += 1

    senders = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(120)
    done.set()
    for session in sessions:
        session.join(60)

    assert not failures, (failures, receiver.output())
    assert not [e for s in sessions for e in s.errors], [e for s in sessions for e in s.errors][0]
    assert "database is locked" not in receiver.output() and "Traceback" not in receiver.output()
    assert len(answers) == SENDERS * PER_SENDER

    store = open_store(db)
    accepted = [json.loads(bytes(d["body"]))["marker"]
                for d in store.list_deliveries(outcome="accepted", limit=100_000)]
    assert sorted(accepted) == sorted(answers)  # every 2xx stored, once
    assert store.integrity_check() == "ok"
    conversations = {c["id"] for c in store.list_conversations("env")}
    for session in sessions:
        assert session.polls > 1 and set(session.seen) == conversations
        for conversation, ids in session.seen.items():
            everything = [m["id"] for m in store.messages_since(conversation, 0, limit=100_000)]
            assert ids == everything, f"a poll missed or repeated messages of conversation {conversation}"
    print(f"{len(answers)} webhooks answered 2xx and stored; polls per session: {[s.polls for s in sessions]}")
