"""The chat page's logic with Streamlit's AppTest, on a temp store (no browser, no processes)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from apichat.payloads import parse_bot_message
from apichat.store import Store
from tests.conftest import ROOT, app_page, wait_until


@pytest.fixture
def store(page_store):
    page_store.save_profile("p1", verify_key="k", flow_key="f")  # no bot_url: sends fail with a reason
    page_store.save_contact("ana", "Ana", "ana@example.com", "")
    page_store.set_setting("persona", "ana")
    return page_store


def bot_says(db: Store, conv: dict, body: dict) -> int:
    raw = json.dumps({"sender_id": conv["contact_id"], "conv_id": conv["conv_id"], **body}).encode()
    return db.accept_webhook(profile="p1", route="/webhook/p1", method="POST", headers={}, body=raw,
                             message=parse_bot_message(raw))[2]


def open_page() -> AppTest:
    return app_page("chat").run()


def test_every_page_file_is_registered_in_navigation():
    source = (ROOT / "app.py").read_text()
    for page in sorted(p for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py"):
        assert f'"pages/{page.name}"' in source, f"{page.name} is not in app.py's PAGES"


def test_every_page_file_only_draws():
    """Rules live in apichat/ and drawing shared by pages in ui/ (docs/architecture.md): a page stays short."""
    for page in sorted(p for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py"):
        lines = len(page.read_text().splitlines())
        assert lines <= 200, f"{page.name} has {lines} lines: move its rules to apichat/ or its drawing to ui/"


def test_stored_replies_render_with_their_buttons(store):
    conv = store.ensure_conversation("p1", "ana", 7)
    store.set_setting("persona", "ana")
    bot_says(store, conv, {"text": "Pick one", "type": "text", "content_type": "button_template",
                           "content_attributes": {"buttons": [{"type": "postback", "title": "Yes", "payload": "Y"},
                                                              {"type": "postback", "title": "No", "payload": "N"}]}})
    bot_says(store, conv, {"type": "location", "text": "here"})
    at = open_page()
    assert not at.exception
    assert len(at.chat_message) == 2
    labels = [b.label for b in at.button]
    assert "Yes" in labels and "No" in labels
    assert any("Unsupported message" in h.proto.body for h in at.get("html")), "unknown kind is not flagged"


def test_sending_without_bot_url_fails_with_a_reason_and_offers_retry(store):
    at = open_page()
    at.chat_input("composer").set_value("hello").run()
    conv = store.get_conversation(at.session_state["conversation"])
    rows = wait_until(lambda: [r for r in store.messages_since(conv["id"]) if r["status"] == "failed"], 10,
                      message="the message to fail")
    assert rows[0]["text"] == "hello" and "no bot_url" in rows[0]["error"]
    assert json.loads(rows[0]["raw"])["content"] == "hello"
    at.run()
    assert any(b.label == "Retry" for b in at.button)


def test_clicking_a_postback_button_stores_the_contacts_postback(store):
    at = open_page()
    conv = store.get_conversation(at.session_state["conversation"])
    bot_says(store, conv, {"text": "Menu", "content_type": "button_template",
                           "content_attributes": {"buttons": [{"type": "postback", "title": "Products",
                                                               "payload": "MENU_PRODUCTS"}]}})
    at.run()
    next(b for b in at.button if b.label == "Products").click().run()
    sent = [r for r in store.messages_since(conv["id"]) if r["direction"] == "out"]
    assert len(sent) == 1
    body = json.loads(sent[0]["raw"])
    assert body["event"] == "message_postback" and body["content"] == "Products"
    assert body["submitted_values"] == [{"title": "Products", "payload": "MENU_PRODUCTS"}]


def test_long_threads_show_the_latest_and_load_earlier_on_demand(store):
    conv = store.ensure_conversation("p1", "ana", 9)
    for i in range(100):
        bot_says(store, conv, {"text": f"message {i}", "type": "text"})
    store.set_setting("persona", "ana")
    at = open_page()
    at.session_state["conversation"] = conv["id"]
    at.run()
    assert len(at.chat_message) == 40
    texts = " ".join(h.proto.body for h in at.get("html"))
    assert "message 99" in texts and "message 59" not in texts
    next(b for b in at.button if b.label == "Load earlier messages").click().run()
    assert len(at.chat_message) == 80


def test_persona_and_conversation_switching_keep_threads_apart(store):
    first = store.ensure_conversation("p1", "ana", 1)
    second = store.ensure_conversation("p1", "ana", 2)
    bot_says(store, first, {"text": "in the first", "type": "text"})
    bot_says(store, second, {"text": "in the second", "type": "text"})
    at = open_page()
    at.session_state["conversation"] = first["id"]
    at.run()
    body = " ".join(h.proto.body for h in at.get("html"))
    assert "in the first" in body and "in the second" not in body
    at.button(key=f"conv-{second['id']}").click().run()
    body = " ".join(h.proto.body for h in at.get("html"))
    assert "in the second" in body and "in the first" not in body


def test_new_conversation_gives_a_fresh_id_once_and_keeps_an_empty_one(store):
    at = open_page()
    first = store.get_conversation(at.session_state["conversation"])
    at.button(key="conv-new").click().run()
    assert at.session_state["conversation"] == first["id"], "an empty conversation was replaced by another"
    bot_says(store, first, {"text": "hello", "type": "text"})
    at.button(key="conv-new").click().run()
    second = store.get_conversation(at.session_state["conversation"])
    assert second["id"] != first["id"] and second["conv_id"] > first["conv_id"]
    at.button(key="conv-new").click().run()
    assert at.session_state["conversation"] == second["id"]
    assert len(store.list_conversations("p1", "ana")) == 2



def test_the_poll_runs_fast_after_a_send_and_at_the_idle_rate_otherwise(store):
    at = open_page()
    assert at.session_state["poll-every"] == 1.0  # APICHAT_POLL_SECONDS' default: nothing expected
    conv = store.get_conversation(at.session_state["conversation"])
    bot_says(store, conv, {"text": "a reply nobody asked for", "type": "text"})
    assert at.run().session_state["poll-every"] == 1.0  # a reply alone expects nothing more
    at.chat_input("composer").set_value("hello").run()
    assert at.session_state["poll-every"] == 0.25  # a reply is expected now


def test_the_poll_knows_while_the_persona_dialog_is_open(store):
    """The poll's full reruns (a new pace, a settled change) would close the dialog being filled in: they wait."""
    at = open_page()
    assert "persona-dialog-open" not in at.session_state
    at.button(key="persona-new").click().run()
    assert at.session_state["persona-dialog-open"] and at.text_input(key="persona-draft-id").value
    at.run()  # a full run that does not draw the dialog again closes it
    assert "persona-dialog-open" not in at.session_state


def test_delete_this_conversation_and_clear_this_profiles_history(store):
    older = store.ensure_conversation("p1", "ana", 7)
    bot_says(store, older, {"text": "first conversation"})
    newer = store.ensure_conversation("p1", "ana", 8)
    bot_says(store, newer, {"text": "second conversation"})
    at = open_page()
    assert not at.exception
    at.button(key="conv-delete").click().run()  # the current one: the newest
    assert store.get_conversation(newer["id"]) is None and store.get_conversation(older["id"]) is not None
    assert not at.exception and at.session_state["conversation"] == older["id"]  # the latest one left is open
    at.button(key="profile-clear").click().run()
    assert not at.exception
    left = store.list_conversations("p1")  # the page opened a fresh one
    assert [c["conv_id"] for c in left if c["conv_id"] in (7, 8)] == [] and all(c["last_text"] is None for c in left)
    assert store.count_deliveries() == 0 and store.get_profile("p1")["verify_key"] == "k"
