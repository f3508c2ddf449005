"""How the Scenarios page shows a run: its steps, failures side by side with what arrived, and a batch live."""

from __future__ import annotations

import json
from datetime import datetime

import streamlit as st

from apichat import rows
from apichat.scenarios import batches as runs
from apichat.scenarios.rates import Rates, percent
from ui import context
from ui.html import esc

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
.scn-rates { border-collapse: collapse; width: 100%; font-size: 0.88rem; margin: 0.2rem 0 0.5rem; }
.scn-rates th { text-align: left; color: #6b7280; font-weight: 600; padding: 0.2rem 0.5rem;
  border-bottom: 1px solid #e5e7eb; }
.scn-rates td { padding: 0.25rem 0.5rem; border-bottom: 1px solid #f3f4f6; vertical-align: middle; }
.scn-rates td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.scn-bar { display: inline-block; width: 6rem; height: 0.55rem; background: #fee2e2; border-radius: 3px;
  vertical-align: middle; overflow: hidden; }
.scn-bar > span { display: block; height: 100%; background: #16a34a; }
</style>
"""


@st.cache_resource(show_spinner=False)
def batches() -> runs.Batches:
    """Runs in progress, for every session of this Streamlit server."""
    return runs.Batches()


def _shown_from_ms(value: float | None) -> str:
    return "—" if value is None else f"{value / 1000:.2f} s"


def diff_table(rows: list[list[str]]) -> str:
    body = "".join(f'<tr><td class="what">{esc(what)}</td><td class="expected">{esc(expected)}</td>'
                   f'<td class="arrived">{esc(arrived)}</td></tr>' for what, expected, arrived in rows)
    return f'<table class="scn-diff"><tr><th></th><th>expected</th><th>arrived</th></tr>{body}</table>'


def raw_of(message_id: int | None):
    row = context.store().get_message(message_id) if message_id else None
    return None if row is None else rows.raw_of(row)


def show_step(run: dict, result: dict) -> None:
    detail = json.loads(result["detail"] or "{}")
    timing = []
    if result["first_reply_ms"] is not None:
        timing.append(f"first reply {_shown_from_ms(result['first_reply_ms'])} · "
                      f"settled {_shown_from_ms(result['settle_ms'])} · "
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


def show_run(run: dict, live: bool = False) -> None:
    results = context.store().scenario_results(run["id"])
    with st.container(border=True, key=f"scn-run-{run['id']}"):
        started = datetime.fromtimestamp(run["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
        st.markdown(f"{ICONS.get(run['status'], '')} **{run['scenario']}** &nbsp; `{run['path']}`")
        st.caption(f"run {run['id']} · profile **{run['profile']}** · contact `{run['contact_id']}` · started {started}"
                   + (f" · {run['finished_at'] - run['started_at']:.1f} s" if run["finished_at"] else ""))
        cols = st.columns(3)
        cols[0].metric("Steps passed", f"{sum(r['status'] == 'passed' for r in results)} / {run['total_steps']}")
        cols[1].metric("First reply p50 / p95", f"{_shown_from_ms(run['first_p50_ms'])} / {_shown_from_ms(run['first_p95_ms'])}")
        cols[2].metric("Settled p50 / p95", f"{_shown_from_ms(run['settle_p50_ms'])} / {_shown_from_ms(run['settle_p95_ms'])}")
        for result in results:
            show_step(run, result)
        if run["status"] == "running":
            for number, label in enumerate(runs.pending_steps(run, len(results))):
                icon = ICONS["running"] if number == 0 and live else "·"
                st.html(f'<div class="scn-pending">{icon} {esc(label)}{" — running…" if number == 0 else ""}</div>')


def rates_table(rates: Rates) -> str:
    """Each step's pass rate over the finished runs, as a table with a bar."""
    body = "".join(
        f'<tr><td class="num">{step.index}</td><td>{esc(step.label)}</td><td class="num">line {step.line}</td>'
        f'<td class="num">{step.passed} / {step.runs}</td><td class="num">{percent(step.rate)}</td>'
        f'<td><span class="scn-bar" aria-hidden="true"><span style="width: {step.rate * 100:.0f}%"></span></span></td>'
        f'</tr>' for step in rates.steps)
    return (f'<table class="scn-rates"><tr><th>Step</th><th></th><th></th><th class="num">passed</th>'
            f'<th class="num">rate</th><th></th></tr>{body}</table>')


def show_repeats(group: runs.Repeats, live: bool = False) -> None:
    """A scenario run N times: its pass rate against its threshold, each step's rate, the expectations that
    failed and how often, and any one of the runs opened as a single run is shown."""
    rates = group.rates
    first = group.runs[0]["id"]
    with st.container(border=True, key=f"scn-rates-{first}"):
        icon = ICONS["running"] if not group.done else ICONS["passed" if rates.ok else "failed"]
        st.markdown(f"{icon} **{group.name}** &nbsp; `{group.path}` &nbsp; · {len(group.runs)} of "
                    f"{group.times} runs")
        if not rates.runs:
            st.caption("The first run is under way…")
            show_run(group.runs[0], live=live)
            return
        verdict = rates.summary() + f" · pass^{rates.runs} {'yes' if rates.pass_k else 'no'}"
        if group.done:
            (st.success if rates.ok else st.error)(verdict, icon=":material/check_circle:" if rates.ok
                                                   else ":material/error:")
        else:
            st.info(f"So far: {verdict}", icon=":material/sync:")
        st.html(rates_table(rates))
        for problem in rates.problems:
            st.html(f'<div class="scn-problem"><code>{esc(group.path)}:{problem.line}</code> failed in '
                    f'<b>{problem.runs} of {rates.runs}</b> runs, e.g. {esc(problem.example)}</div>')
        numbers = list(range(1, len(group.runs) + 1))
        failing = [n for n in numbers if group.runs[n - 1]["status"] not in ("passed", "running")]
        # a new picker once all runs are in, so it opens on the first run that failed
        picked = st.segmented_control(
            "Open a run", numbers, default=failing[0] if failing else 1,
            key=f"scn-pick-{first}-{'done' if group.done else 'live'}",
            format_func=lambda n: f"{ICONS.get(group.runs[n - 1]['status'], '')} Run {n}",
            help="Each run is a new contact in a new conversation; pick one to see its steps.")
        show_run(group.runs[(picked or 1) - 1], live=live)


def show_batch(batch: str) -> None:
    found = context.store().list_scenario_runs(batch=batch)
    names = st.session_state.get("sc-batch-names") or []
    is_running = batches().running(batch)
    groups = runs.repeats_of(context.store(), found)
    done = [g for g in groups if g.done]
    passed = sum(g.rates.ok for g in done)
    if is_running:
        st.info(f"Running {len(names)} scenario(s): {len(done)} finished, {passed} passed…", icon=":material/sync:")
    elif found:
        failed = len(done) - passed
        (st.success if not failed else st.error)(
            f"{passed} of {len(done)} scenario(s) passed" + (f", {failed} did not" if failed else "") + ".",
            icon=":material/check_circle:" if not failed else ":material/error:")
    for group in groups:
        if group.times == 1:
            show_run(group.runs[0], live=is_running)
        else:
            show_repeats(group, live=is_running)
    for name in names[len(groups):]:
        st.html(f'<div class="scn-pending">{ICONS["queued"]} {esc(name)} — queued</div>')


def live_batch() -> None:
    batch = st.session_state.get("sc-batch")
    if not batch:
        return
    is_running = batches().running(batch)

    @st.fragment(run_every=0.5 if is_running else None)
    def view():
        show_batch(batch)
        if is_running and not batches().running(batch):
            st.rerun()  # finished: redraw once without the poll, with the Run button enabled again

    view()
