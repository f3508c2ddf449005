"""Scenario runs and the result of each of their steps."""

from __future__ import annotations

import json

from . import core
from .core import TEXT_CAP_CHARS, Core


class ScenarioRuns(Core):
    """The tables scenario_runs and scenario_results."""

    def start_scenario_run(self, *, scenario: str, path: str, profile: str, total_steps: int, source: str = "",
                           batch: str = "", contact_id: str = "", conversation: int | None = None) -> int:
        """A scenario run in state 'running'; its steps are added as they finish."""
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO scenario_runs (batch, scenario, path, profile, contact_id, conversation, status, "
                "started_at, total_steps, source) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) RETURNING id",
                (batch, scenario, path, profile, contact_id, conversation, core.now(), total_steps,
                 source[:TEXT_CAP_CHARS])).fetchone()[0]

    def add_scenario_result(self, run: int, *, position: int, line: int, label: str, status: str,
                            first_reply_ms: float | None = None, settle_ms: float | None = None,
                            replies: int = 0, detail: dict | None = None) -> int:
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO scenario_results (run, position, line, label, status, first_reply_ms, settle_ms, "
                "replies, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (run, position, line, label, status, first_reply_ms, settle_ms, replies,
                 json.dumps(detail or {}, ensure_ascii=False, default=str), core.now())).fetchone()[0]

    def finish_scenario_run(self, run: int, *, status: str, error: str = "", passed: int = 0, failed: int = 0,
                            first_p50_ms: float | None = None, first_p95_ms: float | None = None,
                            settle_p50_ms: float | None = None, settle_p95_ms: float | None = None) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE scenario_runs SET status = ?, error = ?, passed_steps = ?, failed_steps = ?, finished_at = ?, "
                "first_p50_ms = ?, first_p95_ms = ?, settle_p50_ms = ?, settle_p95_ms = ? WHERE id = ?",
                (status, error[:TEXT_CAP_CHARS], passed, failed, core.now(), first_p50_ms, first_p95_ms, settle_p50_ms,
                 settle_p95_ms, run))

    def get_scenario_run(self, run: int) -> dict | None:
        return self._row("SELECT * FROM scenario_runs WHERE id = ?", (run,))

    def list_scenario_runs(self, *, batch: str | None = None, limit: int = 200, newest: bool = False) -> list[dict]:
        """Scenario runs newest first; `batch` keeps those started together (oldest first, unless `newest`)."""
        if batch is not None:
            order = "DESC" if newest else "ASC"
            return self._rows(f"SELECT * FROM scenario_runs WHERE batch = ? ORDER BY id {order} LIMIT ?",
                              (batch, limit))
        return self._rows("SELECT * FROM scenario_runs ORDER BY id DESC LIMIT ?", (limit,))

    def scenario_results(self, run: int) -> list[dict]:
        """The finished steps of a run, in order."""
        return self._rows("SELECT * FROM scenario_results WHERE run = ? ORDER BY position, id", (run,))
