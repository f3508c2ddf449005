"""Contacts, their conversations, and the messages of a conversation (the chat's thread and its live poll)."""

from __future__ import annotations

import json
import time

from . import core
from .core import TEXT_CAP_CHARS, Core, storable


class Conversations(Core):
    """The tables contacts, conversations and messages."""

    # ------------------------------------------------------------ contacts and conversations

    def save_contact(self, contact_id: str, name: str = "", email: str = "", phone: str = "") -> dict:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO contacts (id, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, "
                "phone = excluded.phone", (contact_id, name, email, phone, core.now()))
        return self.get_contact(contact_id)

    def get_contact(self, contact_id: str) -> dict | None:
        return self._row("SELECT * FROM contacts WHERE id = ?", (contact_id,))

    def list_contacts(self) -> list[dict]:
        return self._rows("SELECT * FROM contacts ORDER BY created_at")

    def ensure_conversation(self, profile: str, contact_id: str, conv_id: int) -> dict:
        with self.write() as conn:
            return self._ensure_conversation(conn, profile, contact_id, conv_id)

    def _ensure_conversation(self, conn, profile: str, contact_id: str, conv_id: int) -> dict:
        conn.execute("INSERT INTO contacts (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                     (contact_id, contact_id, core.now()))
        conn.execute("INSERT INTO conversations (profile, contact_id, conv_id, created_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (profile, contact_id, conv_id) DO NOTHING",
                     (profile, contact_id, int(conv_id), core.now()))
        return dict(conn.execute("SELECT * FROM conversations WHERE profile = ? AND contact_id = ? AND conv_id = ?",
                                 (profile, contact_id, int(conv_id))).fetchone())

    def _conversations_of(self, conn, places: set[tuple[str, str, int | None]]) -> dict[tuple, int]:
        """The ids of the conversations webhooks belong to (profile, contact, conv_id), in one look-up, those not
        there yet created; without a usable conv_id, the contact's latest conversation (or its conversation 0)."""
        found: dict[tuple, int] = {}
        numbered = sorted(place for place in places if place[2] is not None)
        if numbered:
            rows = conn.execute("SELECT id, profile, contact_id, conv_id FROM conversations WHERE (profile, "
                                f"contact_id, conv_id) IN (VALUES {', '.join(['(?, ?, ?)'] * len(numbered))})",
                                [value for place in numbered for value in place])
            found = {(profile, contact, conv_id): id_ for id_, profile, contact, conv_id in rows}
        for place in places - found.keys():
            profile, contact, conv_id = place
            latest = None if conv_id is not None else conn.execute(
                "SELECT id FROM conversations WHERE profile = ? AND contact_id = ? ORDER BY id DESC LIMIT 1",
                (profile, contact)).fetchone()
            found[place] = latest[0] if latest else self._ensure_conversation(conn, profile, contact, conv_id or 0)["id"]
        return found

    def get_conversation(self, conversation: int) -> dict | None:
        return self._row("SELECT * FROM conversations WHERE id = ?", (conversation,))

    def list_conversations(self, profile: str, contact_id: str | None = None) -> list[dict]:
        """Conversations with their last message and the count of unread replies, newest first."""
        where, params = "c.profile = ?", [profile]
        if contact_id is not None:
            where += " AND c.contact_id = ?"
            params.append(contact_id)
        return self._rows(f"""
            SELECT c.*, m.text AS last_text, m.kind AS last_kind, m.created_at AS last_at,
                   (SELECT COUNT(*) FROM messages u WHERE u.conversation = c.id AND u.direction = 'in'
                      AND u.id > c.last_read_id) AS unread
            FROM conversations c
            LEFT JOIN messages m ON m.id = (SELECT MAX(id) FROM messages WHERE conversation = c.id)
            WHERE {where}
            ORDER BY COALESCE(m.created_at, c.created_at) DESC""", params)

    def next_conv_id(self, profile: str, contact_id: str) -> int:
        row = self._row("SELECT MAX(conv_id) AS top FROM conversations WHERE profile = ? AND contact_id = ?",
                        (profile, contact_id))
        top = row["top"] if row and row["top"] is not None else None
        return top + 1 if top is not None else int(time.time()) % 1_000_000

    def mark_read(self, conversation: int, up_to_id: int) -> None:
        with self.write() as conn:
            conn.execute(self.dialect.mark_read, (up_to_id, conversation))

    # ------------------------------------------------------------ messages

    def add_contact_message(self, conversation: int, kind: str, text: str, data: dict, raw: dict) -> int:
        """A message the contact is sending, in state 'sending' until the bot_url answers."""
        now = core.now()
        with self.write() as conn:
            cur = conn.execute(
                "INSERT INTO messages (conversation, direction, author, kind, text, data, raw, status, "
                "created_at, updated_at) VALUES (?, 'out', 'contact', ?, ?, ?, ?, 'sending', ?, ?) RETURNING id",
                (conversation, kind, storable(text), storable(json.dumps(data, ensure_ascii=False)),
                 storable(json.dumps(raw, ensure_ascii=False)), now, now))
            return cur.fetchone()[0]

    def set_message_status(self, message_id: int, status: str, error: str = "") -> None:
        with self.write() as conn:
            conn.execute("UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                         (status, error[:TEXT_CAP_CHARS], core.now(), message_id))

    def get_message(self, message_id: int) -> dict | None:
        return self._row("SELECT * FROM messages WHERE id = ?", (message_id,))

    def messages_since(self, conversation: int, after_id: int = 0, limit: int = 500) -> list[dict]:
        """Messages of `conversation` newer than `after_id`, oldest first (the live poll)."""
        return self._rows("SELECT * FROM messages WHERE conversation = ? AND id > ? ORDER BY id LIMIT ?",
                          (conversation, after_id, limit))

    def messages_after(self, after_id: int, limit: int = 1000) -> list[dict]:
        """Messages of every conversation newer than `after_id`, oldest first: one range scan of the primary key
        (messages.id is the rowid), so a load test's dispatcher pays one indexed query per tick for all contacts."""
        return self._rows("SELECT * FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit))

    def last_message_id(self) -> int:
        """The newest message's id (0 for none): where a dispatcher starts watching."""
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]

    def messages_before(self, conversation: int, before_id: int | None = None, limit: int = 50) -> list[dict]:
        """The `limit` messages just before `before_id` (or the latest ones), oldest first."""
        rows = self._rows("SELECT * FROM messages WHERE conversation = ? AND id < ? ORDER BY id DESC LIMIT ?",
                          (conversation, before_id if before_id is not None else 2**62, limit))
        return rows[::-1]

    def wait_for_messages(self, conversation: int, after_id: int, timeout: float) -> bool:
        """True as soon as `conversation` has a message newer than `after_id`; False after `timeout` seconds.

        On PostgreSQL the wait is woken by the database's NOTIFY when any host commits one; on SQLite it is
        the indexed look repeated every WAIT_STEP_SECONDS (one process's file: nothing to be told by).
        """
        deadline = time.monotonic() + timeout
        while True:
            mark = self._change_mark(conversation)  # taken before the look: a commit after it is not missed
            if self.conn.execute("SELECT 1 FROM messages WHERE conversation = ? AND id > ? LIMIT 1",
                                 (conversation, after_id)).fetchone() is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._wait_for_change(conversation, mark, min(left, self.WAIT_STEP_SECONDS))

    def _change_mark(self, conversation: int):
        """Something that moves when `conversation` changes (PostgreSQL: a count of its notifications)."""
        return None

    def _wait_for_change(self, conversation: int, mark, seconds: float) -> None:
        time.sleep(seconds)

    def message_changes(self, conversation: int, ids: list[int], since: float) -> list[dict]:
        """Messages among `ids` whose status changed after `since` (delivery states)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._rows(f"SELECT * FROM messages WHERE conversation = ? AND updated_at > ? AND id IN ({marks})",
                          (conversation, since, *ids))

    def count_messages(self, conversation: int) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM messages WHERE conversation = ?",
                                 (conversation,)).fetchone()[0]
