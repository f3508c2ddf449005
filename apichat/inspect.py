"""The inspector's domain: one timeline of webhook deliveries and requests sent, why a delivery was
rejected, replaying one through the receiver, `curl` equivalents, export, and a receiver health probe.

No Streamlit here: the page only draws what these functions return.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

import requests

from . import signing
from .redact import redact, redact_text
from .rows import headers_of

DELIVERY_OUTCOMES = ("accepted", "duplicate", "rejected", "handshake")
REQUEST_OUTCOMES = ("sent", "failed")
KEY_VARIABLES = {"partner API": "UCHAT_PARTNER_KEY", "bot_url": "UCHAT_FLOW_KEY"}
VERIFY_VARIABLE = "UCHAT_VERIFY_TOKEN"
REPLAY_AGENT = "apichat-console-replay"
_HOLE = "\ue000"  # private-use characters mark where a shell variable goes inside a quoted string
_HOLE_RE = re.compile("\ue000([A-Za-z_][A-Za-z0-9_]*)\ue001")


# ---------------------------------------------------------------- the timeline

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


# ---------------------------------------------------------------- reading the store

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


# ---------------------------------------------------------------- bodies and secrets

def body_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("utf-8")


def body_view(value: bytes | str | None) -> tuple[object | None, str]:
    """(parsed JSON or None, text) of a stored body, with verification keys masked in both."""
    text = body_bytes(value).decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return None, redact_text(text)
    return redact(data), json.dumps(redact(data), ensure_ascii=False, indent=2)


def header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


# ---------------------------------------------------------------- curl

def shell_quote(text: str) -> str:
    """`text` in single quotes for sh/bash/zsh, every byte kept (newlines too); `_var` holes become "$VAR"."""
    parts = _HOLE_RE.split(text)
    plain = parts[::2]
    if len(parts) > 1 and not any(c in part for part in plain for c in '"$`\\!\n'):
        # "Bearer $KEY" reads better than 'Bearer '"$KEY", and is the same to the shell
        return '"' + "".join(f"${p}" if i % 2 else p for i, p in enumerate(parts)) + '"'
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f'"${part}"')
        elif part or len(parts) == 1:
            out.append("'" + part.replace("'", "'\"'\"'") + "'")
    return "".join(out)


def _var(name: str) -> str:
    """A placeholder for shell variable `name` inside a string given to `shell_quote`."""
    return f"{_HOLE}{name}\ue001"


def _printf_octal(raw: bytes) -> str:
    """A printf format that writes exactly `raw` (for bodies that are not UTF-8 text)."""
    out = []
    for index, byte in enumerate(raw):
        char = chr(byte)
        if char == "-" and index == 0:  # a format starting with '-' would be read as an option
            out.append("\\055")
        elif char == "%":
            out.append("%%")
        elif char == "\\":
            out.append("\\\\")
        elif 32 <= byte < 127 and char != "'":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


def _shell_safe_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _curl(method: str, url: str, headers: list[tuple[str, str]], body: bytes | str | None,
          body_file: str | None = None) -> str:
    lines = [f"curl -sS -i -X {method} {shell_quote(url)}"]
    for name, value in headers:
        lines.append(f"  -H {shell_quote(f'{name}: {value}')}")
    prefix = ""
    if body_file:
        lines.append(f"  --data-binary @{shell_quote(body_file)}")
    elif body:
        text = body if isinstance(body, str) else _shell_safe_text(body)
        if text is None:  # not UTF-8 text, or a NUL byte no shell string can hold: let printf write the bytes
            prefix = f"printf {shell_quote(_printf_octal(body))} | "
            lines.append("  --data-binary @-")
        else:
            lines.append(f"  --data-binary {shell_quote(text)}")
    return prefix + " \\\n".join(lines)


def delivery_url(delivery: dict, base_url: str) -> str:
    return base_url.rstrip("/") + (delivery.get("route") or "/webhook")


def signed_headers(delivery: dict, body: bytes, key: str) -> list[tuple[str, str]]:
    """The headers UChat sends with a webhook, signed afresh with `key`."""
    stored = headers_of(delivery)
    out = [("Content-Type", header(stored, "content-type") or "application/json"),
           (signing.HEADER, signing.sign(body, key))]
    if delivery.get("flow_ns"):
        out.append(("x-flow-ns", delivery["flow_ns"]))
    if delivery.get("action"):
        out.append(("x-action", delivery["action"]))
    return out


def is_handshake(delivery: dict) -> bool:
    return delivery.get("kind") == "handshake"


def curl_for_delivery(delivery: dict, key: str, base_url: str, body_file: str | None = None) -> str:
    """A curl that re-sends a delivery's exact body to `base_url` + its route, with a fresh signature.

    A handshake becomes UChat's form POST (docs/protocol.md §3) with the key as $UCHAT_VERIFY_TOKEN (never the real key).
    `body_file` (a file holding the exact bytes) keeps a large body off the command line.
    """
    url = delivery_url(delivery, base_url)
    if is_handshake(delivery):
        challenge = _stored_challenge(delivery) or secrets.token_hex(16)
        return (f"curl -sS -i -X POST {shell_quote(url)} \\\n  -d hub_mode=subscribe \\\n"
                f"  --data-urlencode \"hub_verify_token=${VERIFY_VARIABLE}\" \\\n"
                f"  -d hub_challenge={shell_quote(challenge)}")
    body = body_bytes(delivery.get("body"))
    return _curl("POST", url, signed_headers(delivery, body, key), body, body_file)


def curl_for_request(row: dict) -> str:
    """A curl for a request the console sent, its key as $UCHAT_PARTNER_KEY or $UCHAT_FLOW_KEY."""
    target = request_target(row)
    headers = [("Authorization", f"Bearer {_var(KEY_VARIABLES[target])}")]
    for name, value in headers_of(row, "request_headers").items():
        if name.lower() in ("content-type", "accept"):
            headers.append((name, str(value)))
    body = row.get("request_body") or ""
    if body:
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if data is not None:
            body = json.dumps(redact(data, placeholder=_var(VERIFY_VARIABLE)), ensure_ascii=False)
    return _curl(row.get("method") or "GET", row.get("url") or "", headers, body or None)


def _stored_challenge(delivery: dict) -> str:
    text = body_bytes(delivery.get("body")).decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
        pairs = list(data.items()) if isinstance(data, dict) else []
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True)
    for name, value in pairs:
        if str(name).lower() in ("hub_challenge", "hub.challenge") and isinstance(value, str):
            return value
    return ""


# ---------------------------------------------------------------- replay

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


# ---------------------------------------------------------------- explanations

@dataclass(frozen=True)
class Explanation:
    cause: str  # short: what went wrong
    detail: str  # what it means
    fix: str  # what to do about it
    recheck: str = ""  # what checking again with today's keys says, when that adds something


SIGNATURE_CAUSES = (
    # (part of the receiver's reason, cause, detail, fix)
    ("no X-Hub-Signature-256", "No signature header",
     "The request carried no X-Hub-Signature-256 header. UChat signs every API Chat webhook, so this came "
     "from something else (a person or script calling the URL, a health checker), or a proxy in between "
     "dropped the header.",
     "If it came through a tunnel or reverse proxy, make it forward all headers unchanged."),
    ("no verification key", "This profile has no verification key",
     "The receiver cannot check a signature without the profile's verification key.",
     "On Connect, generate a verification key and press Set webhook (the key is stored, then sent to UChat)."),
    ("verification key of profile", "Signed with another profile's key",
     "The signature verifies with a different profile's verification key: the workspace's webhook was set "
     "from that profile, or UChat calls this profile's URL for a workspace that belongs to another one.",
     "Set the webhook again from the profile that should receive these messages, or compare the webhook URLs "
     "of the two profiles on Connect (Get webhook)."),
    ("altered in transit", "Body altered after signing",
     "The signature matches a slightly different body: something between UChat and the receiver rewrote the "
     "bytes (re-serialized JSON, changed escaping or whitespace). Signatures are checked over the exact bytes.",
     "Make the tunnel or proxy pass the body through untouched (no JSON re-formatting, no compression rewrite)."),
    ("sha1=", "Wrong signature prefix (sha1=)",
     "The header uses sha1=; API Chat signs with HMAC-SHA256 as sha256=<64 hex digits>.",
     "The sender is not UChat's API Chat, or it is configured for another kind of webhook."),
    ("base64", "Signature encoding wrong (base64)",
     "The signature looks base64-encoded; UChat sends sha256= followed by 64 hexadecimal digits.",
     "The sender is not UChat's API Chat, or something rewrote the header."),
    ("malformed", "Signature header malformed",
     "The header is not sha256=<64 hex digits>, so no key can verify it.",
     "Check what sends to this URL: UChat's header is exactly 'sha256=' plus a hex HMAC-SHA256."),
    ("wrong key or body altered", "Wrong verification key",
     "The HMAC matches neither this profile's verification key nor any other profile's. Most often the "
     "workspace's webhook was set with a different key (from another console or tool, or the key was changed "
     "here without pressing Set webhook again).",
     "On Connect, press Get webhook to see what UChat has, then Set webhook: the console stores its key and "
     "sends the same one to UChat."),
)

OTHER_CAUSES = (
    # (status, part of the reason, cause, detail, fix)
    (404, "no profile named", "Unknown profile in the URL",
     "The webhook URL names a profile that does not exist in this console (deleted, renamed or misspelled). "
     "Conversations of a deleted profile stay readable, but nothing new can be verified for it.",
     "Set the webhook again from an existing profile on Connect (its URL ends in /webhook/<profile>)."),
    (404, "no connection profile", "No profile yet",
     "The plain /webhook URL goes to the default profile, and there is none yet.",
     "Create a profile on Connect and set its webhook."),
    (413, "", "Body too large",
     "The body was larger than the receiver's limit (1 MiB by default) and was refused before it was read.",
     "UChat's messages are small; a body this size is not an API Chat message."),
    (400, "not JSON", "Signed, but not JSON",
     "The signature was right, but the body is not JSON. UChat always sends JSON.",
     "Look at the body below: a proxy may have replaced it (an error page), or the sender is not UChat."),
    (400, "GET is only for", "A plain GET",
     "A GET without hub_* parameters: someone opened the webhook URL in a browser, or a monitor probed it.",
     "Nothing to fix. To test the tunnel, use Check public URL on Connect."),
    (403, "hub_verify_token", "Handshake: verification key mismatch",
     "UChat sent a hub_verify_token that differs from this profile's verification key, so the receiver "
     "refused to confirm the webhook (403).",
     "Press Set webhook on Connect again: it stores the key first and sends UChat the same one."),
    (403, "no verification key", "Handshake: profile has no key",
     "The profile has no verification key, so no handshake can be confirmed.",
     "Generate a verification key on Connect, then Set webhook."),
    (400, "hub_mode", "Handshake: wrong hub_mode",
     "The handshake's hub_mode was not 'subscribe'.",
     "The caller is not UChat's API Chat verification, or it sent another kind of request."),
    (400, "hub_challenge", "Handshake without a challenge",
     "The handshake had no hub_challenge to echo back.",
     "The caller is not UChat's API Chat verification."),
)


def explain(delivery: dict, keys: dict[str, str] | None = None) -> Explanation | None:
    """Why a delivery was rejected and what to do; None when it was not rejected.

    `keys` are the profiles' current verification keys: the signature is checked again with them,
    since a key changed after the delivery arrived tells a different story.
    """
    if delivery.get("outcome") not in ("rejected", "error"):
        return None
    reason = delivery.get("reason") or ""
    status = delivery.get("status_code")
    if status == 401:
        for needle, cause, detail, fix in SIGNATURE_CAUSES:
            if needle.lower() in reason.lower():
                return Explanation(cause, detail, fix, recheck(delivery, keys or {}))
        return Explanation("Signature not accepted", reason or "The signature did not verify.",
                           "Set the webhook again from Connect so UChat and the console share one key.",
                           recheck(delivery, keys or {}))
    for code, needle, cause, detail, fix in OTHER_CAUSES:
        if status == code and needle.lower() in reason.lower():
            return Explanation(cause, detail, fix)
    return Explanation(f"Refused with {status}", reason or "The receiver gave no reason.",
                       "See the receiver's log (data/receiver.log) for more.")


def recheck(delivery: dict, keys: dict[str, str]) -> str:
    """The signature checked again with today's keys, when that says something the stored reason does not."""
    body = body_bytes(delivery.get("body"))
    value = header(headers_of(delivery), signing.HEADER)
    if value is None or "•" in value or not body:
        return ""
    profile = delivery.get("profile") or ""
    key = keys.get(profile, "")
    others = {name: k for name, k in keys.items() if name != profile}
    now = signing.diagnose(body, value, key, others)
    if now == "signature is valid":
        return ("Checked again now: the signature verifies with this profile's current key, so the key was "
                "changed after this delivery arrived. Replay would be accepted.")
    if now != (delivery.get("reason") or ""):
        return f"Checked again now with the current keys: {now}."
    return ""


# ---------------------------------------------------------------- export

def export_json(deliveries: list[dict], sent: list[dict]) -> str:
    """Deliveries and requests as a JSON document, newest first, bodies parsed, keys masked."""
    items = []
    for row in deliveries:
        data, text = body_view(row.get("body"))
        item = {k: v for k, v in row.items() if k not in ("body", "headers")}
        item.update(type="delivery", headers=headers_of(row), body=data if data is not None else text)
        items.append(item)
    for row in sent:
        request_data, request_text = body_view(row.get("request_body"))
        response_data, response_text = body_view(row.get("response_body"))
        item = {k: v for k, v in row.items() if k not in ("request_body", "response_body", "request_headers")}
        item.update(type="request", target=request_target(row), request_headers=headers_of(row, "request_headers"),
                    request_body=request_data if request_data is not None else request_text,
                    response_body=response_data if response_data is not None else response_text)
        items.append(item)
    items.sort(key=lambda i: i.get("received_at") or i.get("created_at") or 0, reverse=True)
    return json.dumps({"exported_at": time.time(), "count": len(items), "items": items}, ensure_ascii=False,
                      indent=2, default=str)


# ---------------------------------------------------------------- is the receiver reachable?

@dataclass(frozen=True)
class Probe:
    ok: bool
    message: str
    warning: str = ""


def probe_receiver(url: str, local_url: str | None = None, session: requests.Session | None = None,
                   timeout: float = 6.0) -> Probe:
    """GET <url>/healthz and say whether this console's receiver answers there (a tunnel's first test)."""
    http = session or requests
    target = url.rstrip("/") + "/healthz"
    try:
        answer = http.get(target, timeout=timeout)
    except requests.exceptions.SSLError as exc:
        return Probe(False, f"{target}: TLS/certificate problem — {exc}")
    except requests.Timeout:
        return Probe(False, f"{target} did not answer within {timeout:g} s: is the tunnel running?")
    except requests.ConnectionError as exc:
        text = str(exc)
        why = ("connection refused: nothing listens there" if "refused" in text.lower()
               else "the host could not be reached (DNS or network)")
        return Probe(False, f"{target}: {why}. Start the tunnel and check APICHAT_PUBLIC_URL.")
    except requests.RequestException as exc:
        return Probe(False, f"{target}: {type(exc).__name__}: {exc}")
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("service") != "apichat-receiver":
        snippet = " ".join(answer.text.split())[:160] or "(empty)"
        return Probe(False, f"{target} answered {answer.status_code}, but not as this console's receiver: "
                            f"{snippet}. The tunnel may point at another port or program.")
    if answer.status_code != 200 or data.get("status") != "ok":
        return Probe(False, f"{target}: the receiver answers but is not healthy ({answer.status_code}): "
                            f"{data.get('reason') or data.get('status')}")
    warning = ""
    if local_url and local_url.rstrip("/") != url.rstrip("/"):
        try:
            local = http.get(local_url.rstrip("/") + "/healthz", timeout=timeout).json()
        except (requests.RequestException, ValueError):
            local = None
        if isinstance(local, dict) and local.get("pid") and data.get("pid") and local["pid"] != data["pid"]:
            warning = (f"A receiver answers, but it is process {data['pid']}, while this console's receiver is "
                       f"process {local['pid']}: the tunnel may lead to another console.")
    return Probe(True, f"{target} answers: the receiver is reachable at this URL.", warning)


# ---------------------------------------------------------------- text shown verbatim

_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:=")


def literal(text: str) -> str:
    """`text` escaped so Markdown shows it verbatim (UChat's messages: no italics, no LaTeX from `$`)."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in str(text))
