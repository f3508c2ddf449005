"""Load runs started from the console: each one `python -m apichat.load run …` as a child process, so the page
stays responsive, in its own folder (Locust's CSV files, the HTML report, the output, meta.json) kept as History.
No Streamlit: the Load page (ui/load_view.py) keeps one `LoadRuns` per server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..processes import ROOT
from . import stats

PREFIX = "run"  # Locust's CSV prefix inside a run's folder
REPORT = "report.html"
OUTPUT = "output.log"
SANDBOX_TARGET = ""  # no --profile: a fresh embedded sandbox with its own store


@dataclass
class LoadRequest:
    """What the page asks for; `profile` "" is a fresh sandbox."""

    files: list[str]
    profile: str = SANDBOX_TARGET
    users: int = 20
    spawn_rate: float = 10.0
    seconds: int = 60
    think: str = "1s"
    max_rate: float = 0.0
    allow_real: bool = False
    names: list[str] = field(default_factory=list)  # the files as shown

    def argv(self, folder: Path) -> list[str]:
        args = [sys.executable, "-m", "apichat.load", "run", *self.files, "--users", str(self.users),
                "--spawn-rate", f"{self.spawn_rate:g}", "--run-time", f"{self.seconds}s", "--think", self.think,
                "--csv", str(folder / PREFIX), "--html", str(folder / REPORT)]
        if self.profile:
            args += ["--profile", self.profile]
        if self.max_rate:
            args += ["--max-rate", f"{self.max_rate:g}"]
        if self.allow_real:
            args.append("--allow-real")
        return args


class LoadRuns:
    """The runs under `folder` (one sub-folder each), and the children of the ones this server started."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._children: dict[str, subprocess.Popen] = {}
        self._lock = threading.RLock()

    def start(self, request: LoadRequest, db: str) -> str:
        """Start a run against the store `db`; its id (the folder's name)."""
        run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1000:03d}"
        folder = self.folder / run_id
        folder.mkdir(parents=True)
        meta = {"id": run_id, "started": time.time(), "request": asdict(request), "state": "running"}
        self._write(run_id, meta)
        env = dict(os.environ, APICHAT_DB=str(db), PYTHONUNBUFFERED="1")
        with open(folder / OUTPUT, "wb") as log:
            child = subprocess.Popen(request.argv(folder), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        with self._lock:
            self._children[run_id] = child
        threading.Thread(target=self._watch, args=(run_id, child), name=f"load-{run_id}", daemon=True).start()
        return run_id

    def stop(self, run_id: str) -> None:
        """Ask a run to end now (SIGTERM: Locust still writes its reports; the sandbox it started is stopped)."""
        with self._lock:
            child = self._children.get(run_id)
        if child is not None and child.poll() is None:
            with self._lock:
                meta = self.meta(run_id)
                meta["stopped"] = True
                self._write(run_id, meta)
            child.terminate()

    def running(self, run_id: str | None) -> bool:
        with self._lock:
            child = self._children.get(run_id or "")
        return child is not None and child.poll() is None

    def meta(self, run_id: str) -> dict:
        try:
            meta = json.loads((self.folder / run_id / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if meta.get("state") == "running" and not self.running(run_id):
            with self._lock:
                ours = run_id in self._children
            if not ours:  # started by a server that is gone: it ended, we never saw how
                meta["state"] = "interrupted"
        return meta

    def history(self) -> list[dict]:
        """Every run, newest first, with its totals."""
        if not self.folder.is_dir():
            return []
        runs = []
        for folder in sorted(self.folder.iterdir(), reverse=True):
            meta = self.meta(folder.name) if folder.is_dir() else {}
            if meta:
                runs.append({**meta, "summary": stats.summary(folder / PREFIX)})
        return runs

    def prefix(self, run_id: str) -> Path:
        return self.folder / run_id / PREFIX

    def files(self, run_id: str) -> dict[str, Path]:
        """The reports of a run that exist: the HTML report and Locust's CSV files, by file name."""
        folder = self.folder / run_id
        names = [REPORT] + [f"{PREFIX}_{kind}.csv" for kind in (
            "final_stats", "final_failures", "settle", "stats_history", "stats", "failures", "exceptions")]
        return {name: folder / name for name in names if (folder / name).is_file()}

    def output(self, run_id: str, lines: int = 30) -> str:
        """The end of what the run printed (its one-line error when it could not start)."""
        try:
            text = (self.folder / run_id / OUTPUT).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def problem(self, run_id: str) -> str:
        """Why a run did not start (exit 2): the line it printed, without Locust's log prefix."""
        for line in reversed(self.output(run_id, 200).splitlines()):
            if line.startswith("cannot run the load test: "):
                return line
        return ""

    def _watch(self, run_id: str, child: subprocess.Popen) -> None:
        code = child.wait()
        with self._lock:
            meta = self.meta(run_id)
            meta.update(finished=time.time(), exit_code=code,
                        state="stopped" if meta.get("stopped") else {0: "passed", 1: "failed"}.get(code, "could not run"))
            self._write(run_id, meta)

    def _write(self, run_id: str, meta: dict) -> None:
        path = self.folder / run_id / "meta.json"
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        temp.replace(path)
