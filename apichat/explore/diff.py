"""Two maps compared (a bot before and after a change, or staging and production).

States are paired by the path that first reached them; a pair with another signature is *changed* (text,
buttons, kinds). Edges are paired by (the path to their source, what was pressed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rows import data_of
from .model import START, CrawlMap, State

ADDED, REMOVED, CHANGED = ("#dcfce7", "#15803d"), ("#fee2e2", "#b91c1c"), ("#fef3c7", "#b45309")


def _path_key(state: State) -> tuple:
    return tuple(a.key for a in state.path)


def _what_changed(old: State, new: State) -> list[str]:
    def texts(s):
        return [data_of(r).get("text", "") for r in s.replies]

    def buttons(s):
        return [(c.title, c.payload) for c in s.choices]

    out = []
    if [r.get("kind") for r in old.replies] != [r.get("kind") for r in new.replies]:
        out.append(f"kinds {[r.get('kind') for r in old.replies]} → {[r.get('kind') for r in new.replies]}")
    if texts(old) != texts(new):
        out.append("text " + " | ".join(t[:60] for t in texts(old)) + " → " + " | ".join(t[:60] for t in texts(new)))
    if buttons(old) != buttons(new):
        gone = [t for t, _ in buttons(old) if t not in [x for x, _ in buttons(new)]]
        came = [t for t, _ in buttons(new) if t not in [x for x, _ in buttons(old)]]
        out.append("buttons" + (f" removed {gone}" if gone else "") + (f" added {came}" if came else "")
                   + ("" if gone or came else " reordered or payloads changed"))
    return out or ["normalised signature only (masked numbers or names)"]


@dataclass
class MapDiff:
    added: list[str] = field(default_factory=list)  # state ids of the new map
    removed: list[str] = field(default_factory=list)  # state ids of the old map
    changed: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (old id, new id, what)
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)
    edges_changed: list[str] = field(default_factory=list)
    removed_links: list[tuple[str, str, str]] = field(default_factory=list)  # old (source, target, label)
    paired: dict[str, str] = field(default_factory=dict)  # old state id -> the new map's state on its path

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.edges_added or self.edges_removed
                    or self.edges_changed)

    def to_dict(self) -> dict:
        return {"added": self.added, "removed": self.removed,
                "changed": [{"old": o, "new": n, "what": w} for o, n, w in self.changed],
                "edges_added": self.edges_added, "edges_removed": self.edges_removed,
                "edges_changed": self.edges_changed}

    def styles(self) -> dict[str, tuple[str, str]]:
        """Colours for the new map's states: added green, changed amber."""
        return {**{s: ADDED for s in self.added}, **{n: CHANGED for _, n, _ in self.changed}}

    def removed_edges(self) -> list[tuple[str, str, str, str]]:
        """The old map's presses the new one lacks, as `to_dot` extra edges (source, target, label, colour) between
        the nodes drawn for the new map: a state still on the map where it is, a removed one where it is drawn apart."""
        def node(old_id: str) -> str | None:
            if old_id == START:
                return START
            if old_id in self.removed:
                return f"removed-{old_id}"
            return self.paired.get(old_id)

        drawn = []
        for source, target, label in self.removed_links:
            a, b = node(source), node(target)
            if a is not None and b is not None:
                drawn.append((a, b, f"removed: {label}", REMOVED[1]))
        return drawn


def _edge_key(m: CrawlMap, e) -> tuple:
    """An edge's identity across maps: (the path to its source, what was pressed)."""
    source = () if e.source == START else _path_key(m.states[e.source]) if e.source in m.states else (e.source,)
    return source, e.action.key


def _edges(m: CrawlMap) -> dict[tuple, tuple[str, str]]:
    """(path to the source, action key) -> (label, the target's path key or status)."""
    out = {}
    for e in m.edges:
        target = _path_key(m.states[e.target]) if e.target in m.states else (e.status,)
        name = ("start" if e.source == START else m.states[e.source].preview[:30] if e.source in m.states else e.source)
        out.setdefault(_edge_key(m, e), (f"{name!r} —{e.action.label}→", target))
    return out


def diff_maps(old: CrawlMap, new: CrawlMap) -> MapDiff:
    d = MapDiff()
    old_by_path = {_path_key(s): s for s in old.states.values()}
    new_by_path = {_path_key(s): s for s in new.states.values()}
    new_ids, old_ids = set(new.states), set(old.states)
    for key, state in new_by_path.items():
        before = old_by_path.get(key)
        if before is None:
            if state.id not in old_ids:
                d.added.append(state.id)
        elif before.signature != state.signature and state.id not in old_ids:
            d.changed.append((before.id, state.id, _what_changed(before, state)))
    changed_old = {o for o, _, _ in d.changed}
    d.removed = [s for s in old.states if s not in new_ids and s not in changed_old]
    d.paired = {s.id: new_by_path[key].id for key, s in old_by_path.items() if key in new_by_path}
    old_edges, new_edges = _edges(old), _edges(new)
    for key, (label, target) in new_edges.items():
        if key not in old_edges:
            d.edges_added.append(label)
        elif old_edges[key][1] != target:
            d.edges_changed.append(f"{label} now leads elsewhere")
    d.edges_removed = [label for key, (label, _) in old_edges.items() if key not in new_edges]
    d.removed_links = [(e.source, e.target, e.action.label) for e in old.edges
                       if e.target is not None and _edge_key(old, e) not in new_edges]
    return d


def diff_text(old: CrawlMap, new: CrawlMap, d: MapDiff) -> str:
    if d.empty:
        return f"no difference: {len(new.states)} states and {len(new.edges)} edges in both maps"
    lines = [f"states: +{len(d.added)} −{len(d.removed)} ~{len(d.changed)} · edges: +{len(d.edges_added)} "
             f"−{len(d.edges_removed)} ~{len(d.edges_changed)}"]
    lines += [f"+ state {s}: {new.states[s].preview[:70]!r}" for s in d.added]
    lines += [f"- state {s}: {old.states[s].preview[:70]!r}" for s in d.removed]
    for o, n, what in d.changed:
        lines.append(f"~ state {o} → {n} ({' → '.join(a.label for a in new.states[n].path)}): " + "; ".join(what))
    lines += [f"+ edge {e}" for e in d.edges_added]
    lines += [f"- edge {e}" for e in d.edges_removed]
    lines += [f"~ edge {e}" for e in d.edges_changed]
    return "\n".join(lines)
