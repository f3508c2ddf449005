"""The bot_url: takes a contact's message, validates it as docs/protocol.md §4 describes, and has the demo bot answer later."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from .bot import respond
from .partner import bearer_problem
from .validation import InvalidMessage, validate_incoming

bp = Blueprint("botapi", __name__)
log = logging.getLogger("sandbox")


@bp.post("/api/apichat/<code>")
def bot_url(code: str):
    sandbox = current_app.extensions["sandbox"]
    raw = request.get_data(cache=True)
    found = sandbox.state.by_code(code)
    workspace_id, hook = found if found else ("", None)

    def answer(status: int, message: str | None = None):
        sandbox.record_received(code, workspace_id, raw, dict(request.headers), status, message or "")
        if message is None:
            return jsonify(status="ok"), status
        log.info("bot_url %s -> %s %s", code, status, message)
        return jsonify(message=message), status

    if hook is None:
        return answer(404, "No API Chat bot found at this URL: set the webhook for the workspace first")
    problem = bearer_problem(sandbox.config.flow_key, "flow API key")
    if problem:
        return answer(401, problem)
    if "json" not in (request.mimetype or ""):
        return answer(400, f"Content-Type must be application/json, got {request.mimetype or 'none'!r}")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return answer(400, f"the body is not valid JSON: {exc}")
    try:
        validate_incoming(body)
    except InvalidMessage as exc:
        return answer(400, str(exc))
    first = sandbox.first_contact(workspace_id, body["sender"]["id"])
    reply = respond(body, media_base=sandbox.media_base, first_contact=first,
                    slow_seconds=sandbox.config.slow_seconds, writer=sandbox.writer,
                    hallucinate=lambda: sandbox.faults.take("hallucinate"))
    if reply.clear_faults:
        sandbox.faults.clear()
    if reply.fault:
        sandbox.faults.set(**reply.fault)
    sandbox.deliverer.submit(workspace_id, hook, reply.replies, bypass_faults=reply.bypass_faults)
    log.info("bot_url %s <- %s from %s: %s (%d replies)", code, body["event"], body["sender"]["id"],
             reply.command, len(reply.replies))
    return answer(200)
