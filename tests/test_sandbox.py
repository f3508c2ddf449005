"""The sandbox: partner API with a real handshake, strict bot_url, signed PHP-encoded replies, faults, state."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apichat import signing
from apichat.payloads import media_payload, postback_payload, text_payload
from sandbox import create_app
from sandbox.ai import DEFAULT_SEED, TOPICS
from sandbox.bot import COMMANDS, FAULTS, POSTBACKS, respond
from sandbox.delivery import php_json
from sandbox.state import SandboxState, bot_code, flow_ns
from tests.conftest import ROOT, free_port, process_env, wait_until

PARTNER = {"Authorization": "Bearer sandbox-partner-key"}
FLOW = {"Authorization": "Bearer sandbox-flow-key"}
CONTACT = {"id": "contact-1", "name": "Ann Lee", "email": "", "phone_number": ""}
MEDIA_BASE = "http://sandbox.test/sandbox/media"


class WebhookServer:
    """A stand-in for the console's receiver on a real port: answers the handshake, keeps what it receives."""

    def __init__(self, key: str = "secret", handshake: str = "ok"):
        self.key, self.handshake = key, handshake
        self.handshakes: list[dict] = []
        self.messages: list[tuple[dict, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    owner.handshakes.append(fields)
                    return self.answer(*owner.answer_handshake(fields))
                owner.messages.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                return self.answer(200, b'{"status":"ok"}')

            def answer(self, status: int, body: bytes):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def answer_handshake(self, fields: dict) -> tuple[int, bytes]:
        if self.handshake == "slow":
            time.sleep(1.5)
        if self.handshake == "wrong_body":
            return 200, b"OK"
        if fields.get("hub_verify_token") != self.key:
            return 403, b'{"status":"error","reason":"hub_verify_token does not match"}'
        return 200, fields["hub_challenge"].encode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/webhook"

    def wait_messages(self, count: int, timeout: float = 10) -> list[tuple[dict, bytes]]:
        wait_until(lambda: len(self.messages) >= count, timeout, message=f"{count} webhook messages")
        return list(self.messages)

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.messages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def app(tmp_path):
    app = create_app({"state_path": str(tmp_path / "sandbox.json"), "slow_seconds": 0.2, "handshake_timeout": 0.5,
                      "public_url": "http://sandbox.test"})
    yield app
    app.extensions["sandbox"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def connect(client, webhook: WebhookServer, workspace: str = "ws-1") -> str:
    """Set the webhook through the partner API; returns the bot_url path."""
    answer = client.post(f"/api/partner/workspace/{workspace}/apichat-webhook", headers=PARTNER,
                         json={"webhook_url": webhook.url, "webhook_verification_key": webhook.key})
    assert answer.status_code == 200, answer.json
    return urlsplit(answer.json["data"]["bot_url"]).path


def say(client, path: str, text: str, contact: dict = CONTACT):
    return client.post(path, json=text_payload(contact, 7, text), headers=FLOW)


@pytest.fixture
def chat(client, webhook):
    """A connected workspace whose contact has been greeted already, so the next replies are only the answer."""
    path = connect(client, webhook)
    assert say(client, path, "hi").status_code == 200
    webhook.wait_messages(1)
    webhook.messages.clear()
    return path


# ---------------------------------------------------------------- serialization and state

def test_php_json_escapes_slashes_and_non_ascii_like_json_encode():
    raw = php_json({"url": "https://a.b/c", "text": "café ☕ 😀", "n": 1, "ok": False})
    assert raw == b'{"url":"https:\\/\\/a.b\\/c","text":"caf\\u00e9 \\u2615 \\ud83d\\ude00","n":1,"ok":false}'
    assert json.loads(raw) == {"url": "https://a.b/c", "text": "café ☕ 😀", "n": 1, "ok": False}


def test_state_is_kept_in_a_json_file_written_atomically(tmp_path):
    path = tmp_path / "sub" / "sandbox.json"
    state = SandboxState(str(path))
    state.set_webhook("ws-1", "https://hook.example/a", "k1")
    assert json.loads(path.read_text())["workspaces"]["ws-1"]["webhook_url"] == "https://hook.example/a"
    assert [p.name for p in path.parent.iterdir()] == ["sandbox.json"]  # no temp file left behind
    again = SandboxState(str(path))
    assert again.get("ws-1")["webhook_verification_key"] == "k1"
    assert again.by_code(bot_code("ws-1"))[0] == "ws-1"
    assert again.remove_webhook("ws-1") and SandboxState(str(path)).get("ws-1") is None


def test_a_corrupt_state_file_is_moved_aside_not_fatal(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text("{not json")
    assert SandboxState(str(path)).all() == {}
    assert [p.name.startswith("sandbox.json.corrupt-") for p in tmp_path.iterdir()] == [True]


def test_codes_and_flow_ns_are_stable_per_workspace():
    assert bot_code("42") == bot_code("42") != bot_code("43")
    assert re.fullmatch(r"sbx[0-9a-f]{16}", bot_code("42"))
    assert re.fullmatch(r"f\d{6}", flow_ns("42")) and flow_ns("42") != flow_ns("43")


# ---------------------------------------------------------------- partner API

@pytest.mark.parametrize("headers, expected", [
    ({}, "send Authorization: Bearer <partner API key>"),
    ({"Authorization": "sandbox-partner-key"}, "must be 'Bearer <partner API key>'"),
    ({"Authorization": "Bearer wrong"}, "Invalid partner API key"),
    (FLOW, "Invalid partner API key"),
])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_partner_api_needs_the_partner_key(client, headers, expected, method):
    answer = client.open("/api/partner/workspace/1/apichat-webhook", method=method, headers=headers,
                         json={"webhook_url": "http://x.test/", "webhook_verification_key": "k"})
    assert answer.status_code == 401
    assert expected in answer.json["message"]


def test_set_get_remove_webhook_with_a_real_handshake(client, webhook):
    url = "/api/partner/workspace/ws-9/apichat-webhook"
    empty = {"webhook_url": "", "webhook_verification_key": "", "webhook_status": "", "bot_url": ""}
    assert client.get(url, headers=PARTNER).json == {"status": "ok", "data": empty}

    answer = client.post(url, headers=PARTNER, json={"webhook_url": webhook.url, "webhook_verification_key": "secret"})
    assert answer.status_code == 200
    assert list(answer.json) == ["status", "data"]
    data = answer.json["data"]
    assert list(data) == ["webhook_url", "webhook_verification_key", "webhook_status", "bot_url"]
    assert data == {"webhook_url": webhook.url, "webhook_verification_key": "secret", "webhook_status": "verified",
                    "bot_url": f"http://sandbox.test/api/apichat/{bot_code('ws-9')}"}
    [fields] = webhook.handshakes
    assert fields["hub_mode"] == "subscribe" and fields["hub_verify_token"] == "secret"
    assert re.fullmatch(r"[0-9a-f]{32}", fields["hub_challenge"])
    assert client.get(url, headers=PARTNER).json["data"] == data

    removed = client.delete(url, headers=PARTNER)
    assert removed.status_code == 200 and removed.json == {"status": "ok", "data": empty}
    assert say(client, urlsplit(data["bot_url"]).path, "hi").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"webhook_verification_key": "k"}, "webhook_url"),
    ({"webhook_url": 5, "webhook_verification_key": "k"}, "webhook_url"),
    ({"webhook_url": "ftp://host/x", "webhook_verification_key": "k"}, "webhook_url"),
    ({"webhook_url": "not a url", "webhook_verification_key": "k"}, "webhook_url"),
    ({"webhook_url": "http://h.test/"}, "webhook_verification_key"),
    ({"webhook_url": "http://h.test/", "webhook_verification_key": ["k"]}, "webhook_verification_key"),
    ({"webhook_url": "http://h.test/", "webhook_verification_key": " "}, "webhook_verification_key"),
    ([1, 2], "JSON object"),
])
def test_set_webhook_rejects_bad_bodies(client, body, field):
    answer = client.post("/api/partner/workspace/1/apichat-webhook", headers=PARTNER, json=body)
    assert answer.status_code == 400
    assert field in answer.json["message"]


@pytest.mark.parametrize("handshake, expected", [
    ("forbidden", "answered 403"),
    ("wrong_body", "not exactly the hub_challenge"),
    ("slow", "did not answer within 0.5 s"),
    ("refused", "connection refused"),
])
def test_a_failed_handshake_is_a_400_saying_what_the_webhook_did(client, handshake, expected):
    server = WebhookServer(key="other-key" if handshake == "forbidden" else "secret", handshake=handshake)
    url = server.url
    if handshake == "refused":
        server.close()
    try:
        answer = client.post("/api/partner/workspace/ws-2/apichat-webhook", headers=PARTNER,
                             json={"webhook_url": url, "webhook_verification_key": "secret"})
    finally:
        if handshake != "refused":
            server.close()
    assert answer.status_code == 400
    assert expected in answer.json["message"]
    if handshake == "forbidden":
        assert "hub_verify_token does not match" in answer.json["message"]  # a snippet of the webhook's body
    assert client.get("/api/partner/workspace/ws-2/apichat-webhook", headers=PARTNER).json["data"]["bot_url"] == ""


# ---------------------------------------------------------------- bot_url

def test_bot_url_answers_404_401_400_before_accepting(client, webhook):
    path = connect(client, webhook)
    assert client.post("/api/apichat/sbx0000", json=text_payload(CONTACT, 1, "hi"), headers=FLOW).status_code == 404
    wrong = client.post(path, json=text_payload(CONTACT, 1, "hi"), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json["message"] == "Invalid flow API key"
    form = client.post(path, data={"content": "hi"}, headers=FLOW)
    assert form.status_code == 400 and "Content-Type" in form.json["message"]
    broken = client.post(path, data="{oops", content_type="application/json", headers=FLOW)
    assert broken.status_code == 400 and "not valid JSON" in broken.json["message"]
    ok = say(client, path, "hi")
    assert ok.status_code == 200 and ok.json == {"status": "ok"}


def test_replies_are_signed_php_encoded_and_carry_the_documented_headers(client, webhook):
    path = connect(client, webhook)
    assert say(client, path, "emoji").status_code == 200
    (headers, raw), (_, emoji_raw) = webhook.wait_messages(2)
    for headers, raw in webhook.messages:
        assert signing.verify(raw, headers["x-hub-signature-256"], webhook.key)
        assert headers["x-flow-ns"] == flow_ns("ws-1")
        assert headers["x-action"] == "messages"
        assert headers["content-type"] == "application/json"
        assert raw.isascii()
    greeting, emoji = webhook.bodies()
    assert greeting["content_type"] == "button_template"  # first contact: the greeting comes first
    assert list(emoji) == ["sender_id", "conv_id", "text", "type", "message_type", "private"]
    assert emoji["sender_id"] == "contact-1" and emoji["conv_id"] == 7 and emoji["private"] is False
    assert b"\\ud83d" in emoji_raw and "☕" in emoji["text"]
    media = say(client, path, "image")
    assert media.status_code == 200
    webhook.wait_messages(4)
    assert b"http:\\/\\/sandbox.test\\/sandbox\\/media\\/latte.png" in webhook.messages[3][1]


def test_received_log_masks_the_flow_key_and_pages_with_since(client, webhook):
    path = connect(client, webhook)
    say(client, path, "hi")
    client.post(path, json={"message_type": "incoming"}, headers=FLOW)
    log = client.get("/sandbox/received").json
    assert [e["status"] for e in log] == [200, 400]
    assert log[0]["code"] == bot_code("ws-1") and log[0]["workspace"] == "ws-1"
    assert log[0]["body"]["content"] == "hi" and "sandbox-flow-key" not in json.dumps(log)
    assert log[0]["headers"]["Authorization"].startswith("Bearer ") and log[0]["headers"]["Authorization"].endswith("-key")
    assert [e["index"] for e in client.get(f"/sandbox/received?since={log[1]['index']}").json] == [log[1]["index"]]
    assert client.get("/sandbox/received?since=x").status_code == 400
    assert client.delete("/sandbox/received").status_code == 200 and client.get("/sandbox/received").json == []


def test_sent_log_state_and_health(client, webhook):
    path = connect(client, webhook)
    say(client, path, "hi")
    webhook.wait_messages(1)
    wait_until(lambda: client.get("/sandbox/sent").json, message="the sent log")
    [sent] = client.get("/sandbox/sent").json
    assert sent["url"] == webhook.url and sent["status"] == 200 and sent["fault"] is None
    assert json.loads(sent["body"])["content_type"] == "button_template"
    state = client.get("/sandbox/state").json
    assert state["workspaces"]["ws-1"]["webhook_verification_key"] != "secret"
    assert state["workspaces"]["ws-1"]["flow_ns"] == flow_ns("ws-1")
    health = client.get("/healthz").json
    assert health["status"] == "ok" and health["service"] == "apichat-sandbox"
    assert client.get("/nope").json["message"].startswith("Not Found")


# ---------------------------------------------------------------- faults

def burst_texts(webhook) -> list[str]:
    return [body["text"][:3] for body in webhook.bodies()]


def test_fault_drop_skips_the_next_replies_then_stops(client, webhook, chat):
    assert client.post("/sandbox/faults", json={"fault": "drop", "count": 2}).json["faults"] == [
        {"fault": "drop", "count": 2, "delay": 5.0}]
    say(client, chat, "burst")
    wait_until(lambda: len(client.get("/sandbox/sent").json) >= 6, message="5 burst replies logged")
    webhook.wait_messages(3)
    assert burst_texts(webhook) == ["3/5", "4/5", "5/5"]
    dropped = [e for e in client.get("/sandbox/sent").json if e["fault"] == "drop"]
    assert len(dropped) == 2 and all(e["status"] is None for e in dropped)
    assert client.get("/sandbox/faults").json["faults"] == []


def test_fault_duplicate_sends_the_same_bytes_twice(client, webhook, chat):
    client.post("/sandbox/faults", json={"fault": "duplicate"})
    say(client, chat, "burst")
    webhook.wait_messages(6)
    raws = [raw for _, raw in webhook.messages]
    assert raws[0] == raws[1] and len(set(raws)) == 5


def test_fault_bad_signature_signs_with_another_key(client, webhook, chat):
    client.post("/sandbox/faults", json={"fault": "bad_signature", "count": 2})
    say(client, chat, "burst")
    webhook.wait_messages(5)
    valid = [signing.verify(raw, headers["x-hub-signature-256"], webhook.key) for headers, raw in webhook.messages]
    assert valid == [False, False, True, True, True]


def test_fault_late_delivers_after_the_following_replies(client, webhook, chat):
    client.post("/sandbox/faults", json={"fault": "late", "delay": 0.4})
    say(client, chat, "burst")
    webhook.wait_messages(5)
    assert burst_texts(webhook) == ["2/5", "3/5", "4/5", "5/5", "1/5"]


def test_fault_out_of_order_reverses_a_burst(client, webhook, chat):
    client.post("/sandbox/faults", json={"fault": "out_of_order"})
    say(client, chat, "help")  # a single reply cannot be out of order: the switch waits for a burst
    webhook.wait_messages(1)
    say(client, chat, "burst")
    webhook.wait_messages(6)
    assert burst_texts(webhook)[1:] == ["5/5", "4/5", "3/5", "2/5", "1/5"]
    assert {e["fault"] for e in client.get("/sandbox/sent").json[-5:]} == {"out_of_order"}


@pytest.mark.parametrize("body", [{"fault": "explode"}, {"fault": "drop", "count": 0},
                                  {"fault": "drop", "count": True}, {"fault": "late", "delay": "soon"}, [1]])
def test_fault_switches_are_validated_and_cleared(client, body):
    answer = client.post("/sandbox/faults", json=body)
    assert answer.status_code == 400 and answer.json["message"]
    client.post("/sandbox/faults", json={"fault": "late", "count": 3, "delay": 2})
    assert client.get("/sandbox/faults").json["faults"] == [{"fault": "late", "count": 3, "delay": 2.0}]
    assert client.delete("/sandbox/faults").json["faults"] == []


def test_fault_bot_command_confirms_then_breaks_the_next_reply(client, webhook, chat):
    say(client, chat, "fault drop")
    webhook.wait_messages(1)
    assert "Fault on" in webhook.bodies()[0]["text"]
    say(client, chat, "help")
    say(client, chat, "emoji")
    webhook.wait_messages(2)
    assert "☕" in webhook.bodies()[1]["text"]  # help was dropped, emoji arrived
    say(client, chat, "fault duplicate 2")
    say(client, chat, "fault off")
    webhook.wait_messages(4)
    assert "All faults are off" in webhook.bodies()[3]["text"] and client.get("/sandbox/faults").json["faults"] == []


def test_fault_hallucinate_through_the_bot_url_uses_up_one_count_per_answer_about_the_shop(client, webhook, chat):
    say(client, chat, "fault hallucinate 3")
    webhook.wait_messages(1)
    assert "made up 1 time in 3" in webhook.bodies()[0]["text"]
    assert client.get("/sandbox/faults").json["faults"] == [{"fault": "hallucinate", "count": 3, "delay": 5.0}]
    say(client, chat, "emoji")  # not a question about the shop: the fault is left alone
    for _ in range(3):
        say(client, chat, "What are your opening hours?")
    webhook.wait_messages(5)
    texts = [b["text"] for b in webhook.bodies()[2:5]]
    hours = TOPICS[0]
    assert sum(t in hours.wrong for t in texts) == 1 and sum(t in hours.answers for t in texts) == 2
    assert client.get("/sandbox/faults").json["faults"] == []
    assert client.get("/sandbox/state").json["seed"] == DEFAULT_SEED


# ---------------------------------------------------------------- the demo bot

def answer_to(text: str, first_contact: bool = False, **kw):
    return respond(text_payload(CONTACT, 7, text), media_base=MEDIA_BASE, first_contact=first_contact, **kw)


def bodies(answer) -> list[dict]:
    return [reply.body for reply in answer.replies]


def buttons_in(body: dict) -> list[dict]:
    attrs = body.get("content_attributes") or {}
    return list(attrs.get("buttons", [])) + [b for item in attrs.get("items", []) for b in item["buttons"]]


def listed_commands(help_text: str) -> set[str]:
    """The commands the help names: in each '• ' line, what precedes ' — ' in each '; ' part, split at , / (or)."""
    names = set()
    for line in help_text.splitlines():
        if line.startswith("• "):
            for part in line[2:].split("; "):
                if " — " in part:
                    names.update(n.strip() for n in re.split(r",|/|\(or |\)", part.split(" — ")[0]) if n.strip())
    return names


def test_help_lists_the_commands():
    [help_body] = bodies(answer_to("help"))
    listed = listed_commands(help_body["text"])
    assert {"hi", "menu", "products", "square cards", "image", "audio", "video", "file", "agent", "burst", "slow",
            "unknown", "long", "emoji", "rtl", "links", "xss", "fault <name> [count] [delay]"} <= listed, listed
    assert listed - {"fault <name> [count] [delay]"} <= set(COMMANDS)  # it names only commands the bot knows
    [fault_line] = [line for line in help_body["text"].splitlines() if line.startswith("• fault ")]
    assert re.search(r"on purpose: ([^;]+);", fault_line)[1].split(", ") == list(FAULTS)
    assert "fault off" in fault_line
    assert all(f"fault {name}" in help_body["text"] or name in fault_line for name in FAULTS)
    assert re.search(r"(?m)^Ask me about the shop.*opening hours, shipping, returns, what we sell", help_body["text"])
    assert "seed N" in help_body["text"] and "fault hallucinate" in help_body["text"]


def test_greeting_on_hi_and_on_first_contact():
    [greeting] = bodies(answer_to("Hello!"))
    assert greeting["content_type"] == "button_template" and greeting["text"].startswith("Hi Ann!")
    assert [b["payload"] for b in greeting["content_attributes"]["buttons"]] == [
        "MENU_PRODUCTS", "MENU_MEDIA", "MENU_SUPPORT", "MENU_MORE"]
    first = bodies(answer_to("burst", first_contact=True))
    assert first[0] == greeting and len(first) == 6
    assert len(bodies(answer_to("hi", first_contact=True))) == 1


def test_every_postback_button_the_bot_sends_leads_somewhere():
    pending = [b for command in COMMANDS for body in bodies(answer_to(command)) for b in buttons_in(body)]
    seen: set[str] = set()
    while pending:
        button = pending.pop()
        if button["type"] != "postback" or button["payload"] in seen:
            continue
        seen.add(button["payload"])
        answer = respond(postback_payload(CONTACT, 7, button["title"], button["payload"]), media_base=MEDIA_BASE)
        assert answer.command not in ("unknown_postback", "echo"), button
        pending += [b for body in bodies(answer) for b in buttons_in(body)]
    assert set(POSTBACKS) <= seen | {"MENU"} and {"ADD_MUG", "INFO_ESPRESSO", "CHECKOUT"} <= seen
    assert respond(postback_payload(CONTACT, 7, "?", "NOPE"), media_base=MEDIA_BASE).command == "unknown_postback"


@pytest.mark.parametrize("command, ratio", [("cards", "horizontal"), ("square cards", "square")])
def test_carousels_have_pictures_subtitles_and_both_button_kinds(client, command, ratio):
    [body] = bodies(answer_to(command))
    attrs = body["content_attributes"]
    assert body["content_type"] == "generic_template" and attrs["ratio"] == ratio and len(attrs["items"]) >= 3
    for item in attrs["items"]:
        assert item["title"] and item["subtitle"] and item["image_url"].startswith(MEDIA_BASE + "/")
        assert {b["type"] for b in item["buttons"]} == {"postback", "web_url"}
        assert all(b["url"].startswith("https://") for b in item["buttons"] if b["type"] == "web_url")
        picture = client.get(urlsplit(item["image_url"]).path)
        assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("command, mimetype, magic", [
    ("image", "image/png", b"\x89PNG"), ("audio", "audio/wav", b"RIFF"),
    ("video", "video/webm", b"\x1a\x45\xdf\xa3"), ("file", "application/pdf", b"%PDF-"),
])
def test_media_replies_point_to_real_files_the_sandbox_serves(client, command, mimetype, magic):
    caption, media = bodies(answer_to(command))
    assert caption["type"] == "text" and media["type"] == command
    assert list(media) == ["sender_id", "conv_id", "url", "type", "message_type", "private"]
    served = client.get(urlsplit(media["url"]).path)
    assert served.status_code == 200 and served.mimetype == mimetype
    assert served.data.startswith(magic) and 500 < len(served.data) < 200_000
    assert client.get("/sandbox/media/..%2F__init__.py").status_code == 404


def test_media_the_contact_sends_is_echoed_with_the_same_type_and_url():
    answer = respond(media_payload(CONTACT, 7, "video", "https://cdn.example/v.mp4"), media_base=MEDIA_BASE)
    assert [(b["type"], b.get("url")) for b in bodies(answer)] == [("text", None), ("video", "https://cdn.example/v.mp4")]


def test_agent_private_note_then_agent_reply():
    note, reply = bodies(answer_to("agent"))
    assert note["private"] is True and reply["private"] is False
    assert note["sender_type"] == reply["sender_type"] == "agent" and note["agent_name"] == "Maya"


def test_stress_texts_and_unknown_kinds():
    assert [b["text"][:3] for b in bodies(answer_to("burst"))] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    assert answer_to("slow", slow_seconds=2.5).replies[0].delay == 2.5
    assert bodies(answer_to("unknown"))[0]["content_type"] == "rating_template"
    assert bodies(answer_to("location"))[0]["type"] == "location"
    assert 1800 <= len(bodies(answer_to("long"))[0]["text"]) <= 2600
    assert any(ord(c) > 0xFFFF for c in bodies(answer_to("emoji"))[0]["text"])
    rtl = bodies(answer_to("rtl"))[0]["text"]
    assert re.search("[\u0600-\u06ff]", rtl) and re.search("[\u0590-\u05ff]", rtl)
    [links] = bodies(answer_to("links"))
    assert [b["type"] for b in buttons_in(links)] == ["web_url", "phone_number", "postback"]
    text, buttons = bodies(answer_to("xss"))
    assert "<script>alert(1)</script>" in text["text"] and "<img src=x onerror=alert(1)>" in text["text"]
    assert buttons_in(buttons)[0] == {"type": "web_url", "title": "Open (javascript: link)", "url": "javascript:alert(1)"}
    [echo] = bodies(answer_to("What's the weather?"))
    assert echo["text"].startswith("You said: “What's the weather?”") and "help" in echo["text"]


def test_fault_command_parsing():
    assert answer_to("fault late 2 0.5").fault == {"fault": "late", "count": 2, "delay": 0.5}
    assert answer_to("Fault duplicate").fault == {"fault": "duplicate", "count": 1, "delay": 5.0}
    assert answer_to("fault off").clear_faults and answer_to("fault drop").bypass_faults
    for wrong in ("fault", "fault explode", "fault drop 0", "fault drop 1.5"):
        answer = answer_to(wrong)
        assert answer.fault is None and bodies(answer)[0]["text"].startswith("Usage: fault")


# ---------------------------------------------------------------- the real process

def test_python_m_sandbox_help_documents_its_flags(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sandbox", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=30, env=process_env(tmp_path))
    assert out.returncode == 0
    for flag in ("--host", "--port", "--state", "--public-url", "APICHAT_SANDBOX_PORT", "8503"):
        assert flag in out.stdout, flag


def test_webhooks_survive_a_restart_of_the_process(tmp_path, start_process, webhook):
    port, state = free_port(), tmp_path / "sandbox.json"
    args = ["-m", "sandbox", "--port", str(port), "--state", str(state)]
    url = f"http://127.0.0.1:{port}"
    base = f"http://127.0.0.1:{port}/api/partner/workspace/acme/apichat-webhook"
    first = start_process(args, process_env(tmp_path), url)
    set_answer = requests.post(base, headers=PARTNER, timeout=10,
                               json={"webhook_url": webhook.url, "webhook_verification_key": webhook.key})
    assert set_answer.status_code == 200, set_answer.text
    first.stop()
    start_process(args, process_env(tmp_path), url)
    again = requests.get(base, headers=PARTNER, timeout=10).json()["data"]
    assert again == set_answer.json()["data"] and again["bot_url"].startswith(f"http://127.0.0.1:{port}/api/apichat/")
    sent = requests.post(again["bot_url"], json=text_payload(CONTACT, 3, "hi"), headers=FLOW, timeout=10)
    assert sent.status_code == 200
    headers, raw = webhook.wait_messages(1)[0]
    assert signing.verify(raw, headers["x-hub-signature-256"], webhook.key)


def test_replies_to_many_contacts_go_out_in_parallel_and_an_answer_keeps_its_order():
    """A webhook that is slow for one contact does not hold back the others (UChat answers contacts in
    parallel); the replies of one conversation still arrive in order, each after the one before it."""
    from sandbox.bot import Reply
    from sandbox.delivery import Deliverer, Faults

    release = threading.Event()
    arrived: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if body["text"] == "held":
                release.wait(30)
            arrived.append(body["text"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    hook = {"webhook_url": f"http://127.0.0.1:{server.server_port}/webhook", "webhook_verification_key": "k"}
    deliverer = Deliverer(Faults(), workers=4)
    try:
        held = {"sender_id": "c1", "conv_id": 1}
        deliverer.submit("ws", hook, [Reply({**held, "text": "held"}), Reply({**held, "text": "after held"})])
        deliverer.submit("ws", hook, [Reply({**held, "text": "next answer"})])  # same conversation: waits
        deliverer.submit("ws", hook, [Reply({"sender_id": "c2", "conv_id": 2, "text": f"{n}/3"}) for n in (1, 2, 3)])
        wait_until(lambda: len(arrived) == 3, 10, message="the other contact's answer while one is held")
        assert arrived == ["1/3", "2/3", "3/3"] and deliverer.pending() == 3  # held (in flight) and two behind it
        release.set()
        wait_until(lambda: len(arrived) == 6, 10, message="the held conversation")
        assert arrived[3:] == ["held", "after held", "next answer"] and deliverer.pending() == 0
    finally:
        release.set()
        deliverer.close()
        server.shutdown()
