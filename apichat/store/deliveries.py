"""Webhook deliveries (the receiver's one write path) and the requests the console sent to UChat.

Every webhook is kept as a delivery: a verified one also becomes a message (or a duplicate of one accepted
within the duplicate window), a refused one is kept with its reason. Both go through the group commit
(core.py): what arrives together is one transaction of a fixed handful of statements, committed before the
receiver answers.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

from ..payloads import BotMessage
from ..redact import masked_body, masked_headers
from . import core
from .conversations import Conversations
from .core import TEXT_CAP_CHARS, StaleProfiles, storable

DUPLICATE_WINDOW_SECONDS = 600
DUPLICATE_REASON = "same body accepted within the last 10 minutes; shown once"
BODY_CAP_BYTES = 1024 * 1024
REJECTED_BODY_CAP_BYTES = 64 * 1024
MAX_ROWS_PER_INSERT = 500  # 17 values a delivery: well under SQLite's 32,766 variables a statement


class Delivery(NamedTuple):
    """A row of deliveries as received (its id and message_id are given when it is written)."""

    received_at: float
    profile: str
    route: str
    method: str
    remote_addr: str
    headers: str
    body: bytes
    body_size: int
    body_sha256: str
    outcome: str
    status_code: int
    reason: str
    flow_ns: str
    action: str
    kind: str


class Incoming(NamedTuple):
    """The message a verified webhook becomes, unless it is a duplicate."""

    contact: str
    conv_id: int | None  # None: not a usable number, the contact's latest conversation
    author: str
    kind: str
    text: str
    data: str
    raw: str


class Webhook(NamedTuple):
    """What the group commit writes: a delivery, with the message it carries when it was verified."""

    delivery: Delivery
    message: Incoming | None = None  # None: a refused delivery, kept as it is
    profiles_version: int | None = None  # the profiles it was verified against; None: not checked


class Written(NamedTuple):
    outcome: str  # accepted, duplicate, or the outcome a refused delivery was recorded with
    delivery: int
    message: int | None


INSERT_MESSAGES = ("INSERT INTO messages (id, conversation, direction, author, kind, text, data, raw, status, "
                   "reply_to, delivery, created_at, updated_at) VALUES ")
MESSAGE_VALUES = ("(?, ?, 'in', ?, ?, ?, ?, ?, 'received', "
                  "(SELECT MAX(id) FROM messages WHERE conversation = ? AND direction = 'out'), ?, ?, ?)")
INSERT_DELIVERIES = (f"INSERT INTO deliveries (id, {', '.join(Delivery._fields)}, message_id) VALUES ")
DELIVERY_VALUES = "(" + ", ".join("?" * (len(Delivery._fields) + 2)) + ")"


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '\\': the text's own %, _ and \\ match themselves, as in the index."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def earlier_sql(count: int) -> str:
    """The duplicate window's rule: (delivery id, body SHA-256, profile, message id) of the acceptances of
    `count` hashes since the window's start whose contact has said nothing since; parameters: the hashes,
    then the window's start."""
    return ("SELECT d.id, d.body_sha256, d.profile, d.message_id FROM deliveries d JOIN messages m ON m.id = "
            f"d.message_id WHERE d.body_sha256 IN ({','.join('?' * count)}) AND d.received_at > ? AND d.outcome = "
            "'accepted' AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.conversation = m.conversation AND "
            "c.direction = 'out' AND c.id > m.id)")


def delivery_row(profile, route, method, headers, body, outcome, status_code, reason, remote_addr, flow_ns,
                 action, kind, body_size=None) -> Delivery:
    body = body or b""
    # Anyone can post junk to a tunnel: a refused body keeps its first 64 KiB (its size and hash stay whole),
    # so unsigned traffic cannot fill the disk a megabyte at a time.
    cap = BODY_CAP_BYTES if outcome in ("accepted", "duplicate") else REJECTED_BODY_CAP_BYTES
    return Delivery(core.now(), storable(profile), storable(route), storable(method), storable(remote_addr),
                    json.dumps(masked_headers(dict(headers))), body[:cap],
                    len(body) if body_size is None else body_size, hashlib.sha256(body).hexdigest() if body else "",
                    outcome, status_code, storable(reason[:2000]), storable(flow_ns[:200]), storable(action[:200]),
                    kind)


class Deliveries(Conversations):
    """The tables deliveries and requests."""

    # ------------------------------------------------------------ webhook deliveries

    def record_delivery(self, *, profile: str, route: str, method: str, headers: dict, body: bytes | None,
                        outcome: str, status_code: int, reason: str = "", remote_addr: str = "",
                        flow_ns: str = "", action: str = "", kind: str = "", body_size: int | None = None) -> int:
        """Keep a delivery that did not become a message (rejected, handshake, error); its id."""
        return self._submit(Webhook(delivery_row(profile, route, method, headers, body, outcome, status_code,
                                                 reason, remote_addr, flow_ns, action, kind, body_size))).delivery

    def accept_webhook(self, *, profile: str, route: str, method: str, headers: dict, body: bytes,
                       message: BotMessage, remote_addr: str = "", flow_ns: str = "",
                       action: str = "", profiles_version: int | None = None) -> Written:
        """Store a verified webhook as a message, or as a duplicate of one seen within 10 minutes.

        Committed (with its delivery) before this returns, so the receiver answers 2xx only for what is
        kept. Webhooks arriving together are written in one transaction (group commit), in arrival order.
        With `profiles_version` (from `profiles()`), a webhook verified against profiles that changed since
        is not written: StaleProfiles is raised. Returns (outcome, delivery id, message id).
        """
        incoming = Incoming(
            contact=storable(message.sender_id or "(unknown contact)"),
            conv_id=message.conv_id if isinstance(message.conv_id, int) else None, author=message.author,
            kind=message.kind, text=storable(message.text[:TEXT_CAP_CHARS]),
            data=storable(json.dumps(message.to_dict(raw=False), ensure_ascii=False)),
            raw=body.decode("utf-8", errors="replace"))
        row = delivery_row(profile, route, method, headers, body, "accepted", 200, "", remote_addr, flow_ns, action,
                           message.kind)
        return self._submit(Webhook(row, incoming, profiles_version))

    def _write_batch(self, conn, items: list[Webhook]) -> list[Written | StaleProfiles]:
        """`items` in order, in the open transaction, in a fixed handful of statements whatever their number:
        the profile version and the ids, the earlier copies of their bodies, their conversations, one INSERT
        per table (each statement lets the GIL go, and under load each release is a thread switch)."""
        version, last_message, last_delivery = self._batch_start(conn, sum(1 for item in items if item.message),
                                                                 len(items))
        self._saw_profiles(version)
        # verified against older profiles: not written, and the caller verifies it again (the rest is unaffected)
        stale = {index for index, item in enumerate(items)
                 if item.message is not None and item.profiles_version not in (None, version)}
        accepted = [item for index, item in enumerate(items) if item.message and index not in stale]
        earlier: dict[tuple[str, str], int] = {}  # (body SHA-256, profile) -> the message its copies point to
        if accepted:
            hashes = sorted({item.delivery.body_sha256 for item in accepted})
            rows = conn.execute(earlier_sql(len(hashes)), (*hashes, core.now() - DUPLICATE_WINDOW_SECONDS))
            earlier = {(sha, profile): message for _, sha, profile, message in sorted(tuple(r) for r in rows)}
        conversations = self._conversations_of(conn, {
            (item.delivery.profile, item.message.contact, item.message.conv_id) for item in accepted
            if (item.delivery.body_sha256, item.delivery.profile) not in earlier})
        messages, deliveries, results = [], [], []
        now = core.now()
        for index, item in enumerate(items):
            row, message = item.delivery, item.message
            if index in stale:
                results.append(StaleProfiles(f"profiles changed (version {item.profiles_version} -> {version})"))
                continue
            last_delivery += 1
            key = (row.body_sha256, row.profile)
            if message is None:
                results.append(Written(row.outcome, last_delivery, None))
                deliveries.append((last_delivery, *row, None))
            elif key in earlier:  # a copy later in this batch, too, is a duplicate of the first
                results.append(Written("duplicate", last_delivery, earlier[key]))
                deliveries.append((last_delivery, *row._replace(outcome="duplicate", reason=DUPLICATE_REASON),
                                   earlier[key]))
            else:
                last_message += 1
                conversation = conversations[(row.profile, message.contact, message.conv_id)]
                messages.append((last_message, conversation, message.author, message.kind, message.text,
                                 message.data, message.raw, conversation, last_delivery, now, now))
                deliveries.append((last_delivery, *row, last_message))
                earlier[key] = last_message
                results.append(Written("accepted", last_delivery, last_message))
        for insert, values, rows in ((INSERT_MESSAGES, MESSAGE_VALUES, messages),
                                     (INSERT_DELIVERIES, DELIVERY_VALUES, deliveries)):
            for start in range(0, len(rows), MAX_ROWS_PER_INSERT):
                chunk = rows[start:start + MAX_ROWS_PER_INSERT]
                conn.execute(insert + ", ".join([values] * len(chunk)), [value for r in chunk for value in r])
        return results

    def get_delivery(self, delivery_id: int) -> dict | None:
        return self._row("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))

    def refused_since(self, profile: str, since: float, limit: int = 3) -> list[dict]:
        """Deliveries to `profile` refused after `since`, newest first: why an awaited reply may not show."""
        return self._rows("SELECT id, received_at, status_code, reason FROM deliveries WHERE profile = ? "
                          "AND received_at > ? AND outcome = 'rejected' ORDER BY received_at DESC LIMIT ?",
                          (profile, since, limit))

    def list_deliveries(self, *, profile: str | None = None, outcome: str | None = None, kind: str | None = None,
                        text: str | None = None, after_id: int = 0, limit: int = 200) -> list[dict]:
        """Deliveries newest first, filtered; `text` searches body, reason, route and headers (any case)."""
        where, params = ["id > ?"], [after_id]
        for column, value in (("profile", profile), ("outcome", outcome), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if text:
            return self._search("deliveries", where[1:], params[1:], text, limit, after_id)
        return self._rows(f"SELECT * FROM deliveries WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                          (*params, limit))

    def count_deliveries(self, outcome: str | None = None) -> int:
        if outcome:
            return self.conn.execute("SELECT COUNT(*) FROM deliveries WHERE outcome = ?", (outcome,)).fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]

    # ------------------------------------------------------------ requests sent to UChat

    def record_request(self, *, profile: str, target: str, method: str, url: str, request_headers: dict,
                       request_body: str, status: int | None, response_body: str, duration_ms: float,
                       error: str = "", message_id: int | None = None) -> int:
        """Keep a request the console sent (partner API or bot_url); credentials and verification keys masked."""
        with self.write() as conn:
            cur = conn.execute(
                "INSERT INTO requests (created_at, profile, target, method, url, request_headers, request_body, "
                "status, response_body, duration_ms, error, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (core.now(), profile, target, method, url, json.dumps(masked_headers(request_headers)),
                 storable(masked_body(request_body)[:TEXT_CAP_CHARS]), status,
                 storable(masked_body(response_body or "")[:TEXT_CAP_CHARS]),
                 duration_ms, storable(error[:2000]), message_id))
            return cur.fetchone()[0]

    def list_requests(self, *, profile: str | None = None, text: str | None = None, after_id: int = 0,
                      limit: int = 200) -> list[dict]:
        where, params = ["id > ?"], [after_id]
        if profile:
            where.append("profile = ?")
            params.append(profile)
        if text:
            return self._search("requests", where[1:], params[1:], text, limit, after_id)
        return self._rows(f"SELECT * FROM requests WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                          (*params, limit))

    # ------------------------------------------------------------ the Inspector's text search

    def _search(self, table: str, where: list[str], params: list, text: str, limit: int,
                after_id: int = 0) -> list[dict]:
        """Rows of `table` (deliveries or requests) after `after_id` matching `where` whose text holds `text` in
        any case, newest first. Here a scan of the dialect's columns, which PostgreSQL's trigram indexes serve;
        SQLite's store searches its FTS5 index instead (sqlite.py). One bound on the id: SQLite's planner uses
        a single range of the primary key, and with two it may take the wider one."""
        scan = self.dialect.delivery_search if table == "deliveries" else self.dialect.request_search
        return self._rows(f"SELECT * FROM {table} WHERE {' AND '.join(['id > ?', *where, scan])} ORDER BY id DESC "
                          "LIMIT ?", (after_id, *params, *[like_pattern(text)] * 4, limit))

    def search_backlog(self) -> int:
        """Rows not in the search index yet (0: a backend whose database keeps its index itself)."""
        return 0

    def index_search(self, batch: int = 200) -> int:
        """Index up to `batch` rows of each searched table not indexed yet; how many (0: caught up, or a backend
        whose database keeps its index itself)."""
        return 0

    def get_request(self, request_id: int) -> dict | None:
        return self._row("SELECT * FROM requests WHERE id = ?", (request_id,))
