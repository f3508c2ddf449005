"""Scenarios: pick files and a profile, run them, and watch each step pass or fail live; every run is kept."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime

import pandas as pd
import streamlit as st

from apichat import scenarios
from apichat.processes import ROOT
from ui import context
from ui.html import CSS, esc

SCENARIO_DIR = ROOT / "scenarios"
RECORDED_DIR = SCENARIO_DIR / "recorded"
ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️", "running": "⏳", "queued": "🕓"}
PAGE_CSS = """
<style>
.scn-diff { border-collapse: collapse; width: 100%; font-size: 0.86rem; margin: 0.2rem 0 0.4rem; }
.scn-diff th { text-align: left; color: #6b7280; font-weight: 600; padding: 0.2rem 0.5rem;
  border-bottom: 1px solid #e5e7eb; }
.scn-diff td { vertical-align: top; padding: 0.25rem 0.5rem; border-bottom: 1px solid #f3f4f6;
  white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.scn-diff td.what { color: #374151; width: 9rem; font-family: inherit; font-weight: 600; }
.scn-diff td.expected { background: #f0fdf4; color: #14532d; width: 45%; }
.scn-diff td.arrived { background: #fef2f2; color: #7f1d1d; width: 45%; }
.scn-step { font-size: 0.92rem; }
.scn-step .scn-line { color: #6b7280; font-size: 0.8rem; }
.scn-problem { font-size: 0.88rem; margin-top: 0.15rem; }
.scn-pending { color: #9ca3af; font-size: 0.92rem; }
</style>
"""

context.require_app("pages/scenarios.py")
settings = context.settings()
db = context.store()
st.html(CSS + PAGE_CSS)


@st.cache_resource(show_spinner=False)
def batches() -> dict[str, threading.Thread]:
    """Runs in progress, by batch id, for every session of this Streamlit server."""
    return {}


def running(batch: str | None) -> bool:
    thread = batches().get(batch or "")
    return thread is not None and thread.is_alive()


# ---------------------------------------------------------------- choosing and checking files

def available_files() -> dict[str, str]:
    """Scenario files under scenarios/ (drafts in recorded/ included), by their path relative to the repo."""
    found = sorted(p for p in SCENARIO_DIR.rglob("*") if p.suffix in scenarios.SCENARIO_SUFFIXES and p.is_file())
    return {str(p.relative_to(ROOT)): str(p) for p in found}


def chosen() -> tuple[list[scenarios.Scenario], list[str]]:
    """The picked and uploaded scenarios that load, and one line per problem of those that do not."""
    loaded, problems = [], []
    files = available_files()
    for shown in st.session_state.get("sc-files") or []:
        if shown not in files:
            continue
        try:
            loaded.append(scenarios.load_scenario(files[shown], shown))
        except scenarios.ScenarioError as exc:
            problems += exc.problems
    for upload in st.session_state.get("sc-upload") or []:
        shown = f"upload:{upload.name}"
        try:
            text = upload.getvalue().decode("utf-8-sig")
            loaded.append(scenarios.parse_scenario(text, shown))
        except UnicodeDecodeError:
            problems.append(f"{shown}:1: the file is not UTF-8 text")
        except scenarios.ScenarioError as exc:
            problems += exc.problems
    return loaded, problems


def start(items: list[scenarios.Scenario], profile_name: str, settle: float) -> None:
    profile = db.get_profile(profile_name)
    if profile is None:
        st.toast(f"No profile named {profile_name}", icon=":material/error:")
        return
    batch = f"ui-{uuid.uuid4().hex[:12]}"

    def work():
        for scenario in items:
            scenarios.Runner(db, profile, settle=settle, batch=batch).run(scenario)

    thread = threading.Thread(target=work, name=f"scenarios-{batch}", daemon=True)
    batches()[batch] = thread
    st.session_state["sc-batch"] = batch
    st.session_state["sc-batch-names"] = [s.name for s in items]
    st.session_state.pop("sc-history-pick", None)
    thread.start()


# ---------------------------------------------------------------- showing a run

def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value / 1000:.2f} s"


def diff_table(rows: list[list[str]]) -> str:
    body = "".join(f'<tr><td class="what">{esc(what)}</td><td class="expected">{esc(expected)}</td>'
                   f'<td class="arrived">{esc(arrived)}</td></tr>' for what, expected, arrived in rows)
    return f'<table class="scn-diff"><tr><th></th><th>expected</th><th>arrived</th></tr>{body}</table>'


def raw_of(message_id: int | None):
    row = db.get_message(message_id) if message_id else None
    if row is None:
        return None
    try:
        return json.loads(row["raw"])
    except (TypeError, ValueError):
        return row["raw"]


def show_step(run: dict, result: dict) -> None:
    detail = json.loads(result["detail"] or "{}")
    timing = []
    if result["first_reply_ms"] is not None:
        timing.append(f"first reply {_ms(result['first_reply_ms'])} · settled {_ms(result['settle_ms'])} · "
                      f"{result['replies']} repl{'y' if result['replies'] == 1 else 'ies'}")
    elif detail.get("action") not in ("wait", "check") and result["status"] in ("passed", "failed"):
        timing.append("no reply")
    st.html(f'<div class="scn-step">{ICONS.get(result["status"], "")} <b>Step {result["position"]}</b> · '
            f'{esc(result["label"])} <span class="scn-line">· line {result["line"]}'
            f'{" · " + esc(timing[0]) if timing else ""}</span></div>')
    if detail.get("error"):
        st.error(f"`{run['path']}:{result['line']}` {detail['error']}", icon=":material/error:")
    for number, failure in enumerate(detail.get("failures") or []):
        st.html(f'<div class="scn-problem"><code>{esc(run["path"])}:{failure["line"]}</code> '
                f'{esc(failure["problem"])}</div>')
        if failure.get("rows"):
            st.html(diff_table(failure["rows"]))
        raw = raw_of(failure.get("reply_id"))
        if raw is not None:
            with st.expander(f"Raw payload of the reply it was compared with (message {failure['reply_id']})"):
                st.json(raw, expanded=True)
        elif number == 0 and detail.get("reply_ids"):
            st.caption(f"{len(detail['reply_ids'])} replies arrived in this turn.")


def pending_steps(run: dict, done: int) -> list[str]:
    try:
        steps = scenarios.parse_scenario(run["source"], run["path"]).steps
    except scenarios.ScenarioError:
        return []
    return [f"Step {s.index} · {s.label}" for s in steps[done:]]


def show_run(run: dict, live: bool = False) -> None:
    results = db.scenario_results(run["id"])
    with st.container(border=True, key=f"scn-run-{run['id']}"):
        started = datetime.fromtimestamp(run["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
        st.markdown(f"{ICONS.get(run['status'], '')} **{run['scenario']}** &nbsp; `{run['path']}`")
        st.caption(f"run {run['id']} · profile **{run['profile']}** · contact `{run['contact_id']}` · started {started}"
                   + (f" · {run['finished_at'] - run['started_at']:.1f} s" if run["finished_at"] else ""))
        cols = st.columns(3)
        cols[0].metric("Steps passed", f"{sum(r['status'] == 'passed' for r in results)} / {run['total_steps']}")
        cols[1].metric("First reply p50 / p95", f"{_ms(run['first_p50_ms'])} / {_ms(run['first_p95_ms'])}")
        cols[2].metric("Settled p50 / p95", f"{_ms(run['settle_p50_ms'])} / {_ms(run['settle_p95_ms'])}")
        for result in results:
            show_step(run, result)
        if run["status"] == "running":
            for number, label in enumerate(pending_steps(run, len(results))):
                icon = ICONS["running"] if number == 0 and live else "·"
                st.html(f'<div class="scn-pending">{icon} {esc(label)}{" — running…" if number == 0 else ""}</div>')


def show_batch(batch: str) -> None:
    runs = db.list_scenario_runs(batch=batch)
    names = st.session_state.get("sc-batch-names") or []
    is_running = running(batch)
    done = [r for r in runs if r["status"] != "running"]
    passed = sum(r["status"] == "passed" for r in done)
    if is_running:
        st.info(f"Running {len(names)} scenario(s): {len(done)} finished, {passed} passed…", icon=":material/sync:")
    elif runs:
        failed = len(done) - passed
        (st.success if not failed else st.error)(
            f"{passed} of {len(done)} scenario(s) passed" + (f", {failed} did not" if failed else "") + ".",
            icon=":material/check_circle:" if not failed else ":material/error:")
    for run in runs:
        show_run(run, live=is_running)
    for name in names[len(runs):]:
        st.html(f'<div class="scn-pending">{ICONS["queued"]} {esc(name)} — queued</div>')


def live_batch() -> None:
    batch = st.session_state.get("sc-batch")
    if not batch:
        return
    is_running = running(batch)

    @context.fragment(run_every=0.5 if is_running else None)
    def view():
        show_batch(batch)
        if is_running and not running(batch):
            st.rerun()  # finished: redraw once without the poll, with the Run button enabled again

    view()


# ---------------------------------------------------------------- the page

st.markdown("### Scenarios")
st.caption("Scripted conversations with expectations on the bot's replies. The same files run headless with "
           "`python -m apichat.scenarios run scenarios/` or `pytest scenarios/`.")
tab_run, tab_history, tab_record = st.tabs(["Run", "History", "Record from a conversation"])

with tab_run:
    files = available_files()
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
    busy = running(st.session_state.get("sc-batch"))
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
                             key="sc-history", width="stretch")
        rows = event.selection.rows if event else []
        if rows:
            show_run(db.get_scenario_run(int(table.iloc[rows[0]]["run"])))
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
