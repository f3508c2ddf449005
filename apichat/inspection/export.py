"""Deliveries and requests as one JSON document."""

from __future__ import annotations

import json
import time

from ..rows import headers_of
from .bodies import body_view
from .timeline import request_target


def export_json(deliveries: list[dict], sent: list[dict]) -> str:
    """Deliveries and requests as a JSON document, newest first, bodies parsed, keys masked."""
    items = []
    for row in deliveries:
        data, text = body_view(row.get("body"))
        item = {k: v for k, v in row.items() if k not in ("body", "headers")}
        item.update(type="delivery", headers=headers_of(row), body=data if data is not None else text)
        items.append(item)
    for row in sent:
        request_data, request_text = body_view(row.get("request_body"))
        response_data, response_text = body_view(row.get("response_body"))
        item = {k: v for k, v in row.items() if k not in ("request_body", "response_body", "request_headers")}
        item.update(type="request", target=request_target(row), request_headers=headers_of(row, "request_headers"),
                    request_body=request_data if request_data is not None else request_text,
                    response_body=response_data if response_data is not None else response_text)
        items.append(item)
    items.sort(key=lambda i: i.get("received_at") or i.get("created_at") or 0, reverse=True)
    return json.dumps({"exported_at": time.time(), "count": len(items), "items": items}, ensure_ascii=False,
                      indent=2, default=str)
