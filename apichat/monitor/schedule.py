"""The clock: APScheduler (3.x) fires each monitor on its interval or crontab; `check` decides and runs.

One job per monitor, at most one instance of it at a time, missed ticks coalesced into one; every job also
fires once at start, and runs then only when its monitor is due. Several such processes may share one store
(PostgreSQL): the lease and the due rule keep each tick to one run.
"""

from __future__ import annotations

import os
import signal
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .check import LEASE_SECONDS, Checked, check
from .config import Monitor


def holder_name() -> str:
    """Who holds a lease: this host and process, and a random part (a pid is reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def trigger_for(monitor: Monitor):
    if monitor.cron:
        return CronTrigger.from_crontab(monitor.cron, timezone=timezone.utc)
    return IntervalTrigger(seconds=monitor.every, timezone=timezone.utc)


def run_once(store, monitors: list[Monitor], holder: str, said: Callable[[Monitor, Checked | None], None],
             **options) -> list[Checked]:
    """Every due monitor once, one after the other (those another process runs, or paused, are passed over)."""
    done = []
    for monitor in monitors:
        checked = check(store, monitor, holder, **options)
        said(monitor, checked)
        if checked is not None:
            done.append(checked)
    return done


def run_forever(store, monitors: list[Monitor], holder: str, said: Callable[[Monitor, Checked | None], None],
                lease: float = LEASE_SECONDS, **options) -> None:
    """Run the monitors on their schedules until SIGTERM or SIGINT; runs under way are finished first (a run cut
    short by a harder kill reads as interrupted once its lease expires)."""
    scheduler = BlockingScheduler(timezone=timezone.utc, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 60})

    def tick(monitor: Monitor) -> None:
        said(monitor, check(store, monitor, holder, lease=lease, **options))

    for monitor in monitors:
        scheduler.add_job(tick, trigger_for(monitor), args=[monitor], id=monitor.name, name=monitor.name,
                          next_run_time=datetime.now(timezone.utc))

    def stop(_signum, _frame) -> None:
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
