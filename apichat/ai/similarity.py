"""How alike two replies are, as a score from 0 (nothing alike) to 1 (the same words).

The measure is lexical and offline: rapidfuzz's token_sort_ratio over lower-cased words without punctuation,
so word order and case do not count, but every word does. It needs no network, key or model, and it tells a
paraphrase that keeps the facts' words ("open 8 am to 6 pm on weekdays" / "weekdays 8 am to 6 pm") from an
answer about something else. It cannot tell a small wrong fact inside the right words ("… and on Sundays"):
a judge can.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, utils

LEXICAL = "lexical"


@dataclass(frozen=True)
class Score:
    """A similarity and how it was measured, to print beside a threshold."""

    value: float
    method: str

    def __str__(self) -> str:
        return f"{self.value:.2f} ({self.method})"


def lexical(a: str, b: str) -> float:
    """token_sort_ratio of the two texts' words, from 0 to 1; two empty texts are the same."""
    a, b = utils.default_process(a or ""), utils.default_process(b or "")
    if not a and not b:
        return 1.0
    return fuzz.token_sort_ratio(a, b) / 100


def score(a: str, b: str) -> Score:
    return Score(round(lexical(a, b), 4), LEXICAL)


def matrix(texts: list[str]) -> list[list[float]]:
    """Every pair's similarity (symmetric, 1 on the diagonal)."""
    n = len(texts)
    out = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            out[i][j] = out[j][i] = score(texts[i], texts[j]).value
    return out


def most_typical(texts: list[str]) -> int:
    """The index of the text most like all the others (the highest mean similarity; the first on a tie)."""
    if not texts:
        raise ValueError("most_typical needs at least one text")
    m = matrix(texts)
    means = [sum(row) for row in m]
    return max(range(len(texts)), key=lambda i: (means[i], -i))
