"""Child processes: `python ARGS` started with a log file, waited for until it answers, and stopped.

One way to do it for the console's receiver and sandbox (services.py), scenario runs, benchmarks and
tests; with it the environment a child gets (clean_env), a free port, and what answers a /healthz.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PARENT_ENV = "APICHAT_PARENT_PID"
SETTING_PREFIXES = ("UCHAT_", "APICHAT_")  # the console's settings and a UChat account's keys


def clean_env(**overrides: object) -> dict[str, str]:
    """The parent's environment without UCHAT_* and APICHAT_* (no real key or setting reaches a child
    by accident), plus `overrides` (as text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(url: str, service: str | None = None, timeout: float = 1.0, store_id: str | None = None) -> str:
    """What answers `url`/healthz: 'ours' (as `service`, and on our store when `store_id` is given; with no
    `service`, any 200), 'other-store' (`service` on another store), 'foreign' (something else), or 'down'."""
    try:
        response = requests.get(f"{url}/healthz", timeout=timeout)
    except requests.RequestException:
        return "down"
    if service is None:
        return "ours" if response.status_code == 200 else "foreign"
    try:
        answer = response.json()
    except ValueError:
        return "foreign"
    if not isinstance(answer, dict) or answer.get("service") != service:
        return "foreign"
    return "ours" if store_id is None or answer.get("store_id") == store_id else "other-store"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time process `pid` has used so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of process `pid` and of its children still running (a gunicorn master and its workers)."""
    total = cpu_seconds(pid) or 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_cpu_seconds(int(child)) for child in children)


def exit_with_parent() -> None:
    """In a child started with `tied=True`: exit when the process that started it is gone."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return

    def watch():
        while True:
            time.sleep(1)
            if os.getppid() != int(parent):
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class ChildError(RuntimeError):
    """A child process exited, or did not become ready in time; the message ends with its log's tail."""


class ChildProcess:
    """`python ARGS` in the project's folder, its output (unbuffered) appended to `log_path`.

    `tied`: the child exits when this process does (the receiver and sandbox call exit_with_parent).
    """

    def __init__(self, args: list[str], env: dict, log_path: str | Path, name: str | None = None, *,
                 tied: bool = False):
        self.name = name or "python " + " ".join(args[:2])
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        env = {**env, "PYTHONUNBUFFERED": "1", **({PARENT_ENV: str(os.getpid())} if tied else {})}
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, ready: Callable[[], object], seconds: float = 30.0) -> None:
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
        raise ChildError(f"{self.name} did not answer within {seconds:.0f} s: {self.tail()}")

    def wait_healthy(self, url: str, service: str | None = None, seconds: float = 30.0,
                     store_id: str | None = None) -> None:
        """Wait until `url`/healthz answers as `service` (see probe); ChildError otherwise."""
        self.wait_ready(lambda: probe(url, service, timeout=0.5, store_id=store_id) == "ours", seconds)

    def tail(self, lines: int = 5) -> str:
        """The log's last lines, on one line (for an error message)."""
        return " | ".join(self.output().splitlines()[-lines:])

    def output(self, chars: int = 5000) -> str:
        """The end of the log, as written."""
        if not self.log.closed:
            self.log.flush()
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - chars))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.proc.pid)

    def stop(self, sig=None) -> None:
        """Terminate (or send `sig`), wait, kill if it will not go; the log is closed."""
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
