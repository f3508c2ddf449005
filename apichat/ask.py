"""Ask N times: one message sent as N new contacts in N new conversations at once, the N answers side by side.

For a bot that answers with AI, one reply says little: asking the same thing N times shows how much the answer
moves. Each ask is a fresh contact (named "Ask 3/5 · <persona>" in the store, so the sidebar tells them apart;
the bot sees the persona's own name, so a greeting by name does not differ between them) in a fresh
conversation. The messages go through the outbox like the chat's; the replies are read back from the store until
each turn settles (quiet for `settle` seconds) or times out. Then: each answer's similarity to the most typical
one and the pair matrix (`similarity`), the words that differ from the most typical answer, the time to the first
and the last reply, and a scenario that expects an answer like the most typical one (`similar_to`).

No Streamlit: the chat keeps one `Asks` per server and draws `Ask.snapshot()`.
"""

from __future__ import annotations

import difflib
import html
import math
import re
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime

import yaml

from . import outbox
from .ai import similarity
from .rows import data_of
from .store import Store

MIN_ASKS, MAX_ASKS, DEFAULT_ASKS = 2, 10, 5
SAFE_ASKS = 5  # a real workspace gets at most this many contacts without a confirmation (as load runs: SAFE_USERS)
SETTLE, TIMEOUT = 1.0, 15.0
FLOOR, CEILING, MARGIN = 0.3, 0.95, 0.05


class AskError(ValueError):
    """An ask that must not start: the one line says why."""


def check(n: int, *, real: bool, confirmed: bool) -> None:
    """AskError unless N is 2–10 and, against a real workspace, N > 5 was confirmed (the load runs' rule)."""
    if not MIN_ASKS <= n <= MAX_ASKS:
        raise AskError(f"ask {MIN_ASKS} to {MAX_ASKS} times (got {n})")
    if real and n > SAFE_ASKS and not confirmed:
        raise AskError(f"{n} new contacts in a real workspace need your confirmation (up to {SAFE_ASKS} go without)")


# ---------------------------------------------------------------- one answer


@dataclass
class Answer:
    """One of the N asks: its contact and conversation, and the replies so far."""

    index: int  # 1-based
    contact: dict
    conversation: dict
    sent_id: int | None = None
    sent_at: float | None = None
    replies: list[dict] = field(default_factory=list)
    state: str = "sending"  # sending | waiting | settled | no reply | failed
    error: str = ""

    @property
    def done(self) -> bool:
        return self.state in ("settled", "no reply", "failed")

    @property
    def text(self) -> str:
        """What the answer says: its replies' texts (a card's title and subtitle when there is no text)."""
        return "\n".join(t for t in (reply_text(r) for r in self.replies) if t)

    @property
    def first_reply(self) -> float | None:
        return self.replies[0]["created_at"] - self.sent_at if self.replies and self.sent_at else None

    @property
    def last_reply(self) -> float | None:
        return self.replies[-1]["created_at"] - self.sent_at if self.replies and self.sent_at else None


def reply_text(row: dict) -> str:
    data = data_of(row)
    if data.get("text"):
        return data["text"]
    return " ".join(f"{c.get('title', '')} {c.get('subtitle', '')}".strip() for c in data.get("cards") or [])


# ---------------------------------------------------------------- comparing them


@dataclass(frozen=True)
class Comparison:
    typical: int  # index into the answers (0-based)
    similarity: list[float]  # each answer's similarity to the typical one
    matrix: list[list[float]]
    method: str

    @property
    def lowest(self) -> float:
        return min(self.similarity)


def compare(texts: list[str]) -> Comparison:
    """The most typical text (most like all the others), each one's similarity to it, and every pair's."""
    pairs = similarity.matrix(texts)
    typical = similarity.most_typical(texts)
    return Comparison(typical, [pairs[typical][i] for i in range(len(texts))], pairs, similarity.LEXICAL)


def threshold(lowest: float) -> float:
    """`at_least` for a scenario: just under the lowest similarity seen (floored to 2 decimals, minus 0.05),
    within [0.3, 0.95], so what was observed passes and an answer about something else does not."""
    value = math.floor(round(lowest * 100, 6)) / 100 - MARGIN
    return round(min(CEILING, max(FLOOR, value)), 2)


_WORD = re.compile(r"\S+")


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower()) or word


def diff_html(text: str, typical: str) -> str:
    """`text` escaped for HTML, with the words the typical answer does not have at that place in <mark>.

    Words are compared as the similarity sees them (case and punctuation aside); spaces and line breaks are kept.
    """
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    words = [_norm(text[a:b]) for a, b in spans]
    matcher = difflib.SequenceMatcher(None, [_norm(w) for w in _WORD.findall(typical)], words, autojunk=False)
    changed = [True] * len(words)
    for block in matcher.get_matching_blocks():
        for k in range(block.b, block.b + block.size):
            changed[k] = False
    out, at = [], 0
    for (a, b), differs in zip(spans, changed, strict=True):
        out.append(html.escape(text[at:a]))
        word = html.escape(text[a:b])
        out.append(f'<mark class="acc-diff">{word}</mark>' if differs else word)
        at = b
    out.append(html.escape(text[at:]))
    return "".join(out)


# ---------------------------------------------------------------- the job


@dataclass
class Ask:
    """N asks of one message (a snapshot when taken with `Asks.get`)."""

    id: str
    profile: str
    message: str
    persona: dict
    answers: list[Answer]
    started: float
    finished: float | None = None

    @property
    def done(self) -> bool:
        return all(a.done for a in self.answers)

    def comparison(self) -> Comparison | None:
        """The answers compared, once every one is done and at least one got a reply."""
        if not self.done or not any(a.replies for a in self.answers):
            return None
        return compare([a.text for a in self.answers])

    def scenario_yaml(self) -> str:
        return scenario_yaml(self)


def _fresh_conversation(store: Store, profile: str, contact_id: str) -> dict:
    while True:  # a conversation_id no earlier reply can belong to
        row = store.ensure_conversation(profile, contact_id, 100_000_000 + secrets.randbelow(900_000_000))
        if store.count_messages(row["id"]) == 0:
            return row


def label(index: int, n: int, persona: dict) -> str:
    return f"Ask {index}/{n} · {persona.get('name') or persona.get('id')}"


class Asks:
    """The asks running (or done) in this server, by id; each one's N sends run in threads of their own."""

    def __init__(self, settle: float = SETTLE, timeout: float = TIMEOUT, poll: float = 0.05, deliver=None):
        self.settle, self.timeout, self.poll = settle, timeout, poll
        self.deliver = deliver or outbox.deliver
        self._asks: dict[str, Ask] = {}
        self._lock = threading.Lock()

    def start(self, store: Store, profile: dict, persona: dict, message: str, n: int, *, real: bool = False,
              confirmed: bool = False) -> str:
        """Create the N contacts and conversations, and send `message` in each at once; the ask's id."""
        check(n, real=real, confirmed=confirmed)
        if not message.strip():
            raise AskError("an empty message cannot be sent")
        tag = secrets.token_hex(3)
        answers = []
        for i in range(1, n + 1):
            contact = store.save_contact(f"ask-{tag}-{i}", label(i, n, persona), persona.get("email", ""),
                                         persona.get("phone", ""))
            answers.append(Answer(i, contact, _fresh_conversation(store, profile["name"], contact["id"])))
        ask = Ask(uuid.uuid4().hex[:12], profile["name"], message, dict(persona), answers, time.time())
        with self._lock:
            self._asks[ask.id] = ask
        threading.Thread(target=self._run, args=(store, profile, ask), name=f"ask-{ask.id}", daemon=True).start()
        return ask.id

    def get(self, ask_id: str | None) -> Ask | None:
        """A copy of the ask as it is now (answers and their reply lists copied), safe to draw."""
        with self._lock:
            ask = self._asks.get(ask_id or "")
            if ask is None:
                return None
            return replace(ask, answers=[replace(a, replies=list(a.replies)) for a in ask.answers])

    def wait(self, ask_id: str, timeout: float = 60.0) -> Ask:
        """The ask once every answer is done (for the command line and the tests)."""
        deadline = time.monotonic() + timeout
        while True:
            ask = self.get(ask_id)
            if ask is None or ask.done or time.monotonic() > deadline:
                return ask
            time.sleep(self.poll)

    def _run(self, store: Store, profile: dict, ask: Ask) -> None:
        with ThreadPoolExecutor(max_workers=len(ask.answers), thread_name_prefix=f"ask-{ask.id}") as pool:
            list(pool.map(lambda a: self._one(store, profile, ask, a), ask.answers))
        ask.finished = time.time()

    def _one(self, store: Store, profile: dict, ask: Ask, answer: Answer) -> None:
        try:
            sender = {**ask.persona, "id": answer.contact["id"]}  # the bot sees the persona's name
            message_id = outbox.prepare(store, answer.conversation, sender, "text", text=ask.message)
            answer.sent_id, answer.sent_at = message_id, store.get_message(message_id)["created_at"]
            if not self.deliver(store, profile, message_id):
                answer.error = (store.get_message(message_id) or {}).get("error") or "sending failed"
                answer.state = "failed"
                return
            answer.state = "waiting"
            self._collect(store, answer)
        except Exception as exc:  # an answer ends with a reason, never stuck at "waiting"
            answer.error, answer.state = f"{type(exc).__name__}: {exc}", "failed"

    def _collect(self, store: Store, answer: Answer) -> None:
        start = time.monotonic()
        newest, last_id = start, answer.sent_id
        while True:
            rows = store.messages_since(answer.conversation["id"], last_id, 1000)
            now = time.monotonic()
            if rows:
                last_id = rows[-1]["id"]
                fresh = [r for r in rows if r["direction"] == "in"]
                if fresh:
                    answer.replies = answer.replies + fresh
                    newest = now
            if answer.replies and now - newest >= self.settle:
                answer.state = "settled"
                return
            if not answer.replies and now - start >= self.timeout:
                answer.state = "no reply"
                return
            if now - start >= self.timeout + 60:  # a bot that never stops talking
                answer.state = "settled"
                return
            time.sleep(self.poll)


# ---------------------------------------------------------------- as a scenario


def _expectation(typical: Answer, position: int, others: list[Answer]) -> dict:
    """The typical answer's reply at `position`: its text similar_to, at least just under the lowest seen there."""
    reply = typical.replies[position]
    text = reply_text(reply)
    if not data_of(reply).get("text"):
        return {"kind": reply["kind"]}
    seen = [similarity.score(text, reply_text(a.replies[position]) if len(a.replies) > position else "").value
            for a in others]
    return {"text": {"similar_to": text, "at_least": threshold(min(seen))}}


def scenario_yaml(ask: Ask) -> str:
    """A scenario with one `send:` step that expects an answer like the most typical one (YAML text)."""
    comparison = ask.comparison()
    if comparison is None:
        raise AskError("no answer to save yet: wait until every ask is done and one got a reply")
    answered = [a for a in ask.answers if a.replies]
    typical = ask.answers[comparison.typical]
    step: dict = {"send": ask.message,
                  "expect": [_expectation(typical, i, answered) for i in range(len(typical.replies))]}
    slowest = max(a.last_reply or 0 for a in answered)
    step["within"] = f"{max(3, math.ceil(slowest * 2))}s"
    doc: dict = {"name": f"Ask {len(ask.answers)} times: {ask.message[:60]}"}
    person = {k: ask.persona.get(k) for k in ("name", "email", "phone") if ask.persona.get(k)}
    if person:
        doc["contact"] = person
    doc["steps"] = [step]
    when = datetime.fromtimestamp(ask.started).strftime("%Y-%m-%d %H:%M")
    figures = ", ".join(f"{v:.2f}" for v in comparison.similarity)
    header = (f"# Asked {len(ask.answers)} times on {when} (profile {ask.profile}); the expectation is the most "
              f"typical answer (ask {comparison.typical + 1}).\n"
              f"# Similarity of each answer to it ({comparison.method}): {figures}; at_least is just under the "
              "lowest.\n")
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
