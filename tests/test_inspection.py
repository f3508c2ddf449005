"""The inspector's domain: curl commands that really run, replay through a real receiver, explanations, export."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading

import pytest
import requests
from werkzeug.serving import make_server

from apichat import inspection, signing
from apichat.config import Settings
from apichat.inspection.curl import _var
from apichat.store import open_store
from receiver import create_app as receiver_app
from sandbox import SandboxConfig
from sandbox import create_app as sandbox_app
from tests.conftest import free_port

KEY = "profile-p-verification-key"
REPLY = {"sender_id": "c1", "conv_id": 7, "text": "Café 'quoted' \"double\" $HOME `tick` \\ back/slash",
         "type": "text", "message_type": "outgoing", "private": False}


class Served:
    """A WSGI app served for real on a free local port, in a thread."""

    def __init__(self, app, port: int | None = None):
        self.server = make_server("127.0.0.1", port or free_port(), app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def store(tmp_path):
    s = open_store(str(tmp_path / "console.db"))
    s.save_profile("p", verify_key=KEY)
    s.save_profile("q", verify_key="profile-q-key")
    yield s
    s.close()


@pytest.fixture
def receiver(store, tmp_path):
    served = Served(receiver_app(Settings(db_path=store.path, media_dir=str(tmp_path / "media")), store=store))
    yield served
    served.stop()


def post(receiver, body: bytes, key: str | None = KEY, profile: str = "p", **headers) -> requests.Response:
    sent = {"Content-Type": "application/json", "x-flow-ns": "f123", "x-action": "messages", **headers}
    if key is not None:
        sent[signing.HEADER] = signing.sign(body, key)
    return requests.post(f"{receiver.url}/webhook/{profile}", data=body, headers=sent, timeout=5)


def newest(store) -> dict:
    return store.list_deliveries(limit=1)[0]


def bash(command: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], capture_output=True, timeout=20,
                          env={"PATH": os.environ["PATH"], **env})


# ---------------------------------------------------------------- quoting

@pytest.mark.parametrize("text", ["plain", "", "it's", "''", "a\nb\n", "$HOME `id` $(id) \\n \"q\" ! *",
                                  "日本語 é ☕", "-starts-with-dash", "%s %d %%"])
def test_shell_quote_round_trips_through_bash(text):
    assert bash(f"printf %s {inspection.shell_quote(text)}").stdout.decode() == text


@pytest.mark.parametrize("around", ["Bearer {} and 'more'", '{"key": "{}", "$HOME": 1}', "{}", "a\nb {}!"])
def test_shell_quote_leaves_variable_holes_to_the_shell(around):
    quoted = inspection.shell_quote(around.replace("{}", _var("UCHAT_FLOW_KEY")))
    printed = bash(f"printf %s {quoted}", UCHAT_FLOW_KEY="s3cret 'key' $x").stdout.decode()
    assert printed == around.replace("{}", "s3cret 'key' $x")


# ---------------------------------------------------------------- curl for deliveries: run it for real

def test_delivery_curl_resends_the_exact_bytes_with_a_fresh_signature(store, receiver):
    body = json.dumps(REPLY, ensure_ascii=False).replace("/", "\\/").encode()  # PHP's escaping, kept as is
    assert post(receiver, body, key="an-old-key").status_code == 401
    rejected = newest(store)
    command = inspection.curl_for_delivery(rejected, KEY, receiver.url)
    assert KEY not in command and signing.sign(body, KEY) in command and "x-flow-ns: f123" in command

    result = bash(command)
    assert b"200 OK" in result.stdout, result
    accepted = newest(store)
    assert accepted["outcome"] == "accepted" and accepted["id"] != rejected["id"]
    assert bytes(accepted["body"]) == body and accepted["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert json.loads(store.get_message(accepted["message_id"])["raw"])["text"] == REPLY["text"]


def test_delivery_curl_for_bytes_that_are_not_text(store, receiver):
    body = b'-{"text": "\xff\xfe %s \x00 \' end"}'  # not UTF-8, a NUL, a quote, a leading dash
    post(receiver, body, key=None)
    command = inspection.curl_for_delivery(newest(store), KEY, receiver.url)
    assert command.startswith("printf ")
    assert b"400" in bash(command).stdout  # signed right now, but not JSON
    again = newest(store)
    assert bytes(again["body"]) == body and "not JSON" in again["reason"]


def test_delivery_curl_can_read_a_large_body_from_a_file(store, receiver, tmp_path):
    post(receiver, json.dumps(REPLY).encode())
    delivery = newest(store)
    command = inspection.curl_for_delivery(delivery, KEY, receiver.url, body_file=str(tmp_path / "body.json"))
    assert "--data-binary @" in command and REPLY["sender_id"] not in command
    (tmp_path / "body.json").write_bytes(bytes(delivery["body"]))
    assert b'"duplicate":true' in bash(command).stdout


def test_handshake_curl_never_holds_the_key(store, receiver):
    answer = requests.post(f"{receiver.url}/webhook/p", timeout=5,
                           data={"hub_mode": "subscribe", "hub_verify_token": KEY, "hub_challenge": "ch-1"})
    assert answer.text == "ch-1"
    delivery = newest(store)
    command = inspection.curl_for_delivery(delivery, KEY, receiver.url)
    assert KEY not in command and "$UCHAT_VERIFY_TOKEN" in command
    assert bash(command, UCHAT_VERIFY_TOKEN=KEY).stdout.decode().endswith("ch-1")
    assert KEY not in inspection.body_view(delivery["body"])[1]  # the page shows the body masked


# ---------------------------------------------------------------- curl for requests the console sent

@pytest.fixture
def sandbox(tmp_path):
    port = free_port()
    app = sandbox_app(SandboxConfig(port=port, state_path=str(tmp_path / "sandbox.json")))
    served = Served(app, port)
    yield served
    app.extensions["sandbox"].close()
    served.stop()


def test_partner_curl_uses_placeholders_and_works(store, receiver, sandbox):
    url = f"{sandbox.url}/api/partner/workspace/ws1/apichat-webhook"
    body = json.dumps({"webhook_url": f"{receiver.url}/webhook/p", "webhook_verification_key": KEY})
    row = store.get_request(store.record_request(
        profile="p", target="partner", method="POST", url=url,
        request_headers={"Authorization": "Bearer sandbox-partner-key", "Content-Type": "application/json"},
        request_body=body, status=200, response_body="{}", duration_ms=3.0))
    command = inspection.curl_for_request(row)
    assert "sandbox-partner-key" not in command and KEY not in command
    assert '"Authorization: Bearer $UCHAT_PARTNER_KEY"' in command and '"$UCHAT_VERIFY_TOKEN"' in command

    result = bash(command, UCHAT_PARTNER_KEY="sandbox-partner-key", UCHAT_VERIFY_TOKEN=KEY)
    data = json.loads(result.stdout.decode().split("\r\n\r\n", 1)[1])["data"]
    assert data["webhook_status"] == "verified" and data["webhook_verification_key"] == KEY
    assert newest(store)["outcome"] == "handshake"  # the sandbox verified against the real receiver

    wrong = bash(command, UCHAT_PARTNER_KEY="nope", UCHAT_VERIFY_TOKEN=KEY).stdout.decode()
    assert "401" in wrong and "Invalid partner API key" in wrong


def test_bot_url_curl_uses_the_flow_key_placeholder():
    row = {"target": "bot_url", "method": "POST", "url": "https://bot.example/api/apichat/abc",
           "request_headers": json.dumps({"Authorization": "Bearer ••••••-key", "Content-Type": "application/json",
                                          "User-Agent": "x"}),
           "request_body": json.dumps({"content": "it's", "event": "message_created"})}
    command = inspection.curl_for_request(row)
    assert '-H "Authorization: Bearer $UCHAT_FLOW_KEY"' in command and "User-Agent" not in command
    assert "•" not in command and "'\"'\"'" in command  # the quote in "it's" survives


# ---------------------------------------------------------------- replay

def test_replay_of_an_accepted_delivery_is_a_duplicate_not_a_second_message(store, receiver):
    post(receiver, json.dumps(REPLY).encode())
    accepted = newest(store)
    result = inspection.replay(accepted, KEY, receiver.url)
    assert (result.status, result.outcome) == (200, "duplicate")
    duplicate = newest(store)
    assert duplicate["outcome"] == "duplicate" and duplicate["message_id"] == accepted["message_id"]
    assert store.count_messages(store.get_message(accepted["message_id"])["conversation"]) == 1


def test_replay_re_signs_with_the_current_key(store, receiver):
    post(receiver, json.dumps(REPLY).encode(), key="key-before-the-change")
    rejected = newest(store)
    assert inspection.replay(rejected, "yet-another-key", receiver.url).outcome == "refused (401)"
    assert inspection.replay(rejected, KEY, receiver.url).outcome == "accepted"
    assert newest(store)["message_id"] is not None


def test_replay_of_a_handshake_runs_it_again(store, receiver):
    requests.post(f"{receiver.url}/webhook/p", timeout=5,
                  data={"hub_mode": "subscribe", "hub_verify_token": KEY, "hub_challenge": "c"})
    handshake = newest(store)
    assert inspection.replay(handshake, KEY, receiver.url).outcome == "handshake verified"
    assert inspection.replay(handshake, "changed", receiver.url).status == 403


def test_replay_reports_an_unreachable_receiver():
    delivery = {"route": "/webhook/p", "body": b"{}", "body_size": 2, "headers": "{}", "kind": "text"}
    result = inspection.replay(delivery, KEY, f"http://127.0.0.1:{free_port()}", timeout=2)
    assert result.status is None and result.outcome == "not delivered" and "ConnectionError" in result.error


def test_can_replay():
    assert inspection.can_replay({"body": b"{}", "body_size": 2, "kind": "text"}) is None
    assert "not kept" in inspection.can_replay({"body": None, "body_size": 2_000_000, "kind": ""})
    assert "size limit" in inspection.can_replay({"body": b"x", "body_size": 9, "kind": ""})
    assert inspection.can_replay({"body": b"", "kind": "handshake"}) is None


# ---------------------------------------------------------------- explanations, from what the receiver stored

@pytest.mark.parametrize(("headers", "body", "cause"), [
    ({}, None, "No signature header"),
    ({signing.HEADER: signing.sign(b"x", "wrong")}, None, "Wrong verification key"),
    ({signing.HEADER: "sha1=" + "a" * 40}, None, "sha1="),
    ({signing.HEADER: "sha256=" + "A" * 43 + "="}, None, "base64"),
    ({signing.HEADER: "sha256=zz"}, None, "malformed"),
])
def test_explains_each_signature_failure(store, receiver, headers, body, cause):
    raw = body or json.dumps(REPLY).encode()
    assert post(receiver, raw, key=None, **headers).status_code == 401
    explanation = inspection.explain(newest(store), store.verification_keys())
    assert cause in explanation.cause and explanation.fix


def test_explains_another_profiles_key(store, receiver):
    post(receiver, json.dumps(REPLY).encode(), key="profile-q-key")
    explanation = inspection.explain(newest(store), store.verification_keys())
    assert explanation.cause == "Signed with another profile's key" and explanation.recheck == ""


def test_explains_a_body_altered_in_transit(store, receiver):
    signed = json.dumps(REPLY, separators=(",", ":")).replace("/", "\\/").encode()
    rewritten = json.dumps(json.loads(signed), separators=(",", ":")).encode()  # a proxy re-serialized it
    post(receiver, rewritten, key=None, **{signing.HEADER: signing.sign(signed, KEY)})
    assert inspection.explain(newest(store), store.verification_keys()).cause == "Body altered after signing"


def test_recheck_notices_a_key_changed_since(store, receiver):
    post(receiver, json.dumps(REPLY).encode(), key="the-new-key")
    delivery = newest(store)
    assert "wrong key" in delivery["reason"]
    store.save_profile("p", verify_key="the-new-key")
    explanation = inspection.explain(delivery, store.verification_keys())
    assert "verifies with this profile's current key" in explanation.recheck


def test_explains_other_refusals(store, receiver):
    requests.post(f"{receiver.url}/webhook/ghost", json=REPLY, timeout=5)
    assert inspection.explain(newest(store)).cause == "Unknown profile in the URL"
    requests.get(f"{receiver.url}/webhook/p", timeout=5)
    assert inspection.explain(newest(store)).cause == "A plain GET"
    requests.post(f"{receiver.url}/webhook/p", timeout=5,
                  data={"hub_mode": "subscribe", "hub_verify_token": "nope", "hub_challenge": "c"})
    assert inspection.explain(newest(store)).cause == "Handshake: verification key mismatch"
    post(receiver, b"not json")
    assert inspection.explain(newest(store)).cause == "Signed, but not JSON"
    post(receiver, json.dumps(REPLY).encode())
    assert inspection.explain(newest(store)) is None  # accepted: nothing to explain


# ---------------------------------------------------------------- timeline, filters, export

def test_timeline_merges_newest_first_and_describes_requests(store, receiver):
    post(receiver, json.dumps(REPLY).encode())
    store.record_request(profile="p", target="bot_url", method="POST", url="https://bot/api/apichat/x",
                         request_headers={}, request_body=json.dumps({"event": "message_postback"}), status=200,
                         response_body='{"status":"ok"}', duration_ms=12.3, message_id=5)
    store.record_request(profile="p", target="partner", method="GET", url="https://u/api/partner/workspace/1/"
                         "apichat-webhook", request_headers={}, request_body="", status=401,
                         response_body='{"message":"Invalid partner API key"}', duration_ms=4.0,
                         error="HTTP 401: Invalid partner API key")  # as the client records a failure
    entries = inspection.timeline(store.list_deliveries(), store.list_requests())
    assert [e.key for e in entries] == ["r-2", "r-1", "d-1"]
    partner, bot, delivery = entries
    assert (partner.target, partner.outcome, partner.kind, partner.reason) == (
        "partner API", "failed", "get webhook", "HTTP 401: Invalid partner API key")
    assert (bot.target, bot.outcome, bot.kind, bot.message_id) == ("bot_url", "sent", "postback", 5)
    assert (delivery.direction, delivery.outcome, delivery.flow_ns, delivery.kind) == ("in", "accepted", "f123", "text")
    assert delivery.row()["direction"].endswith("webhook") and bot.row()["ms"] == 12
    assert inspection.request_matches(store.get_request(2), outcome="failed", kind="get webhook")
    assert not inspection.request_matches(store.get_request(1), outcome="failed")


def test_export_parses_bodies_and_masks_verification_keys(store, receiver):
    post(receiver, json.dumps(REPLY).encode())
    requests.post(f"{receiver.url}/webhook/p", timeout=5,
                  data={"hub_mode": "subscribe", "hub_verify_token": KEY, "hub_challenge": "c"})
    store.record_request(profile="p", target="partner", method="POST", url="https://u/api/partner/x",
                         request_headers={"Authorization": "Bearer partner-secret-1234"},
                         request_body=json.dumps({"webhook_url": "u", "webhook_verification_key": KEY}),
                         status=200, response_body=json.dumps({"data": {"webhook_verification_key": KEY}}),
                         duration_ms=1.0)
    text = inspection.export_json(store.list_deliveries(), store.list_requests())
    assert KEY not in text and "partner-secret" not in text
    items = json.loads(text)["items"]
    assert [i["type"] for i in items] == ["request", "delivery", "delivery"]
    assert items[2]["body"]["text"] == REPLY["text"] and items[1]["body"].startswith("hub_mode=subscribe")


# ---------------------------------------------------------------- the public URL probe

def test_probe_receiver(receiver, sandbox, store, tmp_path):
    ok = inspection.probe_receiver(receiver.url)
    assert ok.ok and not ok.warning
    closed = inspection.probe_receiver(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert not closed.ok and "connection refused" in closed.message
    other = inspection.probe_receiver(sandbox.url)
    assert not other.ok and "not as this console's receiver" in other.message

    class OtherPid(requests.Session):  # a second receiver behind the "tunnel": another process answers
        def get(self, url, **kw):
            answer = super().get(url, **kw)
            if url.startswith(sandbox.url):
                answer._content = json.dumps({"status": "ok", "service": "apichat-receiver", "pid": -1}).encode()
            return answer

    warned = inspection.probe_receiver(sandbox.url, local_url=receiver.url, session=OtherPid())
    assert warned.ok and "another console" in warned.warning


# ---------------------------------------------------------------- reading the store for the page

def test_query_splits_filters_between_deliveries_and_requests(store, receiver):
    post(receiver, json.dumps(REPLY).encode())
    post(receiver, json.dumps(REPLY).encode(), key="wrong-key")
    store.record_request(profile="q", target="partner", method="GET", url="https://u/api/partner/workspace/1/"
                         "apichat-webhook", request_headers={}, request_body="", status=401,
                         response_body='{"message":"Invalid partner API key"}', duration_ms=4.0, error="HTTP 401")
    keys = lambda found: [e.key for e in inspection.timeline(*found)]  # noqa: E731
    assert keys(inspection.query(store)) == ["r-1", "d-2", "d-1"]
    assert keys(inspection.query(store, direction="in")) == ["d-2", "d-1"]
    assert keys(inspection.query(store, direction="out")) == ["r-1"]
    assert keys(inspection.query(store, outcome="rejected")) == ["d-2"]
    assert keys(inspection.query(store, outcome="failed")) == ["r-1"]  # a request's outcome: no delivery has it
    assert keys(inspection.query(store, profile="q", kind="get webhook")) == ["r-1"]
    assert keys(inspection.query(store, profile="p", text="")) == ["d-2", "d-1"]
    assert keys(inspection.query(store, after_delivery=1, after_request=1)) == ["d-2"]
    assert inspection.newest_ids(store) == (2, 1)


def test_lookup_and_links_name_entries(store, receiver):
    post(receiver, json.dumps(REPLY).encode())
    source, row = inspection.lookup(store, "d-1")
    assert source == "d" and row["outcome"] == "accepted"
    assert inspection.lookup(store, "r-1") is None and inspection.lookup(store, "d-x") is None
    assert inspection.lookup(store, None) is None and inspection.lookup(store, "d1") is None
    assert inspection.item_from_params({"item": "r-4", "delivery": "2"}) == "r-4"
    assert inspection.item_from_params({"delivery": "2"}) == "d-2"
    assert inspection.item_from_params({"request": "5"}) == "r-5"
    assert inspection.item_from_params({}) is None
    conversation = inspection.conversation_of(store, row["message_id"])
    assert conversation["profile"] == "p" and conversation["contact_id"] == REPLY["sender_id"]
    assert inspection.conversation_of(store, 999) is None and inspection.conversation_of(store, None) is None


def test_replay_blocker_names_the_missing_key_first():
    delivery = {"profile": "gone", "body": None, "body_size": 0, "kind": "text"}
    assert "'gone' no longer exists" in inspection.replay_blocker(delivery, None)
    assert "no verification key" in inspection.replay_blocker(delivery, {"verify_key": ""})
    assert "not kept" in inspection.replay_blocker(delivery, {"verify_key": "k"})
    assert inspection.replay_blocker({**delivery, "body": b"{}", "body_size": 2}, {"verify_key": "k"}) is None


def test_a_replay_is_matched_to_the_delivery_it_became(store, receiver):
    post(receiver, json.dumps(REPLY).encode(), key="key-before-the-change")
    rejected = newest(store)
    post(receiver, json.dumps({**REPLY, "text": "another"}).encode())  # the same route, another body
    result, stored = inspection.replay_and_find(store, rejected, KEY, receiver.url)
    assert result.outcome == "accepted" and stored == newest(store)["id"] == 3
    assert store.get_delivery(stored)["body_sha256"] == rejected["body_sha256"]
    assert inspection.find_replayed(store, rejected, after_id=3) is None
    requests.post(f"{receiver.url}/webhook/p", timeout=5,
                  data={"hub_mode": "subscribe", "hub_verify_token": KEY, "hub_challenge": "c"})
    handshake = newest(store)
    result, stored = inspection.replay_and_find(store, handshake, KEY, receiver.url)
    assert result.outcome == "handshake verified" and stored == handshake["id"] + 1  # its challenge is new
