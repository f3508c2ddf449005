"""A stored conversation as a scenario file: what the contact did, and what the bot said as expectations.

The chat's "Save as scenario" and `python -m apichat.scenarios record` use it; the file is a draft to
loosen or tighten, so it says so at the top.
"""

from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import urlparse

import yaml

from ..payloads import MEDIA_KINDS
from ..rows import data_of
from ..store import Store
from .parse import parse_scenario


def _local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def _url_expectation(url: str):
    """A URL as an expectation: local addresses change port between runs, so only their path is kept."""
    if _local(url):
        return {"ends_with": urlparse(url).path}
    return url


def expectation_for(row: dict) -> dict:
    """What a reply (a message row, or any dict with kind, author and data) must look like, as a recording says it."""
    data = data_of(row)
    out: dict = {}
    if data.get("private"):
        out["private"] = True
    if row["author"] == "agent":
        out["author"] = "agent"
    if row["kind"] == "unsupported":
        out["kind"] = "unsupported"
    text = data.get("text") or ""
    if text:
        out["text"] = text if len(text) <= 160 else {"starts_with": text[:80]}
    if data.get("buttons"):
        out["buttons"] = [b.get("title", "") for b in data["buttons"]]
    if data.get("quick_replies"):
        out["quick_replies"] = [b.get("title", "") for b in data["quick_replies"]]
    if data.get("cards"):
        out["cards"] = {"count": len(data["cards"]), "titles": [c.get("title", "") for c in data["cards"]]}
        if data.get("ratio") == "square":
            out["cards"]["ratio"] = "square"
    for media in data.get("media") or []:
        if media.get("kind") in MEDIA_KINDS and media.get("kind") not in out:
            out[media["kind"]] = _url_expectation(media.get("url", ""))
    return out or {"kind": row["kind"]}


def _action_for(row: dict, earlier: list[dict]) -> dict | None:
    data = data_of(row)
    if data.get("postback"):
        title, payload = data["postback"].get("title", ""), data["postback"].get("payload", "")
        for reply in reversed(earlier):
            shown = data_of(reply)
            if any(b.get("title") == title and b.get("payload") == payload
                   for b in (shown.get("buttons") or []) + (shown.get("quick_replies") or [])):
                return {"click": title}
            for card in shown.get("cards") or []:
                if any(b.get("title") == title and b.get("payload") == payload for b in card.get("buttons") or []):
                    return {"click": {"card": card.get("title", ""), "button": title}}
        return {"postback": {"title": title, "payload": payload}}
    if data.get("media"):
        media = data["media"][0]
        return {f"send_{media.get('kind', 'file')}": media.get("url", "")}
    if data.get("text"):
        return {"send": data["text"]}
    return None


def recorded_step(action: dict, replies: list[dict], last_reply: float | None) -> dict:
    """A step as recordings write it: the action, what each reply looked like, how many, and a latency budget of
    twice the last reply's time (at least 3 s)."""
    step = dict(action)
    if replies:
        step["expect"] = [expectation_for(r) for r in replies]
        step["messages"] = len(replies)
        step["within"] = f"{max(3, math.ceil((last_reply or 0) * 2))}s"
    return step


def record_conversation(store: Store, conversation: int, name: str | None = None) -> str:
    """A conversation as a scenario (YAML text) whose expectations are what the bot actually said."""
    conv = store.get_conversation(conversation)
    if conv is None:
        raise ValueError(f"no conversation with id {conversation}")
    contact = store.get_contact(conv["contact_id"]) or {}
    rows = store.messages_before(conversation, None, 100_000)
    steps: list[dict] = []
    seen: list[dict] = []
    skipped = 0
    i = 0
    while i < len(rows):
        row = rows[i]
        i += 1
        if row["direction"] == "in":
            seen.append(row)
            continue
        action = _action_for(row, seen)
        if action is None or row["status"] == "failed":
            skipped += 1
            continue
        replies = []
        while i < len(rows) and rows[i]["direction"] == "in":
            replies.append(rows[i])
            i += 1
        seen += replies
        steps.append(recorded_step(action, replies, replies[-1]["created_at"] - row["created_at"] if replies else None))
    if not steps:
        raise ValueError("this conversation has no message from the contact to replay")
    doc: dict = {"name": name or f"Recorded conversation {conv['conv_id']}"}
    person = {k: contact.get(k) for k in ("name", "email", "phone") if contact.get(k)}
    if person:
        doc["contact"] = person
    doc["steps"] = steps
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    header = (f"# Recorded {when} from conversation {conv['conv_id']} (profile {conv['profile']}, contact "
              f"{conv['contact_id']}).\n"
              "# The expectations are what the bot said then: loosen or tighten them before adding this to a suite.\n"
              "# Each run is a new contact; a bot that greets new contacts first may add a greeting before the "
              "first reply.\n")
    if skipped:
        header += f"# {skipped} message(s) that failed to send or had nothing to replay were left out.\n"
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
    text = header + body
    parse_scenario(text, "<recorded>")  # what we write must load
    return text
