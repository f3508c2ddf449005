"""Matching one value: a text, a list of buttons or card titles, a number of replies.

Each matcher says ok(value) and prints as what it expects, for the "expected" column of a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import lint
from ..ai import similarity
from ..ai.similarity import Score
from .nodes import quote

DEFAULT_SIMILARITY = 0.7  # similar_to's at_least when the scenario sets no `similarity:`
Measure = Callable[[str, str], Score]


@dataclass
class TextMatch:
    """A string expectation: equals, contains (all of), matches (regex search), starts/ends with, similar to
    (a score of at least `at_least`, by `measure`: apichat.ai.similarity), or not."""

    equals: str | None = None
    contains: list[str] = field(default_factory=list)
    matches: re.Pattern | None = None
    starts_with: str | None = None
    ends_with: str | None = None
    negate: TextMatch | None = None
    anything: bool = False  # `image: true`: any value that is not empty
    similar_to: str | None = None
    at_least: float = DEFAULT_SIMILARITY

    def similarities(self, value: str, measure: Measure | None = None, what: str = "similarity") -> list[tuple]:
        """(what, its threshold, the score) of `value` against each `similar_to` here, those under `not` after:
        the rows a failure shows beside the text, e.g. ("similarity", "at least 0.60", 0.42 (lexical))."""
        found = []
        if self.similar_to is not None:
            score = (measure or similarity.score)(self.similar_to, value or "")
            bound = "at least" if what.count("not.") % 2 == 0 else "below"
            found.append((what, f"{bound} {_figure(self.at_least)}", shown_score(score, self.at_least)))
        if self.negate is not None:
            found += self.negate.similarities(value, measure, f"not.{what}")
        return found

    def ok(self, value: str, measure: Measure | None = None) -> bool:
        value = value or ""
        if self.anything and not value:
            return False
        if self.equals is not None and value != self.equals:
            return False
        if any(part not in value for part in self.contains):
            return False
        if self.matches is not None and not self.matches.search(value):
            return False
        if self.starts_with is not None and not value.startswith(self.starts_with):
            return False
        if self.ends_with is not None and not value.endswith(self.ends_with):
            return False
        if self.similar_to is not None and (measure or similarity.score)(self.similar_to, value).value < self.at_least:
            return False
        return not (self.negate is not None and self.negate.ok(value, measure))

    def __str__(self) -> str:
        parts = ["any value"] if self.anything else []
        if self.equals is not None:
            parts.append(quote(self.equals))
        parts += [f"contains {quote(c)}" for c in self.contains]
        if self.matches is not None:
            parts.append(f"matches /{self.matches.pattern}/")
        if self.starts_with is not None:
            parts.append(f"starts with {quote(self.starts_with)}")
        if self.ends_with is not None:
            parts.append(f"ends with {quote(self.ends_with)}")
        if self.similar_to is not None:
            parts.append(f"similar to {quote(self.similar_to)} (at least {_figure(self.at_least)})")
        if self.negate is not None:
            parts.append(f"not ({self.negate})")
        return " and ".join(parts)


def _figure(x: float) -> str:
    return f"{x:.2f}" if round(x, 2) == x else f"{x:g}"


def shown_score(score: Score, at_least: float) -> str:
    """A score beside its threshold: two decimals, or four when two would round it onto the other side."""
    rounded = round(score.value, 2)
    digits = 2 if (rounded >= at_least) == (score.value >= at_least) else 4
    return f"{score.value:.{digits}f} ({score.method})"


@dataclass
class ButtonSpec:
    """A button by its title, payload, url and type; a card is matched by its title the same way."""

    title: TextMatch | None = None
    payload: TextMatch | None = None
    url: TextMatch | None = None
    kind: str | None = None

    def ok(self, button: dict) -> bool:
        checks = ((self.title, button.get("title", "")), (self.payload, button.get("payload", "")),
                  (self.url, button.get("url", "")))
        if self.kind is not None and button.get("kind") != self.kind:
            return False
        return all(m is None or m.ok(v) for m, v in checks)

    def __str__(self) -> str:
        if self.payload is None and self.url is None and self.kind is None and self.title is not None:
            return str(self.title)
        parts = [f"{name} {m}" for name, m in (("title", self.title), ("payload", self.payload), ("url", self.url))
                 if m is not None]
        return "{" + ", ".join(parts + ([f"type {self.kind}"] if self.kind else [])) + "}"


def assign(specs: list, items: list) -> bool:
    """Whether each spec can take a distinct item it accepts (bipartite matching, small lists)."""
    owner: dict[int, int] = {}

    def place(s: int, seen: set[int]) -> bool:
        for i, item in enumerate(items):
            if i not in seen and specs[s].ok(item):
                seen.add(i)
                if i not in owner or place(owner[i], seen):
                    owner[i] = s
                    return True
        return False

    return all(place(s, set()) for s in range(len(specs)))


@dataclass
class ListMatch:
    """Buttons or card titles: exactly (in order), any_order (same set), include, exclude, count."""

    exactly: list | None = None
    any_order: list | None = None
    include: list | None = None
    exclude: list | None = None
    count: int | None = None

    def ok(self, items: list) -> bool:
        if self.exactly is not None and (len(items) != len(self.exactly)
                                         or not all(s.ok(i) for s, i in zip(self.exactly, items, strict=True))):
            return False
        if self.any_order is not None and (len(items) != len(self.any_order) or not assign(self.any_order, items)):
            return False
        if self.include is not None and not assign(self.include, items):
            return False
        if self.exclude is not None and any(s.ok(i) for s in self.exclude for i in items):
            return False
        return self.count is None or len(items) == self.count

    def __str__(self) -> str:
        parts = []
        for name in ("exactly", "any_order", "include", "exclude"):
            specs = getattr(self, name)
            if specs is not None:
                listed = "[" + ", ".join(str(s) for s in specs) + "]"
                parts.append(listed if name == "exactly" else f"{name.replace('_', ' ')} {listed}")
        if self.count is not None:
            parts.append(f"count {self.count}")
        return "; ".join(parts)


@dataclass
class CardsMatch:
    count: int | None = None
    titles: ListMatch | None = None
    ratio: str | None = None


@dataclass
class CountMatch:
    exactly: int | None = None
    min: int | None = None
    max: int | None = None

    def ok(self, n: int) -> bool:
        return ((self.exactly is None or n == self.exactly) and (self.min is None or n >= self.min)
                and (self.max is None or n <= self.max))

    def __str__(self) -> str:
        if self.exactly is not None:
            return str(self.exactly)
        return " and ".join(p for p in (f"at least {self.min}" if self.min is not None else "",
                                        f"at most {self.max}" if self.max is not None else "") if p)


@dataclass
class LintMatch:
    """`lint: clean`, or the rules (or whole channels) allowed to fail, on the channels given (default all)."""

    allow: list[str] = field(default_factory=list)
    channels: tuple[str, ...] | None = None

    def broken(self, data: dict) -> list:
        found = lint.lint_message(data, self.channels if self.channels is not None else lint.DEFAULT_CHANNELS)
        return [f for f in found if not lint.allowed(f, self.allow)]

    def __str__(self) -> str:
        text = "clean" + (f" except {', '.join(self.allow)}" if self.allow else "")
        return text + (f" on {', '.join(self.channels)}" if self.channels is not None else "")
