"""A scripted in-process bot and a transport that talks to it, for the explorer's unit tests (no processes)."""

from __future__ import annotations

import itertools

from apichat.explore import Action, Turn
from apichat.payloads import parse_bot_message


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def menu(t: str, *buttons: tuple[str, str]) -> dict:
    return {"type": "text", "text": t, "content_type": "button_template", "content_attributes": {
        "text": t, "buttons": [{"type": "postback", "title": a, "payload": b} for a, b in buttons]}}


def link_menu(t: str, url: str) -> dict:
    return {"type": "text", "text": t, "content_type": "button_template", "content_attributes": {
        "text": t, "buttons": [{"type": "web_url", "title": "Website", "url": url},
                               {"type": "phone_number", "title": "Call us", "payload": "+6100"}]}}


def carousel(n: int) -> dict:
    return {"type": "text", "text": "Our range", "content_type": "generic_template", "content_attributes": {
        "items": [{"title": f"Item {i}", "buttons": [{"type": "postback", "title": "Pick", "payload": f"PICK_{i}"}]}
                  for i in range(1, n + 1)]}}


class SendFailed(Exception):
    pass


ENDLESS = object()


class FakeBot:
    """Answers by the action's key ('send:hi', 'postback:MENU'): a list of bodies, a function of the contact's
    memory, ENDLESS (talks until cut), or SendFailed to raise. Unknown keys get no reply."""

    def __init__(self, script: dict):
        self.script = script
        self.memory: dict[str, list] = {}
        self.received: list[tuple[str, str]] = []

    def answer(self, contact: str, action: Action):
        key = f"{action.type}:{action.text if action.type == 'send' else action.payload}"
        self.received.append((contact, key))
        seen = self.memory.setdefault(contact, [])
        seen.append(key)
        found = self.script.get(key, [])
        if isinstance(found, type) and issubclass(found, Exception):
            raise found(f"UChat answered 400: no such button {key}")
        if callable(found):
            found = found(seen)
        return found


def row(body: dict) -> dict:
    msg = parse_bot_message(body)
    return {"kind": msg.kind, "author": msg.author, "data": msg.to_dict(raw=False), "raw": body}


class FakeTransport:
    """Each walk is a new contact; replies come back at once (a fake clock gives each turn 0.1 s)."""

    detail = "fake bot"
    names = ("Tess",)

    def __init__(self, bot: FakeBot, cut_after: int = 20, rejected: list[dict] | None = None):
        self.bot, self.cut_after = bot, cut_after
        self.contacts = itertools.count(1)
        self.walks: list[list[Action]] = []
        self.rejected = rejected or []

    def walk(self, actions, expected):
        self.walks.append(list(actions))
        contact = f"c{next(self.contacts)}"
        turns = []
        for action in actions:
            try:
                bodies = self.bot.answer(contact, action)
            except SendFailed as exc:
                turns.append(Turn(error=str(exc)))
                return turns
            if bodies is ENDLESS:
                turns.append(Turn([row(text(f"spam {i}")) for i in range(self.cut_after)], seconds=0.1, cut=True))
                continue
            turns.append(Turn([row(b) for b in bodies], seconds=0.1 if bodies else None,
                              rejected=list(self.rejected)))
        return turns
