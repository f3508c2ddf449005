"""A judge: a model asked whether a reply meets a criterion, answering a JSON verdict.

The model gets the criterion and the reply and must answer only `{"pass": true|false, "reason": "…"}` (inside a
```json fence is accepted, nothing else). Anything else is not a verdict: a JudgeError quoting the raw answer,
never a pass. Verdicts are kept in a cache (the store's `judge_verdicts`, keyed by model, criterion and reply
text), so a re-run of unchanged replies asks nothing; `calls` and `cached` count what a run cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from ..redact import masked_url
from .llm import AIError, Endpoint, EndpointError, endpoint_from_env, json_answer

JUDGE_ENV = "APICHAT_JUDGE"  # _URL, _MODEL, _KEY, _TIMEOUT
NOT_CONFIGURED = ("no judge is configured: set APICHAT_JUDGE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) "
                  "and APICHAT_JUDGE_MODEL")

SYSTEM = ("You are the judge of a chatbot test. You get a criterion and the bot's reply. Decide whether the reply "
          "meets the criterion; judge only what the reply says, and be strict. Answer with one JSON object and "
          'nothing else: {"pass": true or false, "reason": "one short sentence saying why"}.')


class JudgeError(AIError):
    """The judge could not give a verdict (no answer, an HTTP error, an answer that is not a verdict)."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    cached: bool = False


class VerdictCache(Protocol):
    """Where verdicts are kept between runs (the store)."""

    def get_verdict(self, model: str, criterion: str, reply: str) -> dict | None: ...

    def save_verdict(self, model: str, criterion: str, reply: str, passed: bool, reason: str) -> None: ...


def prompt(criterion: str, reply: str) -> list[dict]:
    """The chat messages that ask for a verdict on `reply`."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Criterion: {criterion}\n\nThe bot's reply, between the lines:\n-----\n"
                                        f"{reply}\n-----\n\nAnswer with the JSON verdict only."}]


def parse_verdict(answer: str) -> Verdict:
    """The verdict in a model's answer: exactly `{"pass": bool, "reason": str}`, bare or in a ```json fence;
    ValueError saying what is wrong otherwise."""
    try:
        data = json_answer(answer)
    except ValueError:
        raise ValueError('the answer is not a JSON verdict {"pass": …, "reason": …}') from None
    if not isinstance(data, dict) or set(data) != {"pass", "reason"}:
        raise ValueError('the answer is not exactly {"pass": …, "reason": …}')
    if not isinstance(data["pass"], bool):
        raise ValueError('"pass" must be true or false')
    if not isinstance(data["reason"], str):
        raise ValueError('"reason" must be a text')
    return Verdict(data["pass"], data["reason"].strip())


@dataclass
class Judge:
    """Asks `endpoint` for verdicts, through `cache` (may be None); counts the calls made and the cache hits."""

    endpoint: Endpoint
    cache: VerdictCache | None = None
    calls: int = 0
    cached: int = 0
    _seen: dict[tuple[str, str, str], Verdict] = field(default_factory=dict, repr=False)

    def model_for(self, model: str | None) -> str:
        return model or self.endpoint.model

    def verdict(self, criterion: str, reply: str, model: str | None = None) -> Verdict:
        """Whether `reply` meets `criterion`, as `model` (default: the endpoint's) judges it; JudgeError when the
        judge gives no verdict. A question asked again in the same run is answered from memory, uncounted."""
        model = self.model_for(model)
        if not model:
            raise JudgeError(f"the judge at {self.endpoint.label} has no model: set {JUDGE_ENV}_MODEL or give "
                             "judge: {criterion: …, model: …}")
        key = (model, criterion, reply)
        if key in self._seen:
            return self._seen[key]
        found = self.cache.get_verdict(model, criterion, reply) if self.cache is not None else None
        if found is not None:
            self.cached += 1
            verdict = Verdict(bool(found["passed"]), found["reason"], cached=True)
        else:
            self.calls += 1
            try:
                answer = self.endpoint.chat(prompt(criterion, reply), model=model, temperature=0.0)
            except EndpointError as exc:
                raise JudgeError(f"the judge gave no verdict: {exc}") from None
            try:
                verdict = parse_verdict(answer)
            except ValueError as exc:
                raise JudgeError(f"the judge gave no verdict: {model} at {masked_url(self.endpoint.url)}: {exc}; "
                                 f"it answered {self.endpoint.shown(answer)}") from None
            if self.cache is not None:
                self.cache.save_verdict(model, criterion, reply, verdict.passed, verdict.reason)
        self._seen[key] = verdict
        return verdict

    def summary(self) -> str:
        """What judging cost, for a run's last line: e.g. `judge: 1 call, 3 cache hits`."""
        return (f"judge: {self.calls} call{'' if self.calls == 1 else 's'}, {self.cached} cache "
                f"hit{'' if self.cached == 1 else 's'}")


def judge_from_env(cache: VerdictCache | None = None, env=None) -> Judge | None:
    """The judge APICHAT_JUDGE_URL (…_MODEL, …_KEY, …_TIMEOUT) names; None when no URL is set."""
    endpoint = endpoint_from_env(JUDGE_ENV, os.environ if env is None else env)
    return None if endpoint is None else Judge(endpoint, cache)
