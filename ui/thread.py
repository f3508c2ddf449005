"""The chat's visible window of a thread: which messages are drawn, which are still moving, what is new.

Pure (no Streamlit): the chat page keeps a `Thread` in its session state and draws what it says. A thread opens
on its latest LIVE_WINDOW messages; "Load earlier" adds as many again; a long session keeps at most `limit` rows.
Each look fetches only what changed: newer messages, and the contact's messages whose delivery is still moving.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

LIVE_WINDOW = 40  # the latest messages drawn when a thread opens; "Load earlier" adds as many again
MOVING = ("sending", "failed")  # a contact's message whose state can still change (failed → sending on a retry)
CLOCK_SLACK = 1.0  # seconds: a change written just before the last look is still seen at the next


def moving(row: dict) -> bool:
    return row["status"] in MOVING


@dataclass
class Thread:
    conversation: int
    rows: list[dict]
    last_id: int = 0
    read: int = 0
    checked: float = 0.0
    has_older: bool = False
    limit: int = 2 * LIVE_WINDOW  # a long session keeps drawing a bounded window
    announce: set[int] = field(default_factory=set)  # ids that arrived or failed while open: read out once
    boundary: int = 0  # rows up to this id are settled (drawn once per full run); the rest is the live tail

    @classmethod
    def open(cls, store, conversation: int, now: float | None = None) -> Thread:
        latest = store.messages_before(conversation, None, LIVE_WINDOW)
        thread = cls(conversation, latest, last_id=latest[-1]["id"] if latest else 0,
                     checked=time.time() if now is None else now, has_older=len(latest) == LIVE_WINDOW)
        thread.settle()
        return thread

    def refresh(self, store, now: float | None = None) -> set[int]:
        """Fetch only what changed since the last look; the ids of the rows that are new or changed."""
        fresh = store.messages_since(self.conversation, self.last_id)
        still = [r["id"] for r in self.rows if moving(r)]
        changed: dict[int, dict] = {}
        if still:
            checked, self.checked = self.checked, time.time() if now is None else now
            changed = {r["id"]: r for r in store.message_changes(self.conversation, still, checked - CLOCK_SLACK)}
            self.rows[:] = [changed.get(r["id"], r) for r in self.rows]
        self.announce.update(r["id"] for r in fresh)
        self.announce.update(i for i, r in changed.items() if r["status"] == "failed")
        if fresh:
            self.rows.extend(fresh)
            self.last_id = fresh[-1]["id"]
            if len(self.rows) > self.limit:
                del self.rows[:len(self.rows) - self.limit]
                self.has_older = True
                self.announce &= {r["id"] for r in self.rows}
        return set(changed) | {r["id"] for r in fresh}

    def load_earlier(self, store) -> None:
        """LIVE_WINDOW more of the older messages above the window (kept while the session lasts)."""
        earlier = store.messages_before(self.conversation, self.rows[0]["id"] if self.rows else None, LIVE_WINDOW)
        self.rows[:0] = earlier
        self.has_older = len(earlier) == LIVE_WINDOW
        self.limit = max(self.limit, len(self.rows) + LIVE_WINDOW)

    def settle(self) -> None:
        """Draw the rows up to just before the first still moving one as settled; the poll redraws the rest."""
        still = [r["id"] for r in self.rows if moving(r)]
        self.boundary = min(still) - 1 if still else self.last_id

    def settled(self) -> list[dict]:
        return [r for r in self.rows if r["id"] <= self.boundary]

    def tail(self) -> list[dict]:
        return [r for r in self.rows if r["id"] > self.boundary]

    def needs_full_redraw(self, changed: set[int]) -> bool:
        """A settled message changed, or the tail grew longer than a window: the whole thread is drawn again."""
        return any(i <= self.boundary for i in changed) or len(self.tail()) > LIVE_WINDOW

    def awaiting_reply(self) -> dict | None:
        """The contact's last message when it was sent and nothing came after it, else None."""
        last = self.rows[-1] if self.rows else None
        return last if last is not None and last["direction"] == "out" and last["status"] == "sent" else None

    def mark_read(self, store) -> None:
        if self.last_id > self.read:
            store.mark_read(self.conversation, self.last_id)
            self.read = self.last_id

    def by_id(self) -> dict[int, dict]:
        return {r["id"]: r for r in self.rows}
