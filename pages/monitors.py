"""Monitors: each monitor's state, uptime and first-reply latency, its failures with transcripts, Run now, Pause."""

from __future__ import annotations

import os
import time

import streamlit as st

from apichat import monitor as monitors
from apichat.processes import ROOT
from apichat.scenarios import ScenarioError
from ui import context
from ui.monitor_view import badge, failures, jobs, latency_chart, summary

context.require_app("pages/monitors.py")
settings = context.settings()
db = context.store()


def run_now(monitor: monitors.Monitor) -> None:
    folder = os.path.join(settings.data_dir, "transcripts")
    started = jobs().start(db, monitor, transcript=monitors.transcript_writer(db, folder, settings.media_dir))
    st.toast(f"Running {monitor.name}…" if started else f"{monitor.name} is already running",
             icon=":material/play_arrow:")


def save(path: str) -> None:
    try:
        kept = monitors.save_monitors(path, st.session_state["mon-edit"])
    except ScenarioError as exc:
        st.session_state["mon-edit-problems"] = exc.problems
    except OSError as exc:
        st.session_state["mon-edit-problems"] = [f"{path}:1: cannot write the file: {exc.strerror or exc}"]
    else:
        st.session_state.pop("mon-edit-problems", None)
        st.toast(f"Saved {len(kept)} monitor(s); restart the monitor processes to use them", icon=":material/save:")


def pause(name: str, paused: bool) -> None:
    monitors.set_paused(db, name, paused)


st.markdown("### Monitors")
st.caption("Scenarios run on a schedule, with one alert when the bot goes down and one when it is back. The "
           "schedule runs in its own process: `python -m apichat.monitor run monitors.yaml` (docs/monitors.md).")
path = st.text_input("Monitors file", os.environ.get("APICHAT_MONITORS") or str(ROOT / "monitors.yaml"),
                     key="mon-file", help="Its scenario paths are relative to it (APICHAT_MONITORS sets the default).")
try:
    found = monitors.load_monitors(path) if os.path.exists(path) else []
    if not found:
        st.info(f"No monitors file at `{path}` yet: write one as docs/monitors.md shows.", icon=":material/info:")
except ScenarioError as exc:
    found = []
    st.error("**The monitors file cannot be used:**\n\n" + "\n".join(f"- `{p}`" for p in exc.problems),
             icon=":material/error:")

with st.expander("Edit the monitors file"):
    current = open(path, encoding="utf-8").read() if os.path.isfile(path) else ""
    st.text_area("monitors.yaml", current, height=260, key="mon-edit", label_visibility="collapsed")
    st.button("Save", key="mon-save", icon=":material/save:", on_click=save, args=(path,),
              help="Checked first: a file with a problem is not written")
    if problems := st.session_state.get("mon-edit-problems"):
        st.error("**Not saved:**\n\n" + "\n".join(f"- `{p}`" for p in problems), icon=":material/error:")


@st.fragment(run_every=3)
def board() -> None:
    now = time.time()
    for monitor in found:
        paused = monitors.is_paused(db, monitor)
        status = monitors.status_of(db, monitor, now, paused)
        busy = jobs().running(monitor.name)
        with st.container(border=True, key=f"mon-{monitor.name}"):
            with st.container(horizontal=True, vertical_alignment="center"):
                st.markdown(f"#### {monitor.name} {badge('running' if busy else status.state)}")
                st.button("Run now", key=f"mon-run-{monitor.name}", icon=":material/play_arrow:", disabled=busy,
                          on_click=run_now, args=(monitor,))
                if not monitor.paused:
                    st.button("Resume" if paused else "Pause", key=f"mon-pause-{monitor.name}",
                              icon=":material/play_circle:" if paused else ":material/pause_circle:",
                              on_click=pause, args=(monitor.name, not paused))
            summary(monitor, status)
            latency_chart(status)
            with st.expander(f"Failures ({len(status.failures)} in 7 days) and alerts"):
                failures(db, status, settings.media_dir)


if found:
    board()
