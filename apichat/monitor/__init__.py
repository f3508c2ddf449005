"""Monitors: scenarios run on a schedule against a profile, with one alert when the bot goes down and one when
it is back (issue 25).

    config     monitors.yaml: Monitor, AlertTarget, parse_monitors/load_monitors (`file:line: problem`), due()
    alerts     when to alert (notice_for), what an alert says (Notice), delivery with retries (send)
    check      one run of one monitor: its lease, its scenarios, its stored run, its alert
    schedule   APScheduler's clock over check(); run_once for `--once`
    status     what the Monitors page shows: up/down, uptime, latency, failures (status_of)
    jobs       the page's Run now in a background thread (Jobs), and the alert's transcript file
    __main__   `python -m apichat.monitor run|check [FILE]`

The rows (leases, runs, alerts) are the store's (store/monitors.py).
"""

from .alerts import DOWN, RECOVERY, Notice, failing_streak, notice_for
from .check import Checked, check, is_paused, set_paused
from .config import AlertTarget, Monitor, due, load_monitors, parse_monitors, save_monitors
from .jobs import Jobs, transcript_writer
from .status import Status, status_of

__all__ = ["AlertTarget", "Checked", "DOWN", "Monitor", "Notice", "RECOVERY", "check", "due", "failing_streak",
           "is_paused", "Jobs", "load_monitors", "notice_for", "parse_monitors", "save_monitors", "set_paused", "Status", "status_of",
           "transcript_writer"]
