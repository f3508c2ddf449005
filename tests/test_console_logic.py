"""What the console does around the pages: connecting the sandbox, sending as the contact, transcripts,
and finding or starting its sidecar processes — against real receiver and sandbox processes."""

from __future__ import annotations

import json

import pytest

from apichat import outbox, processes, profiles, services, transcript
from apichat.config import load_settings
from apichat.payloads import parse_bot_message
from apichat.store import open_store
from tests.conftest import free_port, other_program, process_env, wait_until


@pytest.fixture
def running(tmp_path, start_process):
    """A receiver and a sandbox as the console starts them, and the console's own settings and store."""
    receiver_port, sandbox_port = free_port(), free_port()
    env = process_env(tmp_path, APICHAT_RECEIVER_PORT=str(receiver_port), APICHAT_SANDBOX_PORT=str(sandbox_port))
    settings = load_settings(env)
    db = open_store(settings.db_path)
    start_process(["-m", "receiver"], env, settings.receiver_url)
    start_process(["-m", "sandbox", "--state", str(tmp_path / "sandbox.json")], env, settings.sandbox_url)
    return settings, db


def test_connect_sandbox_sets_a_verified_webhook_once(running):
    settings, db = running
    profile = profiles.connect_sandbox(db, settings)
    assert profile["webhook_status"] == "verified"
    assert profile["bot_url"].startswith(settings.sandbox_url + "/api/apichat/")
    assert profile["webhook_url"] == f"{settings.receiver_url}/webhook/sandbox"
    posts = [r for r in db.list_requests() if r["method"] == "POST"]
    assert len(posts) == 1
    again = profiles.connect_sandbox(db, settings)
    assert again["bot_url"] == profile["bot_url"] and again["verify_key"] == profile["verify_key"]
    assert len([r for r in db.list_requests() if r["method"] == "POST"]) == 1, "an unchanged webhook was set again"
    assert "sandbox-partner-key" not in json.dumps(db.list_requests()), "a key reached the request log in full"


def test_sent_messages_become_sent_and_the_bot_reply_arrives(running):
    settings, db = running
    profile = profiles.connect_sandbox(db, settings)
    contact = db.save_contact("qa-1", "Quinn", "quinn@example.com", "+100")
    conv = db.ensure_conversation("sandbox", "qa-1", 41)
    message_id = outbox.prepare(db, conv, contact, "text", text="hi")
    assert db.get_message(message_id)["status"] == "sending"
    assert outbox.deliver(db, profile, message_id) is True
    assert db.get_message(message_id)["status"] == "sent"
    reply = wait_until(lambda: [m for m in db.messages_since(conv["id"]) if m["direction"] == "in"], 15,
                       message="the bot's reply")[0]
    assert reply["reply_to"] == message_id and reply["kind"] == "buttons"
    request = db.list_requests(profile="sandbox")[0]
    assert request["message_id"] == message_id and request["status"] == 200


def test_a_refused_send_is_failed_with_uchats_message(running):
    settings, db = running
    profile = profiles.connect_sandbox(db, settings)
    contact = db.save_contact("qa-2", "Quinn")
    conv = db.ensure_conversation("sandbox", "qa-2", 42)
    message_id = outbox.prepare(db, conv, contact, "postback", title="Products", payload="MENU_PRODUCTS")
    assert outbox.deliver(db, {**profile, "flow_key": "wrong"}, message_id) is False
    failed = db.get_message(message_id)
    assert failed["status"] == "failed" and "401" in failed["error"]
    assert outbox.deliver(db, {**profile, "bot_url": ""}, message_id) is False
    assert "no bot_url" in db.get_message(message_id)["error"]


def test_prepare_rejects_what_cannot_be_sent(tmp_path):
    db = open_store(str(tmp_path / "c.db"))
    contact = db.save_contact("c", "C")
    conv = db.ensure_conversation("p", "c", 1)
    with pytest.raises(ValueError, match="empty"):
        outbox.prepare(db, conv, contact, "text", text="  ")
    with pytest.raises(ValueError, match="URL"):
        outbox.prepare(db, conv, contact, "image", url="javascript:alert(1)")
    with pytest.raises(ValueError, match="kind"):
        outbox.prepare(db, conv, contact, "sticker")
    assert db.messages_since(conv["id"]) == []


def test_transcripts_keep_raw_payloads_and_read_well(tmp_path):
    db = open_store(str(tmp_path / "c.db"))
    contact = db.save_contact("c", "Ana")
    conv = db.ensure_conversation("p", "c", 5)
    outbox.prepare(db, conv, contact, "text", text="hi")
    raw = json.dumps({"sender_id": "c", "conv_id": 5, "text": "Pick", "content_type": "button_template",
                      "content_attributes": {"buttons": [{"type": "postback", "title": "Yes", "payload": "Y"}]}})
    db.accept_webhook(profile="p", route="/webhook/p", method="POST", headers={}, body=raw.encode(),
                      message=parse_bot_message(raw))
    doc = json.loads(transcript.conversation_file(db, conv["id"], "json"))  # what the chat's Export downloads
    assert doc["conversation_id"] == 5 and len(doc["messages"]) == 2
    assert doc["messages"][0]["payload"]["content"] == "hi"
    assert doc["messages"][1]["payload"] == json.loads(raw)
    text = transcript.conversation_file(db, conv["id"], "md")
    assert "**Ana**" in text and "**Bot**" in text and "Pick / [Yes]" in text
    raw = json.dumps({"sender_id": "c", "conv_id": 5, "text": "<script>x</script>\nsecond line"})
    db.accept_webhook(profile="p", route="/webhook/p", method="POST", headers={}, body=raw.encode(),
                      message=parse_bot_message(raw))
    text = transcript.to_markdown(conv, contact, db.messages_since(conv["id"]))
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\n  second line" in text  # a second line stays inside its list item


def test_a_port_taken_by_another_program_is_reported_not_reused(tmp_path):
    with other_program() as port:
        status = services.ensure_service("receiver", "receiver", f"http://127.0.0.1:{port}", "apichat-receiver", [],
                                          {}, str(tmp_path / "r.log"))
        assert status.state == "foreign" and not status.ok and "another program" in status.detail


def test_a_receiver_of_another_store_is_not_reused(tmp_path, start_process):
    port = free_port()
    env = process_env(tmp_path, APICHAT_RECEIVER_PORT=str(port))
    start_process(["-m", "receiver"], env, f"http://127.0.0.1:{port}")
    mine = open_store(str(tmp_path / "mine.db"))
    url = f"http://127.0.0.1:{port}"
    theirs = open_store(env["APICHAT_DB"]).store_id
    assert processes.probe(url, "apichat-receiver", store_id=theirs) == "ours"
    status = services.ensure_service("receiver", "receiver", url, "apichat-receiver", [], env,
                                     str(tmp_path / "r.log"), store_id=mine.store_id)
    assert status.state == "foreign" and "another store" in status.detail
