"""A local stand-in for UChat's API Chat: the partner API, a bot_url and a demo bot that replies with signed webhooks.

It follows docs/protocol.md exactly (paths, payloads, headers, signature, handshake), so a console
that works against it works against UChat, with no account and no internet. It keeps its
own small JSON state and never touches the console's store.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from apichat.config import SANDBOX_FLOW_KEY, SANDBOX_PARTNER_KEY, load_settings
from apichat.redact import masked_authorization

from .ai import DEFAULT_SEED, Writer
from .delivery import Deliverer, Faults
from .state import EMPTY_WEBHOOK, SandboxState, bot_code

KEEP_RECEIVED = 1000
BODY_CAP = 64 * 1024


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox runs; `from_env` gives the defaults in docs/configuration.md."""

    port: int = 8503
    state_path: str = "data/sandbox.json"
    public_url: str = ""  # how webhooks reach the sandbox's media and bot_url; default http://127.0.0.1:<port>
    partner_key: str = SANDBOX_PARTNER_KEY
    flow_key: str = SANDBOX_FLOW_KEY
    slow_seconds: float = 3.0
    seed: int = DEFAULT_SEED  # of the wording of the demo bot's answers about the shop (sandbox.ai)
    handshake_timeout: float = 5.0
    delivery_timeout: float = 5.0

    @classmethod
    def from_env(cls, env=None, **overrides: Any) -> SandboxConfig:
        settings = load_settings(env)
        base = cls(port=settings.sandbox_port,
                   state_path=os.path.join(os.path.dirname(settings.db_path) or ".", "sandbox.json"))
        return base.replace(**overrides)

    def replace(self, **changes: Any) -> SandboxConfig:
        """A copy with `changes` (TypeError for an unknown setting)."""
        return dataclasses.replace(self, **changes)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")


class Sandbox:
    """One sandbox's moving parts: state, faults, the delivery worker and the log of what bot_url received."""

    def __init__(self, config: SandboxConfig, session: requests.Session | None = None):
        self.config = config
        self.session = session or requests.Session()
        self.state = SandboxState(config.state_path)
        self.faults = Faults()
        self.writer = Writer(config.seed)
        self.deliverer = Deliverer(self.faults, timeout=config.delivery_timeout, session=session)
        self._lock = threading.Lock()
        self._received: deque[dict] = deque(maxlen=KEEP_RECEIVED)
        self._counter = itertools.count()
        self._seen: set[tuple[str, str]] = set()

    @property
    def media_base(self) -> str:
        return f"{self.config.base_url}/sandbox/media"

    def bot_url(self, workspace_id: str) -> str:
        return f"{self.config.base_url}/api/apichat/{bot_code(workspace_id)}"

    def webhook_data(self, workspace_id: str) -> dict:
        """The partner API's `data` object (docs/protocol.md §2) for a workspace (all empty strings when no webhook is set)."""
        hook = self.state.get(workspace_id)
        if hook is None:
            return dict(EMPTY_WEBHOOK)
        return {"webhook_url": hook["webhook_url"], "webhook_verification_key": hook["webhook_verification_key"],
                "webhook_status": hook["webhook_status"], "bot_url": self.bot_url(workspace_id)}

    def first_contact(self, workspace_id: str, sender_id: str) -> bool:
        """True the first time a contact writes to a workspace's bot since the sandbox started."""
        with self._lock:
            key = (workspace_id, sender_id)
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def record_received(self, code: str, workspace_id: str, raw: bytes, headers: dict, status: int,
                        error: str) -> None:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw[:BODY_CAP].decode("utf-8", errors="replace")
        shown = {name: (masked_authorization(value) if name.lower() == "authorization" else value)
                 for name, value in headers.items()}
        with self._lock:
            self._received.append({"index": next(self._counter), "time": time.time(), "code": code,
                                   "workspace": workspace_id, "body": body, "headers": shown,
                                   "status": status, "error": error})

    def received_since(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [dict(entry) for entry in self._received if entry["index"] >= since]

    def clear_received(self) -> None:
        with self._lock:
            self._received.clear()

    def close(self) -> None:
        self.deliverer.close()


def create_app(config: SandboxConfig | Mapping[str, Any] | None = None,
               session: requests.Session | None = None) -> Flask:
    """The sandbox app: defaults from the environment, overridden by `config`; `session` makes its outbound calls."""
    if not isinstance(config, SandboxConfig):
        config = SandboxConfig.from_env(**dict(config or {}))
    from . import botapi, extras, partner

    app = Flask(__name__)
    app.json.sort_keys = False  # answers keep the documented key order
    app.extensions["sandbox"] = Sandbox(config, session)
    app.register_blueprint(partner.bp)
    app.register_blueprint(botapi.bp)
    app.register_blueprint(extras.bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # UChat's documented error body is {"message": ...}; keep that shape for every error.
        return jsonify(message=f"{exc.name}: {exc.description}" if exc.description else exc.name), exc.code

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(message=f"internal error: {type(exc).__name__}"), 500

    return app
