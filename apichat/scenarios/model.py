"""What a scenario is, as the parser builds it and the evaluator and the runner read it: a Scenario of Steps,
each with the Expectations its replies must meet (a Matcher per reply), and the Failures and Mismatches a check
finds. match holds the single-value matchers these are made of; nothing here reads YAML or runs anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..ai import AIError, Checks
from ..ai.judge import NOT_CONFIGURED
from ..payloads import MEDIA_KINDS
from ..rows import data_of
from .match import CardsMatch, CountMatch, LintMatch, ListMatch, TextMatch
from .nodes import quote

NO_CHECKS = Checks()  # the offline similarity and no judge: what a check gets when a runner gives nothing


@dataclass
class Mismatch:
    """One difference between what a step expected and what arrived."""

    what: str
    expected: str
    arrived: str


def _shown_buttons(items: list[dict]) -> str:
    def one(b: dict) -> str:
        extra = b.get("payload") if b.get("kind") == "postback" else b.get("url")
        return quote(b.get("title", "")) + (f" ({extra})" if extra and extra != b.get("title") else "")
    return "[" + ", ".join(one(b) for b in items) + "]" if items else "none"


@dataclass
class JudgeSpec:
    """`judge:` of an expectation: the criterion a model must find the reply meets, and that model (None: the
    configured APICHAT_JUDGE_MODEL)."""

    criterion: str
    model: str | None = None

    def __str__(self) -> str:
        return quote(self.criterion) + (f" (judged by {self.model})" if self.model else "")


def judged_text(data: dict) -> str:
    """What a judge reads of a reply: its text, then the titles of its buttons, quick replies and cards."""
    lines = [data.get("text") or ""]
    for name in ("buttons", "quick_replies", "cards"):
        titles = [i.get("title", "") for i in data.get(name) or []]
        if titles:
            lines.append(f"{name.replace('_', ' ')}: " + ", ".join(titles))
    return "\n".join(lines).strip()


@dataclass
class Matcher:
    """What one reply must look like; every key given must hold."""

    line: int
    text: TextMatch | None = None
    kind: str | None = None
    author: str | None = None
    private: bool | None = None
    buttons: ListMatch | None = None
    quick_replies: ListMatch | None = None
    cards: CardsMatch | None = None
    media: dict[str, TextMatch] = field(default_factory=dict)
    lint: LintMatch | None = None
    negate: Matcher | None = None
    judge: JudgeSpec | None = None
    source: Any = None  # the YAML value, to show as "expected"

    def mismatches(self, reply: dict, checks: Checks | None = None) -> list[Mismatch]:
        """What differs between this expectation and `reply` (a message row with its decoded data). `checks`: the
        similarity measure and the judge (apichat.ai); a judge that gives no verdict raises AIError."""
        checks = checks or NO_CHECKS
        data = data_of(reply)
        out: list[Mismatch] = []
        if self.kind is not None and reply.get("kind") != self.kind:
            out.append(Mismatch("kind", self.kind, reply.get("kind", "")))
        if self.author is not None and reply.get("author") != self.author:
            out.append(Mismatch("author", self.author, reply.get("author", "")))
        if self.private is not None and bool(data.get("private")) != self.private:
            out.append(Mismatch("private", str(self.private).lower(), str(bool(data.get("private"))).lower()))
        if self.text is not None and not self.text.ok(data.get("text", ""), checks.similarity):
            out.append(Mismatch("text", str(self.text), quote(data.get("text", ""))))
            out += [Mismatch(f"text.{what}", bound, score)  # a similar_to's score beside its threshold
                    for what, bound, score in self.text.similarities(data.get("text", ""), checks.similarity)]
        for name, matcher in (("buttons", self.buttons), ("quick_replies", self.quick_replies)):
            items = data.get(name) or []
            if matcher is not None and not matcher.ok(items):
                out.append(Mismatch(name, str(matcher), _shown_buttons(items)))
        if self.cards is not None:
            cards = data.get("cards") or []
            if self.cards.count is not None and len(cards) != self.cards.count:
                out.append(Mismatch("cards.count", str(self.cards.count), str(len(cards))))
            if self.cards.titles is not None and not self.cards.titles.ok(cards):
                titles = "[" + ", ".join(quote(c.get("title", "")) for c in cards) + "]" if cards else "none"
                out.append(Mismatch("cards.titles", str(self.cards.titles), titles))
            if self.cards.ratio is not None and (data.get("ratio") if cards else None) != self.cards.ratio:
                out.append(Mismatch("cards.ratio", self.cards.ratio, data.get("ratio", "") if cards else "no cards"))
        media = data.get("media") or []
        for kind, matcher in self.media.items():
            urls = [m.get("url", "") for m in media if m.get("kind") == kind]
            if not any(matcher.ok(u) for u in urls):
                shown = ", ".join(f"{m.get('kind')} {m.get('url')}" for m in media) or "no media"
                out.append(Mismatch(kind, str(matcher), shown))
        if self.lint is not None:
            broken = self.lint.broken(data)
            if broken:
                out.append(Mismatch("lint", str(self.lint), "; ".join(f.message for f in broken)))
        if self.negate is not None and not self.negate.mismatches(reply, checks):
            out.append(Mismatch("not", f"not {self.negate.describe()}", "it does"))
        if self.judge is not None and not out:  # judged only when everything else holds: a model is slow and costs
            if checks.judge is None:
                raise AIError(NOT_CONFIGURED)
            text = judged_text(data)
            verdict = checks.judge.verdict(self.judge.criterion, text, self.judge.model)
            if not verdict.passed:
                # the reason first: a long reply is cut short in a terminal's column, the reason must not be
                out.append(Mismatch("judge", str(self.judge), f"{verdict.reason or 'no reason given'} — {quote(text)}"))
        return out

    def ok(self, reply: dict, checks: Checks | None = None) -> bool:
        return not self.mismatches(reply, checks)

    def judges(self) -> list[JudgeSpec]:
        """Every `judge:` of this expectation, its `not:` included."""
        return ([self.judge] if self.judge else []) + (self.negate.judges() if self.negate else [])

    def describe(self) -> str:
        return _compact(self.source)


def _compact(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


@dataclass
class Expectation:
    """One item of `expect`: a reply like `matcher` must arrive, or (absent) no reply like it may."""

    matcher: Matcher
    absent: bool = False
    each: bool = False  # `- lint: …` alone: every reply must match

    @property
    def line(self) -> int:
        return self.matcher.line

    def describe(self) -> str:
        return ("no reply like " if self.absent else "") + self.matcher.describe()


@dataclass
class Failure:
    """One unmet expectation: the line it is on, a sentence, and what was expected beside what arrived."""

    line: int
    problem: str
    rows: list[Mismatch] = field(default_factory=list)
    reply_id: int | None = None

    def to_dict(self) -> dict:
        return {"line": self.line, "problem": self.problem, "reply_id": self.reply_id,
                "rows": [[m.what, m.expected, m.arrived] for m in self.rows]}


@dataclass
class Step:
    """One action of a scenario (or a check of the latest replies) and what its replies must be."""

    index: int
    line: int
    action: str  # send | click | postback | image | audio | video | file | wait | check
    text: str = ""
    title: str = ""
    payload: str = ""
    card: str = ""
    url: str = ""
    seconds: float = 0.0
    expect: list[Expectation] = field(default_factory=list)
    messages: CountMatch | None = None
    any_order: bool = False
    within: float | None = None
    timeout: float | None = None
    settle: float | None = None
    name: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.action == "send":
            return f"send {quote(self.text)}"
        if self.action == "click":
            return f"click {quote(self.title)}" + (f" on card {quote(self.card)}" if self.card else "")
        if self.action == "postback":
            return f"postback {quote(self.title)} ({self.payload})"
        if self.action in MEDIA_KINDS:
            return f"send {self.action} {self.url}"
        if self.action == "wait":
            return f"wait {self.seconds:g} s"
        return "check the replies"

    @property
    def sends(self) -> bool:
        return self.action not in ("wait", "check")


@dataclass
class Scenario:
    """A parsed scenario file: its steps, the contact to play, and its own settle/timeout defaults."""

    name: str
    path: str
    steps: list[Step]
    contact: dict = field(default_factory=dict)
    description: str = ""
    settle: float | None = None
    timeout: float | None = None
    source: str = ""
    repeat: int = 1  # runs per scenario, each as a new contact in a new conversation
    pass_rate: float | None = None  # the share of runs that must pass (None: all of them)

    def judged(self) -> list[tuple[int, JudgeSpec]]:
        """(line, judge) of every expectation that asks a judge."""
        return [(e.line, j) for step in self.steps for e in step.expect for j in e.matcher.judges()]
