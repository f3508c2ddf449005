"""Stored bodies as bytes and as something to show, and a header looked up whatever its case."""

from __future__ import annotations

import json

from ..redact import redact, redact_text


def body_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("utf-8")


def body_view(value: bytes | str | None) -> tuple[object | None, str]:
    """(parsed JSON or None, text) of a stored body, with verification keys masked in both."""
    text = body_bytes(value).decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return None, redact_text(text)
    return redact(data), json.dumps(redact(data), ensure_ascii=False, indent=2)


def header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
