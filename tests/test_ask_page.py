"""The Side by side page (Ask N times) with Streamlit's AppTest, on a temp store (no browser, no processes)."""

from __future__ import annotations

import pytest

from tests.conftest import app_page, wait_until


@pytest.fixture
def store(page_store):
    page_store.save_profile("p1", verify_key="k", flow_key="f")  # no bot_url: sends fail with a reason
    page_store.save_contact("ana", "Ana", "ana@example.com", "")
    page_store.set_setting("persona", "ana")
    return page_store


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_asking_three_times_makes_three_named_contacts_and_shows_why_they_failed(store):
    at = app_page("ask").run()
    assert not at.exception
    at.text_area(key="ask-text").set_value("hi")
    at.number_input(key="ask-n").set_value(3).run()
    button(at, "Ask 3 times").click().run()
    assert not at.exception
    names = wait_until(lambda: sorted(c["name"] for c in store.list_contacts() if c["id"].startswith("ask-")), 10)
    assert names == ["Ask 1/3 · Ana", "Ask 2/3 · Ana", "Ask 3/3 · Ana"]
    wait_until(lambda: sum(r["status"] == "failed" for c in store.list_conversations("p1")
                           for r in store.messages_since(c["id"])) == 3, 10, message="the three sends to fail")
    at.run()
    heads = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div class=\"acc-ask-head")]
    assert len(heads) == 3 and all("no bot_url" in h for h in heads)
    assert not [b for b in at.get("download_button")]  # nothing to save without an answer


def test_a_real_workspace_needs_a_confirmation_above_five(store):
    at = app_page("ask").run()
    at.text_area(key="ask-text").set_value("hi")
    at.number_input(key="ask-n").set_value(5).run()
    assert not at.checkbox and not button(at, "Ask 5 times").disabled
    at.number_input(key="ask-n").set_value(6).run()
    assert "p1" in at.checkbox[0].label and button(at, "Ask 6 times").disabled
    at.checkbox[0].check().run()
    assert not button(at, "Ask 6 times").disabled


def test_a_sent_message_arrives_ready_to_ask(store):
    conv = store.ensure_conversation("p1", "ana", 7)
    message = store.add_contact_message(conv["id"], "text", "opening hours?", {"text": "opening hours?"}, {})
    at = app_page("ask", message=str(message)).run()
    assert not at.exception
    assert at.text_area(key="ask-text").value == "opening hours?"
