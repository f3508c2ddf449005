"""The JSON columns of stored rows, decoded in one place and tolerant of whatever a row holds.

Messages keep the body as received (`raw`) and the parsed message (`data`); deliveries and requests keep
their headers as JSON. A reader never crashes on a row: text that is not JSON comes back as text (`raw`)
or as an empty mapping (`data`, headers).
"""

from __future__ import annotations

import json
from typing import Any


def raw_of(row: dict) -> Any:
    """A message's body as received: the decoded JSON, or the text itself when it is not JSON."""
    try:
        return json.loads(row["raw"])
    except (TypeError, ValueError):
        return row["raw"]


def data_of(row: dict) -> dict:
    """A message's parsed form (kind, text, buttons, cards, media...), {} when missing or broken."""
    data = row.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data or "{}")
        except ValueError:
            data = {}
    return data if isinstance(data, dict) else {}


def headers_of(row: dict, column: str = "headers") -> dict:
    """The headers kept in `column` of a delivery (or `request_headers` of a request), {} when unreadable."""
    try:
        headers = json.loads(row.get(column) or "{}")
    except ValueError:
        return {}
    return headers if isinstance(headers, dict) else {}
