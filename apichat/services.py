"""The receiver and sandbox as child processes of the console: found, reused or started."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PARENT_ENV = "APICHAT_PARENT_PID"


@dataclass
class ServiceStatus:
    name: str
    url: str
    state: str  # started | reused | foreign | failed | disabled
    detail: str = ""
    problem: str = ""  # running, but something a person must know (e.g. its webhook could not be set)

    @property
    def ok(self) -> bool:
        return self.state in ("started", "reused")


def probe(url: str, service: str, timeout: float = 1.0, store_id: str | None = None) -> str:
    """'ours' when `url`/healthz answers as `service` (on our store, when `store_id` is given),
    'foreign' when something else answers, else 'down'."""
    try:
        response = requests.get(f"{url}/healthz", timeout=timeout)
    except requests.RequestException:
        return "down"
    try:
        answer = response.json()
    except ValueError:
        return "foreign"
    if not isinstance(answer, dict) or answer.get("service") != service:
        return "foreign"
    return "ours" if store_id is None or answer.get("store_id") == store_id else "other-store"


def ensure_service(name: str, module: str, url: str, service: str, args: list[str], env: dict,
                   log_path: str, wait_seconds: float = 20.0, store_id: str | None = None) -> ServiceStatus:
    """Reuse a healthy `service` at `url`, or start `python -m module args` and wait for it."""
    state = probe(url, service, store_id=store_id)
    if state == "ours":
        return ServiceStatus(name, url, "reused", "already running")
    if state == "other-store":
        return ServiceStatus(name, url, "foreign", f"a {name} for another store (another APICHAT_DB) is running "
                             f"at {url}; stop it, or give this console another port")
    if state == "foreign":
        return ServiceStatus(name, url, "foreign", f"{url} is taken by another program; "
                             f"free the port or choose another one (see README, environment variables)")
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    child_env = {**env, PARENT_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=child_env,
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return ServiceStatus(name, url, "failed", f"exited with code {proc.returncode}: {_tail(log_path)}")
        if probe(url, service, timeout=0.5, store_id=store_id) == "ours":
            return ServiceStatus(name, url, "started", f"pid {proc.pid}, log {log_path}")
        time.sleep(0.1)
    proc.terminate()
    return ServiceStatus(name, url, "failed", f"did not answer within {wait_seconds:.0f} s: {_tail(log_path)}")


def _tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as fh:
            return " | ".join(fh.read().splitlines()[-lines:])
    except OSError:
        return ""


def exit_with_parent() -> None:
    """In a child started by the console: exit when the console's process is gone."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return

    def watch():
        while True:
            time.sleep(1)
            if os.getppid() != int(parent):
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
