"""HMAC-SHA256 signatures as UChat's API Chat sends them (`X-Hub-Signature-256`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


HEX64 = re.compile("[0-9a-f]{64}")


def sign(body: bytes | str, key: str) -> str:
    """Header value for `body`, as UChat's PHP computes it (docs/protocol.md §5): `'sha256='.hash_hmac(...)`."""
    return PREFIX + hmac.new(_bytes(key), _bytes(body), hashlib.sha256).hexdigest()


def parse_header(value: str | None) -> str | None:
    """The lower-case hex digest in a header value, or None when it has no usable shape.

    Tolerant of what senders do in practice: the prefix in any case, hex in any case,
    spaces around or inside the value.
    """
    if not value:
        return None
    compact = "".join(value.split()).lower()
    if compact.startswith(PREFIX):
        compact = compact[len(PREFIX):]
    if not HEX64.fullmatch(compact):
        return None
    return compact


def verify(body: bytes | str, header_value: str | None, key: str) -> bool:
    """True when `header_value` is the signature of the raw `body` under `key` (constant time)."""
    digest = parse_header(header_value)
    if digest is None or not key:
        return False
    expected = hmac.new(_bytes(key), _bytes(body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest)


def find_header(headers) -> str | None:
    """The signature header from any mapping of headers, whatever the case of its name."""
    for name, value in headers.items():
        if name.lower() == HEADER.lower():
            return value
    return None


def diagnose(body: bytes | str, header_value: str | None, key: str,
             other_keys: dict[str, str] | None = None) -> str:
    """A person-readable reason why `header_value` does not verify `body` under `key`."""
    if header_value is None or not header_value.strip():
        return "no X-Hub-Signature-256 header"
    if not key:
        return "the profile has no verification key to check the signature with"
    compact = "".join(header_value.split())
    digest = parse_header(header_value)
    if digest is None:
        if compact.lower().startswith("sha1="):
            return "signature uses sha1=, expected sha256= (HMAC-SHA256)"
        hexpart = compact.split("=", 1)[-1]
        if len(hexpart) == 44 or hexpart.endswith("="):
            return "signature looks base64-encoded, expected sha256=<64 hex digits>"
        return f"signature header is malformed (expected sha256=<64 hex digits>, got {len(compact)} chars)"
    if verify(body, header_value, key):
        return "signature is valid"
    for name, other in (other_keys or {}).items():
        if other and other != key and verify(body, header_value, other):
            return f"signed with the verification key of profile '{name}', not this profile's key"
    raw = _bytes(body)
    for variant, label in _altered_variants(raw):
        if variant != raw and verify(variant, header_value, key):
            return f"body was altered in transit after signing ({label})"
    return "wrong key or body altered after signing (HMAC does not match this profile's verification key)"


def _altered_variants(raw: bytes):
    """What the signed bytes may have been before something in between rewrote them."""
    yield raw.strip(), "surrounding whitespace changed"
    unescaped = raw.replace(b"\\/", b"/")
    yield unescaped, "escaped slashes \\/ added"
    yield unescaped.replace(b"/", b"\\/"), "escaped slashes \\/ turned into /"
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        return
    php = json.dumps(decoded, separators=(",", ":")).replace("/", "\\/").encode()
    yield php, "JSON re-serialized: the sender's \\/ and \\uXXXX escapes were rewritten"


def constant_time_equal(given: str, expected: str) -> bool:
    """Compare two secrets without leaking where they differ, nor how long the expected one is.

    Both are hashed first, so the comparison always runs over 32 bytes (compare_digest returns at
    once on a length mismatch). Any text is accepted: a lone surrogate (JSON's "\\ud800") is hashed
    as its raw code unit, so it can never equal a key, which is valid text.
    """
    def digest(value: str) -> bytes:
        return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()

    return hmac.compare_digest(digest(given), digest(expected))
