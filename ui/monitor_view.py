"""How a monitor is shown on the Monitors page: its state, last run, uptime, latency chart and failures."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pandas as pd
import streamlit as st

from apichat import monitor as monitors
from apichat import transcript

BADGES = {"up": ("🟢", "green"), "down": ("🔴", "red"), "failing": ("🟠", "orange"), "paused": ("⏸️", "gray"),
          "running": ("⏳", "blue"), "never run": ("⚪", "gray")}


@st.cache_resource(show_spinner=False)
def jobs() -> monitors.Jobs:
    """Run now's runs, for every session of this Streamlit server."""
    return monitors.Jobs()


def _when(ts: float | None) -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def badge(state: str) -> str:
    icon, color = BADGES.get(state, ("", "gray"))
    return f":{color}-badge[{icon} {state}]"


def summary(monitor: monitors.Monitor, status: monitors.Status) -> None:
    """The monitor's state, last run and uptime as a row of figures."""
    last = status.last
    with st.container(horizontal=True, gap="large"):
        st.metric("State", status.state, border=True)
        st.metric("Last run", "—" if last is None else last["status"],
                  help=None if last is None else f"run {last['id']}, started {_when(last['started_at'])}", border=True)
        st.metric("Uptime 24 h", _share(status.uptime_24h), border=True)
        st.metric("Uptime 7 days", _share(status.uptime_7d), border=True)
    caption = f"{monitor.schedule} · profile {monitor.profile} · down after {monitor.alert_after} failed run(s) · " \
              f"{len(monitor.alerts)} alert target(s)"
    if last is not None:
        caption += f" · last run {_when(last['started_at'])}"
    st.caption(caption)
    if last is not None and last["problem"]:
        st.caption(f"Last problem: `{last['problem']}`")


def latency_chart(status: monitors.Status) -> None:
    if not status.latency:
        st.caption("No first-reply latency measured yet.")
        return
    frame = pd.DataFrame(status.latency)
    frame["started"] = pd.to_datetime(frame["started"], unit="s")
    st.line_chart(frame, x="started", y="first reply p50 (ms)", height=200)


def failures(db, status: monitors.Status, media_dir: str) -> None:
    """The failed runs with their problem, each with its transcript as one HTML file; and the alerts sent."""
    if not status.failures:
        st.caption("No failed run in the last 7 days.")
    for run in status.failures[:10]:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"**run {run['id']}** · {_when(run['started_at'])} · {run['status']}")
            st.download_button("Transcript", partial(transcript.monitor_run_html, db, run["id"], media_dir),
                               f"monitor-{transcript.file_stem(status.name)}-run-{run['id']}.html", "text/html",
                               on_click="ignore", icon=":material/web:", key=f"mon-tr-{run['id']}")
        if run["problem"]:
            st.code(run["problem"], language=None, wrap_lines=True)
    if status.alerts:
        st.dataframe(pd.DataFrame([{
            "at": _when(a["created_at"]), "alert": a["kind"], "target": a["target"] or "(no target)",
            "status": a["status"], "attempts": a["attempts"], "error": a["error"]} for a in status.alerts]),
            hide_index=True, width="stretch")
