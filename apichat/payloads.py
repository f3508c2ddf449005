"""The channel's payloads: what the contact sends to bot_url, and what the bot sends back.

Builders produce exactly the JSON of docs/protocol.md §4. `parse_bot_message` turns any webhook body into a
normalized `BotMessage` and never raises: what it does not understand becomes `unsupported`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = ("image", "audio", "video", "file")
# every kind parse_bot_message gives a message: the scenario format, the lint and the Inspector's filter use this list
MESSAGE_KINDS = ("text", "buttons", "cards", *MEDIA_KINDS, "media", "unsupported")
SAFE_SCHEMES = ("http://", "https://", "tel:", "mailto:")


# ---------------------------------------------------------------- contact -> bot_url

def _envelope(content: str, sender: dict, conversation_id: int, event: str) -> dict:
    return {
        "content": content,
        "message_type": "incoming",
        "sender": {
            "id": str(sender.get("id", "")),
            "name": str(sender.get("name", "") or ""),
            "email": str(sender.get("email", "") or ""),
            "phone_number": str(sender.get("phone_number", sender.get("phone", "")) or ""),
            "type": "contact",
        },
        "conversation_id": int(conversation_id),
        "event": event,
    }


def text_payload(sender: dict, conversation_id: int, text: str) -> dict:
    """docs/protocol.md §4, "Send Text Message" body."""
    return _envelope(text, sender, conversation_id, "message_created")


def postback_payload(sender: dict, conversation_id: int, title: str, payload: str) -> dict:
    """docs/protocol.md §4, "Send Button Payload" body: content is the title, submitted_values the button."""
    body = _envelope(title, sender, conversation_id, "message_postback")
    body["submitted_values"] = [{"title": title, "payload": payload}]
    return body


def media_payload(sender: dict, conversation_id: int, file_type: str, url: str) -> dict:
    """docs/protocol.md §4, "Send Image/Audio/Video/File" body."""
    if file_type not in MEDIA_KINDS:
        raise ValueError(f"file_type must be one of {', '.join(MEDIA_KINDS)}, not {file_type!r}")
    body = _envelope("", sender, conversation_id, "message_created")
    body["attachments"] = [{"file_type": file_type, "data_url": url}]
    return body


def file_type_for(mime: str | None) -> str:
    """The file_type (docs/protocol.md §4) for a MIME type: image, audio, video, or file for the rest."""
    major = (mime or "").split("/", 1)[0].lower()
    return major if major in ("image", "audio", "video") else "file"


# ---------------------------------------------------------------- bot -> webhook

@dataclass
class Button:
    kind: str  # postback | url | call
    title: str
    payload: str = ""
    url: str = ""


@dataclass
class Card:
    title: str = ""
    subtitle: str = ""
    image_url: str = ""
    item_url: str = ""
    buttons: list[Button] = field(default_factory=list)


@dataclass
class Media:
    kind: str  # image | audio | video | file
    url: str


@dataclass
class BotMessage:
    """A webhook body, normalized for rendering, storing and asserting."""

    kind: str  # text | buttons | cards | image | audio | video | file | media | unsupported
    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    quick_replies: list[Button] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    ratio: str = "horizontal"
    media: list[Media] = field(default_factory=list)
    private: bool = False
    author: str = "bot"  # bot | agent
    sender_id: str = ""
    conv_id: int | str | None = None
    flow_ns: str = ""
    content_type: str = ""
    notes: list[str] = field(default_factory=list)
    raw: Any = None

    def to_dict(self, raw: bool = True) -> dict:
        """Plain data; `raw` is the body itself, not a copy (it may be nested too deep to copy)."""
        def buttons(items: list[Button]) -> list[dict]:
            return [dict(vars(b)) for b in items]

        # by hand rather than dataclasses.asdict: this runs for every webhook, and asdict deep-copies
        data = dict(vars(self))
        data["buttons"] = buttons(self.buttons)
        data["quick_replies"] = buttons(self.quick_replies)
        data["cards"] = [{**vars(c), "buttons": buttons(c.buttons)} for c in self.cards]
        data["media"] = [dict(vars(m)) for m in self.media]
        data["notes"] = list(self.notes)
        if not raw:
            del data["raw"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BotMessage:
        def buttons(items):
            return [Button(**b) for b in items or []]

        data = dict(data)
        data["buttons"] = buttons(data.get("buttons"))
        data["quick_replies"] = buttons(data.get("quick_replies"))
        data["cards"] = [Card(**{**c, "buttons": buttons(c.get("buttons"))}) for c in data.get("cards") or []]
        data["media"] = [Media(**m) for m in data.get("media") or []]
        return cls(**data)


def _first(mapping: dict, *names: str) -> Any:
    for name in names:
        value = mapping.get(name)
        if value not in (None, ""):
            return value
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value) and not isinstance(value, (dict, list))


def safe_url(url: Any) -> str:
    """`url` when it is a link a browser may follow (http, https, tel, mailto), else ''."""
    if not isinstance(url, str):
        return ""
    candidate = url.strip()
    lowered = "".join(candidate.split()).lower()
    return candidate if lowered.startswith(SAFE_SCHEMES) else ""


def _button(item: Any, notes: list[str]) -> Button | None:
    if isinstance(item, str):
        return Button("postback", item, item)
    if not isinstance(item, dict):
        notes.append(f"ignored a button that is not an object: {_text(item)[:80]}")
        return None
    kind = _text(item.get("type") or item.get("content_type")).strip().lower()
    title = _text(_first(item, "title", "caption", "text", "label"))
    payload = _text(_first(item, "payload", "value"))
    url = _text(_first(item, "url", "uri", "link"))
    if kind in ("phone_number", "call", "phone", "tel", "phone_call"):
        number = payload or _text(item.get("phone_number")) or url
        number = number[4:] if number.lower().startswith("tel:") else number
        return Button("call", title or number, number, "tel:" + number.strip())
    if kind in ("web_url", "url", "link", "open_url", "weburl") or (url and not payload):
        return Button("url", title or url, payload, url)
    return Button("postback", title or payload, payload or title)


def _buttons(items: Any, notes: list[str]) -> list[Button]:
    if items in (None, ""):
        return []
    if not isinstance(items, list):
        items = [items]
    return [b for b in (_button(i, notes) for i in items) if b is not None]


def _card(item: Any, notes: list[str]) -> Card | None:
    if not isinstance(item, dict):
        notes.append(f"ignored a card that is not an object: {_text(item)[:80]}")
        return None
    default = item.get("default_action")
    default_url = _first(default, "url", "uri", "link") if isinstance(default, dict) else None
    return Card(
        title=_text(_first(item, "title", "name", "header")),
        subtitle=_text(_first(item, "subtitle", "description", "text")),
        image_url=_text(_first(item, "image_url", "media_url", "image", "thumbnail_url")),
        item_url=_text(_first(item, "item_url", "url") or default_url),
        buttons=_buttons(item.get("buttons"), notes),
    )


def _media(body: dict, kind_hint: str, attrs: dict) -> list[Media]:
    found: list[Media] = []
    url = _first(body, "url", "data_url", "media_url", "file_url") or _first(attrs, "url", "data_url")
    if kind_hint in MEDIA_KINDS and url:
        found.append(Media(kind_hint, _text(url)))
    attachments = body.get("attachments")
    if isinstance(attachments, dict):
        attachments = [attachments]
    for att in attachments if isinstance(attachments, list) else []:
        if not isinstance(att, dict):
            continue
        kind = _text(_first(att, "file_type", "type", "kind")).lower()
        link = _first(att, "data_url", "url", "file_url", "media_url", "thumb_url")
        if link:
            found.append(Media(kind if kind in MEDIA_KINDS else "file", _text(link)))
    return found


INT64 = range(-2**63, 2**63)


def _conv_id(value: Any) -> int | str | None:
    """An integer id when the value is one SQLite can store, else its text (None when absent)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value if value in INT64 else str(value)
    text = _text(value).strip()
    digits = text[1:] if text[:1] == "-" else text
    if digits.isascii() and digits.isdigit() and int(text) in INT64:
        return int(text)
    return text or None


KNOWN_CONTENT_TYPES = ("", "text", "button_template", "generic_template", "input_text", "cards", "incoming_email")
KNOWN_TYPES = ("", "text", "template", *MEDIA_KINDS)


def parse_bot_message(body: Any, flow_ns: str = "") -> BotMessage:
    """Normalize a webhook body (bytes, str or already-decoded JSON); never raises."""
    try:
        return _parse(body, flow_ns)
    except Exception as exc:  # a parser bug must never lose a message: keep it as unsupported
        if isinstance(body, (bytes, bytearray)):
            text = bytes(body).decode("utf-8", errors="replace")
        else:
            try:
                text = _text(body)
            except Exception:  # e.g. nested too deep to dump
                text = repr(body)
        return BotMessage("unsupported", text=text[:2000], flow_ns=flow_ns,
                          notes=[f"parser error: {exc!r}"], raw=None if isinstance(body, (bytes, bytearray)) else body)


def _parse(body: Any, flow_ns: str) -> BotMessage:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return BotMessage("unsupported", text=body, flow_ns=flow_ns, notes=["body is not JSON"], raw=body)
    if not isinstance(body, dict):
        return BotMessage("unsupported", text=_text(body), flow_ns=flow_ns,
                          notes=[f"body is a JSON {type(body).__name__}, not an object"], raw=body)

    notes: list[str] = []
    attrs = body.get("content_attributes")
    if isinstance(attrs, str):
        try:
            attrs = json.loads(attrs) if attrs.strip() else {}
        except ValueError:
            notes.append("content_attributes is a string that is not JSON")
            attrs = {}
    if not isinstance(attrs, dict):
        if attrs is not None:
            notes.append("content_attributes is not an object")
        attrs = {}

    content_type = _text(body.get("content_type")).strip().lower()
    msg_type = _text(body.get("type")).strip().lower()
    sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
    sender_type = _text(_first(body, "sender_type") or sender.get("type")).lower()
    private = _truthy(body.get("private"))
    is_agent = private or sender_type in ("agent", "user", "human", "human_agent") or bool(
        _first(body, "agent_id", "agent_name"))

    msg = BotMessage(
        kind="text",
        text=_text(_first(body, "text", "content", "message") or _first(attrs, "text")),
        private=private,
        author="agent" if is_agent else "bot",
        sender_id=_text(_first(body, "sender_id", "contact_id", "user_id") or sender.get("id")),
        conv_id=_conv_id(_first(body, "conv_id", "conversation_id")),
        flow_ns=flow_ns or _text(body.get("flow_ns")),
        content_type=content_type or msg_type,
        notes=notes,
        raw=body,
    )
    msg.buttons = _buttons(_first(attrs, "buttons") or body.get("buttons"), notes)
    msg.quick_replies = _buttons(_first(body, "quick_replies") or attrs.get("quick_replies"), notes)
    items = _first(attrs, "items", "elements", "cards") or _first(body, "items", "elements", "cards")
    cards = [c for c in (_card(i, notes) for i in (items if isinstance(items, list) else [])) if c]
    msg.cards = cards
    ratio = _text(_first(attrs, "ratio", "image_aspect_ratio")).lower()
    msg.ratio = ratio if ratio in ("horizontal", "square") else "horizontal"
    msg.media = _media(body, msg_type, attrs)

    if content_type not in KNOWN_CONTENT_TYPES or msg_type not in KNOWN_TYPES:
        msg.kind = "unsupported"
        msg.notes.append(f"unknown {'content_type' if content_type not in KNOWN_CONTENT_TYPES else 'type'}: "
                         f"{content_type if content_type not in KNOWN_CONTENT_TYPES else msg_type}")
    elif content_type == "generic_template" or cards:
        msg.kind = "cards"
    elif content_type == "button_template" or msg.buttons:
        msg.kind = "buttons"
    elif msg.media:
        kinds = {m.kind for m in msg.media}
        msg.kind = kinds.pop() if len(msg.media) == 1 or len(kinds) == 1 else "media"
    elif not msg.text and not msg.quick_replies:
        msg.kind = "unsupported"
        msg.notes.append("no text, buttons, cards or media found")
    return msg
