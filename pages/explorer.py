"""Explorer: crawl a bot's buttons into a map, see each state as the chat shows it, findings, coverage and diff."""

from __future__ import annotations

import streamlit as st

from apichat import explore
from apichat.explore import runs
from ui import context
from ui import explore_view as view
from ui.html import CSS

context.require_app("pages/explorer.py")
settings = context.settings()
db = context.store()
st.html(CSS)


def start(profile_name: str) -> None:
    profile = db.get_profile(profile_name)
    starts = runs.parse_starts(st.session_state.get("ex-start") or "")
    if profile is None or not starts:
        st.session_state["ex-problem"] = "Pick a profile and give at least one start message."
        return
    try:
        limits = explore.Limits(depth=int(st.session_state["ex-depth"]), max_steps=int(st.session_state["ex-steps"]),
                                max_states=int(st.session_state["ex-states"]),
                                workers=int(st.session_state["ex-workers"]),
                                similarity=float(st.session_state["ex-similar"]) or None)
    except ValueError as exc:
        st.session_state["ex-problem"] = str(exc)
        return
    job = view.crawls().start(db, profile, settings.db_path, starts, limits,
                              settle=float(st.session_state["ex-settle"]), pace=float(st.session_state["ex-pace"]))
    st.session_state["ex-crawl"] = job.id
    st.session_state["ex-source"] = "crawl"
    st.session_state.pop("ex-state", None)


def stop(crawl_id: str) -> None:
    job = view.crawls().get(crawl_id)
    if job is not None:
        job.stop.set()


st.markdown("### Explorer")
st.caption("Presses every postback button, card button and quick reply of the bot, breadth first, each path as a new "
           "contact, and draws the map. Headless: `python -m apichat.explore run --out DIR`.")

names = [p["name"] for p in db.list_profiles()]
active = context.active_profile()
crawl_id = st.session_state.get("ex-crawl")
job = view.crawls().get(crawl_id)
busy = job is not None and job.running

with st.container(border=True, key="ex-form"):
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if names:
            st.selectbox("Profile", names, index=names.index(active["name"]) if active else 0, key="ex-profile",
                         width=220)
        st.text_input("Start messages", value="hi", key="ex-start", width=220,
                      help="One or more, comma-separated: each starts the crawl from a new contact.")
        st.number_input("Depth", 0, 12, 4, key="ex-depth", width=130,
                        help="Button presses after the start message.")
        st.number_input("Max steps", 1, 5000, 300, key="ex-steps", width=130,
                        help="Messages sent in all, replays included.")
        st.number_input("Max states", 1, 1000, 100, key="ex-states", width=130)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.number_input("Quiet period (s)", 0.2, 10.0, 1.0, 0.1, key="ex-settle", width=150,
                        help="A turn is over when no reply came for this long.")
        st.number_input("Pace (s)", 0.0, 30.0, 0.0, 0.5, key="ex-pace", width=140,
                        help="Pause between paths: be polite to a real workspace.")
        st.number_input("Paths at once", 1, 8, 4 if (active or {}).get("name") == "sandbox" else 1,
                        key="ex-workers", width=130)
        st.number_input("Merge similar text", 0.0, 1.0, 0.0, 0.05, key="ex-similar", width=160,
                        help="For a bot that paraphrases (an AI step): turns with the same buttons whose text is at "
                             "least this similar are one state. 0: text must be equal.")
        st.button("Start crawl", type="primary", icon=":material/travel_explore:", key="ex-run", disabled=busy or not names,
                  on_click=start, args=(st.session_state.get("ex-profile") or "",))
        if busy:
            st.button("Stop", icon=":material/stop:", key="ex-stop", on_click=stop, args=(crawl_id,))
    if problem := st.session_state.pop("ex-problem", None):
        st.error(problem)

saved = runs.saved_maps(settings.db_path)
sources = (["crawl"] if job is not None else []) + list(saved)
if not sources:
    st.info("No map yet: start a crawl (the sandbox's demo bot maps in about 20 seconds).")
    st.stop()
if st.session_state.get("ex-source") not in sources:
    st.session_state["ex-source"] = sources[0]
source = st.selectbox("Map", sources, key="ex-source",
                      format_func=lambda s: f"this crawl ({job.id})" if s == "crawl" else f"saved: {s}")

if source == "crawl":
    view.live(crawl_id)
    if job.running:
        st.stop()
    current, name = job.snapshot, job.id
else:
    try:
        current, name = explore.load_map(saved[source].read_bytes()), source
    except (OSError, ValueError) as exc:
        st.error(f"The saved map {source} cannot be read: {exc}")
        st.stop()

tab_map, tab_findings, tab_cov, tab_diff, tab_files = st.tabs(
    ["Map", f"Findings ({len(current.findings)})", "Coverage", "Diff", "Downloads"])
with tab_map:
    view.graph(current, selected=st.session_state.get("ex-state"))
    st.caption("Red: broken or no reply · amber: dead end · orange: over a channel limit · octagons: presses that "
               "got nothing · dashed: url and call buttons (not followed) · thick border: the state picked below.")
    with st.container(key="ex-detail"):
        view.state_detail(current)
with tab_findings:
    view.findings(current)
with tab_cov:
    view.coverage(current)
with tab_diff:
    view.diff(current, settings.db_path)
with tab_files:
    view.downloads(current, name)
