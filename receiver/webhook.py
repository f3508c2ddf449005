"""The webhook: UChat's verification handshake and the bot's signed messages (docs/protocol.md §3, §5, §6).

Every delivery is kept, accepted or not, with its reason; an accepted one is committed before the 2xx.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from apichat import signing
from apichat.payloads import parse_bot_message
from apichat.redact import without_token
from apichat.store import StaleProfiles, Store, StoreUnavailable

log = logging.getLogger("receiver")
bp = Blueprint("webhook", __name__)
HUB_FIELDS = ("mode", "verify_token", "challenge")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
OK = b'{"status":"ok"}\n'
OK_DUPLICATE = b'{"status":"ok","duplicate":true}\n'
SIGNATURE_KEY = "HTTP_" + signing.HEADER.upper().replace("-", "_")  # the header's key in the WSGI environ


def _store() -> Store:
    return current_app.extensions["apichat"]["store"]


def _name(profile: dict | None) -> str:
    return profile["name"] if profile else ""


def _json_body(raw: bytes) -> tuple[Any, str]:
    """The body decoded as JSON, or (None, why it is not JSON); decoded once per request."""
    try:
        return json.loads(raw), ""
    except RecursionError:
        return None, "nested too deeply"
    except ValueError as exc:
        return None, str(exc)


def _is_text(value: str) -> bool:
    """True when `value` can be sent as UTF-8 (a lone surrogate cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _hub_params(raw: bytes, data: Any) -> dict[str, str]:
    """hub_mode / hub_verify_token / hub_challenge from wherever a sender put them."""
    found: dict[str, str] = {}

    def take(mapping: Mapping[str, Any]) -> None:
        for field in HUB_FIELDS:
            for name in (f"hub_{field}", f"hub.{field}", f"hub-{field}"):
                value = mapping.get(name)
                if isinstance(value, list):
                    value = value[0] if value else None
                if value is not None and field not in found:
                    found[field] = str(value)
        nested = mapping.get("hub")
        if isinstance(nested, dict):
            for field in HUB_FIELDS:
                if nested.get(field) is not None and field not in found:
                    found[field] = str(nested[field])

    environ = request.environ  # read directly: this runs for every webhook
    if environ.get("QUERY_STRING"):
        take(request.args)
    if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() in FORM_TYPES:
        take(request.form)
    if isinstance(data, dict):
        if any(isinstance(k, str) and k[:3].lower() == "hub" for k in data):  # a bot message has none
            take(data)
    elif data is None and raw and b"hub" in raw[:200] and b"=" in raw:
        take(parse_qs(raw.decode("utf-8", errors="replace")))
    return found


def deliver(status: int, outcome: str, reason: str, profile: str, raw: bytes | None, **extra) -> None:
    """Keep a delivery that did not become a message; its log line."""
    try:
        _store().record_delivery(profile=profile, route=request.path, method=request.method,
                              headers=dict(request.headers), body=raw, outcome=outcome, status_code=status,
                              reason=reason, remote_addr=request.remote_addr or "", **extra)
    except StoreUnavailable:  # no store: 503 (a refusal or a challenge answered now would keep nothing)
        raise
    except Exception:  # the answer to the sender matters more than the log entry
        log.exception("could not record a %s delivery", outcome)
    log.info("%s %r -> %s %s (%s)", request.method, request.path, status, outcome, reason)

def refuse(status: int, reason: str, profile: str, raw: bytes | None, outcome: str = "rejected", **extra):
    deliver(status, outcome, reason, profile, raw, **extra)
    return jsonify(status="error", reason=reason), status

def no_profile(name: str | None, raw: bytes | None, **extra):
    """404 for a webhook URL naming no profile (or /webhook before any profile exists)."""
    reason = f"no profile named {name!r}" if name else "no connection profile is set up yet"
    return refuse(404, reason, name or "", raw, **extra)


@bp.route("/webhook", methods=["GET", "POST"], defaults={"name": None})
@bp.route("/webhook/<name>", methods=["GET", "POST"])
def webhook(name: str | None):
    store, settings = _store(), current_app.extensions["apichat"]["settings"]
    # A deleted or replaced store answers 503 (store_unavailable), never a 2xx for what is not kept: every
    # answer writes a delivery, and the store checks its file after each commit (not here as well: each
    # os.stat lets the GIL go, which under load is a thread switch there and one back).
    # Profiles come from the store's in-memory copy (no query per webhook); every answer other than
    # "accepted" is decided on a fresh read, and the store refuses an acceptance verified on a stale copy.
    profiles = store.profiles()
    profile = profiles.lookup(name)
    try:
        # MAX_CONTENT_LENGTH is the cap plus one byte: a chunked body (no Content-Length) is cut there by the
        # stream, so one byte over the cap is how it shows it was longer
        raw = request.get_data(cache=True)
        if len(raw) > settings.max_body_bytes:
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        profile = store.profiles(fresh=True).lookup(name)
        return refuse(413, f"body larger than {settings.max_body_bytes} bytes", name or _name(profile), None,
                      body_size=request.content_length or settings.max_body_bytes + 1)
    except Exception as exc:  # noqa: BLE001 - the server could not read the body: bad chunked framing, a client gone
        profile = store.profiles(fresh=True).lookup(name)
        timed_out = any(isinstance(e, BlockingIOError) for e in (exc, exc.__cause__, exc.__context__))
        why = ("the client stopped sending it: nothing within the receiver's --read-timeout" if timed_out
               else f"{type(exc).__name__}: {str(exc)[:200]}")
        return refuse(400, f"the body could not be read ({why})", name or _name(profile), None,
                      body_size=request.content_length or 0)
    if profile is None:
        profiles = store.profiles(fresh=True)
        profile = profiles.lookup(name)
        if profile is None:
            return no_profile(name, raw)

    data, not_json = _json_body(raw) if raw else (None, "the body is empty")
    hub = _hub_params(raw, data)
    if hub:
        profile = store.profiles(fresh=True).lookup(name)  # a key may have been stored a moment ago
        if profile is None:
            return no_profile(name, raw, kind="handshake")
        return handshake(hub, profile, raw)
    if request.method == "GET":
        return refuse(400, "GET is only for the verification handshake (hub_mode, hub_verify_token, "
                      "hub_challenge)", profile["name"], raw)
    fresh = False
    for _ in range(3):  # a profile changed under us: verify again against the new one
        try:
            return message(name, profile, profiles.version, fresh, raw, data, not_json)
        except StaleProfiles:
            profiles, fresh = store.profiles(fresh=True), True
            profile = profiles.lookup(name)
            if profile is None:
                return no_profile(name, raw)
    return jsonify(status="error", reason="the connection profiles kept changing; send again"), 503

def handshake(hub: dict[str, str], profile: dict, raw: bytes):
    name = profile["name"]
    raw = without_token(raw, hub.get("verify_token", ""))  # what is stored and shown; checks use `hub`
    mode = hub.get("mode", "")
    if mode.strip().lower() != "subscribe":
        return refuse(400, f"hub_mode is {mode!r}, expected 'subscribe'", name, raw, kind="handshake")
    if "challenge" not in hub:
        return refuse(400, "hub_challenge is missing", name, raw, kind="handshake")
    key = profile["verify_key"]
    token = hub.get("verify_token", "")
    if not key or not signing.constant_time_equal(token, key):
        reason = ("this profile has no verification key" if not key
                  else "hub_verify_token does not match the profile's verification key")
        return refuse(403, reason, name, raw, kind="handshake")
    if not _is_text(hub["challenge"]):  # JSON's "\ud800" escape: no bytes could echo it exactly
        return refuse(400, "hub_challenge is not valid text (a lone UTF-16 surrogate)", name, raw,
                      kind="handshake")
    deliver(200, "handshake", "verified: answered the challenge", name, raw, kind="handshake")
    return Response(hub["challenge"], status=200, mimetype="text/plain")

def message(requested: str | None, profile: dict, version: int, fresh: bool, raw: bytes, data: Any,
            not_json: str):
    store, req = _store(), request._get_current_object()  # one lookup of the request, not one per use
    environ = req.environ
    flow_ns = environ.get("HTTP_X_FLOW_NS", "")
    action = environ.get("HTTP_X_ACTION", "")
    meta = {"flow_ns": flow_ns, "action": action}
    header = environ.get(SIGNATURE_KEY)  # what request.headers.get(signing.HEADER) reads, whatever the case
    if not signing.verify(raw, header, profile["verify_key"]):
        if not fresh:  # a refusal is decided on what the store holds now
            current = store.profiles(fresh=True)
            profile, version = current.lookup(requested), current.version
            if profile is None:
                return no_profile(requested, raw)
        if fresh or not signing.verify(raw, header, profile["verify_key"]):
            reason = signing.diagnose(raw, header, profile["verify_key"], store.profiles().verification_keys())
            return refuse(401, reason, profile["name"], raw, **meta)
    name = profile["name"]
    if not_json:
        return refuse(400, f"signed body is not JSON: {not_json}", name, raw, **meta)
    msg = parse_bot_message(data, flow_ns=flow_ns)
    try:
        outcome, delivery, message_id = store.accept_webhook(
            profile=name, route=req.path, method=req.method, headers=dict(req.headers),
            body=raw, message=msg, remote_addr=req.remote_addr or "", profiles_version=version, **meta)
    except (StaleProfiles, StoreUnavailable):  # verified again / the store's own 503 and its reason
        raise
    except Exception as exc:
        log.exception("could not store a verified webhook")
        return jsonify(status="error", reason=f"could not store the message: {exc}"), 503
    # the delivery row is the record of an accepted webhook; a log line each would only cost time
    log.debug("POST %s -> 200 %s %s message=%s", req.path, outcome, msg.kind, message_id)
    return Response(OK_DUPLICATE if outcome == "duplicate" else OK, 200, mimetype="application/json")
