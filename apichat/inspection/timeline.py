"""One timeline of webhook deliveries received and requests sent, and reading it from the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

DELIVERY_OUTCOMES = ("accepted", "duplicate", "rejected", "handshake")
REQUEST_OUTCOMES = ("sent", "failed")


@dataclass(frozen=True)
class Entry:
    """One row of the inspector: a webhook delivery received or a request the console sent."""

    key: str  # "d-<id>" for a delivery, "r-<id>" for a request
    source: str  # delivery | request
    id: int
    at: float
    profile: str
    direction: str  # in | out
    target: str  # webhook | partner API | bot_url
    outcome: str  # accepted | duplicate | rejected | handshake | sent | failed
    reason: str
    flow_ns: str
    action: str
    kind: str
    size: int
    status: int | None
    duration_ms: float | None
    message_id: int | None

    def row(self) -> dict:
        """The entry as a table row (time as a datetime, for sorting and display)."""
        return {"id": self.key, "time": datetime.fromtimestamp(self.at), "profile": self.profile,
                "direction": ("⬇ " if self.direction == "in" else "⬆ ") + self.target,
                "outcome": self.outcome, "reason": self.reason, "flow ns": self.flow_ns, "action": self.action,
                "kind": self.kind, "size": self.size, "status": self.status,
                "ms": None if self.duration_ms is None else round(self.duration_ms),
                "message": self.message_id}


def request_target(row: dict) -> str:
    """'partner API' or 'bot_url', whatever spelling the client used for `target`."""
    target = (row.get("target") or "").lower()
    if "partner" in target or "/api/partner/" in (row.get("url") or ""):
        return "partner API"
    return "bot_url"


def request_outcome(row: dict) -> str:
    status = row.get("status")
    return "sent" if status is not None and 200 <= status < 300 and not row.get("error") else "failed"


def request_kind(row: dict) -> str:
    """What a request did: get/set/remove webhook, or the kind of message sent as the contact."""
    if request_target(row) == "partner API":
        return {"GET": "get webhook", "POST": "set webhook", "DELETE": "remove webhook"}.get(
            (row.get("method") or "").upper(), (row.get("method") or "").lower())
    try:
        body = json.loads(row.get("request_body") or "")
    except ValueError:
        return "message"
    if not isinstance(body, dict):
        return "message"
    if body.get("event") == "message_postback":
        return "postback"
    attachments = body.get("attachments")
    if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
        return str(attachments[0].get("file_type") or "file")
    return "text"


def from_delivery(row: dict) -> Entry:
    return Entry(key=f"d-{row['id']}", source="delivery", id=row["id"], at=row["received_at"],
                 profile=row["profile"], direction="in", target="webhook", outcome=row["outcome"],
                 reason=row["reason"], flow_ns=row["flow_ns"], action=row["action"],
                 kind=row["kind"] or ("" if row["status_code"] != 200 else "message"), size=row["body_size"],
                 status=row["status_code"], duration_ms=None, message_id=row["message_id"])


def from_request(row: dict) -> Entry:
    return Entry(key=f"r-{row['id']}", source="request", id=row["id"], at=row["created_at"],
                 profile=row["profile"], direction="out", target=request_target(row), outcome=request_outcome(row),
                 reason=row.get("error") or "", flow_ns="", action=row["method"], kind=request_kind(row),
                 size=len((row.get("request_body") or "").encode()), status=row["status"],
                 duration_ms=row["duration_ms"], message_id=row["message_id"])


def timeline(deliveries: list[dict], sent: list[dict]) -> list[Entry]:
    """Deliveries and requests as one list, newest first."""
    entries = [from_delivery(d) for d in deliveries] + [from_request(r) for r in sent]
    return sorted(entries, key=lambda e: (e.at, e.source == "delivery", e.id), reverse=True)


def request_matches(row: dict, outcome: str | None = None, kind: str | None = None) -> bool:
    """The outcome/kind filters applied to a request (the store filters deliveries itself)."""
    if outcome and request_outcome(row) != outcome:
        return False
    return not kind or request_kind(row) == kind


def query(store, *, profile: str | None = None, direction: str | None = None, outcome: str | None = None,
          kind: str | None = None, text: str | None = None, after_delivery: int = 0, after_request: int = 0,
          limit: int = 300) -> tuple[list[dict], list[dict]]:
    """(deliveries, requests) matching the filters (None or "": any), newer than the given ids, newest first.

    `direction` "in" is deliveries only and "out" requests only; an outcome only one side has rules out the other.
    """
    profile, outcome, kind, text = profile or None, outcome or None, kind or None, text or None
    deliveries, sent = [], []
    if direction != "out" and outcome not in REQUEST_OUTCOMES:
        deliveries = store.list_deliveries(profile=profile, outcome=outcome, kind=kind, text=text,
                                           after_id=after_delivery, limit=limit)
    if direction != "in" and outcome not in DELIVERY_OUTCOMES:
        sent = [r for r in store.list_requests(profile=profile, text=text, after_id=after_request, limit=limit)
                if request_matches(r, outcome, kind)]
    return deliveries, sent


def newest_ids(store) -> tuple[int, int]:
    """The ids of the newest delivery and the newest request (0 when none): a cheap "anything new?"."""
    delivery, request = store.list_deliveries(limit=1), store.list_requests(limit=1)
    return (delivery[0]["id"] if delivery else 0), (request[0]["id"] if request else 0)


def lookup(store, key: str | None) -> tuple[str, dict] | None:
    """The entry named by an Entry key ("d-12", "r-5") as ("d" or "r", its row); None when there is none."""
    source, _, number = (key or "").partition("-")
    if source not in ("d", "r") or not number.isdigit():
        return None
    row = store.get_delivery(int(number)) if source == "d" else store.get_request(int(number))
    return (source, row) if row else None


def item_from_params(params) -> str | None:
    """The entry a link names: ?item=d-12, or ?delivery=12, or ?request=5."""
    return params.get("item") or (f"d-{params['delivery']}" if params.get("delivery") else None) or (
        f"r-{params['request']}" if params.get("request") else None)


def conversation_of(store, message_id: int | None) -> dict | None:
    """The conversation a message belongs to; None when the message or its conversation is gone."""
    message = store.get_message(message_id) if message_id else None
    return store.get_conversation(message["conversation"]) if message else None
