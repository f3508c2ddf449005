"""An LLM plays the contact: shown the persona, the goal and the bot's messages with their buttons and cards, it
answers with one action as JSON — `{"press": "Title"}`, `{"press": "Button", "card": "Card title"}`,
`{"say": "text"}` or `{"stop": "why"}`.

Every action is checked against what the bot really offered: a press of a button that is not there, or an answer
that is not one action, is refused and the model is asked again (up to REASKS times), then the run stops with the
raw answer. The endpoint is APICHAT_SIMULATOR_URL / _MODEL / _KEY (OpenAI-compatible, apichat.ai.llm), asked at
temperature 0 with the goal's seed; every answer is kept in a cache (the store's `simulator_answers`, keyed by
model, seed and the exact messages), so a re-run of an unchanged bot replays exactly and asks nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Protocol

from ..ai import AIError
from ..ai.llm import Endpoint, EndpointError, endpoint_from_env, json_answer
from ..explore import Action
from ..rows import data_of
from .goal import Goal
from .plan import Decision

SIMULATOR_ENV = "APICHAT_SIMULATOR"  # _URL, _MODEL, _KEY, _TIMEOUT
REASKS = 2


class AnswerCache(Protocol):
    def get_simulator_answer(self, key: str) -> str | None: ...

    def save_simulator_answer(self, key: str, model: str, answer: str) -> None: ...


def answer_key(model: str, seed: int, messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps([model, seed, messages], ensure_ascii=False).encode("utf-8",
                                                                                         "surrogatepass")).hexdigest()


def system_prompt(goal: Goal) -> str:
    persona = goal.persona
    who = persona.get("name") or "a customer"
    style = f" Your style: {persona['style']}." if persona.get("style") else ""
    return (f"You play {who}, a contact chatting with a business's chatbot.{style} Your goal: {goal.goal}. "
            "Each time, you see the bot's latest messages with the buttons and cards it offers. Answer with exactly "
            'one JSON object and nothing else: {"press": "<button title>"} to press a button, {"press": "<button '
            'title>", "card": "<card title>"} for a button on a card, {"say": "<text>"} to type a message, or '
            '{"stop": "<why>"} when your goal is met or cannot be met. Press only buttons that are offered.')


def shown(replies: list[dict]) -> str:
    """The bot's messages as the model reads them: text, buttons, cards with their buttons, media."""
    lines = []
    for reply in replies:
        data = data_of(reply)
        if data.get("private"):
            continue
        if data.get("text"):
            lines.append(f"Bot: {data['text']}")
        for name in ("buttons", "quick_replies"):
            titles = [b.get("title", "") for b in data.get(name) or [] if b.get("kind") == "postback"]
            if titles:
                lines.append(f"  {name.replace('_', ' ')}: " + ", ".join(f"[{t}]" for t in titles))
        for card in data.get("cards") or []:
            titles = [b.get("title", "") for b in card.get("buttons") or [] if b.get("kind") == "postback"]
            lines.append(f"  card \"{card.get('title', '')}\": " + ", ".join(f"[{t}]" for t in titles))
        for media in data.get("media") or []:
            lines.append(f"  ({media.get('kind')})")
    return "\n".join(lines) or "(the bot has not said anything yet)"


def offered(replies: list[dict]) -> list[Action]:
    """Every postback the contact can press now: buttons, quick replies, and cards' buttons."""
    out = []
    for reply in replies:
        data = data_of(reply)
        if data.get("private"):
            continue
        for b in (data.get("buttons") or []) + (data.get("quick_replies") or []):
            if b.get("kind") == "postback":
                out.append(Action("postback", title=b.get("title", ""), payload=b.get("payload", "")))
        for card in data.get("cards") or []:
            for b in card.get("buttons") or []:
                if b.get("kind") == "postback":
                    out.append(Action("postback", title=b.get("title", ""), payload=b.get("payload", ""),
                                      card=card.get("title", "")))
    return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", (text or "").casefold()).split())


def parse_action(answer: str, replies: list[dict]) -> Action | str:
    """The action in a model's answer, checked against what the bot offered; a str saying why it is refused."""
    try:
        data = json_answer(answer)
    except ValueError:
        return "the answer is not one JSON object"
    if not isinstance(data, dict) or len([k for k in ("press", "say", "stop") if k in data]) != 1 \
            or set(data) - {"press", "card", "say", "stop"}:
        return 'the answer must be exactly one of {"press": …} (with "card" for a card\'s button), {"say": …}, ' \
               '{"stop": …}'
    if "say" in data:
        if not isinstance(data["say"], str) or not data["say"].strip():
            return '"say" must be a non-empty text'
        return Action("send", text=data["say"].strip())
    if "stop" in data:
        return Action("stop", text=str(data["stop"]))
    title, card = data.get("press"), data.get("card")
    if not isinstance(title, str) or (card is not None and not isinstance(card, str)):
        return '"press" (and "card") must be texts'
    choices = offered(replies)
    for exact in (True, False):
        same = (lambda a, b: a == b) if exact else (lambda a, b: _norm(a) == _norm(b))
        found = [a for a in choices if same(a.title, title) and (card is None or same(a.card, card))]
        if len({(a.card, a.title) for a in found}) == 1:
            return found[0]
        if len(found) > 1:
            cards = ", ".join(f'"{a.card}"' for a in found if a.card)
            return f'"{title}" is on several cards ({cards}): say which with "card"'
    listed = ", ".join(f'"{a.card} › {a.title}"' if a.card else f'"{a.title}"' for a in choices) or "none"
    where = f' on card "{card}"' if card else ""
    return f'there is no button "{title}"{where} in the bot\'s latest messages; the buttons are: {listed}'


@dataclass
class LLMPlayer:
    """The model at `endpoint` plays `goal`; answers kept in `cache` (the store); counts calls and cache hits."""

    goal: Goal
    endpoint: Endpoint
    cache: AnswerCache | None = None
    mode: str = "llm"
    calls: int = 0
    cached: int = 0
    refusals: list[str] = field(default_factory=list)

    def _ask(self, messages: list[dict]) -> str:
        model = self.endpoint.model
        key = answer_key(model, self.goal.seed, messages)
        found = self.cache.get_simulator_answer(key) if self.cache is not None else None
        if found is not None:
            self.cached += 1
            return found
        self.calls += 1
        try:
            answer = self.endpoint.chat(messages, temperature=0.0, seed=self.goal.seed)
        except EndpointError as exc:
            raise AIError(str(exc)) from None
        if self.cache is not None:
            self.cache.save_simulator_answer(key, model, answer)
        return answer

    def decide(self, replies: list[dict], history: list) -> Decision:
        conversation = []
        for r in history:
            conversation.append(f"You: {r.label} → {r.text or '(no reply)'}")
        now = shown(replies)
        user = ("What happened so far:\n" + "\n".join(conversation) + "\n\n" if conversation else "") + \
            f"The bot's latest messages:\n{now}\n\nYour next action, as one JSON object:"
        messages = [{"role": "system", "content": system_prompt(self.goal)}, {"role": "user", "content": user}]
        refused: list[str] = []
        for _ in range(REASKS + 1):
            answer = self._ask(messages)
            action = parse_action(answer, replies)
            if isinstance(action, Action):
                if action.type == "stop":
                    return Decision(stop=f"the simulated contact stopped: {action.text}")
                return Decision(action, why="the simulator's choice", refused=refused)
            refused.append(f"{self.endpoint.shown(answer)}: {action}")
            self.refusals.append(refused[-1])
            messages = [*messages, {"role": "assistant", "content": answer},
                        {"role": "user", "content": f"Refused: {action}. Answer again with one JSON action."}]
        raise AIError(f"{self.endpoint.label} gave no usable action in {REASKS + 1} tries; last: {refused[-1]}")

    def summary(self) -> str:
        return f"simulator: {self.calls} call{'' if self.calls == 1 else 's'}, {self.cached} cache " \
               f"hit{'' if self.cached == 1 else 's'}, {len(self.refusals)} refused"


def simulator_from_env(env=None) -> Endpoint | None:
    """The endpoint APICHAT_SIMULATOR_URL (…_MODEL, …_KEY, …_TIMEOUT) names; None without a URL."""
    return endpoint_from_env(SIMULATOR_ENV, os.environ if env is None else env)
