"""Checking a step's replies: whether they meet what the step expects, and what differs when they do not.

A reply is the store's message row (its `data` the parsed message). evaluate() checks a step's replies
against everything the step expects (model: Step, Expectation, Matcher) and returns one Failure per unmet
expectation, with the closest reply's differences side by side. `checks` (apichat.ai.Checks) are the
similarity measure and the judge the expectations may ask; a judge that gives no verdict raises AIError.
"""

from __future__ import annotations

import json

from ..ai import Checks
from ..rows import data_of
from .match import assign
from .model import Expectation, Failure, Matcher, Mismatch, Step

NOTHING = ("none", "no media", "0", "no cards", '""', "no reply")


class _Checked:
    """A matcher with the run's checks, as `assign` takes it (`ok(reply)`)."""

    def __init__(self, matcher: Matcher, checks: Checks | None):
        self.matcher, self.checks = matcher, checks

    def ok(self, reply: dict) -> bool:
        return not self.matcher.mismatches(reply, self.checks)


def _closest(matcher, replies: list[dict], checks: Checks | None) -> tuple[dict | None, list[Mismatch]]:
    """The reply that differs least; one that lacks a feature entirely (no cards at all) counts as further."""
    best, rows, best_score = None, [], None
    for reply in replies:
        found = matcher.mismatches(reply, checks)
        score = sum(2 if m.arrived in NOTHING else 1 for m in found)
        if best_score is None or score < best_score:
            best, rows, best_score = reply, found, score
    return best, rows


def _missing(expectation: Expectation, replies: list[dict], candidates: list[dict], checks: Checks | None) -> Failure:
    matcher = expectation.matcher
    if not replies:
        return Failure(matcher.line, f"expected a reply like {matcher.describe()}; no reply arrived",
                       [Mismatch("reply", matcher.describe(), "no reply")])
    reply, rows = _closest(matcher, candidates or replies, checks)
    number = next(i for i, r in enumerate(replies, 1) if r is reply)
    return Failure(matcher.line, f"expected a reply like {matcher.describe()}; none of the {len(replies)} "
                                 f"replies matches (closest: reply {number} of {len(replies)}, {reply['kind']})",
                   rows, reply["id"])


def evaluate(step: Step, replies: list[dict], checks: Checks | None = None) -> list[Failure]:
    """Every expectation of `step` that `replies` (store rows, oldest first) do not meet."""
    failures: list[Failure] = []
    if step.messages is not None and not step.messages.ok(len(replies)):
        noun = "reply" if str(step.messages) == "1" else "replies"
        failures.append(Failure(step.line, f"expected {step.messages} {noun}, {len(replies)} arrived",
                                [Mismatch("messages", str(step.messages), str(len(replies)))]))
    wanted = [e for e in step.expect if not e.absent and not e.each]
    if step.any_order:
        missing = [e for e in wanted if not any(not e.matcher.mismatches(r, checks) for r in replies)]
        failures += [_missing(e, replies, replies, checks) for e in missing]
        if wanted and not missing and not assign([_Checked(e.matcher, checks) for e in wanted], replies):
            failures.append(Failure(step.line, f"each expectation matches some reply, but {len(wanted)} expectations "
                                               "need as many different replies"))
    else:
        position = 0
        for expectation in wanted:
            found = next((i for i in range(position, len(replies))
                          if not expectation.matcher.mismatches(replies[i], checks)), None)
            if found is None:
                failures.append(_missing(expectation, replies, replies[position:], checks))
            else:
                position = found + 1
    for expectation in step.expect:
        if expectation.each:
            for number, reply in enumerate(replies, 1):
                rows = expectation.matcher.mismatches(reply, checks)
                if rows:
                    failures.append(Failure(expectation.line, f"reply {number} of {len(replies)} "
                                            f"({reply_summary(reply)}) is not {expectation.describe()}", rows,
                                            reply["id"]))
        if expectation.absent:
            for number, reply in enumerate(replies, 1):
                if not expectation.matcher.mismatches(reply, checks):
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
