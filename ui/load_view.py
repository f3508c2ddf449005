"""How the Load page shows a run: headline figures, live charts from Locust's stats history, the per-step table,
the failures with the runner's messages, and the reports to download."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from apichat.load import stats
from apichat.load.runs import LoadRuns

from . import context

STATES = {"running": "running", "passed": "no failure", "failed": "failures", "could not run": "could not run",
          "stopped": "stopped", "interrupted": "interrupted"}
ICONS = {"running": ":material/hourglass_top:", "passed": ":material/check_circle:", "failed": ":material/cancel:",
         "could not run": ":material/error:", "stopped": ":material/stop_circle:", "interrupted": ":material/help:"}
STEP_COLUMNS = {"step": st.column_config.TextColumn("step", width="medium"),
                **{name: st.column_config.NumberColumn(name, format="%.0f", help=(
                    "From the contact's message to the step's first reply" if name.startswith("first") else
                    "From the contact's message to the turn's last reply (known when the run ends)"))
                   for name in ("first p50 (ms)", "first p95 (ms)", "first max (ms)", "settled p50 (ms)",
                                "settled p95 (ms)")},
                "replies/step": st.column_config.NumberColumn("replies/step", format="%.1f"),
                "steps/s": st.column_config.NumberColumn("steps/s", format="%.1f")}
MIME = {".html": "text/html", ".csv": "text/csv"}


@st.cache_resource(show_spinner=False)
def load_runs(folder: str) -> LoadRuns:
    """The load runs of this Streamlit server (every session sees the same ones)."""
    return LoadRuns(folder)


def runs() -> LoadRuns:
    return load_runs(str(Path(context.settings().db_path).resolve().parent / "load-runs"))


def _ms(value) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def headline(prefix: Path, meta: dict) -> None:
    total = stats.summary(prefix)
    points = stats.history(prefix)
    users = int(points[-1]["users"]) if points else 0
    request = meta.get("request", {})
    cols = st.columns(5)
    cols[0].metric("Contacts", f"{users} / {request.get('users', '?')}")
    cols[1].metric("Steps", f"{total.get('steps', 0):,}", help="Turns completed: a message sent and its replies "
                   "settled (a step = one Locust request).")
    cols[2].metric("Failures", f"{total.get('failures', 0):,}")
    cols[3].metric("First reply p50", _ms(total.get("p50 ms")))
    cols[4].metric("First reply p95", _ms(total.get("p95 ms")))


def charts(prefix: Path) -> None:
    points = stats.history(prefix)
    if len(points) < 2:
        st.caption("The charts start after the first seconds of the run.")
        return
    frame = pd.DataFrame(points)
    frame["time"] = pd.to_datetime(frame["time"], unit="s")
    frame = frame.set_index("time")
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**Contacts**")
        st.line_chart(frame[["users"]], height=220, y_label="contacts")
    with middle:
        st.markdown("**Steps and failures per second**")
        st.line_chart(frame[["steps/s", "failures/s"]], height=220, color=["#1f77b4", "#d62728"])
    with right:
        st.markdown("**First reply, p50 and p95 (ms)**")
        st.line_chart(frame[["p50 ms", "p95 ms"]], height=220, y_label="ms")


def tables(prefix: Path) -> None:
    rows = stats.steps(prefix)
    st.markdown("**Per step**")
    if rows:
        frame = pd.DataFrame(rows)
        if frame["settled p50 (ms)"].isna().all():  # the settle times come when the run ends
            frame = frame.drop(columns=["settled p50 (ms)", "settled p95 (ms)"])
        st.dataframe(frame, hide_index=True, width="stretch", column_config=STEP_COLUMNS)
    else:
        st.caption("No step has finished yet.")
    problems = stats.failures(prefix)
    if problems:
        st.markdown("**Failures**")
        st.dataframe(pd.DataFrame(problems), hide_index=True, width="stretch",
                     column_config={"message": st.column_config.TextColumn("message", width="large")})


def downloads(run_id: str, where: str) -> None:
    files = runs().files(run_id)
    if not files:
        return
    with st.container(horizontal=True):
        for name, path in files.items():
            st.download_button(name, path.read_bytes(), f"load-{run_id}-{name}", MIME.get(path.suffix, "text/plain"),
                               on_click="ignore", icon=":material/download:", key=f"ld-dl-{where}-{run_id}-{name}")


def show_run(run_id: str, where: str = "live") -> None:
    """A run, live or finished (`where`: which part of the page shows it, for distinct widget keys)."""
    meta = runs().meta(run_id)
    state = meta.get("state", "interrupted")
    request = meta.get("request", {})
    target = request.get("profile") or "a fresh sandbox"
    started = datetime.fromtimestamp(meta.get("started", 0)).strftime("%Y-%m-%d %H:%M:%S")
    st.markdown(f"**Run {run_id}** · {ICONS.get(state, '')} {STATES.get(state, state)} · {request.get('users')} contacts on {target} · "
                f"started {started} · {', '.join(request.get('names') or request.get('files') or [])}")
    if state == "could not run":
        st.error(runs().problem(run_id) or runs().output(run_id), icon=":material/error:")
        return
    prefix = runs().prefix(run_id)
    headline(prefix, meta)
    charts(prefix)
    tables(prefix)
    if state != "running":
        downloads(run_id, where)


def history_table(items: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "run": r["id"], "started": datetime.fromtimestamp(r.get("started", 0)).strftime("%Y-%m-%d %H:%M:%S"),
        "state": STATES.get(r.get("state"), r.get("state")),
        "target": r.get("request", {}).get("profile") or "fresh sandbox",
        "contacts": r.get("request", {}).get("users"),
        "scenarios": ", ".join(r.get("request", {}).get("names") or []),
        "steps": r["summary"].get("steps"), "failures": r["summary"].get("failures"),
        "first p95 (ms)": r["summary"].get("p95 ms"),
    } for r in items])
