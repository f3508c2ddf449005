"""Locust's CSV files of a run read back: the history for live charts, the per-step table, the failures.

Locust rewrites `PREFIX_stats.csv` and `PREFIX_failures.csv` every second and appends to
`PREFIX_stats_history.csv`; a file caught half-written reads as what it holds so far, a missing one as nothing.
Pure standard library, so the console reads runs without importing Locust.
"""

from __future__ import annotations

import csv
from pathlib import Path

AGGREGATED = "Aggregated"


def _rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):  # "N/A" before the first step, or a row cut short
        return None


def _latest(prefix, kind: str) -> Path:
    """The final file of a finished run (written once at the end), else the one Locust rewrites every second."""
    final = Path(f"{prefix}_final_{kind}.csv")
    return final if final.is_file() else Path(f"{prefix}_{kind}.csv")


def history(prefix: str | Path) -> list[dict]:
    """One point a second: time, users, steps/s, failures/s, first-reply p50/p95 (ms, of the last seconds),
    and the totals so far (the Aggregated rows of the stats history)."""
    points = []
    for row in _rows(Path(f"{prefix}_stats_history.csv")):
        if row.get("Name") != AGGREGATED or _number(row.get("Timestamp")) is None:
            continue
        points.append({"time": int(_number(row["Timestamp"])), "users": _number(row.get("User Count")) or 0,
                       "steps/s": _number(row.get("Requests/s")) or 0.0,
                       "failures/s": _number(row.get("Failures/s")) or 0.0,
                       "p50 ms": _number(row.get("50%")), "p95 ms": _number(row.get("95%")),
                       "steps": _number(row.get("Total Request Count")) or 0,
                       "failures": _number(row.get("Total Failure Count")) or 0})
    return points


def steps(prefix: str | Path) -> list[dict]:
    """Per step (and the total last): count, failures, first-reply p50/p95/max, replies per step, settle p50/p95."""
    settle = {r.get("Name"): r for r in _rows(Path(f"{prefix}_settle.csv"))}
    table = []
    for row in _rows(_latest(prefix, "stats")):
        name = row.get("Name") or ""
        if row.get("Type") != "STEP" and name != AGGREGATED:
            continue
        quiet = settle.get(name, {})
        table.append({"step": "All steps" if name == AGGREGATED else name,
                      "count": int(_number(row.get("Request Count")) or 0),
                      "failures": int(_number(row.get("Failure Count")) or 0),
                      "first p50 (ms)": _number(row.get("50%")), "first p95 (ms)": _number(row.get("95%")),
                      "first max (ms)": _number(row.get("Max Response Time")),
                      "replies/step": _number(row.get("Average Content Size")),
                      "steps/s": _number(row.get("Requests/s")),
                      "settled p50 (ms)": _number(quiet.get("Settle p50 (ms)")),
                      "settled p95 (ms)": _number(quiet.get("Settle p95 (ms)"))})
    return table


def failures(prefix: str | Path) -> list[dict]:
    """Each distinct failure: the step, the runner's message, how often."""
    return [{"step": r.get("Name", ""), "message": r.get("Error", ""),
             "occurrences": int(_number(r.get("Occurrences")) or 0)}
            for r in _rows(_latest(prefix, "failures"))]


def summary(prefix: str | Path) -> dict:
    """The run's totals from its stats: steps, failures, steps/s, first-reply p50/p95 (ms); {} before any."""
    total = next((r for r in steps(prefix) if r["step"] == "All steps"), None)
    if total is None:
        return {}
    return {"steps": total["count"], "failures": total["failures"], "steps/s": total["steps/s"],
            "p50 ms": total["first p50 (ms)"], "p95 ms": total["first p95 (ms)"]}
