"""The engine: one simulated contact plays a goal against a bot, a turn at a time, judged on the whole conversation.

Whoever plays (the offline Planner, or an LLM: `player.decide(replies, history)`) picks the next action on the
replies to the last; the scenario Runner carries it out (`Runner.start` / `Session.step`: the outbox, the store,
the quiet-period settle), so every simulated conversation is a scenario run kept in History (batch `simulate`),
whose last step, when the goal was missed, is a check of `success` against the last replies. After each turn:
does it meet `success`; loops (a state seen before), dead ends (no way on), answers off the map.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Protocol

from ..ai import AIError, Checks
from ..explore import Action, choices, looks_final, signature
from ..rows import data_of
from ..scenarios import Runner, Scenario, Step
from ..scenarios.model import judged_text
from ..store import Store
from .goal import Goal
from .plan import Decision, meets, success_step

BATCH = "simulate"  # the scenario runs' batch that holds simulations (History, the list of past simulations)
CONTACT_PREFIX = "sim-"


class Player(Protocol):
    """Who plays the contact: decides the next action on the last turn's replies ([] before the first)."""

    mode: str

    def decide(self, replies: list[dict], history: list[TurnRecord]) -> Decision: ...


@dataclass
class TurnRecord:
    number: int
    action: dict  # explore.Action.to_dict()
    label: str
    why: str = ""
    replies: int = 0
    first_reply: float | None = None  # seconds from the contact's message to the bot's first reply
    last_reply: float | None = None  # ... to the last reply of the turn
    state: str = ""  # the map's state id, when the replies are one
    text: str = ""  # the bot's answer in a few words
    error: str = ""
    refused: list[str] = field(default_factory=list)  # an LLM's actions refused before this one


@dataclass
class Verdict:
    """A simulated conversation, judged whole."""

    goal: str
    mode: str  # offline | llm
    reached: bool = False
    turns: int = 0  # actions the contact took
    reason: str = ""  # why it was not reached (or stopped)
    matched: list[str] = field(default_factory=list)  # which success expectations matched, by which reply
    records: list[TurnRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # loops, dead ends, answers off the map
    contact_id: str = ""
    conversation: int | None = None  # the store's conversation id
    conv_id: int | None = None
    run_id: int | None = None
    seconds: float = 0.0
    number: int = 1  # which of the runs

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        records = [TurnRecord(**r) for r in data.get("records") or []]
        return cls(**{**data, "records": records})


class Pace:
    """At most `rate` messages per second over every run of a simulation (0: no cap); shared by the workers."""

    def __init__(self, rate: float = 0.0):
        self.rate, self._lock, self._next = rate, threading.Lock(), 0.0

    def wait(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            due = max(now, self._next)
            self._next = due + 1.0 / self.rate
        if due > now:
            time.sleep(due - now)


def step_for(action: Action, index: int) -> Step:
    """A scenario step doing `action`: a typed line is `send`, a press is `click` (found by title, on its card),
    as a person presses it and as Record writes it."""
    if action.type == "send":
        return Step(index=index, line=0, action="send", text=action.text)
    return Step(index=index, line=0, action="click", title=action.title or action.payload, card=action.card)


def _matched(goal: Goal, replies: list[dict], checks: Checks) -> list[str]:
    out = []
    for e in goal.success:
        for number, reply in enumerate(replies, 1):
            if e.matcher.ok(reply, checks):
                text = " ".join((data_of(reply).get("text") or reply.get("kind", "")).split())
                line = f"line {e.line}: {e.describe()} — reply {number}: {text[:120]}"
                for spec in e.matcher.judges():
                    verdict = checks.judge.verdict(spec.criterion, judged_text(data_of(reply)), spec.model)
                    line += f" (judge: {verdict.reason or 'passed'})"
                out.append(line)
                break
    return out


def play(goal: Goal, store: Store, profile: dict, player: Player, *, checks: Checks, names: tuple[str, ...] = (),
         settle: float = 1.0, timeout: float = 10.0, keep: bool = True, stop: threading.Event | None = None,
         pace: Pace | None = None, on_turn: Callable[[Verdict, TurnRecord], None] | None = None,
         on_start: Callable[[Verdict], None] | None = None, known_states: set[str] | None = None,
         number: int = 1, deliver: Callable | None = None) -> Verdict:
    """One new contact in a new conversation plays `goal` until it meets `success`, gives up, or runs out of turns.
    `deliver`: how a message is sent (the outbox's, unless a test hands in a bot)."""
    started = time.monotonic()
    settle = goal.settle if goal.settle is not None else settle
    timeout = goal.timeout if goal.timeout is not None else timeout
    runner = Runner(store, profile, settle=settle, timeout=timeout, keep=keep, batch=BATCH, checks=checks,
                    deliver=deliver)
    persona = goal.persona
    contact = {"id": f"{CONTACT_PREFIX}{secrets.token_hex(4)}", "name": goal.contact_name,
               "email": persona.get("email", ""), "phone": persona.get("phone", "")}
    scenario = Scenario(name=goal.name, path=goal.path, steps=[], contact=contact, source=goal.source,
                        settle=settle, timeout=timeout)
    session = runner.start(scenario, contact)
    verdict = Verdict(goal.name, player.mode, contact_id=contact["id"], conversation=session.result.conversation,
                      conv_id=session.result.conv_id, run_id=session.result.run_id, number=number)
    if on_start:
        on_start(verdict)
    replies: list[dict] = []
    seen: dict[str, int] = {}
    try:
        for turn in range(1, goal.max_turns + 1):
            if stop is not None and stop.is_set():
                verdict.reason = "stopped on request"
                break
            try:
                decision = player.decide(replies, verdict.records)
            except AIError as exc:
                verdict.reason = f"turn {turn}: the simulator gave no action: {exc}"
                break
            if decision.action is None:
                verdict.reason = decision.stop or "the contact gave up"
                break
            if pace is not None:
                pace.wait()
            outcome = session.step(step_for(decision.action, turn))
            replies = outcome.replies
            record = TurnRecord(turn, decision.action.to_dict(), decision.action.label, decision.why, len(replies),
                                outcome.first_reply, outcome.settle, error=outcome.error,
                                refused=list(decision.refused))
            verdict.records.append(record)
            verdict.turns = turn
            if outcome.status == "error":
                verdict.reason = f"turn {turn} ({decision.action.label}) could not run: {outcome.error}"
                _notify(on_turn, verdict, record)
                break
            if replies:
                record.text = " ".join((data_of(replies[-1]).get("text") or replies[-1].get("kind", "")).split())[:160]
                sig = signature(replies, names)
                record.state = sig if known_states is None or sig in known_states else ""
                if known_states is not None and sig not in known_states:
                    verdict.notes.append(f"turn {turn}: the bot answered off the map (a state the map does not "
                                         "have); re-planned from the buttons it offered")
                if sig in seen:
                    verdict.notes.append(f"turn {turn}: loop — back to the answer of turn {seen[sig]}")
                seen.setdefault(sig, turn)
            else:
                verdict.notes.append(f"turn {turn}: no reply to {decision.action.label} within {timeout:g} s")
            try:
                if meets(goal, replies, checks):
                    verdict.reached = True
                    verdict.matched = _matched(goal, replies, checks)
                    _notify(on_turn, verdict, record)
                    break
            except AIError as exc:
                verdict.reason = f"turn {turn}: success could not be checked: {exc}"
                _notify(on_turn, verdict, record)
                break
            if replies and not choices(replies)[0] and not looks_final(replies):
                verdict.notes.append(f"turn {turn}: dead end — no button to press after {decision.action.label}")
            _notify(on_turn, verdict, record)
        else:
            verdict.reason = f"success not met in {goal.max_turns} turns (max_turns)"
        if not verdict.reached and verdict.records and verdict.records[-1].error == "":
            session.step(Step(index=verdict.turns + 1, line=goal.success_line, action="check",
                              expect=success_step(goal).expect, name="success"))
    finally:
        session.finish(error="" if verdict.reached or verdict.records else verdict.reason)
        verdict.seconds = round(time.monotonic() - started, 3)
    return verdict


def _notify(on_turn, verdict: Verdict, record: TurnRecord) -> None:
    if on_turn is not None:
        on_turn(verdict, record)


def play_many(runs: int, workers: int, one: Callable[[int], Verdict]) -> list[Verdict]:
    """`one(number)` for number 1..runs, up to `workers` at once; in run order."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, runs)), thread_name_prefix="simulate") as pool:
        return list(pool.map(one, range(1, runs + 1)))
