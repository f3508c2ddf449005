"""The crawler: from start messages, press every postback button, card button and quick reply, breadth first.

Every path runs in a fresh contact and conversation (the transport's job), replaying the actions that lead to
the state it explores, so state never leaks between paths. A turn's replies form a state, merged with others by
their normalised signature; with Limits.similarity, also with a state of the same shape (buttons, cards, kinds)
whose text is at least that similar, so an AI bot's paraphrases are one state, not "unstable" or many. Limits: depth (presses after the start message), steps (actions sent, replays
included), states; the transport holds the per-turn timeout and the pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Protocol

from .. import lint
from ..rows import data_of
from ..scenarios import expectation_for
from .model import START, Action, CrawlMap, Edge, Finding, State, Turn
from .signature import alike, choices, looks_final, signature


class Transport(Protocol):
    """Where the crawler's actions go. `walk` runs the actions, in order, as a fresh contact in a fresh
    conversation and returns one Turn per action it ran (it stops after a send that failed). `expected[i]`,
    when given, is how many replies action i had before: a replayed turn may end as soon as they are there."""

    detail: str
    names: tuple[str, ...]  # the contact's names, masked in signatures

    def walk(self, actions: list[Action], expected: list[int | None]) -> list[Turn]: ...


@dataclass
class Limits:
    depth: int = 4
    max_steps: int = 300
    max_states: int = 100
    workers: int = 1  # paths walked at once (each its own contact and conversation)
    similarity: float | None = None  # merge states whose text is this similar (as similar_to measures), 0-1

    def __post_init__(self) -> None:
        for name in ("depth", "max_steps", "max_states", "workers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "depth" else 1):
                raise ValueError(f"{name} must be a whole number of at least {0 if name == 'depth' else 1}, "
                                 f"not {value!r}")
        if self.similarity is not None and (isinstance(self.similarity, bool)
                                            or not isinstance(self.similarity, int | float)
                                            or not 0 < self.similarity <= 1):
            raise ValueError(f"similarity must be a number above 0 and at most 1, not {self.similarity!r}")


@dataclass
class _Job:
    actions: list[Action]
    path_states: list[str]  # the state after each action but the last
    source: str


def _row(reply: dict) -> dict:
    """What a state keeps of a reply: kind, author, parsed data and the raw payload."""
    return {"kind": reply.get("kind", ""), "author": reply.get("author", "bot"), "data": data_of(reply),
            "raw": reply.get("raw")}


class Crawler:
    def __init__(self, transport: Transport, starts: list[str] | tuple[str, ...] = ("hi",), limits: Limits | None = None,
                 channels: tuple[str, ...] = lint.DEFAULT_CHANNELS,
                 on_progress: Callable[[CrawlMap], None] | None = None, stop: threading.Event | None = None):
        starts = [s for s in (s.strip() for s in starts) if s]
        if not starts:
            raise ValueError("give at least one start message (e.g. hi)")
        self.transport, self.limits = transport, limits or Limits()
        self.on_progress, self.stop = on_progress, stop or threading.Event()
        self.map = CrawlMap(starts=starts, target=transport.detail, limits=asdict(self.limits),
                            channels=list(channels))
        self.map.stats = {"steps": 0, "walks": 0, "turns": 0, "planned": len(starts), "seconds": 0.0,
                          "new_turn_seconds": [], "replay_turn_seconds": []}
        self._seen_rejections: set = set()
        self._skipped = 0

    # -------------------------------------------------------- the crawl

    def run(self) -> CrawlMap:
        started = time.monotonic()
        m = self.map
        frontier = [_Job([Action("send", text=s)], [], START) for s in m.starts]
        try:
            with ThreadPoolExecutor(max_workers=self.limits.workers, thread_name_prefix="explore") as pool:
                while frontier and m.status == "running":
                    jobs, frontier = frontier, []
                    budget = []
                    for job in jobs:
                        cost = len(job.actions)
                        if self.map.stats["steps"] + sum(len(j.actions) for j in budget) + cost > self.limits.max_steps:
                            self._stop("stopped", f"max steps ({self.limits.max_steps}) reached")
                            break
                        budget.append(job)
                    for job, turns in zip(budget, pool.map(self._walk, budget), strict=True):
                        if self.stop.is_set() and m.status == "running":
                            self._stop("stopped", "stopped on request")
                        frontier += self._absorb(job, turns)
                        m.stats["seconds"] = round(time.monotonic() - started, 3)
                        if self.on_progress:
                            self.on_progress(m)
                    if self.stop.is_set() and m.status == "running":
                        self._stop("stopped", "stopped on request")
        except Exception as exc:  # a bug or an outage ends the crawl with a reason; what was mapped is kept
            self._stop("failed", f"the crawl failed: {type(exc).__name__}: {exc}")
        self._finish(frontier, time.monotonic() - started)
        return m

    def _walk(self, job: _Job) -> list[Turn]:
        if self.stop.is_set():
            return []
        expected = [len(self.map.states[s].replies) if s in self.map.states else None for s in job.path_states]
        try:
            return self.transport.walk(job.actions, expected)
        except Exception as exc:
            return [Turn(error=f"{type(exc).__name__}: {exc}")]

    def _stop(self, status: str, message: str) -> None:
        self.map.status, self.map.message = status, message

    # -------------------------------------------------------- one walk's turns into the map

    def _absorb(self, job: _Job, turns: list[Turn]) -> list[_Job]:
        m = self.map
        if not turns:  # stopped before it ran
            return []
        m.stats["walks"] += 1
        m.stats["steps"] += len(turns)
        m.stats["turns"] += len(turns)
        for turn in turns:
            for r in turn.rejected:
                if r.get("id") not in self._seen_rejections:
                    self._seen_rejections.add(r.get("id"))
                    m.findings.append(Finding("rejected", f"webhook d-{r.get('id')} was refused "
                                              f"({r.get('status_code')}): {r.get('reason', '')}"))
        # the replayed prefix must lead where it led before
        for i, turn in enumerate(turns[:len(job.path_states)]):
            if turn.seconds is not None:
                m.stats["replay_turn_seconds"].append(turn.seconds)
            if turn.error:
                return self._edge_problem(job, "send_error", f"sending {job.actions[i].label} failed while "
                                          f"replaying the path: {turn.error}", turn)
            got = self._state_of(turn.replies)[0]
            if got != job.path_states[i]:
                return self._edge_problem(job, "unstable", f"replaying {job.actions[i].label} gave another state "
                                          f"({got}, not {job.path_states[i]}): the bot does not answer the same way "
                                          "twice", turn, finding="unstable")
        if len(turns) < len(job.actions):
            return self._edge_problem(job, "send_error", "the path stopped before its last action", Turn())
        turn = turns[len(job.actions) - 1]
        if turn.seconds is not None:
            m.stats["new_turn_seconds"].append(turn.seconds)
        action = job.actions[-1]
        if turn.error:
            return self._edge_problem(job, "send_error", f"sending {action.label} failed: {turn.error}", turn,
                                      finding="send_error")
        if not turn.replies:
            if job.source == START:
                return self._edge_problem(job, "no_reply", f'the bot did not answer the start message "{action.text}"',
                                          turn, finding="ignored")
            return self._edge_problem(job, "no_reply", f'"{action.label}" got no reply in time', turn,
                                      finding="broken")
        sig, score = self._state_of(turn.replies)
        status = "cut" if turn.cut else "unsupported" if any(r.get("kind") == "unsupported" for r in turn.replies) \
            else "ok"
        state = m.states.get(sig)
        new: list[_Job] = []
        if state is None:
            if len(m.states) >= self.limits.max_states:
                self._skipped += 1
                if not m.find("limit") or "max states" not in m.find("limit")[-1].message:
                    m.findings.append(Finding("limit", f"max states ({self.limits.max_states}) reached: "
                                                       "new states are not mapped"))
                return []
            state = self._new_state(sig, turn, job)
            if state.depth < self.limits.depth:
                path_states = [*job.path_states, sig]
                new = [_Job([*job.actions, c], path_states, sig) for c in state.choices]
                m.stats["planned"] += len(new)
            elif state.choices:
                self._skipped += len(state.choices)
        else:
            state.visits += 1
            if score is not None:
                state.paraphrases += 1
                state.lowest_similarity = min(score, state.lowest_similarity or 1.0)
        edge = Edge(job.source, action, sig, status, turn.seconds, expect=[expectation_for(r) for r in turn.replies])
        m.edges.append(edge)
        index = len(m.edges) - 1
        if status == "unsupported":
            kinds = [data_of(r).get("content_type") or "unknown" for r in turn.replies if r.get("kind") == "unsupported"]
            m.findings.append(Finding("broken", f'"{action.label}" got a reply of a kind the channel does not know '
                                      f"({', '.join(kinds)})", job.source, index))
        if status == "cut":
            m.findings.append(Finding("endless", f'after "{action.label}" the bot kept sending ({len(turn.replies)} '
                                      "replies) until the turn's limit cut it off", sig, index))
        if sig in job.path_states or sig == job.source:
            m.findings.append(Finding("loop", f'"{action.label}" leads back to {sig}, earlier on its path',
                                      job.source, index))
        return new

    def _state_of(self, replies: list[dict]) -> tuple[str, float | None]:
        """The state these replies belong to: the one with their signature, else (with Limits.similarity) the most
        similar state of the same shape at or above the threshold, with its score; else a new state's id."""
        names, sig = self.transport.names, signature(replies, self.transport.names)
        if sig in self.map.states or self.limits.similarity is None:
            return sig, None
        scored = [(alike(replies, s.replies, names), s.id) for s in self.map.states.values()]
        best = max(((score, sid) for score, sid in scored if score is not None), default=None)
        if best is not None and best[0] >= self.limits.similarity:
            return best[1], best[0]
        return sig, None

    def _new_state(self, sig: str, turn: Turn, job: _Job) -> State:
        m = self.map
        found, links = choices(turn.replies)
        state = State(sig, sig, [_row(r) for r in turn.replies], list(job.actions), len(job.actions) - 1, found,
                      links, looks_final(turn.replies))
        m.states[sig] = state
        channels = tuple(m.channels)
        for number, reply in enumerate(turn.replies, 1):
            for f in lint.lint_message(data_of(reply), channels):
                m.findings.append(Finding("lint", f"reply {number}: {f.message}", sig, rule=f.rule))
        return state

    def _edge_problem(self, job: _Job, status: str, message: str, turn: Turn, finding: str = "") -> list[_Job]:
        m = self.map
        m.edges.append(Edge(job.source, job.actions[-1], None, status, turn.seconds, message))
        m.findings.append(Finding(finding or status, message, None if job.source == START else job.source,
                                  len(m.edges) - 1))
        return []

    def _finish(self, frontier: list[_Job], seconds: float) -> None:
        m = self.map
        for state in m.states.values():
            if not state.choices and not state.links and not state.final:
                m.findings.append(Finding("dead_end", f'"{state.preview[:60]}" offers no way on and does not read as '
                                          "an end", state.id))
        unexplored = self._skipped + sum(1 for _ in frontier)
        if unexplored and m.status == "running":
            m.findings.append(Finding("limit", f"{unexplored} button(s) not followed: depth limit "
                                               f"{self.limits.depth}"))
        m.stats["unexplored"] = unexplored
        m.stats["seconds"] = round(seconds, 3)
        steps = m.stats["steps"]
        m.stats["steps_per_second"] = round(steps / seconds, 3) if seconds > 0 else None
        m.stats["seconds_per_step"] = round(seconds / steps, 4) if steps else None
        new, replay = m.stats.pop("new_turn_seconds"), m.stats.pop("replay_turn_seconds")
        m.stats["new_turn_mean_s"] = round(sum(new) / len(new), 4) if new else None
        m.stats["replay_turn_mean_s"] = round(sum(replay) / len(replay), 4) if replay else None
        if m.status == "running":
            if not m.states:
                first = next((f.message for f in m.findings if f.kind in ("send_error", "ignored")), "no state found")
                self._stop("failed", f"nothing could be mapped: {first}")
            else:
                self._stop("finished", f"{len(m.states)} states, {len(m.edges)} edges, {steps} steps in "
                                       f"{seconds:.1f} s")


def crawl(transport: Transport, starts=("hi",), limits: Limits | None = None,
          channels: tuple[str, ...] = lint.DEFAULT_CHANNELS, on_progress=None, stop=None) -> CrawlMap:
    """Map the bot behind `transport` from `starts`; the map is returned however the crawl ended."""
    return Crawler(transport, starts, limits, channels, on_progress, stop).run()
