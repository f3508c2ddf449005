"""The receiver and sandbox as child processes of the console: found, reused or started."""

from __future__ import annotations

import os
import socket
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


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time process `pid` has used so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class ChildError(RuntimeError):
    """A child process exited, or did not become ready in time; the message ends with its log's tail."""


class ChildProcess:
    """`python ARGS` as a child that is stopped with its owner (scenario runs, benchmarks, tests)."""

    def __init__(self, args: list[str], env: dict, log_path: str | Path, name: str | None = None):
        self.name = name or " ".join(args[:2])
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, ready, seconds: float = 30.0) -> None:
        """Poll `ready()` until it is true; ChildError when the child exits or time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ChildError(f"{self.name} exited with code {self.proc.returncode}: {self.tail()}")
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise ChildError(f"{self.name} was not ready within {seconds:.0f} s: {self.tail()}")

    def tail(self, lines: int = 5) -> str:
        self.log.flush()
        return _tail(str(self.log_path), lines)

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.proc.pid)

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
