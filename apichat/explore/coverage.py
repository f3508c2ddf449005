"""Coverage: which states and edges of a map scenario files exercise.

Statically, a scenario is walked on the map (its sends leave the start, its clicks are found among the state's
buttons the way the runner finds them); a recorded run (History) is walked by what was actually sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rows import data_of
from ..scenarios import Scenario, StepError, find_button
from ..store import Store
from .model import START, Action, CrawlMap, Edge
from .signature import signature


@dataclass
class Trace:
    name: str
    edges: list[int] = field(default_factory=list)  # indexes into the map's edges
    states: list[str] = field(default_factory=list)
    left_at: str = ""  # where it left the map, in a sentence


@dataclass
class Coverage:
    traces: list[Trace]
    states: set[str]
    edges: set[int]
    total_states: int
    total_edges: int
    uncovered: list[str]  # state ids no trace reaches

    @property
    def state_percent(self) -> float:
        return 100.0 * len(self.states) / self.total_states if self.total_states else 0.0

    @property
    def edge_percent(self) -> float:
        return 100.0 * len(self.edges) / self.total_edges if self.total_edges else 0.0

    def to_dict(self) -> dict:
        return {"states": sorted(self.states), "edges": sorted(self.edges), "state_percent": round(self.state_percent, 1),
                "edge_percent": round(self.edge_percent, 1), "uncovered": self.uncovered,
                "traces": [vars(t) for t in self.traces]}


def _index(m: CrawlMap) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for i, e in enumerate(m.edges):
        out.setdefault(e.key, i)
    return out


def _take(m: CrawlMap, index: dict, trace: Trace, here: str, action: Action) -> str | None:
    i = index.get((here, *action.key))
    if i is None:
        trace.left_at = f'{action.label} from {here} was not crawled'
        return None
    edge: Edge = m.edges[i]
    trace.edges.append(i)
    if edge.target is None:
        trace.left_at = f"{action.label} got no reply during the crawl ({edge.status})"
        return None
    trace.states.append(edge.target)
    return edge.target


def trace_scenario(m: CrawlMap, scenario: Scenario) -> Trace:
    """The scenario walked on the map: its sends from the start, its clicks among the state's buttons."""
    trace, index, here = Trace(scenario.name), _index(m), None
    for step in scenario.steps:
        if step.action in ("wait", "check"):
            continue
        if step.action == "send":
            action = Action("send", text=step.text)
            here = _take(m, index, trace, START, action)
        elif step.action in ("click", "postback"):
            if here is None:
                trace.left_at = trace.left_at or f"step {step.index} ({step.label}) before any mapped state"
                break
            if step.action == "click":
                try:
                    button = find_button(step, m.states[here].replies, [])
                except StepError as exc:
                    trace.left_at = f"step {step.index}: {exc}"
                    break
                if button.get("kind") != "postback":
                    trace.left_at = f"step {step.index} clicks a {button.get('kind')} button"
                    break
                action = Action("postback", title=button.get("title", ""), payload=button.get("payload", ""))
            else:
                action = Action("postback", title=step.title, payload=step.payload)
            here = _take(m, index, trace, here, action)
        else:
            trace.left_at = f"step {step.index} sends a {step.action}, which the crawl does not"
            break
        if here is None:
            break
    return trace


def trace_run(m: CrawlMap, store: Store, run: dict) -> Trace:
    """A run kept in History, walked by what it sent (text from the start, postbacks by payload)."""
    trace, index, here = Trace(f"{run['scenario']} (run {run['id']})"), _index(m), START
    contact = store.get_contact(run.get("contact_id") or "") or {}
    names = tuple(p for p in (contact.get("name") or "").split() if len(p) > 2)
    for result in store.scenario_results(run["id"]):
        detail = data_of({"data": result.get("detail")})
        sent = store.get_message(detail.get("sent_id") or 0)
        if sent is None:
            continue
        data = data_of(sent)
        if data.get("postback"):
            action = Action("postback", title=data["postback"].get("title", ""),
                            payload=data["postback"].get("payload", ""))
        elif data.get("text"):
            action, here = Action("send", text=data["text"]), START
        else:
            trace.left_at = "a media message, which the crawl does not send"
            break
        target = _take(m, index, trace, here, action) if here is not None else None
        if target is None:
            replies = [store.get_message(i) for i in detail.get("reply_ids") or []]
            sig = signature([r for r in replies if r], names)
            if sig in m.states:  # reached a mapped state another way
                trace.states.append(sig)
                trace.left_at = ""
                target = sig
        here = target
        if here is None:
            break
    return trace


def coverage(m: CrawlMap, traces: list[Trace]) -> Coverage:
    states = {s for t in traces for s in t.states if s in m.states}
    edges = {e for t in traces for e in t.edges}
    uncovered = [s for s in m.states if s not in states]
    return Coverage(traces, states, edges, len(m.states), len(m.edges), uncovered)


def coverage_text(m: CrawlMap, cov: Coverage) -> str:
    lines = [f"states: {len(cov.states)}/{cov.total_states} ({cov.state_percent:.0f} %) · edges: "
             f"{len(cov.edges)}/{cov.total_edges} ({cov.edge_percent:.0f} %)"]
    for t in cov.traces:
        lines.append(f"  {t.name}: {len(t.edges)} edges" + (f" — left the map: {t.left_at}" if t.left_at else ""))
    if cov.uncovered:
        lines.append("states no scenario reaches:")
        lines += [f"  {s}  {m.states[s].preview[:70]!r}  (reached by: "
                  f"{' → '.join(a.label for a in m.states[s].path)})" for s in cov.uncovered]
    return "\n".join(lines)
