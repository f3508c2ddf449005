"""UChat's partner API for API Chat: get, set (with the verification handshake) and remove a webhook."""

from __future__ import annotations

import errno
import secrets

import requests
from flask import Blueprint, current_app, jsonify, request

from .state import EMPTY_WEBHOOK
from .validation import is_http_url, json_type

bp = Blueprint("partner", __name__)
SNIPPET = 200


def bearer_problem(expected: str, label: str) -> str | None:
    """None when the request carries `Authorization: Bearer <expected>`, else what is wrong with it."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header.strip():
        return f"Unauthenticated: send Authorization: Bearer <{label}>"
    if scheme.lower() != "bearer" or not token.strip():
        return f"Unauthenticated: the Authorization header must be 'Bearer <{label}>'"
    if not secrets.compare_digest(token.strip().encode(), expected.encode()):
        return f"Invalid {label}"
    return None


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"


def _refused(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
            return True
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, BaseException) and _refused(arg):
                return True
        exc = exc.__cause__ or exc.__context__
    return "refused" in str(exc or "").lower()


def handshake(session: requests.Session, url: str, key: str, timeout: float) -> str | None:
    """POST the three hub_* fields of docs/protocol.md §3 to `url`; None when it answers 200 with the challenge, else why not."""
    challenge = secrets.token_hex(16)
    fields = {"hub_mode": "subscribe", "hub_verify_token": key, "hub_challenge": challenge}
    try:
        answer = session.post(url, data=fields, timeout=timeout)
    except requests.Timeout:
        return f"Webhook verification failed: {url} did not answer within {timeout:g} s"
    except requests.ConnectionError as exc:
        if _refused(exc):
            return f"Webhook verification failed: connection refused by {url}"
        return f"Webhook verification failed: could not reach {url} ({_snippet(str(exc))})"
    except requests.RequestException as exc:
        return f"Webhook verification failed: could not call {url} ({_snippet(str(exc))})"
    if answer.status_code != 200:
        return (f"Webhook verification failed: {url} answered {answer.status_code} "
                f"instead of 200 with the challenge; body: {_snippet(answer.text) or '(empty)'}")
    if answer.text != challenge:
        return (f"Webhook verification failed: {url} answered 200 but the body was {answer.text[:SNIPPET]!r}, "
                f"not exactly the hub_challenge {challenge!r}")
    return None


def _error(status: int, message: str):
    return jsonify(message=message), status


def _webhook_fields() -> tuple[str, str] | str:
    """(webhook_url, key) from a JSON (or form) body, or the message saying what is wrong."""
    body = request.get_json(silent=True) if request.is_json else None
    if body is None and request.form:
        body = request.form.to_dict()
    if not isinstance(body, dict):
        return "The body must be a JSON object with webhook_url and webhook_verification_key"
    values = []
    for name in ("webhook_url", "webhook_verification_key"):
        value = body.get(name)
        if value is None:
            return f"The {name} field is required"
        if not isinstance(value, str):
            return f"The {name} field must be a string, got {json_type(value)}"
        if not value.strip():
            return f"The {name} field must not be empty"
        values.append(value.strip())
    if not is_http_url(values[0]):
        return f"The webhook_url must be an http:// or https:// URL, got {values[0][:100]!r}"
    return values[0], values[1]


@bp.route("/api/partner/workspace/<workspace_id>/apichat-webhook", methods=["GET", "POST", "DELETE"])
def webhook(workspace_id: str):
    sandbox = current_app.extensions["sandbox"]
    problem = bearer_problem(sandbox.config.partner_key, "partner API key")
    if problem:
        return _error(401, problem)
    if request.method == "GET":
        return jsonify(status="ok", data=sandbox.webhook_data(workspace_id))
    if request.method == "DELETE":
        sandbox.state.remove_webhook(workspace_id)
        return jsonify(status="ok", data=dict(EMPTY_WEBHOOK))
    fields = _webhook_fields()
    if isinstance(fields, str):
        return _error(400, fields)
    url, key = fields
    failure = handshake(sandbox.session, url, key, sandbox.config.handshake_timeout)
    if failure:
        return _error(400, failure)
    sandbox.state.set_webhook(workspace_id, url, key)
    return jsonify(status="ok", data=sandbox.webhook_data(workspace_id))
