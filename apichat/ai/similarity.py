"""How alike two replies are, as a score from 0 (nothing alike) to 1 (the same words).

The measure is lexical and offline: rapidfuzz's token_sort_ratio over lower-cased words without punctuation,
so word order and case do not count, but every word does. It needs no network, key or model, and it tells a
paraphrase that keeps the facts' words ("open 8 am to 6 pm on weekdays" / "weekdays 8 am to 6 pm") from an
answer about something else. It cannot tell a small wrong fact inside the right words ("… and on Sundays"):
a judge can.

A second measure, for when words differ but meaning does not: the cosine of two embeddings from an
OpenAI-compatible `/embeddings` endpoint (`Embeddings`), method "embeddings MODEL". `measure()` is the one place
that picks between the two: embeddings when APICHAT_EMBEDDINGS_URL is set, the lexical score otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, utils

from .llm import AIError, Endpoint, endpoint_from_env

LEXICAL = "lexical"
EMBEDDINGS_ENV = "APICHAT_EMBEDDINGS"  # _URL, _MODEL, _KEY, _TIMEOUT


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


def cosine(u: list[float], v: list[float]) -> float:
    """The cosine of two vectors of one size, from 0 to 1 (opposite directions count as nothing alike)."""
    nu, nv = math.sqrt(sum(x * x for x in u)), math.sqrt(sum(x * x for x in v))
    if not nu or not nv:
        return 1.0 if nu == nv else 0.0
    return max(0.0, min(1.0, sum(x * y for x, y in zip(u, v, strict=True)) / (nu * nv)))


@dataclass
class Embeddings:
    """The cosine of two texts' embeddings from an endpoint; each text's vector is asked for once."""

    endpoint: Endpoint
    vectors: dict[str, list[float]] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return f"embeddings {self.endpoint.model}"

    def score(self, a: str, b: str) -> Score:
        if not self.endpoint.model:
            raise AIError(f"{EMBEDDINGS_ENV}_URL is set but {EMBEDDINGS_ENV}_MODEL is not: name the embedding model")
        a, b = a or "", b or ""
        wanted = [t for t in dict.fromkeys((a, b)) if t not in self.vectors]
        if wanted:
            if len(self.vectors) > 4096:  # a long run: forget, rather than grow without end
                self.vectors.clear()
            self.vectors.update(zip(wanted, self.endpoint.embeddings(wanted), strict=True))
        u, v = self.vectors[a], self.vectors[b]
        if len(u) != len(v):
            raise AIError(f"{self.endpoint.label}: embeddings of different sizes ({len(u)} and {len(v)})")
        return Score(round(cosine(u, v), 4), self.method)


def measure(env=None) -> Callable[[str, str], Score]:
    """How `similar_to` scores two texts: embeddings when APICHAT_EMBEDDINGS_URL is set, else `score` (lexical)."""
    endpoint = endpoint_from_env(EMBEDDINGS_ENV, env)
    return score if endpoint is None else Embeddings(endpoint).score
