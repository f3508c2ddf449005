"""Replaying a stored delivery through the receiver, signed with the profile's current key."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import requests

from .bodies import body_bytes
from .curl import delivery_url, is_handshake, signed_headers
from .timeline import newest_ids

REPLAY_AGENT = "apichat-console-replay"


@dataclass(frozen=True)
class ReplayResult:
    url: str
    status: int | None
    body: str
    duration_ms: float
    error: str = ""

    @property
    def outcome(self) -> str:
        """What the receiver made of it: accepted, duplicate, verified, or why it refused."""
        if self.status is None:
            return "not delivered"
        try:
            data = json.loads(self.body)
        except ValueError:
            data = None
        if self.status == 200 and isinstance(data, dict):
            return "duplicate" if data.get("duplicate") else "accepted"
        if self.status == 200:
            return "handshake verified"
        return f"refused ({self.status})"


def replay(delivery: dict, key: str, receiver_url: str, session: requests.Session | None = None,
           timeout: float = 10.0) -> ReplayResult:
    """Send a stored delivery again to the receiver, signed with `key` (the profile's current one).

    A handshake is re-run as docs/protocol.md §3 describes it, with `key` as hub_verify_token and a new challenge.
    """
    url = delivery_url(delivery, receiver_url)
    http = session or requests
    started = time.monotonic()
    try:
        if is_handshake(delivery):
            challenge = secrets.token_hex(16)
            answer = http.post(url, data={"hub_mode": "subscribe", "hub_verify_token": key,
                                          "hub_challenge": challenge},
                               headers={"User-Agent": REPLAY_AGENT}, timeout=timeout)
            text = answer.text
            if answer.status_code == 200 and text != challenge:
                text = f"answered 200 but not with the challenge {challenge!r}: {text[:200]!r}"
        else:
            body = body_bytes(delivery.get("body"))
            headers = dict(signed_headers(delivery, body, key))
            headers["User-Agent"] = REPLAY_AGENT
            answer = http.post(url, data=body, headers=headers, timeout=timeout)
            text = answer.text
    except requests.RequestException as exc:
        return ReplayResult(url, None, "", (time.monotonic() - started) * 1000, f"{type(exc).__name__}: {exc}")
    return ReplayResult(url, answer.status_code, text[:20_000], (time.monotonic() - started) * 1000)


def can_replay(delivery: dict) -> str | None:
    """None when the delivery can be replayed, else why not."""
    if is_handshake(delivery):
        return None
    if not delivery.get("body"):
        return "nothing to replay: the body was not kept (empty, or refused before it was read)"
    if delivery.get("body_size", 0) > len(body_bytes(delivery.get("body"))):
        return "the stored body was cut at the store's size limit, so it cannot be re-sent exactly"
    return None


def replay_blocker(delivery: dict, profile: dict | None) -> str | None:
    """None when `delivery` can be replayed with `profile` (its profile as stored now), else why not."""
    if profile is None:
        return f"its profile {delivery['profile']!r} no longer exists, so there is no key to sign with"
    if not profile["verify_key"]:
        return "its profile has no verification key to sign with"
    return can_replay(delivery)


def find_replayed(store, delivery: dict, after_id: int) -> int | None:
    """The delivery the receiver stored for a replay of `delivery`, among those after `after_id`: the first on the
    same route with the same body (a handshake's body differs each time: its challenge is new)."""
    digest = hashlib.sha256(body_bytes(delivery["body"])).hexdigest()
    stored = [d for d in store.list_deliveries(after_id=after_id, limit=50)
              if d["route"] == delivery["route"] and (d["body_sha256"] == digest or is_handshake(d))]
    return stored[-1]["id"] if stored else None


def replay_and_find(store, delivery: dict, key: str, receiver_url: str,
                    session: requests.Session | None = None) -> tuple[ReplayResult, int | None]:
    """Replay `delivery`, then find what the receiver stored for it: (the result, the new delivery's id or None)."""
    before = newest_ids(store)[0]
    result = replay(delivery, key, receiver_url, session=session)
    return result, find_replayed(store, delivery, before)
