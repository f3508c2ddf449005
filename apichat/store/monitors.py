"""Monitors (apichat/monitor): the lease that lets one process at a time run a monitor, its runs, its alerts.

A lease is a row (monitor, holder, expires_at) claimed in one statement, on SQLite and PostgreSQL alike: an
upsert that takes the row only when it is free, expired, or already the claimer's. A process renews it while
a run goes on; a process killed mid-run stops renewing, the lease expires, and its run reads as
'interrupted' (and is written so by the next claimer).
"""

from __future__ import annotations

import json

from . import core
from .core import TEXT_CAP_CHARS, Core, storable

FINISHED = ("passed", "failed", "error", "interrupted")


class Monitors(Core):
    """The tables monitor_leases, monitor_runs and monitor_alerts."""

    # ------------------------------------------------------------ the lease

    def claim_monitor(self, monitor: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the lease on `monitor` for `seconds`; False when another holder's lease is current.
        Taking it marks the runs of earlier holders still 'running' as interrupted: they can no longer be."""
        at = core.now()
        with self.write() as conn:
            row = conn.execute(
                "INSERT INTO monitor_leases (monitor, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (monitor) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
                "WHERE monitor_leases.expires_at < ? OR monitor_leases.holder = excluded.holder RETURNING holder",
                (monitor, holder, at + seconds, at)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE monitor_runs SET status = 'interrupted', finished_at = ? "
                         "WHERE monitor = ? AND status = 'running' AND holder <> ?", (at, monitor, holder))
            return True

    def renew_monitor(self, monitor: str, holder: str, seconds: float) -> bool:
        """Push the lease's expiry on while a run goes on; False when it is no longer `holder`'s."""
        with self.write() as conn:
            cursor = conn.execute("UPDATE monitor_leases SET expires_at = ? WHERE monitor = ? AND holder = ?",
                                  (core.now() + seconds, monitor, holder))
            return cursor.rowcount == 1

    def release_monitor(self, monitor: str, holder: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM monitor_leases WHERE monitor = ? AND holder = ?", (monitor, holder))

    # ------------------------------------------------------------ runs

    def start_monitor_run(self, monitor: str, holder: str, batch: str = "") -> int:
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO monitor_runs (monitor, holder, status, started_at, batch) VALUES (?, ?, 'running', ?, ?) "
                "RETURNING id", (monitor, holder, core.now(), batch)).fetchone()[0]

    def finish_monitor_run(self, run: int, *, status: str, problem: str = "", first_p50_ms: float | None = None,
                           first_p95_ms: float | None = None, scenario_run: int | None = None,
                           detail: dict | None = None) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE monitor_runs SET status = ?, problem = ?, finished_at = ?, first_p50_ms = ?, first_p95_ms = ?, "
                "scenario_run = ?, detail = ? WHERE id = ? AND status = 'running'",
                (status, storable(problem[:TEXT_CAP_CHARS]), core.now(), first_p50_ms, first_p95_ms, scenario_run,
                 json.dumps(detail or {}, ensure_ascii=False, default=str), run))

    def _shown(self, rows: list[dict]) -> list[dict]:
        """Runs as they are: one still 'running' whose holder no longer holds a current lease is interrupted."""
        running = {r["monitor"] for r in rows if r["status"] == "running"}
        if not running:
            return rows
        leases = {r["monitor"]: r for r in self._rows("SELECT * FROM monitor_leases")}
        at = core.now()
        for row in rows:
            lease = leases.get(row["monitor"])
            if row["status"] == "running" and (lease is None or lease["holder"] != row["holder"]
                                               or lease["expires_at"] < at):
                row["status"] = "interrupted"
        return rows

    def get_monitor_run(self, run: int) -> dict | None:
        rows = self._shown(self._rows("SELECT * FROM monitor_runs WHERE id = ?", (run,)))
        return rows[0] if rows else None

    def list_monitor_runs(self, monitor: str | None = None, *, since: float | None = None,
                          limit: int = 500) -> list[dict]:
        """Runs newest first, of one monitor or all, started after `since`."""
        where, params = [], []
        if monitor is not None:
            where.append("monitor = ?")
            params.append(monitor)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        sql = "SELECT * FROM monitor_runs" + (" WHERE " + " AND ".join(where) if where else "")
        return self._shown(self._rows(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)))

    def last_monitor_start(self, monitor: str) -> float | None:
        row = self._row("SELECT MAX(started_at) AS at FROM monitor_runs WHERE monitor = ?", (monitor,))
        return None if row is None else row["at"]

    # ------------------------------------------------------------ alerts

    def add_monitor_alert(self, monitor: str, *, run: int | None, kind: str, target: str, status: str,
                          attempts: int, error: str = "") -> int:
        """One notice (down | recovery) to one target (masked as it may be shown), sent or failed."""
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO monitor_alerts (monitor, run, kind, target, status, attempts, error, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (monitor, run, kind, storable(target), status, attempts, storable(error[:TEXT_CAP_CHARS]),
                 core.now())).fetchone()[0]

    def list_monitor_alerts(self, monitor: str | None = None, limit: int = 200) -> list[dict]:
        if monitor is None:
            return self._rows("SELECT * FROM monitor_alerts ORDER BY id DESC LIMIT ?", (limit,))
        return self._rows("SELECT * FROM monitor_alerts WHERE monitor = ? ORDER BY id DESC LIMIT ?", (monitor, limit))

    def last_monitor_notice(self, monitor: str) -> str | None:
        """The kind of the latest notice about `monitor` (down | recovery), sent or not; None before any."""
        row = self._row("SELECT kind FROM monitor_alerts WHERE monitor = ? ORDER BY id DESC LIMIT 1", (monitor,))
        return None if row is None else row["kind"]
