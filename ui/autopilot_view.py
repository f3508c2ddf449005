"""The chat's Autopilot: pick a goal file (or type a goal and a success check), Start, watch the simulated contact
in the thread, Stop; the verdict; the past simulations. The work is apichat.simulate.runs'."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from apichat.scenarios import ScenarioError
from apichat.simulate import load_goal, parse_goal, save_as_scenario
from apichat.simulate.runs import Autopilot, Autopilots, past_simulations, typed_goal
from apichat.store import Store

from . import contacts, context

GOALS_DIR = Path(__file__).resolve().parent.parent / "goals"
RUN_KEY = "autopilot-run"  # the session's Autopilot id
SHOWN_KEY = "autopilot-shown"  # the run whose conversation the chat has switched to


@st.cache_resource(show_spinner=False)
def autopilots() -> Autopilots:
    return Autopilots()


def goal_files() -> list[Path]:
    return sorted(p for p in GOALS_DIR.glob("*.y*ml")) if GOALS_DIR.is_dir() else []


def popover(db: Store, profile: dict, db_path: str) -> None:
    """The Autopilot popover: the goal and Start, and the past simulations."""
    controls(db, profile, db_path)
    with st.expander("Past simulations"):
        past(db)


def box(db: Store) -> None:
    """The session's Autopilot above the thread: while it runs, its progress (polled) beside a Stop button (drawn
    once, so it stays put under the pointer); then its verdict."""
    run = current()
    if run is None:
        return
    if not run.running:
        status(db, run)
        return
    with st.container(border=True, horizontal=True, vertical_alignment="center", key="autopilot-status"):
        context.fragment(run_every=1.0)(progress)(db)
        st.button("Stop", icon=":material/stop_circle:", key="autopilot-stop", on_click=run.stop.set)


def progress(db: Store) -> None:
    """A running Autopilot's line. The chat switches to the run's contact and conversation, once, when it has one;
    when the run ends, the whole page is drawn again (the verdict, no more polling)."""
    run = current()
    if run is None or not run.running:
        st.rerun(scope="app")
    verdict = run.verdict
    if verdict is not None and st.session_state.get(SHOWN_KEY) != run.id:
        st.session_state[SHOWN_KEY] = run.id
        contacts.show_conversation(db, verdict.contact_id, verdict.conversation)
        st.rerun(scope="app")
    turns = len(verdict.records) if verdict else 0
    st.markdown(f"**Autopilot** · {run.goal.name} · {run.status}" + (f" · turn {turns}" if turns else "")
                + (f" — {run.message}" if run.message else ""), width="stretch")


def controls(db: Store, profile: dict, db_path: str) -> None:
    """The popover's form: a goal file, an upload or a typed goal; Start runs it in the background."""
    source = st.radio("Goal", ["A goal file", "Type a goal"], horizontal=True, key="autopilot-source")
    goal = None
    if source == "A goal file":
        files = {p.name: p for p in goal_files()}
        picked = st.selectbox("Goal file (goals/)", list(files), key="autopilot-file") if files else None
        upload = st.file_uploader("…or upload one", type=["yaml", "yml"], key="autopilot-upload")
        try:
            if upload is not None:
                goal = parse_goal(upload.getvalue().decode("utf-8-sig", "replace"), upload.name)
            elif picked:
                goal = load_goal(files[picked], f"goals/{picked}")
        except ScenarioError as exc:
            st.error(str(exc))
    else:
        wanted = st.text_input("What the contact wants", placeholder="Buy something and get an order number",
                               key="autopilot-goal")
        contains = st.text_input("Reached when a reply contains", placeholder="Order #", key="autopilot-contains")
        say = st.text_area("Lines it may type (one per line)", value="hi", key="autopilot-say", height=80)
        if wanted.strip() and contains.strip():
            try:
                goal = typed_goal(wanted, contains, say)
            except ScenarioError as exc:
                st.error(str(exc))
    if goal is not None:
        st.caption(f"**{goal.name}** — {goal.goal}; reached when {goal.describe_success()}; at most "
                   f"{goal.max_turns} turns")
    if st.button("Start", type="primary", icon=":material/smart_toy:", disabled=goal is None, key="autopilot-start"):
        run = autopilots().start(db, profile, db_path, goal)
        st.session_state[RUN_KEY] = run.id
        st.rerun()


def current() -> Autopilot | None:
    return autopilots().get(st.session_state.get(RUN_KEY))


def status(db: Store, run: Autopilot) -> None:
    """A finished Autopilot's verdict: reached or not, what matched, what was noticed, each turn's reply times."""
    verdict = run.verdict
    if verdict is not None and st.session_state.get(SHOWN_KEY) != run.id:  # it ended before the page polled
        st.session_state[SHOWN_KEY] = run.id
        contacts.show_conversation(db, verdict.contact_id, verdict.conversation)
        st.rerun()
    with st.container(border=True, key="autopilot-status"):
        if verdict is None:
            st.error(f"Autopilot could not run {run.goal.name}: {run.message}", icon=":material/error:")
        elif verdict.reached:
            st.success(f"Autopilot reached **{run.goal.name}** in {verdict.turns} turns.", icon=":material/flag:")
        else:
            st.warning(f"Autopilot did not reach **{run.goal.name}** after {verdict.turns} turns: {verdict.reason}",
                       icon=":material/do_not_disturb_on:")
        if verdict is not None:
            lines = [f"✓ matched {m}" for m in verdict.matched] + [f"· {n}" for n in verdict.notes]
            lines += [f"{r.number}. {r.label} → first reply {_s(r.first_reply)}, last {_s(r.last_reply)}"
                      for r in verdict.records]
            st.text("\n".join(lines))
            if verdict.reached:
                st.download_button("Save as scenario", save_as_scenario(db, run.goal, verdict),
                                   f"{run.goal.name.lower().replace(' ', '-')}.scenario.yaml", "application/x-yaml",
                                   on_click="ignore", icon=":material/checklist:", key="autopilot-save")
        if st.button("Close", key="autopilot-close"):
            st.session_state.pop(RUN_KEY, None)
            st.rerun()


def _s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def past(db: Store) -> None:
    """Past simulations, newest first: each opens its conversation (the transcript) in the thread."""
    rows = past_simulations(db)
    if not rows:
        st.caption("No simulations yet.")
        return
    for row in rows:
        mark = {"passed": "✓ reached", "failed": "✗ not reached", "error": "! error"}.get(row["status"], row["status"])
        turns = row["passed_steps"]
        st.button(f"{row['scenario']} · {mark} · {turns} turn{'' if turns == 1 else 's'} · {row['contact_id']}",
                  key=f"autopilot-past-{row['id']}", width="stretch", type="tertiary",
                  on_click=contacts.show_conversation, args=(db, row["contact_id"], row["conversation"]))
