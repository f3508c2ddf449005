"""Checks a contact's message to bot_url as strictly as docs/protocol.md §4 describes it.

Every problem is reported as one sentence that names the field, so a bot builder can fix
the request without reading code: "conversation_id must be an integer, got string".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

EVENTS = ("message_created", "message_postback")
FILE_TYPES = ("image", "audio", "video", "file")
SENDER_STRINGS = ("name", "email", "phone_number")


class InvalidMessage(ValueError):
    """The body breaks the contract of docs/protocol.md §4; str() names the field and the problem."""


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, as a sender would call it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or value != value.strip():
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _require(body: dict, name: str, label: str | None = None) -> Any:
    if name not in body:
        raise InvalidMessage(f"{label or name} is required")
    return body[name]


def _string(body: dict, name: str, label: str | None = None, *, non_empty: bool = False) -> str:
    label = label or name
    value = _require(body, name, label)
    if not isinstance(value, str):
        raise InvalidMessage(f"{label} must be a string, got {json_type(value)}")
    if non_empty and not value.strip():
        raise InvalidMessage(f"{label} must not be empty")
    return value


def _sender(body: dict) -> None:
    sender = _require(body, "sender")
    if not isinstance(sender, dict):
        raise InvalidMessage(f"sender must be an object, got {json_type(sender)}")
    _string(sender, "id", "sender.id", non_empty=True)
    for name in SENDER_STRINGS:
        _string(sender, name, f"sender.{name}")
    kind = _string(sender, "type", "sender.type")
    if kind != "contact":
        raise InvalidMessage(f'sender.type must be "contact", got "{kind}"')


def _attachments(body: dict) -> list:
    items = body["attachments"]
    if not isinstance(items, list):
        raise InvalidMessage(f"attachments must be an array, got {json_type(items)}")
    for number, item in enumerate(items):
        label = f"attachments[{number}]"
        if not isinstance(item, dict):
            raise InvalidMessage(f"{label} must be an object, got {json_type(item)}")
        file_type = _string(item, "file_type", f"{label}.file_type")
        if file_type not in FILE_TYPES:
            raise InvalidMessage(f'{label}.file_type must be one of {", ".join(FILE_TYPES)}, got "{file_type}"')
        url = _string(item, "data_url", f"{label}.data_url")
        if not is_http_url(url):
            raise InvalidMessage(f"{label}.data_url must be an http(s) URL, got {url[:80]!r}")
    return items


def _submitted_values(body: dict) -> None:
    values = _require(body, "submitted_values")
    if not isinstance(values, list):
        raise InvalidMessage(f"submitted_values must be an array, got {json_type(values)}")
    if not values:
        raise InvalidMessage("submitted_values must not be empty (one {title, payload} for the button)")
    for number, item in enumerate(values):
        label = f"submitted_values[{number}]"
        if not isinstance(item, dict):
            raise InvalidMessage(f"{label} must be an object, got {json_type(item)}")
        _string(item, "title", f"{label}.title")
        _string(item, "payload", f"{label}.payload")


def validate_incoming(body: Any) -> dict:
    """`body` when it is a message docs/protocol.md §4 allows; raises InvalidMessage naming the field otherwise."""
    if not isinstance(body, dict):
        raise InvalidMessage(f"the body must be a JSON object, got {json_type(body)}")
    message_type = _string(body, "message_type")
    if message_type != "incoming":
        raise InvalidMessage(f'message_type must be "incoming", got "{message_type}"')
    _sender(body)
    conversation_id = _require(body, "conversation_id")
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise InvalidMessage(f"conversation_id must be an integer, got {json_type(conversation_id)}")
    event = _string(body, "event")
    if event not in EVENTS:
        raise InvalidMessage(f'event must be "message_created" or "message_postback", got "{event}"')
    content = _string(body, "content")
    if event == "message_postback":
        _submitted_values(body)
        if "attachments" in body:
            raise InvalidMessage("attachments are only allowed with event message_created")
    else:
        attachments = _attachments(body) if "attachments" in body else []
        if not content.strip() and not attachments:
            raise InvalidMessage("content must not be empty when there are no attachments")
    return body
