"""UChat's "Workspace Api to send messages" request bodies (docs/protocol.md §4), copied as UChat writes them."""

from __future__ import annotations

import json

_SENDER = """"sender": {
        "id": "{{UNIQUE BOT USER ID}}",
        "name": "{{BOT USER NAME}}",
        "email": "",
        "phone_number": "",
        "type": "contact"
    },"""
SEED_EXAMPLES = {
    "text": """{
    "content": "{{TEXT MESSAGE}}",
    "message_type": "incoming",
    SENDER
    "conversation_id": 123,
    "event": "message_created"
}""".replace("SENDER", _SENDER),
    "postback": """{
    "content": "{{BUTTON TITLE}}",
    "message_type": "incoming",
    SENDER
    "conversation_id": 123,
    "event": "message_postback",
    "submitted_values": [
        {
            "title": "{{BUTTON TITLE}}",
            "payload": "{{BUTTON PAYLOAD}}"
        }
    ]
}""".replace("SENDER", _SENDER),
    **{kind: """{
    "content": "",
    "message_type": "incoming",
    SENDER
    "conversation_id": 123,
    "event": "message_created",
    "attachments": [
        {
            "file_type": "KIND",
            "data_url": "{{UPPER URL}}"
        }
    ]
}""".replace("SENDER", _SENDER).replace("KIND", kind).replace("UPPER", kind.upper()) for kind in ("image", "audio", "video", "file")},
}


def filled(name: str, values: dict[str, str]) -> tuple[str, dict]:
    """Seed example `name` with the given placeholders filled (JSON-escaped): its text and its value."""
    text = SEED_EXAMPLES[name]
    for placeholder, value in values.items():
        text = text.replace(placeholder, json.dumps(value)[1:-1])
    return text, json.loads(text)
