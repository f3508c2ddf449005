"""Channel-limit warnings where bot messages are shown: the chat (not in demo mode) and the Inspector."""

from __future__ import annotations

import json

import pytest

from apichat.payloads import parse_bot_message
from tests.conftest import app_page

TWELVE = {"type": "text", "text": "Our range", "content_type": "generic_template",
          "content_attributes": {"items": [{"title": f"Card {i}", "buttons": []} for i in range(12)]}}


@pytest.fixture
def store(page_store):
    page_store.save_profile("p1", verify_key="k", flow_key="f")
    page_store.save_contact("ana", "Ana", "", "")
    page_store.set_setting("persona", "ana")
    conv = page_store.ensure_conversation("p1", "ana", 7)
    for body in (TWELVE, {"type": "text", "text": "fine"}):
        raw = json.dumps({"sender_id": "ana", "conv_id": 7, **body}).encode()
        page_store.accept_webhook(profile="p1", route="/webhook/p1", method="POST", headers={}, body=raw,
                                  message=parse_bot_message(raw))
    page_store.conv = conv
    return page_store


def lint_notes(at) -> list[str]:
    return [h.proto.body for h in at.get("html") if 'class="acc-lint"' in h.proto.body]


def test_the_chat_flags_a_message_over_a_channel_limit_once_and_hides_it_in_demo_mode(store):
    at = app_page("chat").run()
    assert not at.exception
    [note] = lint_notes(at)
    assert "2 channel limits broken: messenger.elements, whatsapp.list_rows" in note
    assert "cards has 12, limit 10" in note
    at.session_state["demo_mode"] = True
    assert lint_notes(at.run()) == []


def test_the_profile_chooses_the_channels_and_none_means_no_warning(store):
    store.save_profile("p1", lint_channels="whatsapp")
    [note] = lint_notes(app_page("chat").run())
    assert "1 channel limit broken: whatsapp.list_rows" in note and "messenger" not in note
    store.save_profile("p1", lint_channels="")
    assert lint_notes(app_page("chat").run()) == []


def test_the_inspector_detail_lists_the_limits_a_delivery_breaks(store):
    first = store.list_deliveries(profile="p1")[-1]
    at = app_page("inspector", delivery=str(first["id"])).run()
    assert not at.exception
    warnings = [w.value.replace("\\", "") for w in at.warning if "Channel limits" in w.value]
    assert warnings and "messenger.elements" in warnings[0] and "whatsapp.list_rows" in warnings[0]


def test_connect_stores_the_channels_a_profile_lints_for(store):
    at = app_page("connect").run()
    assert not at.exception
    box = at.multiselect(key="cx-lint-p1")
    assert box.value == ["messenger", "whatsapp"]
    box.set_value(["whatsapp"]).run()
    assert store.get_profile("p1")["lint_channels"] == "whatsapp"
    at.multiselect(key="cx-lint-p1").set_value([]).run()
    assert store.get_profile("p1")["lint_channels"] == ""
