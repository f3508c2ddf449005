"""The webhook receiver: the app factory, health and errors; the routes are blueprints (webhook, media).

The only part of the console that faces the internet. It checks every signature over the raw
bytes and commits every delivery to the store before it answers 2xx.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from apichat.config import Settings, load_settings
from apichat.profiles import ensure_env_profile
from apichat.retention import Housekeeper
from apichat.store import Store, StoreUnavailable, open_store

from . import media, webhook

log = logging.getLogger("receiver")


def create_app(config: Settings | Mapping[str, Any] | None = None, store: Store | None = None,
               prune: bool = False) -> Flask:
    """The receiver app: settings from the environment, overridden by `config`. With `prune`, the store is
    pruned in the background by its retention, and its search index kept up (apichat/retention.py); the served
    workers do it (serve.py)."""
    settings = config if isinstance(config, Settings) else load_settings().replace(**dict(config or {}))
    store = store or open_store(settings.db_path)
    ensure_env_profile(store, settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1  # the webhook route refuses the extra byte
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_body_bytes
    app.extensions["apichat"] = {"settings": settings, "store": store,
                                 "housekeeper": Housekeeper(store, settings.retention).start() if prune else None}

    app.register_blueprint(webhook.bp)
    app.register_blueprint(media.bp)

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
