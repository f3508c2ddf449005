"""HTTP clients for UChat: the partner API (get/set/remove the webhook) and a bot_url (send as the contact).

Both take an injectable `requests.Session`, time out, and record every call in the store's
outbound log when a store is given. Only reading the webhook is retried: a POST to bot_url
is not idempotent, so a retry could make the bot answer twice.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import time
from typing import Any
from urllib.parse import quote

import requests

from .payloads import media_payload, postback_payload, text_payload

log = logging.getLogger("apichat.client")
SNIPPET = 300
BODY_SNIPPET = 1000
GET_RETRIES = 2
RETRY_BACKOFF = 0.5
RETRY_STATUSES = (429, 502, 503, 504)
USER_AGENT = "apichat-console/0.1"
FAILED_STATUSES = ("error", "fail", "failed")
NOT_JSON = object()


class UChatError(Exception):
    """A call to UChat that did not succeed: `kind` is http, timeout, connection or invalid_response."""

    def __init__(self, message: str, *, kind: str = "http", status: int | None = None, body: str = "",
                 url: str = ""):
        super().__init__(message)
        self.kind, self.message, self.status, self.body, self.url = kind, message, status, body, url

    def __str__(self) -> str:
        if self.kind == "http":
            text = f"UChat answered {self.status}: {self.message}"
        elif self.kind == "invalid_response":
            text = f"UChat answered {self.status} with an unexpected body: {self.message}"
        else:
            text = self.message
        return " ".join(text.split())


def _snippet(text: str, limit: int = SNIPPET) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + "…"


def _readable(answer: requests.Response) -> str:
    """UChat's `message` verbatim when the answer has one, else the best short description of the body."""
    try:
        data = answer.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for name in ("message", "error", "reason", "detail"):
            if isinstance(data.get(name), str) and data[name].strip():
                return data[name]
        errors = data.get("errors")
        if isinstance(errors, dict) and errors:
            return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items())
    title = re.search(r"<title[^>]*>(.*?)</title>", answer.text or "", re.I | re.S)
    if title and title.group(1).strip():
        return _snippet(title.group(1), 120)
    body = _snippet(answer.text, 120)
    reason = answer.reason or "error"
    return f"{reason} ({body})" if body and not body.startswith("<") else reason


def _refused(exc: BaseException | None) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
            return True
        if any(isinstance(a, BaseException) and _refused(a) for a in getattr(exc, "args", ())):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _transport_error(exc: Exception, url: str, timeout: float) -> UChatError:
    """A typed error for a call that got no HTTP answer at all."""
    def error(kind: str, message: str) -> UChatError:
        return UChatError(message, kind=kind, url=url)

    text = str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return error("timeout", f"timed out after {timeout:g} s connecting to {url}")
    if isinstance(exc, requests.Timeout):
        return error("timeout", f"timed out after {timeout:g} s waiting for an answer from {url}")
    if isinstance(exc, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                        requests.exceptions.InvalidURL)):
        return error("connection", f"{url!r} is not a usable http(s) URL")
    if _refused(exc) or "refused" in text.lower():
        return error("connection", f"could not connect to {url}: connection refused")
    if "resolve" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return error("connection", f"could not connect to {url}: the host name does not resolve")
    if isinstance(exc, requests.exceptions.SSLError):
        return error("connection", f"TLS error talking to {url}: {_snippet(text, 160)}")
    if not isinstance(exc, requests.RequestException):
        return error("connection", f"could not send the request to {url}: {_snippet(text, 160)}")
    return error("connection", f"could not connect to {url}: {_snippet(text, 160)}")


def _answer_error(answer: requests.Response, message: str, kind: str = "invalid_response") -> UChatError:
    return UChatError(message, kind=kind, status=answer.status_code, body=(answer.text or "")[:BODY_SNIPPET],
                      url=answer.url)


class _Client:
    """What both clients share: the session, timeouts, the outbound log."""

    target = ""

    def __init__(self, key: str, *, store=None, profile: str = "", session: requests.Session | None = None,
                 timeout: float = 10.0):
        self.key, self.store, self.profile, self.timeout = key, store, profile, timeout
        self.session = session or requests.Session()

    def _call(self, method: str, url: str, body: dict | None = None, *, retries: int = 0,
              message_id: int | None = None) -> requests.Response:
        """One HTTP exchange (plus `retries` for safe calls); raises UChatError when no answer came back."""
        headers = {"Authorization": f"Bearer {self.key}", "Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        for attempt in range(retries + 1):
            started = time.monotonic()
            try:
                answer = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
            except (requests.RequestException, ValueError) as exc:  # ValueError: e.g. a key that is not latin-1
                error = _transport_error(exc, url, self.timeout)
                self._record(method, url, headers, data, None, "", started, str(error), message_id)
                if attempt < retries:
                    time.sleep(RETRY_BACKOFF * (attempt + 1))
                    continue
                raise error from exc
            failed = "" if answer.ok else f"HTTP {answer.status_code}: {_readable(answer)}"
            self._record(method, url, headers, data, answer.status_code, answer.text, started, failed, message_id)
            if attempt < retries and answer.status_code in RETRY_STATUSES:
                time.sleep(RETRY_BACKOFF * (attempt + 1))
                continue
            return answer
        raise AssertionError("unreachable")  # the loop returns or raises

    def _record(self, method, url, headers, data, status, response_body, started, error, message_id) -> None:
        if self.store is None:
            return
        try:
            self.store.record_request(
                profile=self.profile, target=self.target, method=method, url=url, request_headers=headers,
                request_body=(data or b"").decode("utf-8", errors="replace"), status=status,
                response_body=response_body, duration_ms=(time.monotonic() - started) * 1000, error=error,
                message_id=message_id)
        except Exception:  # the log is a convenience; losing an entry must not fail the call
            log.exception("could not record a %s request to %s", self.target, url)

    @staticmethod
    def _json(answer: requests.Response) -> Any:
        try:
            return answer.json() if answer.content.strip() else None
        except ValueError:
            return NOT_JSON


class PartnerClient(_Client):
    """UChat's partner API for one workspace: read, set (UChat verifies the webhook during the call) and remove."""

    target = "partner"

    def __init__(self, base_url: str, partner_key: str, workspace_id: str, *, store=None, profile: str = "",
                 session: requests.Session | None = None, timeout: float = 10.0):
        super().__init__(partner_key, store=store, profile=profile, session=session, timeout=timeout)
        self.base_url, self.workspace_id = (base_url or "").strip().rstrip("/"), str(workspace_id).strip()

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/partner/workspace/{quote(self.workspace_id, safe='')}/apichat-webhook"

    def get_webhook(self) -> dict:
        """The workspace's webhook: webhook_url, webhook_verification_key, webhook_status, bot_url."""
        return self._data(self._call("GET", self.url, retries=GET_RETRIES))

    def set_webhook(self, webhook_url: str, verification_key: str) -> dict:
        """Set the webhook; UChat calls it with the handshake before answering, so the key must be live already."""
        body = {"webhook_url": webhook_url, "webhook_verification_key": verification_key}
        return self._data(self._call("POST", self.url, body))

    def remove_webhook(self) -> dict:
        return self._data(self._call("DELETE", self.url))

    def _data(self, answer: requests.Response) -> dict:
        parsed = self._json(answer)
        failed = isinstance(parsed, dict) and str(parsed.get("status", "")).lower() in FAILED_STATUSES
        if not answer.ok or failed:
            raise _answer_error(answer, _readable(answer), "http")
        if parsed is NOT_JSON or parsed is None:
            raise _answer_error(answer, f"not JSON: {_snippet(answer.text, 120) or '(empty body)'}")
        if not (isinstance(parsed, dict) and parsed.get("status") == "ok" and isinstance(parsed.get("data"), dict)):
            raise _answer_error(answer, 'expected {"status": "ok", "data": {...}}, got ' + _snippet(answer.text, 120))
        return parsed["data"]


class BotClient(_Client):
    """A bot_url: sends the contact's messages in the shapes of docs/protocol.md §4. Never retried (not idempotent)."""

    target = "bot"

    def __init__(self, bot_url: str, flow_key: str, *, store=None, profile: str = "",
                 session: requests.Session | None = None, timeout: float = 15.0):
        super().__init__(flow_key, store=store, profile=profile, session=session, timeout=timeout)
        self.bot_url = (bot_url or "").strip()

    def send(self, payload: dict, message_id: int | None = None) -> dict:
        """POST `payload` once; the answer's JSON object ({} when empty, {"raw": text} when not an object)."""
        answer = self._call("POST", self.bot_url, payload, message_id=message_id)
        parsed = self._json(answer)
        failed = isinstance(parsed, dict) and str(parsed.get("status", "")).lower() in FAILED_STATUSES
        if not answer.ok or failed:
            raise _answer_error(answer, _readable(answer), "http")
        if parsed is None:
            return {}
        if not isinstance(parsed, dict):
            # A 2xx means the message was taken; an odd body must not make it look failed (and get resent).
            return {"raw": _snippet(answer.text)}
        return parsed

    def send_text(self, sender: dict, conversation_id: int, text: str, message_id: int | None = None) -> dict:
        return self.send(text_payload(sender, conversation_id, text), message_id)

    def send_postback(self, sender: dict, conversation_id: int, title: str, payload: str,
                      message_id: int | None = None) -> dict:
        return self.send(postback_payload(sender, conversation_id, title, payload), message_id)

    def send_media(self, sender: dict, conversation_id: int, file_type: str, url: str,
                   message_id: int | None = None) -> dict:
        return self.send(media_payload(sender, conversation_id, file_type, url), message_id)
