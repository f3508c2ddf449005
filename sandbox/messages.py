"""Builders for the webhook bodies the demo bot sends, in the shapes and key order of docs/protocol.md §6."""

from __future__ import annotations

from typing import Any


def postback(title: str, payload: str) -> dict:
    return {"type": "postback", "title": title, "payload": payload}


def web_url(title: str, url: str) -> dict:
    return {"type": "web_url", "title": title, "url": url}


def phone_number(title: str, number: str) -> dict:
    return {"type": "phone_number", "title": title, "payload": number}


def card(title: str, subtitle: str, image_url: str, buttons: list[dict]) -> dict:
    """One item of a generic_template, with the documented null item_url and default_action."""
    return {"title": title, "image_url": image_url, "item_url": None, "subtitle": subtitle,
            "default_action": None, "buttons": buttons}


class Outgoing:
    """Bodies addressed to one contact in one conversation (`sender_id`, `conv_id`)."""

    def __init__(self, sender_id: str, conv_id: int):
        self.sender_id, self.conv_id = sender_id, conv_id

    def _head(self) -> dict[str, Any]:
        return {"sender_id": self.sender_id, "conv_id": self.conv_id}

    def text(self, text: str, **extra: Any) -> dict:
        """docs/protocol.md §6, "Receive Text Message"; `extra` adds fields such as sender_type."""
        return {**self._head(), "text": text, "type": "text", "message_type": "outgoing", "private": False, **extra}

    def buttons(self, text: str, buttons: list[dict]) -> dict:
        """docs/protocol.md §6, "Receive Button Template"."""
        return {**self.text(text), "content_type": "button_template",
                "content_attributes": {"text": text, "buttons": buttons}}

    def cards(self, text: str, items: list[dict], ratio: str = "horizontal") -> dict:
        """docs/protocol.md §6, "Receive Generic Template (Card/Carousel)"; ratio is horizontal or square."""
        return {**self.text(text), "content_type": "generic_template",
                "content_attributes": {"ratio": ratio, "items": items}}

    def media(self, kind: str, url: str) -> dict:
        """docs/protocol.md §6, "Receive Image/Audio/Video/File Message"."""
        return {**self._head(), "url": url, "type": kind, "message_type": "outgoing", "private": False}

    def agent(self, name: str, text: str, *, private: bool) -> dict:
        """A human agent's reply, or (private) an internal note the contact never sees."""
        return {**self.text(text), "private": private, "sender_type": "agent", "agent_name": name}
