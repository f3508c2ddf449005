"""Scenarios: pick files and a profile, run them, and watch each step pass or fail live; every run is kept."""

from __future__ import annotations

import re
import time
from datetime import datetime
from functools import partial

import pandas as pd
import streamlit as st

from apichat import scenarios, transcript
from apichat.processes import ROOT
from apichat.scenarios import batches as runs
from ui import context
from ui.html import CSS
from ui.scenario_view import ICONS, PAGE_CSS, batches, live_batch, show_run

RECORDED_DIR = ROOT / "scenarios" / runs.RECORDED

context.require_app("pages/scenarios.py")
settings = context.settings()
db = context.store()
st.html(CSS + PAGE_CSS)


def chosen() -> tuple[list, list[str]]:
    """The picked and uploaded scenarios that load, and one line per problem of those that do not."""
    uploads = [(u.name, u.getvalue()) for u in st.session_state.get("sc-upload") or []]
    return runs.load_chosen(st.session_state.get("sc-files") or [], runs.available_files(ROOT), uploads)


def start(items: list, profile_name: str, settle: float) -> None:
    profile = db.get_profile(profile_name)
    if profile is None:
        st.toast(f"No profile named {profile_name}", icon=":material/error:")
        return
    st.session_state["sc-batch"] = batches().start(db, profile, items, settle)
    st.session_state["sc-batch-names"] = [s.name for s in items]
    st.session_state.pop("sc-history-pick", None)


# ---------------------------------------------------------------- the page

st.markdown("### Scenarios")
st.caption("Scripted conversations with expectations on the bot's replies. The same files run headless with "
           "`python -m apichat.scenarios run scenarios/` or `pytest scenarios/`.")
tab_run, tab_history, tab_record = st.tabs(["Run", "History", "Record from a conversation"])

with tab_run:
    files = runs.available_files(ROOT)
    names = [p["name"] for p in db.list_profiles()]
    active = context.active_profile()
    st.multiselect("Scenario files", list(files), key="sc-files", placeholder="Pick one or more files",
                   help="Files under scenarios/ in the repository (drafts in scenarios/recorded/ too).")
    st.file_uploader("…or upload scenario files", type=["yaml", "yml"], accept_multiple_files=True, key="sc-upload")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if names:
            st.selectbox("Profile", names, index=names.index(active["name"]) if active else 0, key="sc-profile",
                         help="Which bot to run against; each run is a new conversation_id.")
        st.number_input("Quiet period (s)", min_value=0.2, max_value=10.0, value=1.0, step=0.1, key="sc-settle",
                        help="A turn is over when no reply arrived for this long (or the expected count is there).")
        run_slot = st.container()
    picked, problems = chosen()
    if problems:
        st.error("**Some files cannot run:**\n\n" + "\n".join(f"- `{p}`" for p in problems), icon=":material/error:")
    busy = batches().running(st.session_state.get("sc-batch"))
    label = f"Run {len(picked)} scenario{'s' if len(picked) != 1 else ''}" if picked else "Run"
    run_slot.button(label, type="primary", icon=":material/play_arrow:", key="sc-run",
                    disabled=not picked or not names or busy, on_click=start,
                    args=(picked, st.session_state.get("sc-profile") or "", st.session_state.get("sc-settle") or 1.0))
    if not names:
        st.info("No connection profile yet: add one on **Connect** (the sandbox appears by itself).")
    live_batch()

with tab_history:
    history = db.list_scenario_runs(limit=300)
    if not history:
        st.caption("No scenario has run yet.")
    else:
        table = pd.DataFrame([{
            "run": r["id"], "started": datetime.fromtimestamp(r["started_at"]).strftime("%Y-%m-%d %H:%M:%S"),
            "scenario": r["scenario"], "file": r["path"], "profile": r["profile"],
            "status": f"{ICONS.get(r['status'], '')} {r['status']}",
            "steps": f"{r['passed_steps']}/{r['total_steps']}",
            **{label: None if r[column] is None else round(r[column]) for label, column in (
                ("first reply p50 (ms)", "first_p50_ms"), ("first reply p95 (ms)", "first_p95_ms"),
                ("settled p50 (ms)", "settle_p50_ms"), ("settled p95 (ms)", "settle_p95_ms"))},
        } for r in history])
        event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                             key="sc-history", width="stretch",  # a long path must not push the status out of view
                             column_config={"file": st.column_config.TextColumn(width="medium")})
        rows = event.selection.rows if event else []
        if rows:
            picked_run = int(table.iloc[rows[0]]["run"])
            show_run(db.get_scenario_run(picked_run))
            if db.get_scenario_run(picked_run)["conversation"] is not None:
                st.download_button("HTML transcript", partial(transcript.scenario_run_html, db, picked_run,
                                   settings.media_dir), f"scenario-run-{picked_run}.html", "text/html",
                                   on_click="ignore", icon=":material/web:", key="sc-history-html",
                                   help="This run's conversation with each step's verdict, as one file anyone can open")
        else:
            st.caption("Select a run to see its steps.")

with tab_record:
    profile = context.active_profile()
    conversations = [c for c in db.list_conversations(profile["name"]) if c["last_kind"]] if profile else []
    if not conversations:
        st.caption("No conversation in this profile yet: chat with the bot first, then record it here.")
    else:
        labels = {c["id"]: f"#{c['conv_id']} · {c['contact_id']} · {(c['last_text'] or c['last_kind'] or '')[:40]}"
                  for c in conversations[:200]}
        pick = st.selectbox("Conversation", list(labels), format_func=labels.get, key="sc-record-conv")
        try:
            text = scenarios.record_conversation(db, pick)
        except ValueError as exc:
            st.info(str(exc))
        else:
            st.code(text, language="yaml")
            conv = db.get_conversation(pick)
            stem = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{conv['profile']}-{conv['conv_id']}")
            with st.container(horizontal=True):
                st.download_button("Download", text, f"{stem}.yaml", "application/x-yaml", on_click="ignore",
                                   icon=":material/download:")
                if st.button("Save to scenarios/recorded/", icon=":material/save:", key="sc-record-save"):
                    RECORDED_DIR.mkdir(parents=True, exist_ok=True)
                    target = RECORDED_DIR / f"{stem}-{int(time.time())}.yaml"
                    target.write_text(text, encoding="utf-8")
                    st.toast(f"Saved {target.relative_to(ROOT)}: pick it under Run.", icon=":material/check:")
