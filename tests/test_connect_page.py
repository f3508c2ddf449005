"""The Connect page with Streamlit's AppTest, on a temp store (no browser, no processes)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import app_page


@pytest.fixture
def store(page_store):
    page_store.save_profile("p1", base_url="https://uchat.example", workspace_id="w1", verify_key="k1")
    return page_store


def open_page() -> AppTest:
    return app_page("connect").run()


def field(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def in_dialog(at: AppTest, opener, submit) -> AppTest:
    """Press a dialog's button. In a browser it reruns the dialog alone; AppTest reruns the whole page, where the
    dialog is drawn only when the button that opens it was pressed: so both are pressed in the same run."""
    opener.click()
    submit.click()
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_the_fields_show_the_picked_profile(store):
    store.save_profile("p2", base_url="https://other.example", workspace_id="w2")
    at = open_page()
    assert not at.exception
    assert (field(at, "Base URL").value, field(at, "Workspace id").value) == ("https://uchat.example", "w1")
    at.selectbox(key="cx-pick").set_value("p2").run()
    assert (field(at, "Base URL").value, field(at, "Workspace id").value) == ("https://other.example", "w2")


def test_a_new_profile_with_a_bad_name_shows_why_and_stores_nothing(store):
    at = open_page()
    button(at, "New profile").click().run()
    at.text_input(key="cx-new-name").set_value("my staging")
    in_dialog(at, button(at, "New profile"), button(at, "Create profile"))
    assert any("letters, digits" in e for e in errors(at))
    assert [p["name"] for p in store.list_profiles()] == ["p1"]


def test_a_new_profile_is_created_and_picked(store):
    at = open_page()
    button(at, "New profile").click().run()
    at.text_input(key="cx-new-name").set_value("staging")
    at.checkbox(key="cx-new-local").check()
    in_dialog(at, button(at, "New profile"), button(at, "Create profile"))
    assert store.get_profile("staging")["verify_key"]
    assert at.session_state["cx-pick"] == "staging"
    assert at.radio(key="cx-mode-staging").value == "local"


def test_saving_a_bad_base_url_shows_why_and_keeps_the_stored_one(store):
    at = open_page()
    field(at, "Base URL").set_value("uchat.example")
    field(at, "Workspace id").set_value("w9")
    button(at, "Save").click().run()
    assert any("must start with http:// or https://" in e for e in errors(at))
    assert (store.get_profile("p1")["base_url"], store.get_profile("p1")["workspace_id"]) == (
        "https://uchat.example", "w1")
    field(at, "Base URL").set_value("https://fixed.example/")
    button(at, "Save").click().run()
    assert not errors(at)
    assert (store.get_profile("p1")["base_url"], store.get_profile("p1")["workspace_id"]) == (
        "https://fixed.example", "w9")


def test_a_partner_call_without_its_key_says_what_to_fill_in(store):
    at = open_page()
    button(at, "Get webhook").click().run()
    assert errors(at) == ["Fill in Partner API key first."]
    assert store.list_requests() == []


def test_a_custom_url_is_kept_and_deleting_the_profile_forgets_it(store):
    at = open_page()
    at.radio(key="cx-mode-p1").set_value("custom").run()
    at.text_input(key="cx-custom-p1").set_value("https://proxy.example/webhook/p1").run()
    assert store.get_setting("connect.webhook_custom.p1") == "https://proxy.example/webhook/p1"
    assert any(c.value == "https://proxy.example/webhook/p1" for c in at.code)
    at.button(key="cx-delete").click().run()
    in_dialog(at, at.button(key="cx-delete"), at.button(key="cx-delete-yes"))
    assert store.get_profile("p1") is None
    assert store.get_setting("connect.webhook_mode.p1") is None
    assert store.get_setting("connect.webhook_custom.p1") is None
    assert any("No profile yet" in i.value for i in at.info)


def test_the_page_shows_what_the_store_holds_and_for_how_long(store, monkeypatch):
    import json as json_module

    from apichat.payloads import parse_bot_message

    body = json_module.dumps({"sender_id": "c1", "conv_id": 1, "text": "hi"}).encode()
    store.accept_webhook(profile="p1", route="/webhook/p1", method="POST", headers={}, body=body,
                         message=parse_bot_message(body))
    monkeypatch.setenv("APICHAT_MESSAGES_RETENTION_DAYS", "90")
    at = open_page()
    table = at.dataframe[-1].value
    held = {row["table"]: row for row in table.to_dict("records")}
    assert held["deliveries"]["rows"] == 1 and held["deliveries"]["kept"] == "30 days"
    assert held["messages"]["kept"] == "90 days" and held["scenario_runs"]["kept"] == "kept"
    assert held["deliveries"]["oldest row"] != "—" and held["deliveries"]["bytes"] == "—"
    at.toggle(key="cx-store-bytes").set_value(True).run()
    held = {row["table"]: row for row in at.dataframe[-1].value.to_dict("records")}
    assert held["deliveries"]["bytes"].endswith("kB")
