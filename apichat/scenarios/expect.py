"""Expectations: what a reply must look like, whether one does, and what differs when it does not.

A reply is the store's message row (its `data` the parsed message). evaluate() checks a step's replies
against everything the step expects and returns one Failure per unmet expectation, with the closest
reply's differences side by side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..rows import data_of
from .match import CardsMatch, LintMatch, ListMatch, TextMatch, assign
from .nodes import quote

if TYPE_CHECKING:
    from .parse import Step



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
    source: Any = None  # the YAML value, to show as "expected"

    def mismatches(self, reply: dict) -> list[Mismatch]:
        """What differs between this expectation and `reply` (a message row with its decoded data)."""
        data = data_of(reply)
        out: list[Mismatch] = []
        if self.kind is not None and reply.get("kind") != self.kind:
            out.append(Mismatch("kind", self.kind, reply.get("kind", "")))
        if self.author is not None and reply.get("author") != self.author:
            out.append(Mismatch("author", self.author, reply.get("author", "")))
        if self.private is not None and bool(data.get("private")) != self.private:
            out.append(Mismatch("private", str(self.private).lower(), str(bool(data.get("private"))).lower()))
        if self.text is not None and not self.text.ok(data.get("text", "")):
            out.append(Mismatch("text", str(self.text), quote(data.get("text", ""))))
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
        if self.negate is not None and not self.negate.mismatches(reply):
            out.append(Mismatch("not", f"not {self.negate.describe()}", "it does"))
        return out

    def ok(self, reply: dict) -> bool:
        return not self.mismatches(reply)

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


# ---------------------------------------------------------------- checking a turn's replies


NOTHING = ("none", "no media", "0", "no cards", '""', "no reply")


def _closest(matcher, replies: list[dict]) -> tuple[dict | None, list[Mismatch]]:
    """The reply that differs least; one that lacks a feature entirely (no cards at all) counts as further."""
    best, rows, best_score = None, [], None
    for reply in replies:
        found = matcher.mismatches(reply)
        score = sum(2 if m.arrived in NOTHING else 1 for m in found)
        if best_score is None or score < best_score:
            best, rows, best_score = reply, found, score
    return best, rows


def _missing(expectation: Expectation, replies: list[dict], candidates: list[dict]) -> Failure:
    matcher = expectation.matcher
    if not replies:
        return Failure(matcher.line, f"expected a reply like {matcher.describe()}; no reply arrived",
                       [Mismatch("reply", matcher.describe(), "no reply")])
    reply, rows = _closest(matcher, candidates or replies)
    number = next(i for i, r in enumerate(replies, 1) if r is reply)
    return Failure(matcher.line, f"expected a reply like {matcher.describe()}; none of the {len(replies)} "
                                 f"replies matches (closest: reply {number} of {len(replies)}, {reply['kind']})",
                   rows, reply["id"])


def evaluate(step: Step, replies: list[dict]) -> list[Failure]:
    """Every expectation of `step` that `replies` (store rows, oldest first) do not meet."""
    failures: list[Failure] = []
    if step.messages is not None and not step.messages.ok(len(replies)):
        noun = "reply" if str(step.messages) == "1" else "replies"
        failures.append(Failure(step.line, f"expected {step.messages} {noun}, {len(replies)} arrived",
                                [Mismatch("messages", str(step.messages), str(len(replies)))]))
    wanted = [e for e in step.expect if not e.absent and not e.each]
    if step.any_order:
        missing = [e for e in wanted if not any(not e.matcher.mismatches(r) for r in replies)]
        failures += [_missing(e, replies, replies) for e in missing]
        if wanted and not missing and not assign([e.matcher for e in wanted], replies):
            failures.append(Failure(step.line, f"each expectation matches some reply, but {len(wanted)} expectations "
                                               "need as many different replies"))
    else:
        position = 0
        for expectation in wanted:
            found = next((i for i in range(position, len(replies))
                          if not expectation.matcher.mismatches(replies[i])), None)
            if found is None:
                failures.append(_missing(expectation, replies, replies[position:]))
            else:
                position = found + 1
    for expectation in step.expect:
        if expectation.each:
            for number, reply in enumerate(replies, 1):
                rows = expectation.matcher.mismatches(reply)
                if rows:
                    failures.append(Failure(expectation.line, f"reply {number} of {len(replies)} "
                                            f"({reply_summary(reply)}) is not {expectation.describe()}", rows,
                                            reply["id"]))
        if expectation.absent:
            for number, reply in enumerate(replies, 1):
                if not expectation.matcher.mismatches(reply):
                    failures.append(Failure(expectation.line, f"reply {number} of {len(replies)} is like "
                                            f"{expectation.matcher.describe()}, which it must not be",
                                            [Mismatch("not", expectation.describe(), reply_summary(reply))],
                                            reply["id"]))
                    break
    return failures


def reply_summary(reply: dict) -> str:
    """A reply in a few words: its kind, private or not, the start of its text."""
    data = data_of(reply)
    parts = [reply.get("kind", "")]
    if data.get("private"):
        parts.append("private")
    if data.get("text"):
        text = data["text"]
        parts.append(json.dumps(text if len(text) <= 60 else text[:57] + "…", ensure_ascii=False))
    return " ".join(parts)
