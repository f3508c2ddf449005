"""A turn's normalised signature: what makes two turns the same state.

Kinds, authors, button titles and payloads, card titles and text count; numbers, the contact's name, ids
(long hex, uuids) and the host of local URLs are masked, so "Picked 3" and "Picked 7" are one state and a
different menu is another.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlparse

from ..ai import similarity
from ..rows import data_of
from .model import Action

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{10,}\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
FINAL_WORDS = ("thank", "bye", "goodbye", "enjoy", "have a nice", "have a great", "see you", "all set",
               "you're done", "we're done", "completed", "delivered", "🎉", "✅")


def mask(text: str, names: tuple[str, ...] = ()) -> str:
    text = _UUID.sub("{id}", text or "")
    text = _HEX.sub("{id}", text)
    for name in names:
        if name:
            text = re.sub(re.escape(name), "{name}", text, flags=re.I)
    return " ".join(_NUMBER.sub("#", text).split())


def _url(url: str) -> str:
    parsed = urlparse(url or "")
    return parsed.path if parsed.hostname in ("127.0.0.1", "localhost", "::1") else url or ""


def _buttons(items: list[dict], names) -> list:
    return [[b.get("kind", ""), mask(b.get("title", ""), names), mask(b.get("payload", ""), ()),
             _url(b.get("url", "")) if b.get("kind") == "url" else ""] for b in items or []]


def normalise(reply: dict, names: tuple[str, ...] = (), text: bool = True) -> dict:
    data = data_of(reply)
    return {"kind": reply.get("kind") or data.get("kind", ""), "author": reply.get("author") or data.get("author", ""),
            "private": bool(data.get("private")), "text": mask(data.get("text", ""), names) if text else "",
            "ratio": data.get("ratio", "horizontal") if data.get("cards") else "",
            "buttons": _buttons(data.get("buttons"), names), "quick_replies": _buttons(data.get("quick_replies"), names),
            "cards": [[mask(c.get("title", ""), names), _buttons(c.get("buttons"), names)]
                      for c in data.get("cards") or []],
            "media": [m.get("kind", "") for m in data.get("media") or []]}


def signature(replies: list[dict], names: tuple[str, ...] = (), text: bool = True) -> str:
    """A short stable id for what these replies look like once normalised ('s' + 10 hex digits); with
    text=False, of their shape alone (kinds, buttons, cards, media), which paraphrases share."""
    shown = json.dumps([normalise(r, names, text) for r in replies], ensure_ascii=False, sort_keys=True)
    return "s" + hashlib.sha1(shown.encode()).hexdigest()[:10]


def alike(a: list[dict], b: list[dict], names: tuple[str, ...] = ()) -> float | None:
    """How alike two turns' texts are (the lowest similarity of their replies, pair by pair, numbers and names
    masked) when their shapes are the same; None when they are not (another menu is never a paraphrase)."""
    if signature(a, names, text=False) != signature(b, names, text=False):
        return None
    return min((similarity.score(mask(data_of(x).get("text", ""), names), mask(data_of(y).get("text", ""), names)).value
                for x, y in zip(a, b, strict=True)), default=1.0)


def choices(replies: list[dict]) -> tuple[list[Action], list[dict]]:
    """The postback buttons a contact can press (buttons, card buttons, quick replies; each payload once), and the
    url and call buttons, which are leaves."""
    found: list[Action] = []
    links: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def take(button: dict, card: str = "") -> None:
        if button.get("kind") == "postback":
            key = (button.get("title", ""), button.get("payload", ""))
            if key not in seen:
                seen.add(key)
                found.append(Action("postback", title=key[0], payload=key[1], card=card))
        elif button.get("kind") in ("url", "call"):
            links.append({"kind": button["kind"], "title": button.get("title", ""), "url": button.get("url", "")})

    for reply in replies:
        data = data_of(reply)
        if data.get("private"):
            continue
        for b in data.get("buttons") or []:
            take(b)
        for card in data.get("cards") or []:
            for b in card.get("buttons") or []:
                take(b, card.get("title", ""))
        for b in data.get("quick_replies") or []:
            take(b)
    return found, links


def looks_final(replies: list[dict]) -> bool:
    """A turn with no way on that still reads as an end: a goodbye or thanks, or a human agent took over."""
    if any(r.get("author") == "agent" for r in replies):
        return True
    last = next((data_of(r).get("text", "") for r in reversed(replies) if data_of(r).get("text")), "")
    return any(word in last.casefold() for word in FINAL_WORDS)
