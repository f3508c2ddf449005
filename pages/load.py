"""Load: many contacts at once run scenario files on Locust; live charts, per-step latency, failures, History."""

from __future__ import annotations

import streamlit as st

from apichat.load import SAFE_USERS, LoadError, think_range
from apichat.load.runs import SANDBOX_TARGET, LoadRequest
from apichat.processes import ROOT
from apichat.profiles import SANDBOX
from apichat.scenarios.batches import available_files
from ui import context
from ui.html import CSS
from ui.load_view import history_table, runs, show_run

context.require_app("pages/load.py")
settings = context.settings()
db = context.store()
st.html(CSS)


def target_label(name: str) -> str:
    if name == SANDBOX_TARGET:
        return "Fresh sandbox (own store)"
    return "Console sandbox" if name == SANDBOX else f"{name} (real workspace)"


def start(request: LoadRequest) -> None:
    st.session_state["ld-run"] = runs().start(request, settings.db_path)


def stop(run_id: str) -> None:
    runs().stop(run_id)


st.markdown("### Load")
st.caption("Many contacts at once, each running the scenario files in a loop, with the time to each step's first "
           "reply. Locust does the load; the same run headless: `python -m apichat.load run scenarios/x.yaml "
           "--users 200 --spawn-rate 20 --run-time 2m`.")
tab_run, tab_history = st.tabs(["Run", "History"])

with tab_run:
    files = available_files(ROOT)
    st.multiselect("Scenario files", list(files), key="ld-files", placeholder="Pick one or more files",
                   help="Each contact runs them in turn, in a new conversation each time.")
    targets = [SANDBOX_TARGET] + [p["name"] for p in db.list_profiles()]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        target = st.selectbox("Target", targets, format_func=target_label, key="ld-target",
                              help="A fresh sandbox keeps the load's contacts out of the console's store.")
        users = st.number_input("Contacts", min_value=1, max_value=5000, value=20, step=10, key="ld-users")
        spawn = st.number_input("Started per second", min_value=0.1, max_value=1000.0, value=10.0, key="ld-spawn")
        seconds = st.number_input("Duration (s)", min_value=5, max_value=3600, value=60, step=5, key="ld-seconds")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        think = st.text_input("Think time", value="1s", key="ld-think",
                              help="The pause after each step: 1s, or a range such as 2s-5s.")
        max_rate = st.number_input("Max messages/s (0: no cap)", min_value=0.0, value=0.0, key="ld-rate")
    real = target not in (SANDBOX_TARGET, SANDBOX)
    confirmed = True
    if real:
        st.warning(f"**{target} is a real workspace.** Every contact's messages reach its bot and count against its "
                   "limits; UChat's 429 and 5xx answers are counted as failures and never retried. Above "
                   f"{SAFE_USERS} contacts the run needs your confirmation; set a message cap.",
                   icon=":material/warning:")
        if users > SAFE_USERS:
            confirmed = st.checkbox(f"Send {users} contacts' messages to {target}", key="ld-confirm")
    problem = ""
    try:
        think_range(think)
    except LoadError as exc:
        problem = str(exc)
        st.error(problem, icon=":material/error:")
    current = st.session_state.get("ld-run")
    busy = runs().running(current)
    picked = st.session_state.get("ld-files") or []
    request = LoadRequest(files=[files[f] for f in picked if f in files], profile=target, users=int(users),
                          spawn_rate=float(spawn), seconds=int(seconds), think=think, max_rate=float(max_rate),
                          allow_real=real and confirmed, names=list(picked))
    with st.container(horizontal=True):
        st.button(f"Start {int(users)} contacts", type="primary", icon=":material/play_arrow:", key="ld-start",
                  disabled=busy or not request.files or not confirmed or bool(problem), on_click=start,
                  args=(request,))
        if busy:
            st.button("Stop", icon=":material/stop:", key="ld-stop", on_click=stop, args=(current,))

    if current:
        @context.fragment(run_every=1.0 if busy else None)
        def live():
            show_run(current)
            if busy and not runs().running(current):
                st.rerun()  # finished: redraw once without the poll, with Start enabled again
        live()

with tab_history:
    items = runs().history()
    if not items:
        st.caption("No load run yet.")
    else:
        table = history_table(items)
        event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                             key="ld-history", width="stretch")
        rows = event.selection.rows if event else []
        if rows:
            show_run(str(table.iloc[rows[0]]["run"]), "history")
        else:
            st.caption("Select a run to see its charts, steps and failures, and download its reports.")
