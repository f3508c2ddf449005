"""Team mode's wait for new messages: the database NOTIFYs a conversation's changes on commit (PostgreSQL
migration 2), and one LISTEN connection per process wakes the readers waiting on that conversation."""

from __future__ import annotations

import threading
import time

import psycopg


class Listener(threading.Thread):
    """One LISTEN connection per process: counts the notifications of each conversation and wakes the
    readers waiting on it. Lost, it reconnects by itself; meanwhile readers fall back to looking every
    WAIT_STEP_SECONDS, and every count moves on reconnection (anything may have happened meanwhile)."""

    def __init__(self, conninfo: str):
        super().__init__(name="store-listener", daemon=True)
        self.conninfo = conninfo
        self.changed = threading.Condition()
        self.counts: dict[int, int] = {}
        self.epoch = 0  # moves on every (re)connection
        self.listening = threading.Event()
        self.received = 0

    def mark(self, conversation: int) -> tuple[int, int]:
        with self.changed:
            return self.epoch, self.counts.get(conversation, 0)

    def wait(self, conversation: int, mark: tuple[int, int], seconds: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: (self.epoch, self.counts.get(conversation, 0)) != mark, seconds)

    def run(self) -> None:
        pause = 0.1
        while True:
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10,
                                     application_name="apichat-listener") as conn:
                    conn.execute("LISTEN apichat_messages")
                    with self.changed:
                        self.epoch += 1
                        self.changed.notify_all()
                    self.listening.set()
                    pause = 0.1
                    for note in conn.notifies():
                        with self.changed:
                            self.received += 1
                            try:
                                conversation = int(note.payload)
                            except ValueError:
                                continue
                            if len(self.counts) > 100_000:
                                self.counts.clear()
                                self.epoch += 1
                            self.counts[conversation] = self.counts.get(conversation, 0) + 1
                            self.changed.notify_all()
            except Exception:  # noqa: BLE001 - the server went away: readers poll until it is back
                self.listening.clear()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
