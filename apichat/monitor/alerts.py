"""Alerts people can live with: one when a monitor goes down, one when it comes back, nothing in between.

`notice_for` decides from the runs and the last notice sent (pure); `send` posts a notice to each target —
a generic webhook gets JSON, a Slack-compatible one `{"text": …}` — retried with backoff a bounded number of
times, and every outcome is kept in the store (monitor_alerts), failures included. No body holds a key: the
texts are scrubbed of the profile's keys and the targets' URLs before they leave.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from ..redact import masked_hook, without_secrets
from .config import AlertTarget, Monitor

DOWN, RECOVERY = "down", "recovery"
FAILED = ("failed", "error")
ATTEMPTS = 3  # per target and notice
BACKOFF = 0.5  # seconds before the 2nd attempt, doubled for each next one
TIMEOUT = 5.0  # per attempt


def failing_streak(runs: list[dict]) -> int:
    """How many of the finished runs (newest first), from the newest, failed; interrupted runs are passed over."""
    streak = 0
    for run in runs:
        if run["status"] in ("running", "interrupted"):
            continue
        if run["status"] not in FAILED:
            break
        streak += 1
    return streak


def notice_for(monitor: Monitor, runs: list[dict], last_notice: str | None) -> str | None:
    """DOWN when the last `alert_after` finished runs failed and no down notice is standing; RECOVERY when the
    newest finished run passed after a down notice; None otherwise."""
    finished = [r for r in runs if r["status"] not in ("running", "interrupted")]
    if not finished:
        return None
    if finished[0]["status"] == "passed":
        return RECOVERY if last_notice == DOWN else None
    if failing_streak(finished) >= monitor.alert_after and last_notice != DOWN:
        return DOWN
    return None


@dataclass
class Notice:
    """What one alert says: the monitor, the failing step, expected against what came, and the transcript."""

    monitor: str
    kind: str  # down | recovery
    run: int
    failures: int  # consecutive failed runs (for a recovery: how many there had been)
    problem: str = ""  # file:line: step N (…): what was wrong
    expected: str = ""
    arrived: str = ""
    transcript: str = ""  # a path or URL of the failing run's HTML transcript

    def text(self) -> str:
        if self.kind == RECOVERY:
            return f"✅ Monitor {self.monitor} is back up: run {self.run} passed after {self.failures} failed run(s)."
        lines = [f"🔴 Monitor {self.monitor} is down: {self.failures} failed run(s) in a row (run {self.run})."]
        if self.problem:
            lines.append(f"Failing step: {self.problem}")
        if self.expected or self.arrived:
            lines.append(f"Expected: {self.expected or '—'} · arrived: {self.arrived or '—'}")
        if self.transcript:
            lines.append(f"Transcript: {self.transcript}")
        return "\n".join(lines)

    def body(self, kind: str, secrets: list[str]) -> dict:
        """The JSON a target of `kind` gets, with `secrets` masked wherever they would appear."""
        text = without_secrets(self.text(), secrets)
        if kind == "slack":
            return {"text": text}
        return {"monitor": self.monitor, "event": self.kind, "run": self.run, "failures": self.failures,
                **{k: without_secrets(v, secrets) for k, v in (("problem", self.problem), ("expected", self.expected),
                                                               ("arrived", self.arrived),
                                                               ("transcript", self.transcript))},
                "text": text}


def _parts_of(url: str) -> list[str]:
    """A webhook URL and the parts of it an error message may quote alone (its path, its query)."""
    parts = urlsplit(url)
    return [url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path, parts.query]


def deliver(target: AlertTarget, body: dict, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF,
            timeout: float = TIMEOUT, sleep=time.sleep) -> tuple[bool, int, str]:
    """POST `body` to `target` until a 2xx, at most `attempts` times, waiting backoff, 2×backoff, … between;
    (delivered, attempts made, the last error as one line without the target's URL)."""
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(target.url, json=body, timeout=timeout)
            if 200 <= response.status_code < 300:
                return True, attempt, ""
            error = f"HTTP {response.status_code}: {' '.join(response.text.split())[:200]}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        error = without_secrets(error, _parts_of(target.url))
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return False, attempts, error


def send(store, monitor: Monitor, notice: Notice, secrets: list[str], *, attempts: int = ATTEMPTS,
         backoff: float = BACKOFF) -> list[dict]:
    """Send `notice` to every target of `monitor` and keep each outcome; the stored rows. A monitor with no
    targets still keeps the notice (target ''), so up and down are remembered."""
    hidden = [*secrets, *(part for t in monitor.alerts for part in _parts_of(t.url))]
    kept = []
    for target in monitor.alerts:
        ok, tries, error = deliver(target, notice.body(target.kind, hidden), attempts=attempts, backoff=backoff)
        row = {"target": f"{target.kind} {masked_hook(target.url)}", "status": "sent" if ok else "failed",
               "attempts": tries, "error": error}
        store.add_monitor_alert(monitor.name, run=notice.run, kind=notice.kind, **row)
        kept.append(row)
    if not monitor.alerts:
        store.add_monitor_alert(monitor.name, run=notice.run, kind=notice.kind, target="", status="none", attempts=0)
    return kept
