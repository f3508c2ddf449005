"""A conversation as files a person can keep: JSON with raw payloads, and readable Markdown."""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone

from .rows import data_of, raw_of


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def to_json(conversation: dict, contact: dict | None, messages: list[dict]) -> str:
    """Every message with its direction, time, state and the raw payload as sent or received."""
    doc = {
        "profile": conversation["profile"],
        "conversation_id": conversation["conv_id"],
        "contact": contact or {"id": conversation["contact_id"]},
        "messages": [{
            "id": m["id"], "time": _time(m["created_at"]), "direction": m["direction"], "author": m["author"],
            "kind": m["kind"], "status": m["status"], "error": m["error"] or None, "payload": raw_of(m),
        } for m in messages],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def describe(m: dict) -> str:
    """One message as a line of plain text."""
    data = data_of(m)
    parts = [m["text"]] if m["text"] else []
    if data.get("postback"):
        postback = data["postback"]
        parts = [f"[clicked: {postback.get('title', '')} → payload {postback.get('payload', '')}]"]
    for b in data.get("buttons") or []:
        parts.append(f"[{b.get('title', '')}]")
    for c in data.get("cards") or []:
        buttons = " ".join(f"[{b.get('title', '')}]" for b in c.get("buttons") or [])
        parts.append(f"card: {c.get('title', '')} — {c.get('subtitle', '')} {buttons}".strip())
    for media in data.get("media") or []:
        parts.append(f"{media.get('kind')}: {media.get('url')}")
    if data.get("private"):
        parts.insert(0, "(private note)")
    return " / ".join(p for p in parts if p) or f"({m['kind']})"


def to_markdown(conversation: dict, contact: dict | None, messages: list[dict]) -> str:
    name = (contact or {}).get("name") or conversation["contact_id"]
    lines = [f"# Conversation {conversation['conv_id']} with {name}", "",
             f"Profile `{conversation['profile']}`, contact `{conversation['contact_id']}`.", ""]
    for m in messages:
        who = {"contact": name, "bot": "Bot", "agent": "Agent"}.get(m["author"], m["author"])
        state = f" _({m['status']}: {m['error']})_" if m["status"] == "failed" else ""
        text = html.escape(describe(m), quote=False).replace("\n", "\n  ")  # inert, and inside its list item
        lines.append(f"- **{who}** · {_time(m['created_at'])}: {text}{state}")
    return "\n".join(lines) + "\n"
