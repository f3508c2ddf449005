"""`curl` equivalents of a delivery or a request, with keys as shell variables, never in full."""

from __future__ import annotations

import json
import re
import secrets
from urllib.parse import parse_qsl

from .. import signing
from ..redact import redact
from ..rows import headers_of
from .bodies import body_bytes, header
from .timeline import request_target

KEY_VARIABLES = {"partner API": "UCHAT_PARTNER_KEY", "bot_url": "UCHAT_FLOW_KEY"}
VERIFY_VARIABLE = "UCHAT_VERIFY_TOKEN"
_HOLE = "\ue000"  # private-use characters mark where a shell variable goes inside a quoted string
_HOLE_RE = re.compile("\ue000([A-Za-z_][A-Za-z0-9_]*)\ue001")


def shell_quote(text: str) -> str:
    """`text` in single quotes for sh/bash/zsh, every byte kept (newlines too); `_var` holes become "$VAR"."""
    parts = _HOLE_RE.split(text)
    plain = parts[::2]
    if len(parts) > 1 and not any(c in part for part in plain for c in '"$`\\!\n'):
        # "Bearer $KEY" reads better than 'Bearer '"$KEY", and is the same to the shell
        return '"' + "".join(f"${p}" if i % 2 else p for i, p in enumerate(parts)) + '"'
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f'"${part}"')
        elif part or len(parts) == 1:
            out.append("'" + part.replace("'", "'\"'\"'") + "'")
    return "".join(out)


def _var(name: str) -> str:
    """A placeholder for shell variable `name` inside a string given to `shell_quote`."""
    return f"{_HOLE}{name}\ue001"


def _printf_octal(raw: bytes) -> str:
    """A printf format that writes exactly `raw` (for bodies that are not UTF-8 text)."""
    out = []
    for index, byte in enumerate(raw):
        char = chr(byte)
        if char == "-" and index == 0:  # a format starting with '-' would be read as an option
            out.append("\\055")
        elif char == "%":
            out.append("%%")
        elif char == "\\":
            out.append("\\\\")
        elif 32 <= byte < 127 and char != "'":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


def _shell_safe_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _curl(method: str, url: str, headers: list[tuple[str, str]], body: bytes | str | None,
          body_file: str | None = None) -> str:
    lines = [f"curl -sS -i -X {method} {shell_quote(url)}"]
    for name, value in headers:
        lines.append(f"  -H {shell_quote(f'{name}: {value}')}")
    prefix = ""
    if body_file:
        lines.append(f"  --data-binary @{shell_quote(body_file)}")
    elif body:
        text = body if isinstance(body, str) else _shell_safe_text(body)
        if text is None:  # not UTF-8 text, or a NUL byte no shell string can hold: let printf write the bytes
            prefix = f"printf {shell_quote(_printf_octal(body))} | "
            lines.append("  --data-binary @-")
        else:
            lines.append(f"  --data-binary {shell_quote(text)}")
    return prefix + " \\\n".join(lines)


def delivery_url(delivery: dict, base_url: str) -> str:
    return base_url.rstrip("/") + (delivery.get("route") or "/webhook")


def signed_headers(delivery: dict, body: bytes, key: str) -> list[tuple[str, str]]:
    """The headers UChat sends with a webhook, signed afresh with `key`."""
    stored = headers_of(delivery)
    out = [("Content-Type", header(stored, "content-type") or "application/json"),
           (signing.HEADER, signing.sign(body, key))]
    if delivery.get("flow_ns"):
        out.append(("x-flow-ns", delivery["flow_ns"]))
    if delivery.get("action"):
        out.append(("x-action", delivery["action"]))
    return out


def is_handshake(delivery: dict) -> bool:
    return delivery.get("kind") == "handshake"


def curl_for_delivery(delivery: dict, key: str, base_url: str, body_file: str | None = None) -> str:
    """A curl that re-sends a delivery's exact body to `base_url` + its route, with a fresh signature.

    A handshake becomes UChat's form POST (docs/protocol.md §3) with the key as $UCHAT_VERIFY_TOKEN (never the real key).
    `body_file` (a file holding the exact bytes) keeps a large body off the command line.
    """
    url = delivery_url(delivery, base_url)
    if is_handshake(delivery):
        challenge = _stored_challenge(delivery) or secrets.token_hex(16)
        return (f"curl -sS -i -X POST {shell_quote(url)} \\\n  -d hub_mode=subscribe \\\n"
                f"  --data-urlencode \"hub_verify_token=${VERIFY_VARIABLE}\" \\\n"
                f"  -d hub_challenge={shell_quote(challenge)}")
    body = body_bytes(delivery.get("body"))
    return _curl("POST", url, signed_headers(delivery, body, key), body, body_file)


def curl_for_request(row: dict) -> str:
    """A curl for a request the console sent, its key as $UCHAT_PARTNER_KEY or $UCHAT_FLOW_KEY."""
    target = request_target(row)
    headers = [("Authorization", f"Bearer {_var(KEY_VARIABLES[target])}")]
    for name, value in headers_of(row, "request_headers").items():
        if name.lower() in ("content-type", "accept"):
            headers.append((name, str(value)))
    body = row.get("request_body") or ""
    if body:
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if data is not None:
            body = json.dumps(redact(data, placeholder=_var(VERIFY_VARIABLE)), ensure_ascii=False)
    return _curl(row.get("method") or "GET", row.get("url") or "", headers, body or None)


def _stored_challenge(delivery: dict) -> str:
    text = body_bytes(delivery.get("body")).decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
        pairs = list(data.items()) if isinstance(data, dict) else []
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True)
    for name, value in pairs:
        if str(name).lower() in ("hub_challenge", "hub.challenge") and isinstance(value, str):
            return value
    return ""
