"""The one place secrets are masked: keys in headers, JSON bodies, form bodies, raw bytes and logs.

A key is shown as its last few characters ("••••••abcd"), never in full, wherever the console stores,
shows, logs or exports it. The signature header is not a secret (an HMAC of a stored body) and stays.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

# body fields that carry the verification key (set/get webhook, the handshake in its spellings)
SECRET_FIELDS = ("webhook_verification_key", "hub_verify_token", "hub.verify_token", "verify_token")
# headers that carry a credential; Authorization keeps its scheme ("Bearer ••••••abcd")
SECRET_HEADERS = ("authorization", "cookie", "x-api-key")


def mask(secret: str | None, keep: int = 4) -> str:
    """A key as it may be shown or logged: its last few characters only."""
    if not secret:
        return ""
    if len(secret) <= keep * 2:
        return "•" * len(secret)
    return "•" * 6 + secret[-keep:]


def masked_authorization(value: str) -> str:
    """An Authorization header value with its token masked and its scheme kept."""
    scheme, _, token = str(value).partition(" ")
    return f"{scheme} {mask(token)}" if token else mask(scheme)


def masked_headers(headers: dict) -> dict:
    """Headers as they may be stored and shown: credentials reduced to their last characters."""
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower == "authorization":
            out[name] = masked_authorization(value)
        elif lower in SECRET_HEADERS:
            out[name] = mask(str(value))
        else:
            out[name] = value
    return out


def redact(value, placeholder: str | None = None):
    """A JSON value with every verification key masked (or replaced by `placeholder`, e.g. a shell variable)."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            if str(name).lower() in SECRET_FIELDS and isinstance(item, str) and item:
                out[name] = placeholder if placeholder is not None else mask(item)
            else:
                out[name] = redact(item, placeholder)
        return out
    if isinstance(value, list):
        return [redact(item, placeholder) for item in value]
    return value


def masked_body(text: str) -> str:
    """A JSON body as it may be stored: verification keys masked; anything else (or nothing to mask) unchanged."""
    if not text:
        return text
    try:  # always parsed: a key name may be spelt with JSON escapes ("verify\u005ftoken")
        data = json.loads(text)
    except ValueError:
        return text
    masked = redact(data)
    return json.dumps(masked, ensure_ascii=False) if masked != data else text


def redact_text(text: str) -> str:
    """A form-encoded body (a handshake) with its hub_verify_token masked; other text unchanged."""
    if "=" not in text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    # decided by the decoded names (verify%5Ftoken is verify_token); text without one comes back as it was
    if not any(k.lower() in SECRET_FIELDS for k, _ in pairs):
        return text
    return "&".join(f"{k}={mask(v) if k.lower() in SECRET_FIELDS else v}" for k, v in pairs)


def without_token(raw: bytes, token: str) -> bytes:
    """Raw bytes (a handshake as received) with `token` masked in every encoding it may take there."""
    if len(token) < 4:
        return raw
    masked = mask(token).encode()
    escaped = json.dumps(token)[1:-1]
    for form in {token, quote_plus(token, errors="surrogatepass"), quote(token, errors="surrogatepass"),
                 escaped, escaped.replace("/", "\\/")}:  # PHP's json_encode writes "/" as "\/"
        raw = raw.replace(form.encode("utf-8", errors="surrogatepass"), masked)
    return raw


def masked_url(url: str) -> str:
    """A database URL as it may be shown or logged: its password (in the address or a `password=` option)
    replaced by dots, everything else kept, so a person can still tell which server and database it is."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "postgresql://(an address that cannot be read)" if "@" in text else text
    netloc = parts.netloc
    if "@" not in netloc and "password" not in parts.query.lower():
        return text
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, colon, _password = credentials.partition(":")
        netloc = f"{user}:{'•' * 6}@{host}" if colon else f"{user}@{host}"
    query = "&".join(f"{k}={'•' * 6 if k.lower() == 'password' else quote(v, safe='/:,')}"
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    masked = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    if not netloc and text.startswith(f"{parts.scheme}://") and not masked.startswith(f"{parts.scheme}://"):
        # urlunsplit drops an empty host's `//` (postgresql:///db: a socket), which changes what the URL means
        masked = f"{parts.scheme}://{masked[len(parts.scheme) + 1:]}"
    return masked


def masked_hook(url: str) -> str:
    """An alert target (a Slack or ops webhook URL, whose path is its secret) as it may be shown or stored: the
    scheme and host, and the path's last few characters."""
    parts = urlsplit(str(url))
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}/{mask(rest.lstrip('/'))}" if rest.strip("/") else f"{parts.scheme}://{host}/"


def without_secrets(text: str, secrets) -> str:
    """`text` with each of `secrets` (keys of a profile, webhook URLs) masked wherever it appears."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, mask(secret))
    return text
