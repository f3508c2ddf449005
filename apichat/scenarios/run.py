"""Runs scenarios the way the console talks to a bot: outbox to send as the contact, the store for replies.

Each run is a fresh conversation (a new conversation_id, and a new contact unless the file names
one), so runs never see each other's replies. A turn is settled when no reply arrived for the
quiet period, or when the exact number of replies the step expects is there.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import outbox
from ..ai import AIError, Checks
from ..rows import data_of
from ..store import Store
from .expect import evaluate, reply_summary
from .model import Failure, Mismatch, Scenario, Step

DEFAULT_SETTLE = 1.0
DEFAULT_TIMEOUT = 10.0
EXACT_GRACE = 0.25  # once the expected count is there, how long to watch for one too many


@dataclass
class StepResult:
    step: Step
    status: str  # passed | failed | error | skipped
    failures: list[Failure] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    sent_id: int | None = None
    first_reply: float | None = None  # seconds from the contact's message to the first reply
    settle: float | None = None  # ... to the last reply of the turn
    error: str = ""

    def detail(self) -> dict:
        return {"action": self.step.action, "sent_id": self.sent_id, "error": self.error,
                "reply_ids": [r["id"] for r in self.replies], "failures": [f.to_dict() for f in self.failures]}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class RunResult:
    scenario: Scenario
    profile: str
    contact: dict
    conversation: int | None = None
    conv_id: int | None = None
    run_id: int | None = None
    steps: list[StepResult] = field(default_factory=list)
    error: str = ""
    started: float = 0.0
    finished: float = 0.0

    @property
    def status(self) -> str:
        if self.error or any(s.status == "error" for s in self.steps):
            return "error"
        return "failed" if any(s.status == "failed" for s in self.steps) else "passed"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def timings(self) -> dict[str, float | None]:
        """p50/p95 of first-reply and settle times over the turns that got a reply, in milliseconds."""
        first = [s.first_reply * 1000 for s in self.steps if s.first_reply is not None]
        settle = [s.settle * 1000 for s in self.steps if s.settle is not None]
        return {"first_p50_ms": percentile(first, 50), "first_p95_ms": percentile(first, 95),
                "settle_p50_ms": percentile(settle, 50), "settle_p95_ms": percentile(settle, 95)}


class StoreFeed:
    """Where a run reads replies from: the store, polled every `poll` seconds (one query per waiting run).

    A load test swaps in a feed that one dispatcher fills for many runs (apichat.load); `open` and `close`
    bracket a run's conversation so such a feed knows which conversations to keep.
    """

    def __init__(self, store: Store, poll: float = 0.05):
        self.store, self.poll = store, poll

    def open(self, conversation: int) -> None:
        """A run starts on `conversation` (before anything is sent in it)."""

    def close(self, conversation: int) -> None:
        """The run on `conversation` is over."""

    def since(self, conversation: int, after_id: int) -> list[dict]:
        """Messages of `conversation` newer than `after_id`, oldest first."""
        return self.store.messages_since(conversation, after_id, 1000)

    def wait(self, conversation: int, seconds: float) -> None:
        """Block up to `seconds` (less when a message may have arrived)."""
        time.sleep(max(0.0, min(self.poll, seconds)))


class StepError(Exception):
    """A step that could not be carried out (send failed, no such button): the run stops there."""


# ---------------------------------------------------------------- finding a button to click


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", (text or "").casefold()).split())


def _pick(query: str, items: list[dict], key: str = "title") -> tuple[dict | None, list[dict]]:
    """The item titled `query`: exactly, then ignoring case/emoji/punctuation, then the one containing it."""
    exact = [i for i in items if i.get(key) == query]
    if exact:
        return exact[0], []
    wanted = _norm(query)
    same = [i for i in items if _norm(i.get(key, "")) == wanted]
    if same:
        return same[0], []
    part = [i for i in items if wanted and wanted in _norm(i.get(key, ""))]
    return (part[0], []) if len(part) == 1 else (None, part)


def _titles(items: list[dict]) -> str:
    return "[" + ", ".join(i.get("title", "") for i in items) + "]"


def find_button(step: Step, recent: list[dict], earlier: list[dict]) -> dict:
    """The button `step` clicks: in the latest replies first (newest first), then earlier in the conversation."""
    for rows in (list(reversed(recent)), list(reversed(earlier))):
        for reply in rows:
            data = data_of(reply)
            if step.card:
                card, _ = _pick(step.card, data.get("cards") or [])
                if card is None:
                    continue
                button, ambiguous = _pick(step.title, card.get("buttons") or [])
                if button is None:
                    raise StepError(f'card "{card.get("title")}" has no button "{step.title}"'
                                    + (f" (several match: {_titles(ambiguous)})" if ambiguous else
                                       f"; its buttons: {_titles(card.get('buttons') or [])}"))
                return button
            button, ambiguous = _pick(step.title, (data.get("buttons") or []) + (data.get("quick_replies") or []))
            if ambiguous:
                raise StepError(f'"{step.title}" matches several buttons: {_titles(ambiguous)}; use the full title')
            if button is not None:
                return button
    latest = (recent or earlier)[-1] if (recent or earlier) else None
    if latest is None:
        raise StepError(f'nothing to click "{step.title}" on: the bot has not answered yet')
    last = data_of(latest)
    if step.card:
        raise StepError(f'no card "{step.card}" in the replies; the last reply has cards {_titles(last.get("cards") or [])}')
    shown = (last.get("buttons") or []) + (last.get("quick_replies") or [])
    cards = last.get("cards") or []
    where = (f"its buttons: {_titles(shown)}" if shown else
             f"it is a carousel, so use click: {{card: …, button: …}} (cards {_titles(cards)})" if cards else
             "it has no buttons")
    raise StepError(f'no button "{step.title}" in the replies; the last reply is {reply_summary(latest)} and {where}')


# ---------------------------------------------------------------- the runner


class Runner:
    """Runs scenarios for one profile; every run and step is kept in the store when `keep`."""

    def __init__(self, store: Store, profile: dict, *, settle: float = DEFAULT_SETTLE,
                 timeout: float = DEFAULT_TIMEOUT, poll: float = 0.05, deliver: Callable | None = None,
                 on_step: Callable[[RunResult, StepResult], None] | None = None, batch: str = "", keep: bool = True,
                 turn_limit: float | None = None, feed: StoreFeed | None = None, checks: Checks | None = None):
        self.store, self.profile = store, profile
        # similar_to's measure and the judge (verdicts cached in the store), as the environment configures them
        self.checks = checks if checks is not None else Checks.from_env(cache=store)
        self.turn_limit = turn_limit  # the longest a turn may last when the bot keeps talking (default timeout + 60 s)
        self.feed = feed or StoreFeed(store, poll)
        self.settle, self.timeout, self.poll = settle, timeout, poll
        self.deliver = deliver or outbox.deliver
        self.on_step, self.batch, self.keep = on_step, batch, keep

    def repeat(self, scenario: Scenario, times: int,
               on_run: Callable[[int, RunResult], None] | None = None) -> list[RunResult]:
        """Run `scenario` `times` times, each as a new contact in a new conversation. When the file names a
        contact id and `times` > 1, run k plays `<id>-<k>`, so no run is the one that met the bot first."""
        results = []
        for number in range(1, times + 1):
            suffix = f"-{number}" if times > 1 else ""
            results.append(self.run(scenario, self._contact(scenario, suffix)))
            if on_run:
                on_run(number, results[-1])
        return results

    def run(self, scenario: Scenario, contact: dict | None = None) -> RunResult:
        """Run `scenario` in a fresh conversation, as `contact` ({id, name, email, phone}) or the file's own."""
        session = self.start(scenario, contact)
        try:
            for step in scenario.steps:
                session.step(step)
        finally:
            result = session.finish()
        return result

    def start(self, scenario: Scenario, contact: dict | None = None) -> Session:
        """A run taken one step at a time (`Session.step`, then `finish`), for a caller that decides each step on
        the replies to the last one (a simulated contact); `scenario.steps` may start empty."""
        contact = self._contact(scenario) if contact is None else self._keep_contact(contact)
        conversation = self._conversation(contact["id"])
        self.feed.open(conversation["id"])
        result = RunResult(scenario, self.profile["name"], contact, conversation["id"], conversation["conv_id"],
                           started=time.time())
        if self.keep:
            try:
                result.run_id = self.store.start_scenario_run(
                    scenario=scenario.name, path=scenario.path, profile=self.profile["name"],
                    total_steps=len(scenario.steps), source=scenario.source, batch=self.batch,
                    contact_id=contact["id"], conversation=conversation["id"])
            except BaseException:
                self.feed.close(conversation["id"])
                raise
        return Session(self, scenario, contact, conversation, result)

    # -------------------------------------------------------- setup

    def _contact(self, scenario: Scenario, suffix: str = "") -> dict:
        wanted = scenario.contact
        contact_id = wanted["id"] + suffix if wanted.get("id") else f"qa-{secrets.token_hex(4)}"
        return self.store.save_contact(contact_id, wanted.get("name", "QA Tester"), wanted.get("email", ""),
                                       wanted.get("phone", ""))

    def _keep_contact(self, contact: dict) -> dict:
        """`contact` as the store has it, written only when it is new or changed (a load test reuses one)."""
        wanted = (contact.get("name", ""), contact.get("email", ""), contact.get("phone", ""))
        known = self.store.get_contact(contact["id"])
        if known is not None and (known["name"], known["email"], known["phone"]) == wanted:
            return known
        return self.store.save_contact(contact["id"], *wanted)

    def _conversation(self, contact_id: str) -> dict:
        while True:  # a fresh conversation_id, so no earlier reply can be taken for this run's
            row = self.store.ensure_conversation(self.profile["name"], contact_id,
                                                 100_000_000 + secrets.randbelow(900_000_000))
            if self.store.count_messages(row["id"]) == 0:
                return row

    # -------------------------------------------------------- steps

    def _step(self, step: Step, scenario: Scenario, conversation: dict, contact: dict, turn: _Turn) -> StepResult:
        settle = step.settle if step.settle is not None else scenario.settle if scenario.settle is not None \
            else self.settle
        if step.action == "wait":
            time.sleep(step.seconds)
            turn.replies = self._replies_since(conversation["id"], turn.after_id)
            return StepResult(step, "passed", replies=[])
        if step.action == "check":
            if turn.after_id is None:
                raise StepError("nothing was sent yet: put an action (send, click, …) before this check")
            self._collect(conversation["id"], turn.after_id, timeout=0, settle=settle, exact=_exact(step))
            replies = self._replies_since(conversation["id"], turn.after_id)
            turn.replies = replies
            return self._judge(step, replies, None, None, None)
        message_id = self._send(step, conversation, contact, turn)
        sent = self.store.get_message(message_id)
        turn.after_id = message_id
        timeout = step.timeout if step.timeout is not None else scenario.timeout if scenario.timeout is not None \
            else self.timeout
        if step.within is not None:
            timeout = max(timeout, step.within)
        replies = self._collect(conversation["id"], message_id, timeout=timeout, settle=settle, exact=_exact(step))
        turn.replies = replies
        first = replies[0]["created_at"] - sent["created_at"] if replies else None
        last = replies[-1]["created_at"] - sent["created_at"] if replies else None
        return self._judge(step, replies, message_id, first, last)

    def _judge(self, step: Step, replies: list[dict], sent_id, first, last) -> StepResult:
        try:
            failures = evaluate(step, replies, self.checks)
        except AIError as exc:  # a judge or an embeddings endpoint gave no answer: an error, never a pass
            return StepResult(step, "error", [], replies, sent_id, first, last, error=str(exc))
        if step.within is not None and (last is None or last > step.within):
            arrived = "no reply" if last is None else f"{last:.2f} s (last of {len(replies)} replies)"
            failures.append(Failure(step.line, f"latency budget of {step.within:g} s exceeded: {arrived}",
                                    [Mismatch("within", f"{step.within:g} s", arrived)]))
        return StepResult(step, "failed" if failures else "passed", failures, replies, sent_id, first, last)

    def _send(self, step: Step, conversation: dict, contact: dict, turn: _Turn) -> int:
        if step.action == "send":
            fields = {"text": step.text}
            kind = "text"
        elif step.action in ("click", "postback"):
            if step.action == "click":
                earlier = [r for r in self.store.messages_before(conversation["id"], None, 200)
                           if r["direction"] == "in"]
                button = find_button(step, turn.replies, earlier)
                if button.get("kind") != "postback":
                    target = button.get("url") or button.get("payload")
                    raise StepError(f'"{button.get("title")}" is a {button.get("kind")} button ({target}), not a '
                                    "postback: clicking it sends nothing to the bot")
                fields = {"title": button.get("title", ""), "payload": button.get("payload", "")}
            else:
                fields = {"title": step.title, "payload": step.payload}
            kind = "postback"
        else:
            kind, fields = step.action, {"url": step.url}
        try:
            message_id = outbox.prepare(self.store, conversation, contact, kind, **fields)
        except ValueError as exc:
            raise StepError(str(exc)) from None
        if not self.deliver(self.store, self.profile, message_id):
            error = (self.store.get_message(message_id) or {}).get("error") or "unknown reason"
            raise StepError(f"sending failed: {error}")
        return message_id

    def _replies_since(self, conversation: int, after_id: int | None) -> list[dict]:
        if after_id is None:
            return []
        return [r for r in self.store.messages_since(conversation, after_id, 10_000) if r["direction"] == "in"]

    def _collect(self, conversation: int, after_id: int, *, timeout: float, settle: float,
                 exact: int | None) -> list[dict]:
        """Replies after `after_id`, once the turn settled (quiet for `settle`, or `exact` replies are there)."""
        replies: list[dict] = []
        last_id, start = after_id, time.monotonic()
        newest = start
        hard_stop = start + (self.turn_limit or max(timeout, settle) + 60)  # a bot that never stops talking
        while True:
            rows = self.feed.since(conversation, last_id)
            now = time.monotonic()
            if rows:
                last_id = rows[-1]["id"]
                fresh = [r for r in rows if r["direction"] == "in"]
                if fresh:
                    replies += fresh
                    newest = now
            quiet = now - newest
            if replies or timeout == 0:
                if quiet >= settle or (exact is not None and len(replies) >= exact and quiet >= min(settle, EXACT_GRACE)):
                    return replies
                due = newest + (min(settle, EXACT_GRACE) if exact is not None and len(replies) >= exact else settle)
            elif now - start >= timeout:
                return replies
            else:
                due = start + timeout
            if now >= hard_stop:
                return replies
            self.feed.wait(conversation, min(due, hard_stop) - now)


def _exact(step: Step) -> int | None:
    return step.messages.exactly if step.messages is not None else None


class Session:
    """One run of a Runner in one conversation, a step at a time; `finish` ends it (kept in the store when the
    runner keeps runs). After a step that could not run, the steps that follow are skipped."""

    def __init__(self, runner: Runner, scenario: Scenario, contact: dict, conversation: dict, result: RunResult):
        self.runner, self.scenario, self.contact, self.conversation = runner, scenario, contact, conversation
        self.result = result
        self._turn = _Turn()
        self._stopped = ""
        self._finished = False

    def step(self, step: Step) -> StepResult:
        """Carry out `step` (numbered by its `index`) and check its replies; never raises for the bot's sake."""
        runner, result = self.runner, self.result
        if self._stopped:
            outcome = StepResult(step, "skipped", error=f"not run: {self._stopped}")
        else:
            try:
                outcome = runner._step(step, self.scenario, self.conversation, self.contact, self._turn)
            except StepError as exc:
                outcome = StepResult(step, "error", error=str(exc))
            except Exception as exc:  # a bug or an outage must end the run with a reason, not a traceback
                outcome = StepResult(step, "error", error=f"{type(exc).__name__}: {exc}")
            if outcome.status == "error":
                self._stopped = f"step {step.index} could not run"
        result.steps.append(outcome)
        if runner.keep:
            runner.store.add_scenario_result(
                result.run_id, position=step.index, line=step.line, label=step.label, status=outcome.status,
                first_reply_ms=None if outcome.first_reply is None else outcome.first_reply * 1000,
                settle_ms=None if outcome.settle is None else outcome.settle * 1000,
                replies=len(outcome.replies), detail=outcome.detail())
        if runner.on_step:
            runner.on_step(result, outcome)
        return outcome

    def finish(self, error: str = "") -> RunResult:
        """End the run (once): its status and timings kept, the conversation's feed closed."""
        runner, result = self.runner, self.result
        if self._finished:
            return result
        self._finished = True
        result.error = result.error or error
        result.finished = time.time()
        try:
            if runner.keep:
                runner.store.finish_scenario_run(
                    result.run_id, status=result.status, error=result.error,
                    passed=sum(s.status == "passed" for s in result.steps),
                    failed=sum(s.status in ("failed", "error") for s in result.steps), **result.timings())
        finally:
            runner.feed.close(self.conversation["id"])
        return result


@dataclass
class _Turn:
    """The latest thing the contact sent, and the replies to it so far."""

    after_id: int | None = None
    replies: list[dict] = field(default_factory=list)
