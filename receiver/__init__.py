"""The webhook receiver: UChat's handshake, signed bot messages, uploaded media, health.

The only part of the console that faces the internet. It checks every signature over the raw
bytes and commits every delivery to the store before it answers 2xx.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, jsonify, request, send_file
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from apichat import signing
from apichat.config import Settings, load_settings
from apichat.media import guess_type, media_path
from apichat.payloads import parse_bot_message
from apichat.profiles import ensure_env_profile
from apichat.redact import without_token
from apichat.store import StaleProfiles, Store, StoreUnavailable

log = logging.getLogger("receiver")
INLINE_TYPES = ("image/", "audio/", "video/", "text/plain", "application/pdf")
HUB_FIELDS = ("mode", "verify_token", "challenge")
OK = b'{"status":"ok"}\n'
OK_DUPLICATE = b'{"status":"ok","duplicate":true}\n'


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

    if request.environ.get("QUERY_STRING"):
        take(request.args)
    if (request.mimetype or "").lower() in ("application/x-www-form-urlencoded", "multipart/form-data"):
        take(request.form)
    if isinstance(data, dict):
        if any(isinstance(k, str) and k[:3].lower() == "hub" for k in data):  # a bot message has none
            take(data)
    elif data is None and raw and b"hub" in raw[:200] and b"=" in raw:
        take(parse_qs(raw.decode("utf-8", errors="replace")))
    return found


def create_app(config: Settings | Mapping[str, Any] | None = None, store: Store | None = None) -> Flask:
    """The receiver app: settings from the environment, overridden by `config`."""
    settings = config if isinstance(config, Settings) else load_settings().replace(**dict(config or {}))
    store = store or Store(settings.db_path)
    ensure_env_profile(store, settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_body_bytes
    app.extensions["apichat"] = {"settings": settings, "store": store}

    def deliver(status: int, outcome: str, reason: str, profile: str, raw: bytes | None, **extra) -> None:
        try:
            store.record_delivery(profile=profile, route=request.path, method=request.method,
                                  headers=dict(request.headers), body=raw, outcome=outcome, status_code=status,
                                  reason=reason, remote_addr=request.remote_addr or "", **extra)
        except Exception:  # the answer to the sender matters more than the log entry
            log.exception("could not record a %s delivery", outcome)
        log.info("%s %r -> %s %s (%s)", request.method, request.path, status, outcome, reason)

    def refuse(status: int, reason: str, profile: str, raw: bytes | None, outcome: str = "rejected", **extra):
        deliver(status, outcome, reason, profile, raw, **extra)
        return jsonify(status="error", reason=reason), status

    @app.route("/webhook", methods=["GET", "POST"], defaults={"name": None})
    @app.route("/webhook/<name>", methods=["GET", "POST"])
    def webhook(name: str | None):
        store.check()  # a deleted or replaced store answers 503 (store_unavailable), never a 2xx for what is not kept
        # Profiles come from the store's in-memory copy (no query per webhook); every answer other than
        # "accepted" is decided on a fresh read, and the store refuses an acceptance verified on a stale copy.
        profiles = store.profiles()
        profile = profiles.lookup(name)
        try:
            raw = request.get_data(cache=True)
        except RequestEntityTooLarge:
            profile = store.profiles(fresh=True).lookup(name)
            return refuse(413, f"body larger than {settings.max_body_bytes} bytes", name or _name(profile), None,
                          body_size=request.content_length or 0)
        if profile is None:
            profiles = store.profiles(fresh=True)
            profile = profiles.lookup(name)
            if profile is None:
                reason = f"no profile named {name!r}" if name else "no connection profile is set up yet"
                return refuse(404, reason, name or "", raw)

        data, not_json = _json_body(raw) if raw else (None, "the body is empty")
        hub = _hub_params(raw, data)
        if hub:
            profile = store.profiles(fresh=True).lookup(name)  # a key may have been stored a moment ago
            if profile is None:
                return refuse(404, f"no profile named {name!r}" if name else "no connection profile is set up yet",
                              name or "", raw, kind="handshake")
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
                    return refuse(404, f"no profile named {name!r}" if name else "no connection profile is set "
                                  "up yet", name or "", raw)
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
        flow_ns = request.headers.get("x-flow-ns", "")
        action = request.headers.get("x-action", "")
        meta = {"flow_ns": flow_ns, "action": action}
        header = request.headers.get(signing.HEADER)  # werkzeug's headers ignore the name's case
        if not signing.verify(raw, header, profile["verify_key"]):
            if not fresh:  # a refusal is decided on what the store holds now
                current = store.profiles(fresh=True)
                profile, version = current.lookup(requested), current.version
                if profile is None:
                    return refuse(404, f"no profile named {requested!r}" if requested else "no connection profile "
                                  "is set up yet", requested or "", raw)
            if fresh or not signing.verify(raw, header, profile["verify_key"]):
                reason = signing.diagnose(raw, header, profile["verify_key"], store.profiles().verification_keys())
                return refuse(401, reason, profile["name"], raw, **meta)
        name = profile["name"]
        if not_json:
            return refuse(400, f"signed body is not JSON: {not_json}", name, raw, **meta)
        msg = parse_bot_message(data, flow_ns=flow_ns)
        try:
            outcome, delivery, message_id = store.accept_webhook(
                profile=name, route=request.path, method=request.method, headers=dict(request.headers),
                body=raw, message=msg, remote_addr=request.remote_addr or "", profiles_version=version, **meta)
        except StaleProfiles:
            raise
        except Exception as exc:
            log.exception("could not store a verified webhook")
            return jsonify(status="error", reason=f"could not store the message: {exc}"), 503
        # the delivery row is the record of an accepted webhook; a log line each would only cost time
        log.debug("POST %s -> 200 %s %s message=%s", request.path, outcome, msg.kind, message_id)
        return Response(OK_DUPLICATE if outcome == "duplicate" else OK, 200, mimetype="application/json")

    @app.get("/media/<token>/<filename>")
    def media(token: str, filename: str):
        path = media_path(settings.media_dir, token, filename)  # no traversal, no symlinks, regular files only
        if path is None:
            return jsonify(status="error", reason="no such file"), 404
        mimetype = guess_type(filename)
        inline = mimetype.startswith(INLINE_TYPES)
        response = send_file(path, mimetype=mimetype, as_attachment=not inline, download_name=filename,
                             max_age=3600)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @app.get("/healthz")
    def healthz():
        try:
            ok = store.ping()
        except Exception as exc:
            return jsonify(status="error", service="apichat-receiver", reason=str(exc)), 503
        return jsonify(status="ok" if ok else "error", service="apichat-receiver",
                       profiles=len(store.list_profiles()), store_id=store.store_id, pid=os.getpid())

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):
        log.error("%s %r -> 503: %s", request.method, request.path, exc)
        return jsonify(status="error", reason=str(exc)), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(status="error", reason=exc.description or exc.name), exc.code

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        log.exception("unexpected error on %s %r", request.method, request.path)
        return jsonify(status="error", reason=f"internal error: {type(exc).__name__}"), 500

    return app
