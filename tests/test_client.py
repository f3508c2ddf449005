"""The UChat clients: against the real sandbox app in-process, and against servers that fail in every way."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from apichat import client as client_module
from apichat.client import BotClient, PartnerClient, UChatError
from apichat.payloads import text_payload
from apichat.store import open_store
from sandbox import create_app
from tests.conftest import free_port
from tests.test_sandbox import WebhookServer

SANDBOX = "http://sandbox.test"
CONTACT = {"id": "c-1", "name": "Ann Lee", "email": "ann@example.com", "phone_number": "+61 400 000 000"}


class FlaskAdapter(BaseAdapter):
    """Routes a requests.Session to a Flask app's test client, so the real clients talk to the real app."""

    def __init__(self, app):
        super().__init__()
        self.client = app.test_client()

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        result = self.client.open(url.path, method=request.method, query_string=url.query,
                                  headers=dict(request.headers), data=request.body)
        response = requests.Response()
        response.status_code, response._content = result.status_code, result.data
        response.headers = CaseInsensitiveDict(result.headers)
        response.reason = result.status.partition(" ")[2]
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def close(self):
        pass


class ScriptedServer:
    """A real HTTP server answering each request with the next scripted (status, body, delay seconds)."""

    def __init__(self, *script: tuple[int, str, float]):
        self.script, self.requests = list(script), []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append((self.command, self.path, dict(self.headers), body))
                status, text, delay = owner.script.pop(0) if len(owner.script) > 1 else owner.script[0]
                time.sleep(delay)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    pass

            do_GET = do_POST = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def start(*script):
        servers.append(ScriptedServer(*script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(client_module, "RETRY_BACKOFF", 0.01)


@pytest.fixture
def sandbox(tmp_path):
    app = create_app({"state_path": str(tmp_path / "sandbox.json"), "public_url": SANDBOX, "handshake_timeout": 2})
    session = requests.Session()
    session.mount(SANDBOX, FlaskAdapter(app))
    yield app, session
    app.extensions["sandbox"].close()


@pytest.fixture
def store():
    return open_store(":memory:")


@pytest.fixture
def webhook():
    server = WebhookServer(key="verify-me")
    yield server
    server.close()


def partner(session, store=None, key="sandbox-partner-key", workspace="acme 1"):
    return PartnerClient(SANDBOX, key, workspace, store=store, profile="demo", session=session, timeout=5)


# ---------------------------------------------------------------- against the sandbox

def test_partner_client_sets_reads_and_removes_the_webhook(sandbox, store, webhook):
    _, session = sandbox
    api = partner(session, store)
    assert api.get_webhook() == {"webhook_url": "", "webhook_verification_key": "", "webhook_status": "", "bot_url": ""}
    data = api.set_webhook(webhook.url, "verify-me")
    assert data["webhook_status"] == "verified" and data["bot_url"].startswith(f"{SANDBOX}/api/apichat/sbx")
    assert webhook.handshakes[0]["hub_verify_token"] == "verify-me"
    assert api.get_webhook() == data
    assert api.remove_webhook()["bot_url"] == ""

    logged = store.list_requests(profile="demo")[::-1]
    assert [(r["target"], r["method"], r["status"]) for r in logged] == [
        ("partner", "GET", 200), ("partner", "POST", 200), ("partner", "GET", 200), ("partner", "DELETE", 200)]
    assert logged[0]["url"] == f"{SANDBOX}/api/partner/workspace/acme%201/apichat-webhook"
    assert "sandbox-partner-key" not in json.dumps(logged) and "Bearer" in logged[0]["request_headers"]
    # the verification key is a secret: the log keeps its last characters only
    assert json.loads(logged[1]["request_body"]) == {"webhook_url": webhook.url, "webhook_verification_key": "••••••y-me"}


def test_partner_client_errors_carry_uchats_message(sandbox, webhook):
    _, session = sandbox
    with pytest.raises(UChatError) as wrong_key:
        partner(session, key="nope").get_webhook()
    assert (wrong_key.value.kind, wrong_key.value.status, wrong_key.value.message) == ("http", 401, "Invalid partner API key")
    assert str(wrong_key.value) == "UChat answered 401: Invalid partner API key"
    with pytest.raises(UChatError) as handshake:
        partner(session).set_webhook(webhook.url, "another-key")
    assert handshake.value.status == 400 and handshake.value.message.startswith("Webhook verification failed")
    assert "answered 403" in str(handshake.value)


# UChat's "Workspace Api to send messages" bodies for CONTACT in conversation 41, written out by hand
_SENDER = ('"sender": {"id": "c-1", "name": "Ann Lee", "email": "ann@example.com", "phone_number": "+61 400 000 000", '
           '"type": "contact"}')
SEED_BODIES = [
    '{"content": "hi", "message_type": "incoming", ' + _SENDER + ', "conversation_id": 41, "event": "message_created"}',
    '{"content": "☕ Products", "message_type": "incoming", ' + _SENDER + ', "conversation_id": 41, '
    '"event": "message_postback", "submitted_values": [{"title": "☕ Products", "payload": "MENU_PRODUCTS"}]}',
    '{"content": "", "message_type": "incoming", ' + _SENDER + ', "conversation_id": 41, "event": "message_created", '
    '"attachments": [{"file_type": "image", "data_url": "https://cdn.example/a.png"}]}',
]


def test_bot_client_sends_the_documented_payloads(sandbox, store, webhook):
    app, session = sandbox
    bot_url = partner(session).set_webhook(webhook.url, "verify-me")["bot_url"]
    bot = BotClient(bot_url, "sandbox-flow-key", store=store, profile="demo", session=session)
    assert bot.send_text(CONTACT, 41, "hi", message_id=7) == {"status": "ok"}
    assert bot.send_postback(CONTACT, 41, "☕ Products", "MENU_PRODUCTS", message_id=8) == {"status": "ok"}
    assert bot.send_media(CONTACT, 41, "image", "https://cdn.example/a.png", message_id=9) == {"status": "ok"}
    received = [entry["body"] for entry in app.test_client().get("/sandbox/received").json]
    assert received == [json.loads(body) for body in SEED_BODIES]
    logged = store.list_requests(profile="demo")[::-1]
    assert [(r["target"], r["method"], r["message_id"], r["status"]) for r in logged] == [
        ("bot", "POST", 7, 200), ("bot", "POST", 8, 200), ("bot", "POST", 9, 200)]
    # what went over the wire, key order included (the sandbox's JSON answer sorts keys, so read the log)
    assert [json.dumps(json.loads(r["request_body"]), ensure_ascii=False) for r in logged] == SEED_BODIES
    assert "sandbox-flow-key" not in json.dumps(logged)
    webhook.wait_messages(1)  # the bot really answered


def test_bot_client_errors_from_the_sandbox(sandbox, store, webhook):
    _, session = sandbox
    bot_url = partner(session).set_webhook(webhook.url, "verify-me")["bot_url"]
    bad = dict(text_payload(CONTACT, 1, "hi"), conversation_id="1")
    with pytest.raises(UChatError) as invalid:
        BotClient(bot_url, "sandbox-flow-key", store=store, session=session).send(bad, message_id=3)
    assert (invalid.value.status, invalid.value.message) == (400, "conversation_id must be an integer, got string")
    assert store.list_requests()[0]["error"] == "HTTP 400: conversation_id must be an integer, got string"
    with pytest.raises(UChatError) as wrong_key:
        BotClient(bot_url, "nope", session=session).send_text(CONTACT, 1, "hi")
    assert wrong_key.value.status == 401
    with pytest.raises(UChatError) as unknown:
        BotClient(f"{SANDBOX}/api/apichat/sbxnothing", "sandbox-flow-key", session=session).send_text(CONTACT, 1, "x")
    assert unknown.value.status == 404 and "set the webhook" in unknown.value.message


# ---------------------------------------------------------------- against servers that misbehave

@pytest.mark.parametrize("status, body, kind, message", [
    (500, "<html>\n<head><title>502 Bad\n Gateway</title></head>\n<body>nginx</body></html>", "http", "502 Bad Gateway"),
    (400, '{"message": "The webhook url field is required."}', "http", "The webhook url field is required."),
    (422, '{"errors": {"webhook_url": ["is invalid"]}}', "http", "webhook_url: is invalid"),
    (404, "", "http", "Not Found"),
    (200, '{"status": "error", "message": "Workspace not found"}', "http", "Workspace not found"),
    (200, "OK", "invalid_response", "not JSON: OK"),
    (200, "", "invalid_response", "not JSON: (empty body)"),
    (200, '{"status": "ok"}', "invalid_response", 'expected {"status": "ok", "data": {...}}, got {"status": "ok"}'),
    (200, '["ok"]', "invalid_response", 'expected {"status": "ok", "data": {...}}, got ["ok"]'),
])
def test_partner_answers_that_are_not_success_become_typed_errors(scripted, status, body, kind, message):
    server = scripted((status, body, 0))
    with pytest.raises(UChatError) as caught:
        PartnerClient(server.url, "key", "1", timeout=2).remove_webhook()
    error = caught.value
    assert (error.kind, error.status, error.message) == (kind, status, message)
    assert error.body == body and "\n" not in str(error) and str(status) in str(error)


def test_reading_the_webhook_is_retried_but_posts_never_are(scripted, store):
    ok = '{"status": "ok", "data": {"webhook_url": "", "webhook_verification_key": "", "webhook_status": "", "bot_url": ""}}'
    server = scripted((503, "busy", 0), (200, ok, 0))
    assert PartnerClient(server.url, "key", "1", store=store).get_webhook()["bot_url"] == ""
    assert [r[0] for r in server.requests] == ["GET", "GET"]
    assert [r["status"] for r in store.list_requests()] == [200, 503]  # every attempt is logged

    for call in (lambda url: PartnerClient(url, "key", "1").set_webhook("http://h.test/", "k"),
                 lambda url: BotClient(url + "/api/apichat/x", "key").send_text(CONTACT, 1, "hi")):
        server = scripted((503, '{"message": "try later"}', 0))
        with pytest.raises(UChatError) as caught:
            call(server.url)
        assert caught.value.status == 503 and caught.value.message == "try later"
        assert len(server.requests) == 1


def test_bot_answers_empty_or_not_json_still_count_as_sent(scripted):
    assert BotClient(scripted((200, "", 0)).url, "k").send_text(CONTACT, 1, "hi") == {}
    assert BotClient(scripted((202, "accepted", 0)).url, "k").send_text(CONTACT, 1, "hi") == {"raw": "accepted"}
    answer = scripted((200, '{"status": "ok", "message_id": 12}', 0))
    assert BotClient(answer.url, "k").send_text(CONTACT, 1, "hi") == {"status": "ok", "message_id": 12}
    headers = answer.requests[0][2]
    assert headers["Authorization"] == "Bearer k" and headers["Content-Type"] == "application/json"


def test_timeouts_are_typed_and_a_post_is_not_repeated(scripted, store):
    server = scripted((200, "{}", 1.0))
    with pytest.raises(UChatError) as caught:
        BotClient(server.url, "k", store=store, timeout=0.3).send_text(CONTACT, 1, "hi", message_id=5)
    assert caught.value.kind == "timeout" and caught.value.status is None
    assert str(caught.value) == f"timed out after 0.3 s waiting for an answer from {server.url}"
    assert len(server.requests) == 1
    [logged] = store.list_requests()
    assert logged["status"] is None and logged["message_id"] == 5 and logged["error"].startswith("timed out")


def test_refused_connections_and_unusable_urls(store):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UChatError) as refused:
        PartnerClient(url, "k", "1", store=store, timeout=2).get_webhook()
    assert refused.value.kind == "connection" and "connection refused" in str(refused.value)
    assert len(store.list_requests()) == 1 + client_module.GET_RETRIES
    with pytest.raises(UChatError) as refused_bot:
        BotClient(url, "k", timeout=2).send_text(CONTACT, 1, "hi")
    assert str(refused_bot.value) == f"could not connect to {url}: connection refused"
    for empty in (PartnerClient("", "k", "1"), BotClient("", "k")):
        with pytest.raises(UChatError) as unusable:
            empty.get_webhook() if isinstance(empty, PartnerClient) else empty.send({})
        assert unusable.value.kind == "connection" and "not a usable http(s) URL" in unusable.value.message


def test_a_broken_outbound_log_does_not_fail_the_call(scripted):
    class BrokenStore:
        def record_request(self, **kwargs):
            raise RuntimeError("disk full")

    server = scripted((200, '{"status": "ok"}', 0))
    assert BotClient(server.url, "k", store=BrokenStore()).send_text(CONTACT, 1, "hi") == {"status": "ok"}
