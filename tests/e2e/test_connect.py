"""The Connect page in Chromium, against the sandbox: a hand-made profile sets, reads and removes its webhook."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect

from apichat.store import open_store
from tests.conftest import wait_until

TIMEOUT = 20_000


def open_connect(page) -> None:
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_role("heading", name="Connect")).to_be_visible(timeout=TIMEOUT)


def fill(page, label: str, value: str, scope=None) -> None:
    box = (scope or fields(page)).get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")  # commits the value (a rerun) before the next action
    expect(box).to_have_value(value)


def fields(page):
    """The key fields of the profile being edited: the fresh ones only. The fields are new widgets whenever the page
    fills them in (another profile, UChat's answer), and the old ones stay, stale, until that run ends."""
    return page.locator('.st-key-cx-keys [data-testid="stElementContainer"][data-stale="false"]')


def new_profile(page, console, name: str) -> None:
    page.get_by_role("button", name="New profile").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Base URL", exact=True).fill(console.sandbox_url)
    dialog.get_by_text("UChat runs on this machine (local)").click()
    dialog.get_by_role("button", name="Create profile").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=TIMEOUT)
    expect(fields(page).get_by_label("Workspace id", exact=True)).to_have_value("", timeout=TIMEOUT)  # not demo's
    expect(fields(page).get_by_label("Base URL", exact=True)).to_have_value(console.sandbox_url)
    fill(page, "Workspace id", f"ws-{name}")
    fill(page, "Partner API key", "sandbox-partner-key")
    fill(page, "Flow API key", "sandbox-flow-key")


def result(page):
    return page.locator('[data-testid="stAlert"]').last


def test_set_get_remove_webhook_on_a_hand_made_profile(page, console):
    name = f"qa-{secrets.token_hex(3)}"
    store = open_store(console.db_path)
    open_connect(page)
    new_profile(page, console, name)
    expect(fields(page).get_by_label("Partner API key", exact=True)).to_have_attribute("type", "password")
    expect(page.get_by_text(f"{console.receiver_url}/webhook/{name}", exact=True)).to_be_visible()

    page.get_by_role("button", name="Check URL").click()  # the receiver's /healthz through that URL
    expect(result(page)).to_contain_text(f"Reachable. {console.receiver_url}/healthz answers", timeout=TIMEOUT)

    page.get_by_role("button", name="Set webhook").click()
    expect(result(page)).to_contain_text("Webhook set and verified", timeout=TIMEOUT)
    expect(result(page)).to_contain_text(f"{console.sandbox_url}/api/apichat/")
    saved = store.get_profile(name)
    assert (saved["webhook_status"], saved["webhook_url"]) == ("verified", f"{console.receiver_url}/webhook/{name}")
    assert saved["bot_url"].startswith(f"{console.sandbox_url}/api/apichat/") and saved["verify_key"]
    handshake = store.list_deliveries(profile=name, kind="handshake")[0]
    assert handshake["outcome"] == "handshake" and handshake["status_code"] == 200

    page.get_by_role("button", name="Get webhook").click()
    expect(result(page)).to_contain_text("UChat has this webhook", timeout=TIMEOUT)
    expect(result(page)).to_contain_text("verified")

    page.get_by_role("button", name="Remove webhook").click()
    page.get_by_role("button", name="Remove the webhook").click()
    expect(result(page)).to_contain_text("Webhook removed", timeout=TIMEOUT)
    removed = store.get_profile(name)
    assert (removed["webhook_status"], removed["bot_url"]) == ("", "")

    fill(page, "Partner API key", "not-the-partner-key")
    page.get_by_role("button", name="Get webhook").click()
    expect(result(page)).to_contain_text("Get webhook failed", timeout=TIMEOUT)
    expect(result(page)).to_contain_text("UChat answered 401")
    expect(result(page)).to_contain_text("Invalid partner API key")  # the sandbox's message, verbatim

    page.get_by_role("button", name="Use this profile").click()
    sidebar_profile = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Profile")
    expect(sidebar_profile).to_have_value(name, timeout=TIMEOUT)
    expect(page.get_by_role("button", name="In use in the chat")).to_be_disabled()


def test_a_failed_handshake_shows_why_and_a_profile_is_deleted_after_asking(page, console):
    name = f"qa-{secrets.token_hex(3)}"
    store = open_store(console.db_path)
    open_connect(page)
    new_profile(page, console, name)
    page.get_by_text("Custom URL", exact=True).click()
    wrong = f"{console.receiver_url}/webhook/no-such-profile"
    fill(page, "Custom webhook URL", wrong, scope=page)

    page.get_by_role("button", name="Set webhook").click()
    expect(result(page)).to_contain_text("Set webhook failed", timeout=TIMEOUT)
    # the sandbox's 400 message, verbatim, with what the receiver said about the URL
    expect(result(page)).to_contain_text(f"Webhook verification failed: {wrong} answered 404 instead of 200 "
                                         "with the challenge")
    expect(result(page)).to_contain_text("no profile named 'no-such-profile'")
    assert store.get_profile(name)["verify_key"]  # stored before UChat was asked

    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("conversations")
    assert store.get_profile(name) is not None  # nothing deleted before the confirmation
    dialog.get_by_role("button", name="Delete", exact=True).click()
    wait_until(lambda: store.get_profile(name) is None, 10, message="the profile to be deleted")
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=TIMEOUT)
