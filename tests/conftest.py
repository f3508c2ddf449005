"""Shared fixtures: a clean environment, free ports, and real processes started as a user would."""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from apichat.services import ChildError, ChildProcess, free_port  # noqa: F401 (free_port: tests import it from here)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No real key or setting of the developer's reaches a test."""
    for name in list(os.environ):
        if name.startswith(("UCHAT_", "APICHAT_")):
            monkeypatch.delenv(name, raising=False)


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll `condition` until it returns something truthy; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # keep polling; report the last error on failure
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last error: {last_error!r}")


class Process(ChildProcess):
    """A real `python -m ...` (or any) process, its output kept in a log file for failures."""

    def __init__(self, args: list[str], env: dict, log_path: Path, health_url: str | None = None):
        super().__init__(args[1:] if args and args[0] == sys.executable else args, env, log_path)
        self.args, self.health_url = args, health_url
        if health_url:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        try:
            self.wait_ready(lambda: requests.get(self.health_url, timeout=1).status_code == 200, timeout)
        except ChildError:
            self.stop()
            raise AssertionError(f"{' '.join(self.args)} did not become healthy:\n{self.output()}") from None

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]


def process_env(tmp_path: Path, **overrides: str) -> dict:
    """The environment a test process gets: the parent's, minus real keys, with a temp store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UCHAT_", "APICHAT_"))}
    env.update({
        "APICHAT_DB": str(tmp_path / "console.db"),
        "APICHAT_MEDIA_DIR": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


@pytest.fixture
def start_process(tmp_path):
    """Start real processes for a test; all are stopped after it."""
    started: list[Process] = []

    def start(module_args: list[str], env: dict, health_url: str | None = None, name: str | None = None):
        name = name or module_args[1] if module_args[0] == "-m" else "process"
        proc = Process([sys.executable, *module_args], env, tmp_path / f"{name}-{len(started)}.log", health_url)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


class _OtherProgram(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"some other program")

    def log_message(self, *args):
        pass


@contextmanager
def other_program():
    """A program that is not the console's, answering HTTP on a loopback port (yielded)."""
    server = HTTPServer(("127.0.0.1", 0), _OtherProgram)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
