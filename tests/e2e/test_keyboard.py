"""The console from the keyboard only, in Chromium: no test here touches the mouse. Every element is reached
with Tab (or Shift+Tab) as a person would, its focus must be visible, and Enter or Space acts on it."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect

from apichat.store import Store
from tests.e2e.keyboard import tab_to
from tests.e2e.test_connect import TIMEOUT, fields, result


def settled_keys(page):
    """Wait until the key fields are drawn once, fresh (after a profile was created or picked)."""
    expect(page.locator('.st-key-cx-keys [data-stale="true"]')).to_have_count(0, timeout=TIMEOUT)


def type_over(page, text: str) -> None:
    """Replace what the focused field holds with `text`, typed key by key."""
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_keys_typed_then_left_with_tab_reach_uchat_on_a_new_profile(browser, console):
    """The issue's case: on a new browser profile, type the Partner API key, Tab on (through the field's reveal
    button), then Set webhook. The keys must be the ones sent, not 'Fill in Partner API key first.'"""
    name = f"kb-{secrets.token_hex(3)}"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{console.url}/connect")
        expect(page.get_by_role("heading", name="Connect")).to_be_visible(timeout=60_000)

        tab_to(page, page.get_by_role("button", name="New profile"))
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        tab_to(page, dialog.get_by_label("Name", exact=True))
        page.keyboard.type(name)
        tab_to(page, dialog.get_by_label("Base URL", exact=True))
        type_over(page, console.sandbox_url)
        tab_to(page, dialog.get_by_role("checkbox", name="UChat runs on this machine (local)"))
        page.keyboard.press("Space")
        tab_to(page, dialog.get_by_role("button", name="Create profile"))
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog")).to_have_count(0, timeout=TIMEOUT)
        expect(fields(page).get_by_label("Base URL", exact=True)).to_have_value(console.sandbox_url, timeout=TIMEOUT)
        settled_keys(page)

        for label, value in (("Workspace id", f"ws-{name}"), ("Partner API key", "sandbox-partner-key"),
                             ("Flow API key", "sandbox-flow-key")):
            tab_to(page, fields(page).get_by_label(label, exact=True))
            page.keyboard.type(value)
            page.keyboard.press("Tab")  # on, to the field's reveal button or help: nothing commits the value yet
        tab_to(page, page.get_by_role("button", name="Set webhook"))
        page.keyboard.press("Enter")

        expect(result(page)).to_contain_text("Webhook set and verified", timeout=TIMEOUT)
        saved = Store(console.db_path).get_profile(name)
        assert (saved["workspace_id"], saved["partner_key"], saved["flow_key"]) == (
            f"ws-{name}", "sandbox-partner-key", "sandbox-flow-key")
        assert saved["webhook_status"] == "verified" and saved["bot_url"]
        expect(fields(page).get_by_label("bot_url", exact=True)).to_have_value(saved["bot_url"], timeout=TIMEOUT)
        expect(fields(page).get_by_label("Partner API key", exact=True)).to_have_attribute("type", "password")
    finally:
        context.close()


def test_a_key_typed_over_then_left_with_tab_reaches_uchat_on_an_existing_profile(page, console):
    """A profile saved with a wrong partner key, in a browser that has used the console already: the right key,
    typed over the old one and left with Tab, is the one Set webhook stores and sends."""
    name = f"kb-{secrets.token_hex(3)}"
    store = Store(console.db_path)
    store.save_profile(name, base_url=console.sandbox_url, workspace_id=f"ws-{name}", partner_key="an-old-key",
                       flow_key="sandbox-flow-key", verify_key="kb-verification-key")
    store.set_setting(f"connect.webhook_mode.{name}", "local")
    page.goto(f"{console.url}/connect")
    expect(page.get_by_role("heading", name="Connect")).to_be_visible(timeout=TIMEOUT)

    tab_to(page, page.get_by_role("combobox", name="Profile").last)  # the page's, after the sidebar's
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    expect(fields(page).get_by_label("Workspace id", exact=True)).to_have_value(f"ws-{name}", timeout=TIMEOUT)
    settled_keys(page)
    tab_to(page, fields(page).get_by_label("Partner API key", exact=True))
    type_over(page, "sandbox-partner-key")
    page.keyboard.press("Tab")
    tab_to(page, page.get_by_role("button", name="Set webhook"))
    page.keyboard.press("Enter")

    expect(result(page)).to_contain_text("Webhook set and verified", timeout=TIMEOUT)
    saved = store.get_profile(name)
    assert saved["partner_key"] == "sandbox-partner-key" and saved["webhook_status"] == "verified"
    assert saved["verify_key"] == "kb-verification-key"  # the stored key went with the call, unchanged
