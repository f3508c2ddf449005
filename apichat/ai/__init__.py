"""Testing bots that answer with AI: how alike two replies are (similarity) and whether a reply meets a
criterion (a judge: a model asked over an OpenAI-compatible endpoint, llm).

    similarity  an offline lexical score, or embeddings' cosine (`measure()` picks), the pair matrix, most_typical
    llm         an OpenAI-compatible endpoint over requests: chat completions and embeddings; AIError
    judge       the verdict prompt, its strict parser, and the Judge with its verdict cache

Nothing here reads a scenario or opens the store (the judge's cache is handed in); scenarios, the explorer
and the chat's side by side (apichat/ask.py) call into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import similarity
from .judge import NOT_CONFIGURED, Judge, JudgeError, Verdict, VerdictCache, judge_from_env
from .llm import AIError, Endpoint, EndpointError
from .similarity import Score


@dataclass
class Checks:
    """What a run's expectations may ask of AI: the similarity measure of `similar_to`, and the judge of
    `judge:` (None when none is configured)."""

    similarity: Callable[[str, str], Score] = similarity.score
    judge: Judge | None = None

    @classmethod
    def from_env(cls, cache: VerdictCache | None = None, env=None) -> Checks:
        """The measure and the judge the environment configures; verdicts kept in `cache` (the store)."""
        return cls(similarity.measure(env), judge_from_env(cache, env))

    def cost(self) -> str:
        """What judging cost so far, e.g. `judge: 1 call, 3 cache hits`; "" when nothing was judged."""
        judge = self.judge
        return judge.summary() if judge is not None and (judge.calls or judge.cached) else ""


__all__ = ["AIError", "Checks", "Endpoint", "EndpointError", "Judge", "JudgeError", "NOT_CONFIGURED", "Score",
           "Verdict", "VerdictCache", "judge_from_env", "similarity"]
