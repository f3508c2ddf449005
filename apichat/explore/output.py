"""What a crawl writes: map.dot (Graphviz), report.md, and scenario files for the fewest paths covering every edge."""

from __future__ import annotations

import math
import re
import textwrap
from collections import Counter
from datetime import datetime

import yaml

from ..scenarios import parse_scenario, recorded_step
from .model import START, Action, CrawlMap, Edge

COLOURS = {  # finding kind -> (fill, border), strongest first
    "broken": ("#fee2e2", "#b91c1c"), "send_error": ("#fee2e2", "#b91c1c"), "endless": ("#fee2e2", "#b91c1c"),
    "dead_end": ("#fef3c7", "#b45309"), "lint": ("#ffedd5", "#c2410c"), "unstable": ("#f3e8ff", "#7e22ce"),
}
PLAIN = ("#f8fafc", "#475569")


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _short(text: str, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[:width - 1] + "…"


def state_label(m: CrawlMap, state_id: str) -> str:
    state = m.states[state_id]
    lines = textwrap.wrap(_short(state.preview, 90), 30)[:3] or ["(no text)"]
    kinds = Counter(r.get("kind", "") for r in state.replies)
    lines.append(" · ".join(f"{k}×{n}" if n > 1 else k for k, n in kinds.items()))
    buttons = [_short(c.title or c.payload, 18) for c in state.choices[:6]]
    if buttons:
        lines.append("[" + "] [".join(buttons) + "]" + (f" +{len(state.choices) - 6}" if len(state.choices) > 6 else ""))
    return "\\n".join(_esc(line) for line in lines)


def state_findings(m: CrawlMap) -> dict[str, list[str]]:
    """Finding kinds by state (an edge's finding counts for the state it leaves)."""
    out: dict[str, list[str]] = {}
    for f in m.findings:
        where = f.state or (m.edges[f.edge].source if f.edge is not None and f.edge < len(m.edges) else None)
        if where and where != START:
            out.setdefault(where, []).append(f.kind)
    return out


def to_dot(m: CrawlMap, styles: dict[str, tuple[str, str]] | None = None, selected: str | None = None,
           extra_edges: list[tuple[str, str, str, str]] | None = None, removed: CrawlMap | None = None,
           removed_ids: list[str] | None = None) -> str:
    """The map in DOT: states as boxes (text preview, kinds, buttons), edges labelled with what was pressed,
    findings coloured. `styles` overrides a state's (fill, border) (coverage, diff); `extra_edges` adds
    (source, target, label, colour) edges (a diff's removed ones)."""
    flagged = state_findings(m)
    out = ["digraph bot {", '  graph [rankdir=LR, fontname="Helvetica", fontsize=10, nodesep=0.25, ranksep=0.5];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=9, margin="0.12,0.06"];',
           '  edge [fontname="Helvetica", fontsize=8, color="#64748b"];',
           f'  "{START}" [shape=circle, label="start", fillcolor="#e0f2fe", color="#0369a1", width=0.6];']
    for sid in m.states:
        kinds = flagged.get(sid, [])
        fill, border = next((COLOURS[k] for k in COLOURS if k in kinds), PLAIN)
        if styles and sid in styles:
            fill, border = styles[sid]
        width = "3" if sid == selected else "1.5" if kinds else "1"
        tooltip = ", ".join(sorted(set(kinds))) or "no findings"
        out.append(f'  "{sid}" [label="{state_label(m, sid)}", fillcolor="{fill}", color="{border}", '
                   f'penwidth={width}, tooltip="{_esc(sid + ": " + tooltip)}"];')
        for i, link in enumerate(m.states[sid].links):
            leaf = f"{sid}-link{i}"
            icon = "☎" if link.get("kind") == "call" else "↗"
            out.append(f'  "{leaf}" [shape=plaintext, style="", label="{_esc(icon + " " + _short(link.get("title", ""), 24))}", '
                       'fontcolor="#475569"];')
            out.append(f'  "{sid}" -> "{leaf}" [style=dashed, arrowhead=none];')
    for i, e in enumerate(m.edges):
        a = e.action
        label = _esc(f"{_short(a.card, 16)} › {_short(a.title, 14)}" if a.card else _short(a.label, 24))
        if e.target is None:
            dead = f"x{i}"
            out.append(f'  "{dead}" [shape=octagon, label="{_esc(e.status.replace("_", " "))}", fillcolor="#fee2e2", '
                       'color="#b91c1c", fontsize=8];')
            out.append(f'  "{e.source}" -> "{dead}" [label="{label}", color="#b91c1c", fontcolor="#b91c1c"];')
        else:
            colour = "#b91c1c" if e.status in ("unsupported", "cut") else "#64748b"
            out.append(f'  "{e.source}" -> "{e.target}" [label="{label}", color="{colour}"];')
    for sid in removed_ids or []:  # a diff's removed states, drawn from the old map, dashed red, apart
        if removed is not None and sid in removed.states:
            out.append(f'  "removed-{sid}" [label="removed\\n{state_label(removed, sid)}", fillcolor="#fee2e2", '
                       'color="#b91c1c", style="rounded,filled,dashed"];')
    for source, target, label, colour in extra_edges or []:
        out.append(f'  "{source}" -> "{target}" [label="{_esc(label)}", color="{colour}", fontcolor="{colour}", '
                   'style=dashed];')
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- report.md


def _md(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>|#])", r"\\\1", " ".join((text or "").split()))


def report_md(m: CrawlMap) -> str:
    s = m.stats
    lines = [f"# Bot map: {_md(m.target)}", "",
             f"**{m.status}** — {_md(m.message)}", "",
             f"- start: {', '.join('`' + x + '`' for x in m.starts)} · limits: depth {m.limits.get('depth')}, "
             f"max steps {m.limits.get('max_steps')}, max states {m.limits.get('max_states')}"
             + (f", similarity {m.limits['similarity']}" if m.limits.get("similarity") else ""),
             f"- {len(m.states)} states, {len(m.edges)} edges, {s.get('steps', 0)} steps in {s.get('seconds', 0)} s "
             f"({s.get('steps_per_second')} steps/s); mean turn {s.get('new_turn_mean_s')} s (new), "
             f"{s.get('replay_turn_mean_s')} s (replayed)",
             f"- channels linted: {', '.join(m.channels) or 'none'}", "", "## Findings", ""]
    by_kind = Counter(f.kind for f in m.findings)
    if not m.findings:
        lines.append("None.")
    for kind in by_kind:
        lines += [f"### {kind.replace('_', ' ')} ({by_kind[kind]})", ""]
        for f in m.findings:
            if f.kind == kind:
                where = f" — state `{f.state}`" if f.state else ""
                lines.append(f"- {_md(f.message)}{where}")
        lines.append("")
    lines += ["## States", "", "| state | depth | preview | buttons | reached by |", "| --- | --- | --- | --- | --- |"]
    for st in m.states.values():
        buttons = ", ".join(_md(c.title or c.payload) for c in st.choices) or "—"
        path = " → ".join(_md(a.label) for a in st.path)
        merged = (f" (and {st.paraphrases} paraphrase{'s' if st.paraphrases > 1 else ''}, similarity ≥ "
                  f"{st.lowest_similarity:.2f})" if st.paraphrases else "")
        lines.append(f"| `{st.id}` | {st.depth} | {_md(_short(st.preview, 70))}{merged} | {buttons} | {path} |")
    lines += ["", "## Edges", "", "| from | pressed | to | status | seconds |", "| --- | --- | --- | --- | --- |"]
    for e in m.edges:
        lines.append(f"| `{e.source}` | {_md(e.action.label)} | {'`' + e.target + '`' if e.target else '—'} | "
                     f"{e.status} | {e.seconds if e.seconds is not None else '—'} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- generated scenarios


def _edge_index(m: CrawlMap) -> dict[tuple, Edge]:
    return {e.key: e for e in reversed(m.edges)}  # the first edge of a key wins


def path_edges(m: CrawlMap, actions: list[Action]) -> list[Edge] | None:
    """The edges that `actions` (a state's path) walk from the start; None when the map does not hold them."""
    index, here, out = _edge_index(m), START, []
    for action in actions:
        edge = index.get((here, *action.key))
        if edge is None or edge.target is None and action is not actions[-1]:
            return None
        out.append(edge)
        here = edge.target
    return out


def covering_paths(m: CrawlMap) -> list[list[Edge]]:
    """The fewest paths (of the crawl's own: each edge reached by its source state's first path) that take every
    edge that got a reply: a path that is the start of another is left out."""
    paths: list[list[Edge]] = []
    for e in m.edges:
        if e.target is None:
            continue
        prefix = [] if e.source == START else m.states[e.source].path
        edges = path_edges(m, [*prefix, e.action])
        if edges is not None and edges[-1] is e:
            paths.append(edges)
    keys = [tuple(x.key for x in p) for p in paths]
    keep = []
    for i, key in enumerate(keys):
        longer = any(len(other) > len(key) and other[:len(key)] == key for other in keys)
        if not longer and key not in keys[:i]:
            keep.append(paths[i])
    return keep


def _step_action(m: CrawlMap, edge: Edge) -> dict:
    a = edge.action
    if a.type == "send":
        return {"send": a.text}
    source = m.states.get(edge.source)
    same = [c for c in (source.choices if source else []) if c.title == a.title]
    if a.card and a.title:
        return {"click": {"card": a.card, "button": a.title}}
    if a.title and len(same) == 1:
        return {"click": a.title}
    return {"postback": {"title": a.title or a.payload, "payload": a.payload}}


def _meaning(m: CrawlMap, edge: Edge, expect: dict) -> dict:
    """An expectation whose text is one of several paraphrases the crawl merged: similar_to at the crawl's
    threshold instead of this one wording."""
    state = m.states.get(edge.target or "")
    if not (state and state.paraphrases and isinstance(expect.get("text"), str)):
        return expect
    return {**expect, "text": {"similar_to": expect["text"], "at_least": m.limits.get("similarity")}}


def _step(m: CrawlMap, edge: Edge) -> dict:
    """A step as recordings write it (scenarios.recorded_step), from the expectations kept on the edge."""
    step = recorded_step(_step_action(m, edge), [], None)
    if edge.expect:
        step["expect"] = [_meaning(m, edge, e) for e in edge.expect]
        step["messages"] = len(edge.expect)
        step["within"] = f"{max(3, math.ceil((edge.seconds or 0) * 2))}s"
    return step


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "path"


def generated_scenarios(m: CrawlMap, contact_name: str = "") -> dict[str, str]:
    """Scenario files (name -> YAML) for the covering paths, with expectations as recordings write them."""
    out: dict[str, str] = {}
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    for number, path in enumerate(covering_paths(m), 1):
        labels = [e.action.label for e in path]
        doc: dict = {"name": f"Explored path {number}: " + " → ".join(labels)}
        if contact_name:
            doc["contact"] = {"name": contact_name}
        doc["steps"] = [_step(m, e) for e in path]
        header = (f"# Generated {when} by the bot explorer from {m.target}: one of the {len(covering_paths(m))} paths "
                  "that together press every button that got a reply.\n"
                  "# The expectations are what the bot said during the crawl: loosen or tighten them before adding "
                  "this to a suite.\n")
        text = header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
        parse_scenario(text, "<generated>")  # what we write must load
        out[f"{number:02d}-{_slug(labels[-1])}.yaml"] = text
    return out


def write_all(m: CrawlMap, folder, contact_name: str = "") -> list[str]:
    """map.json, map.dot, report.md and scenarios/*.yaml under `folder`; the paths written."""
    from pathlib import Path

    folder = Path(folder)
    (folder / "scenarios").mkdir(parents=True, exist_ok=True)
    for old in (folder / "scenarios").glob("*.yaml"):
        old.unlink()  # scenarios of an earlier crawl in this folder would mix with these
    files = {"map.json": m.to_json(), "map.dot": to_dot(m), "report.md": report_md(m)}
    files.update({f"scenarios/{name}": text for name, text in generated_scenarios(m, contact_name).items()})
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [str(folder / name) for name in files]
