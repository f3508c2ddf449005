"""Shared fixtures: a clean environment, free ports, and real processes started as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No real key or setting of the developer's reaches a test."""
    for name in list(os.environ):
        if name.startswith(("UCHAT_", "APICHAT_")):
            monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


class Process:
    """A real `python -m ...` (or any) process, its output kept in a log file for failures."""

    def __init__(self, args: list[str], env: dict, log_path: Path, health_url: str | None = None):
        self.args, self.log_path, self.health_url = args, log_path, health_url
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if health_url:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited with {self.proc.returncode}:\n{self.output()}")
            return requests.get(self.health_url, timeout=1).status_code == 200
        try:
            wait_until(healthy, timeout, 0.1, f"{self.health_url} to answer")
        except AssertionError:
            self.stop()
            raise AssertionError(f"{' '.join(self.args)} did not become healthy:\n{self.output()}") from None

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self, sig=None) -> None:
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


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
