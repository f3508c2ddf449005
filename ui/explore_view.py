"""How the Explorer page draws a crawl: progress and the map growing, a state's messages as the chat shows them,
findings, coverage, diff and downloads."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pandas as pd
import streamlit as st

from apichat import explore, scenarios
from apichat.explore import runs
from apichat.processes import ROOT
from apichat.scenarios.batches import available_files

from . import context, render

COVERED, UNCOVERED = ("#dcfce7", "#15803d"), ("#f1f5f9", "#94a3b8")


@st.cache_resource(show_spinner=False)
def crawls() -> runs.Crawls:
    """Crawls in progress, for every session of this Streamlit server."""
    return runs.Crawls()


def state_label(m: explore.CrawlMap, sid: str) -> str:
    state = m.states[sid]
    flags = sorted({f.kind for f in m.findings if f.state == sid})
    return f"{sid} · {state.preview[:60]}" + (f"  [{', '.join(flags)}]" if flags else "")


def graph(m: explore.CrawlMap, styles=None, selected: str | None = None, old: explore.CrawlMap | None = None,
          removed: list[str] | None = None, removed_edges: list[tuple[str, str, str, str]] | None = None) -> None:
    if not m.states and not m.edges:
        st.caption("No state yet.")
        return
    alt = (f"Map of the bot: {len(m.states)} states, {len(m.edges)} presses, {len(m.findings)} findings "
           "(the same in text: Findings tab and report.md)")
    st.graphviz_chart(explore.to_dot(m, styles, selected, extra_edges=removed_edges, removed=old, removed_ids=removed),
                      width="stretch", alt=alt)


def progress(job: runs.Crawl) -> None:
    m = job.snapshot
    planned = max(m.stats.get("planned", 1), 1)
    done = min(len(m.edges) / planned, 1.0)
    st.progress(done if job.running else 1.0, text=f"{len(m.states)} states · {len(m.edges)} of {planned} actions · "
                                                    f"{m.stats.get('steps', 0)} steps · {m.stats.get('seconds', 0):.1f} s")
    if job.error:
        st.error(f"The crawl failed: {job.error}. The map so far is kept.", icon=":material/error:")
    elif not job.running:
        (st.success if m.status == "finished" else st.warning)(f"**{m.status}** — {m.message}. Saved as "
                                                               f"`{job.folder.name}`.")


def live(crawl_id: str) -> None:
    """The crawl's progress and its map, redrawn twice a second while it runs."""
    job = crawls().get(crawl_id)
    if job is None:
        return
    running = job.running

    @context.fragment(run_every=0.5 if running else None)
    def view():
        progress(job)
        if job.running:
            graph(job.snapshot)
        elif running:
            st.rerun()  # finished: redraw the page once with the whole map and its tabs
    view()


def jump(m: explore.CrawlMap, source: str, title: str, payload: str) -> None:
    """A button pressed in the state's detail: show the state it leads to."""
    edge = next((e for e in m.out_edges(source) if e.action.payload == payload and e.target), None)
    if edge is not None:
        st.session_state["ex-state"] = edge.target


def state_detail(m: explore.CrawlMap) -> None:
    ids = list(m.states)
    if not ids:
        return
    if st.session_state.get("ex-state") not in ids:
        st.session_state["ex-state"] = ids[0]
    sid = st.selectbox("State", ids, key="ex-state", format_func=lambda s: state_label(m, s),
                       help="Its messages as the chat shows them; press a button to go to the state it leads to.")
    left, right = st.columns([3, 2], gap="medium")
    with left:
        _messages(m, sid)
    with right:
        _about(m, sid)


def _about(m: explore.CrawlMap, sid: str) -> None:
    state = m.states[sid]
    st.caption("Reached by: " + " → ".join(a.label for a in state.path) + f" · depth {state.depth} · seen "
               f"{state.visits}×")
    for f in [f for f in m.findings if f.state == sid or (f.state is None and f.edge is not None
                                                          and m.edges[f.edge].source == sid)]:
        st.warning(f"**{f.kind.replace('_', ' ')}** — {f.message}", icon=":material/report:")
    if state.links:
        st.caption("Links (not followed): " + ", ".join(f"{x['title']} ({x['url']})" for x in state.links))


def _messages(m: explore.CrawlMap, sid: str) -> None:
    state = m.states[sid]
    now = time.time()
    for i, reply in enumerate(state.replies):
        row = {"id": f"ex-{sid}-{i}", "direction": "in", "author": reply.get("author", "bot"),
               "kind": reply.get("kind", ""), "created_at": now, "data": json.dumps(reply.get("data") or {}),
               "raw": json.dumps(reply.get("raw")), "delivery": None, "status": ""}
        render.bot_message(row, None, False, lambda title, payload, s=sid: jump(m, s, title, payload),
                           lint_channels=tuple(m.channels))


def findings(m: explore.CrawlMap) -> None:
    if not m.findings:
        st.success("No findings.")
        return
    counts = pd.Series([f.kind for f in m.findings]).value_counts()
    st.caption(" · ".join(f"{k.replace('_', ' ')} {n}" for k, n in counts.items()))
    st.dataframe(pd.DataFrame([{"kind": f.kind.replace("_", " "), "finding": f.message,
                                "state": f.state or (m.edges[f.edge].source if f.edge is not None else "")}
                               for f in m.findings]), hide_index=True, width="stretch", key="ex-findings")


def coverage(m: explore.CrawlMap) -> None:
    files = available_files(ROOT)
    picked = st.multiselect("Scenario files", list(files), key="ex-cov-files", placeholder="Pick scenario files",
                            help="Walked on the map: their sends from the start, their clicks among the buttons.")
    history = context.store().list_scenario_runs(limit=200)
    labels = {r["id"]: f"run {r['id']} · {r['scenario']} · {r['profile']} · {r['status']}" for r in history}
    runs_picked = st.multiselect("…or recorded runs (History)", list(labels), format_func=labels.get,
                                 key="ex-cov-runs")
    traces = []
    for name in picked:
        try:
            traces.append(explore.trace_scenario(m, scenarios.load_scenario(files[name], name)))
        except scenarios.ScenarioError as exc:
            st.error(str(exc))
    db = context.store()
    traces += [explore.trace_run(m, db, db.get_scenario_run(r)) for r in runs_picked]
    if not traces:
        st.caption("Pick scenario files or recorded runs to see which states and edges they exercise.")
        return
    cov = explore.coverage(m, traces)
    a, b = st.columns(2)
    a.metric("States covered", f"{cov.state_percent:.0f} %", f"{len(cov.states)} of {cov.total_states}",
             delta_color="off")
    b.metric("Edges covered", f"{cov.edge_percent:.0f} %", f"{len(cov.edges)} of {cov.total_edges}",
             delta_color="off")
    styles = {s: COVERED if s in cov.states else UNCOVERED for s in m.states}
    graph(m, styles)
    st.code(explore.coverage_text(m, cov), language=None, wrap_lines=True)


def _map_from(source: str, saved: dict, upload) -> explore.CrawlMap | None:
    try:
        if source == "upload":
            return explore.load_map(upload.getvalue()) if upload is not None else None
        return explore.load_map(saved[source].read_bytes())
    except (ValueError, OSError) as exc:
        st.error(f"That map cannot be read: {exc}")
        return None


def diff(m: explore.CrawlMap, db_path: str) -> None:
    saved = runs.saved_maps(db_path)
    choices = ["current", *saved, "upload"]
    left, right = st.columns(2)
    old_pick = left.selectbox("Old map", choices, index=min(1, len(choices) - 1), key="ex-diff-old")
    old_up = left.file_uploader("Old map.json", type=["json"], key="ex-diff-old-up") if old_pick == "upload" else None
    new_pick = right.selectbox("New map", choices, index=0, key="ex-diff-new")
    new_up = right.file_uploader("New map.json", type=["json"], key="ex-diff-new-up") if new_pick == "upload" else None
    old = m if old_pick == "current" else _map_from(old_pick, saved, old_up)
    new = m if new_pick == "current" else _map_from(new_pick, saved, new_up)
    if old is None or new is None:
        st.caption("Pick or upload two maps.")
        return
    d = explore.diff_maps(old, new)
    st.code(explore.diff_text(old, new, d), language=None, wrap_lines=True)
    graph(new, d.styles(), old=old, removed=d.removed, removed_edges=d.removed_edges())
    st.caption("On the new map: green states were added, amber ones changed, dashed red ones (apart) removed; "
               "dashed red arrows are presses the new map no longer has.")


def downloads(m: explore.CrawlMap, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for file, text in explore.generated_scenarios(m).items():
            z.writestr(f"scenarios/{file}", text)
    with st.container(horizontal=True):
        st.download_button("map.json", m.to_json(), f"{name}-map.json", "application/json", on_click="ignore",
                           icon=":material/download:")
        st.download_button("map.dot", explore.to_dot(m), f"{name}-map.dot", "text/vnd.graphviz", on_click="ignore",
                           icon=":material/download:")
        st.download_button("report.md", explore.report_md(m), f"{name}-report.md", "text/markdown",
                           on_click="ignore", icon=":material/download:")
        st.download_button("scenarios.zip", buffer.getvalue(), f"{name}-scenarios.zip", "application/zip",
                           on_click="ignore", icon=":material/folder_zip:")
