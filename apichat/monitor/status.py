"""What the Monitors page shows of a monitor: up, down, failing, paused or running; its last run; its uptime
over 24 hours and 7 days; its first-reply latency over time; its failures and its alerts. Read from the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import alerts
from .config import Monitor

DAY = 24 * 3600.0
WEEK = 7 * DAY


@dataclass
class Status:
    name: str
    state: str  # up | down | failing | paused | running | never run
    last: dict | None  # the newest run
    uptime_24h: float | None  # share of the finished runs that passed (interrupted runs left out)
    uptime_7d: float | None
    latency: list[dict] = field(default_factory=list)  # {"started": seconds, "first reply p50 (ms)": …}, oldest first
    failures: list[dict] = field(default_factory=list)  # failed runs, newest first
    alerts: list[dict] = field(default_factory=list)  # newest first


def uptime(runs: list[dict], since: float) -> float | None:
    judged = [r for r in runs if r["started_at"] >= since and r["status"] not in ("running", "interrupted")]
    return None if not judged else sum(r["status"] == "passed" for r in judged) / len(judged)


def state_of(monitor: Monitor, runs: list[dict], last_notice: str | None, paused: bool) -> str:
    if paused:
        return "paused"
    if runs and runs[0]["status"] == "running":
        return "running"
    finished = [r for r in runs if r["status"] != "interrupted"]
    if not finished:
        return "never run"
    if finished[0]["status"] == "passed":
        return "up"
    return "down" if last_notice == alerts.DOWN or alerts.failing_streak(finished) >= monitor.alert_after \
        else "failing"


def status_of(store, monitor: Monitor, now: float, paused: bool = False) -> Status:
    runs = store.list_monitor_runs(monitor.name, since=now - WEEK, limit=10_000)
    latency = [{"started": r["started_at"], "first reply p50 (ms)": r["first_p50_ms"]}
               for r in reversed(runs) if r["first_p50_ms"] is not None]
    return Status(monitor.name, state_of(monitor, runs, store.last_monitor_notice(monitor.name), paused),
                  runs[0] if runs else None, uptime(runs, now - DAY), uptime(runs, now - WEEK), latency,
                  [r for r in runs if r["status"] in alerts.FAILED][:50], store.list_monitor_alerts(monitor.name, 20))
