"""The receiver served by gunicorn: N worker processes (gthread) sharing one PostgreSQL store.

Used by `python -m receiver --workers N` (N > 1). Each worker builds its own app after the fork, so its
store connections are its own; the master only listens and supervises (a worker that dies is replaced).
A port already in use is reported in one line before gunicorn starts, as waitress does.
"""

from __future__ import annotations

import logging
import socket
import sys

from gunicorn.app.base import BaseApplication

from apichat.config import Settings
from apichat.processes import exit_with_parent


class _Receiver(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from receiver import create_app

        return create_app(self.settings)


def _port_free(host: str, port: int) -> str | None:
    """None when host:port can be bound now, else the reason (the same words waitress's failure gives)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return str(exc)
    return None


def serve(settings: Settings, *, workers: int, threads: int) -> int:
    host, port = settings.receiver_host, settings.receiver_port
    if problem := _port_free(host, port):
        print(f"receiver: cannot listen on {host}:{port}: {problem}", file=sys.stderr)
        return 1
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": [bind], "workers": workers, "worker_class": "gthread", "threads": threads,
        "proc_name": "apichat-receiver", "preload_app": False, "accesslog": None, "errorlog": "-",
        "loglevel": "warning", "limit_request_line": 8190, "timeout": 60, "graceful_timeout": 10,
    }
    logging.info("gunicorn: %d workers x %d threads, listening on http://%s store=%s", workers, threads, bind,
                 settings.db_label)
    exit_with_parent()
    _Receiver(settings, options).run()  # returns only by SystemExit when the arbiter stops
    return 0
