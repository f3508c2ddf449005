"""The offline planner: the shortest presses over the bot's map to a state that meets the goal's `success`.

The map is the explorer's (states by normalised signature, edges by what was pressed). Before a run, `check()`
says whether the goal can be reached on the map at all, and why not: no state meets `success`, or the way
there starts with free text the goal does not give (`say`). During a run, `next_action()` looks at where the
conversation really is: the state with the live replies' signature, or, off the map, the buttons really
offered, each known by its payload (a press of MENU_PRODUCTS leads where it led anywhere on the map). It
presses the first button of a shortest path to a goal state; where no press leads there, it types the next
`say` line; with none left it gives up, saying why.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..ai import NOT_CONFIGURED, AIError, Checks
from ..explore import START, Action, CrawlMap, choices, signature
from ..scenarios import Step, evaluate
from .goal import Goal


class Unreachable(Exception):
    """The goal cannot be reached on the map; the message says why."""


def success_step(goal: Goal) -> Step:
    """A check of a turn's replies against the goal's `success` (a scenario `check` step)."""
    return Step(index=0, line=goal.success_line, action="check", expect=list(goal.success), name="success")


def meets(goal: Goal, replies: list[dict], checks: Checks | None = None) -> bool:
    """Whether one turn's replies (store rows, or the map's rows) meet the goal's success; AIError from a judge."""
    if not replies:
        return False
    rows = [r if "id" in r else {**r, "id": i} for i, r in enumerate(replies, 1)]
    return not evaluate(success_step(goal), rows, checks)


@dataclass
class Decision:
    """What the contact does next: `action` (a press or a typed line), or nothing and `stop` says why."""

    action: Action | None = None
    stop: str = ""
    why: str = ""  # e.g. "2 presses to the goal", "no press leads there: typing say line 2"
    planned: list[Action] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # an LLM's answers refused before this one, with why


class Planner:
    """Plans over `crawl_map` for `goal`; the goal states are found once (a judge's verdicts are cached)."""

    def __init__(self, crawl_map: CrawlMap, goal: Goal, checks: Checks | None = None, names: tuple[str, ...] = ()):
        self.map, self.goal, self.names = crawl_map, goal, names
        self.targets = {sid for sid, s in crawl_map.states.items() if meets(goal, s.replies, checks)}
        self.by_key: dict[tuple, str] = {}  # an action's key (postback payload) -> where it led on the map
        for edge in crawl_map.edges:
            if edge.target and edge.status in ("ok", "cut") and edge.source != START:
                self.by_key.setdefault(edge.action.key, edge.target)

    # -------------------------------------------------------- before a run

    def check(self) -> list[Action]:
        """The shortest way to the goal from the start (typed lines then presses); Unreachable saying why not."""
        m = self.map
        if not self.targets:
            raise Unreachable(f"no state on the map meets success ({self.goal.describe_success()}); the map has "
                              f"{len(m.states)} states from {', '.join(repr(s) for s in m.starts) or 'nothing'}")
        starts = {e.action.text: e.target for e in m.edges if e.source == START and e.target}
        given = [line for line in self.goal.say if line in starts]
        best = None
        for line in given:
            path = self._path(starts[line])
            if path is not None and (best is None or len(path) < len(best) - 1):
                best = [Action("send", text=line), *path]
        if best is not None:
            return best
        if self.goal.say and not given:
            return []  # its say lines are not on the map: where they lead is found out live
        needed = next((text for text, target in starts.items() if self._path(target) is not None), None)
        if needed is not None:
            raise Unreachable(f'the path needs free text it was not given: the way to success starts with '
                              f'"{needed}" (add it to say)')
        raise Unreachable("no path on the map leads to a state that meets success")

    # -------------------------------------------------------- during a run

    def state_of(self, replies: list[dict]) -> str | None:
        sig = signature(replies, self.names)
        return sig if sig in self.map.states else None

    def next_action(self, replies: list[dict], said: int = 0) -> Decision:
        """What to do after `replies` (the last turn's; [] before anything was sent), `said` say lines typed."""
        offered = choices(replies)[0] if replies else []
        state = self.state_of(replies) if replies else None
        best: list[Action] | None = None
        for press in offered:
            target = self._target(state, press)
            if target is None:
                continue
            rest = [] if target in self.targets else self._path(target)
            if rest is not None and (best is None or 1 + len(rest) < len(best)):
                best = [press, *rest]
        if best is not None:
            return Decision(best[0], why=f"{len(best)} press{'es' if len(best) > 1 else ''} to the goal on the map",
                            planned=best)
        if said < len(self.goal.say):
            why = "nothing sent yet" if not replies else "no press leads to the goal from here"
            return Decision(Action("send", text=self.goal.say[said]), why=f"{why}: typing say line {said + 1}")
        where = "off the map" if replies and state is None else "here"
        return Decision(stop=f"stuck {where}: no press offered leads to a state that meets success, and no say line "
                             "is left to type")

    def _target(self, state: str | None, press: Action) -> str | None:
        if state is not None:
            for edge in self.map.out_edges(state):
                if edge.action.key == press.key and edge.target:
                    return edge.target
        return self.by_key.get(press.key)

    def _path(self, source: str) -> list[Action] | None:
        """The fewest presses on the map from `source` to a goal state ([] when it is one); None when none leads."""
        if source in self.targets:
            return []
        seen, queue = {source}, deque([(source, [])])
        while queue:
            here, path = queue.popleft()
            for edge in self.map.out_edges(here):
                nxt = edge.target
                if not nxt or nxt in seen or edge.status not in ("ok", "cut"):
                    continue
                way = [*path, edge.action]
                if nxt in self.targets:
                    return way
                seen.add(nxt)
                queue.append((nxt, way))
        return None


class OfflinePlayer:
    """The planner as a player: each run counts the say lines it typed in its own history."""

    mode = "offline"

    def __init__(self, planner: Planner):
        self.planner = planner

    def decide(self, replies: list[dict], history: list) -> Decision:
        return self.planner.next_action(replies, said=sum(1 for r in history if r.action.get("type") == "send"))


def judge_problem(goal: Goal, checks: Checks) -> str:
    """Why the goal's success cannot be checked here ('' when it can): a judge asked for and none configured."""
    if any(e.matcher.judges() for e in goal.success) and checks.judge is None:
        return f"{goal.path}:{goal.success_line}: success asks a judge but {NOT_CONFIGURED}"
    return ""


__all__ = ["AIError", "Decision", "OfflinePlayer", "Planner", "Unreachable", "judge_problem", "meets", "success_step"]
