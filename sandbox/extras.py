"""The sandbox's own routes under /sandbox: fault switches, what it received and sent, its state, demo media."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from apichat.redact import mask

from .bot import FAULTS
from .state import bot_code, flow_ns
from .validation import json_type

bp = Blueprint("extras", __name__)
MEDIA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "media")
MAX_FAULT_DELAY = 300
# Explicit types: the system's mimetypes table may not know .webm, and browsers need it to play the clip.
MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".wav": "audio/wav", ".webm": "video/webm",
               ".pdf": "application/pdf", ".txt": "text/plain"}


def _sandbox():
    return current_app.extensions["sandbox"]


def _since() -> int | tuple:
    raw = request.args.get("since", "0").strip() or "0"
    if not raw.isdigit():
        return jsonify(message=f"since must be a whole number, got {raw!r}"), 400
    return int(raw)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", service="apichat-sandbox", pid=os.getpid())


@bp.get("/sandbox/media/<name>")
def media(name: str):
    mimetype = MEDIA_TYPES.get(os.path.splitext(name)[1].lower())
    if mimetype is None:
        return jsonify(message=f"no demo media named {name!r}"), 404
    # send_from_directory refuses paths that leave the folder, so only the shipped files are served.
    response = send_from_directory(MEDIA_DIR, name, mimetype=mimetype, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _fault_request(body) -> dict | str:
    """The switch asked for by a POST body, or the message saying what is wrong with it."""
    if not isinstance(body, dict):
        return "the body must be a JSON object like {\"fault\": \"drop\", \"count\": 1}"
    fault = body.get("fault")
    if fault not in FAULTS:
        return f"fault must be one of {', '.join(FAULTS)}, got {fault!r}"
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return f"count must be a whole number of at least 1, got {json_type(count)} {count!r}"
    delay = body.get("delay", 5.0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= MAX_FAULT_DELAY:
        return f"delay must be a number of seconds between 0 and {MAX_FAULT_DELAY}, got {delay!r}"
    return {"fault": fault, "count": count, "delay": float(delay)}


@bp.route("/sandbox/faults", methods=["GET", "POST", "DELETE"])
def faults():
    sandbox = _sandbox()
    if request.method == "POST":
        wanted = _fault_request(request.get_json(silent=True))
        if isinstance(wanted, str):
            return jsonify(message=wanted), 400
        sandbox.faults.set(**wanted)
    elif request.method == "DELETE":
        sandbox.faults.clear()
    return jsonify(faults=sandbox.faults.snapshot(), available=list(FAULTS))


@bp.route("/sandbox/received", methods=["GET", "DELETE"])
def received():
    sandbox = _sandbox()
    if request.method == "DELETE":
        sandbox.clear_received()
        return jsonify(status="ok")
    since = _since()
    return since if isinstance(since, tuple) else jsonify(sandbox.received_since(since))


@bp.get("/sandbox/sent")
def sent():
    since = _since()
    return since if isinstance(since, tuple) else jsonify(_sandbox().deliverer.sent(since))


@bp.get("/sandbox/state")
def state():
    sandbox = _sandbox()
    workspaces = {
        workspace_id: {**hook, "webhook_verification_key": mask(hook.get("webhook_verification_key")),
                       "bot_url": sandbox.bot_url(workspace_id), "code": bot_code(workspace_id),
                       "flow_ns": flow_ns(workspace_id)}
        for workspace_id, hook in sandbox.state.all().items()}
    return jsonify(state_path=os.path.abspath(sandbox.config.state_path), public_url=sandbox.config.base_url,
                   workspaces=workspaces, faults=sandbox.faults.snapshot(), pending_replies=sandbox.deliverer.pending(),
                   slow_seconds=sandbox.config.slow_seconds, seed=sandbox.writer.seed)
