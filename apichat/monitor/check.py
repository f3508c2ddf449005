"""One run of one monitor: take its lease, run its scenarios against its profile, keep the run, alert.

The lease (Store.claim_monitor) is renewed by a small thread while the scenarios run, so a long run keeps
it and a killed process loses it within `lease` seconds; a run is started only when the monitor is due
(config.due) once the lease is held, which is what keeps two processes from running one tick twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..scenarios import Runner, RunResult, Scenario, TargetError, first_problem, percentile, profile_target
from . import alerts
from .config import Monitor, due

LEASE_SECONDS = 30.0
PAUSED_SETTING = "monitor.paused."  # + name: "1" when paused from the Monitors page


@dataclass
class Checked:
    """What one run of a monitor came to (None from check() when it did not run)."""

    monitor: str
    run: int
    status: str  # passed | failed | error
    problem: str = ""
    notice: str | None = None  # down | recovery, when one was sent
    alerts: list[dict] = field(default_factory=list)  # the stored outcome of each target


def is_paused(store, monitor: Monitor) -> bool:
    return monitor.paused or store.get_setting(PAUSED_SETTING + monitor.name) == "1"


def set_paused(store, name: str, paused: bool) -> None:
    if paused:
        store.set_setting(PAUSED_SETTING + name, "1")
    else:
        store.delete_setting(PAUSED_SETTING + name)


def with_budget(scenario: Scenario, within: float | None) -> Scenario:
    """`scenario` with the monitor's latency budget on every step that sends and has none of its own."""
    if within is None:
        return scenario
    steps = [replace(s, within=within) if s.sends and s.within is None else s for s in scenario.steps]
    return replace(scenario, steps=steps)


class _Keeper:
    """Renews a lease every third of its length until stopped."""

    def __init__(self, store, name: str, holder: str, lease: float):
        self._stop = threading.Event()

        def renew() -> None:
            while not self._stop.wait(lease / 3):
                try:
                    store.renew_monitor(name, holder, lease)
                except Exception:  # the store is away for a moment: the next renewal tries again
                    pass

        self._thread = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _mismatch(result: RunResult) -> tuple[str, str]:
    for step in result.steps:
        for failure in step.failures:
            if failure.rows:
                row = failure.rows[0]
                return f"{row.what}: {row.expected}", row.arrived
    return "", ""


def check(store, monitor: Monitor, holder: str, *, force: bool = False, lease: float = LEASE_SECONDS,
          target: Callable = profile_target, transcript: Callable[[int], str] | None = None,
          attempts: int = alerts.ATTEMPTS, backoff: float = alerts.BACKOFF) -> Checked | None:
    """Run `monitor` once when it is due (or `force`), not paused, and its lease is this `holder`'s; None when
    it did not run. `transcript(run)` writes the run's HTML transcript and gives the path or URL a down alert links."""
    if is_paused(store, monitor) or not store.claim_monitor(monitor.name, holder, lease):
        return None
    try:
        if not force and not due(monitor, store.last_monitor_start(monitor.name), time.time()):
            return None
        run = store.start_monitor_run(monitor.name, holder)
        keeper = _Keeper(store, monitor.name, holder, lease)
        try:
            outcome, secrets = _run(store, monitor, run, target)
        finally:
            keeper.stop()
        store.finish_monitor_run(run, **outcome)
        checked = Checked(monitor.name, run, outcome["status"], outcome["problem"])
        _alert(store, monitor, checked, outcome, secrets, transcript, attempts, backoff)
        return checked
    finally:
        store.release_monitor(monitor.name, holder)


def _run(store, monitor: Monitor, run: int, target: Callable) -> tuple[dict, list[str]]:
    """The run's outcome as finish_monitor_run takes it, and the profile's keys (to keep out of alerts)."""
    results: list[RunResult] = []
    secrets: list[str] = []
    try:
        with target(monitor.profile) as where:
            profile = where.profile
            secrets = [profile.get(k, "") for k in ("flow_key", "partner_key", "verify_key")]
            runner = Runner(where.store, profile, batch=f"monitor-{run}")
            for scenario in monitor.scenarios:
                results.append(runner.run(with_budget(scenario, monitor.within)))
    except TargetError as exc:
        return {"status": "error", "problem": f"cannot run against profile {monitor.profile}: {exc}"}, secrets
    except Exception as exc:  # an outage or a bug ends the run with a reason, and the scheduler goes on
        return {"status": "error", "problem": f"{type(exc).__name__}: {exc}"}, secrets
    firsts = [s.first_reply * 1000 for r in results for s in r.steps if s.first_reply is not None]
    bad = next((r for r in results if not r.passed), None)
    status = "passed" if bad is None else "error" if any(r.status == "error" for r in results) else "failed"
    expected, arrived = _mismatch(bad) if bad else ("", "")
    return {"status": status, "problem": first_problem(bad) if bad else "",
            "first_p50_ms": percentile(firsts, 50), "first_p95_ms": percentile(firsts, 95),
            "scenario_run": (bad or (results[0] if results else None)).run_id if results else None,
            "detail": {"scenario_runs": [r.run_id for r in results], "expected": expected, "arrived": arrived}}, secrets


def _alert(store, monitor: Monitor, checked: Checked, outcome: dict, secrets: list[str], transcript,
           attempts: int, backoff: float) -> None:
    runs = store.list_monitor_runs(monitor.name, limit=1000)
    kind = alerts.notice_for(monitor, runs, store.last_monitor_notice(monitor.name))
    if kind is None:
        return
    detail = outcome.get("detail", {})
    streak = alerts.failing_streak(runs if kind == alerts.DOWN else runs[1:])
    link = ""
    if transcript and kind == alerts.DOWN:
        try:
            link = transcript(checked.run)
        except Exception as exc:  # a transcript that cannot be written must not keep the alert from going out
            link = f"(not written: {type(exc).__name__}: {exc})"
    notice = alerts.Notice(monitor.name, kind, checked.run, streak, outcome["problem"], detail.get("expected", ""),
                           detail.get("arrived", ""), link)
    checked.notice = kind
    checked.alerts = alerts.send(store, monitor, notice, secrets, attempts=attempts, backoff=backoff)
