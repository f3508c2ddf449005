"""The console from the keyboard only, in Chromium: no test here touches the mouse. Every element is reached
with Tab (or Shift+Tab) as a person would, its focus must be visible, and Enter or Space acts on it."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from apichat.store import open_store
from tests.conftest import wait_until
from tests.e2e.chat_helpers import MESSAGE, bot_message_with, conversation_id
from tests.e2e.keyboard import composer, expect_focus, post_signed, tab_to, type_and_send
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
        saved = open_store(console.db_path).get_profile(name)
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
    store = open_store(console.db_path)
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


# ---------------------------------------------------------------- the chat

def new_conversation_by_keyboard(page) -> int:
    """Tab to the sidebar's New conversation, press Enter, and wait for the empty thread; then Tab on to the
    message box. Returns the new conversation_id."""
    before = conversation_id(page)
    if page.locator(MESSAGE).count():
        tab_to(page, page.get_by_test_id("stSidebar").get_by_role("button", name="New conversation"))
        page.keyboard.press("Enter")
        expect(page.get_by_text(re.compile(rf"conversation_id\s+(?!{before}\b)\d+"))).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(MESSAGE)).to_have_count(0, timeout=TIMEOUT)
    tab_to(page, composer(page))
    return conversation_id(page)


def announced(page) -> list[str]:
    """What the page's live region has read out, oldest first."""
    return page.locator("#acc-live p").all_inner_texts()


def test_chat_from_the_keyboard_send_buttons_cards_quick_replies_and_raw_json(page, console):
    store = open_store(console.db_path)
    profile = store.get_profile("sandbox")
    conv_id = new_conversation_by_keyboard(page)
    contact = store.get_setting("persona")

    type_and_send(page, "hi")
    expect_focus(page, composer(page))  # still in the message box, ready for the next message
    greeting = bot_message_with(page, "I'm Bean")

    tab_to(page, greeting.get_by_role("button", name="☕ Products"), back=True)  # up from the message box
    page.keyboard.press("Enter")
    expect(page.locator(".acc-postback", has_text="Products")).to_be_visible(timeout=TIMEOUT)
    expect_focus(page, composer(page))  # after sending, the focus is back in the message box

    carousel = bot_message_with(page, "Travel Mug")
    second_card = carousel.locator('[class*="st-key-card-"]').nth(1)
    expect(second_card).to_contain_text("Cold Brew Kit")
    tab_to(page, second_card.get_by_role("button", name="Add to cart"), back=True)
    page.keyboard.press("Space")
    bot_message_with(page, "Added 1 × Cold Brew Kit")
    expect_focus(page, composer(page))

    # a reply with quick replies, as UChat delivers one: signed with the profile's key, to the receiver
    answer = post_signed(profile["webhook_url"], {
        "sender_id": contact, "conv_id": conv_id, "text": "Was that what you wanted?", "type": "text",
        "message_type": "outgoing", "private": False,
        "quick_replies": [{"content_type": "text", "title": "Yes please", "payload": "QR_YES"},
                          {"content_type": "text", "title": "No thanks", "payload": "QR_NO"}]}, profile["verify_key"])
    assert answer.status_code == 200, answer.text
    question = bot_message_with(page, "Was that what you wanted?")
    tab_to(page, question.get_by_role("button", name="Yes please"), back=True)
    page.keyboard.press("Enter")
    wait_until(lambda: any(r["body"].get("submitted_values") == [{"title": "Yes please", "payload": "QR_YES"}]
                           for r in console.received()), 15, message="the quick reply at the bot")
    expect_focus(page, composer(page))

    raw = question.get_by_role("button", name="{ } JSON")
    tab_to(page, raw, back=True)
    page.keyboard.press("Enter")
    shown = page.get_by_test_id("stPopoverBody").filter(has_text="QR_NO")
    expect(shown).to_be_visible(timeout=TIMEOUT)  # the raw body, quick replies and all
    page.keyboard.press("Escape")
    expect(shown).to_have_count(0, timeout=TIMEOUT)

    # a screen reader heard each new message once, with who said it
    wait_until(lambda: any(line.startswith("agent") or "Was that what you wanted?" in line
                           for line in announced(page)), 10, message="the last reply announced")
    lines = announced(page)
    expected = ["you: hi", "bot: Hi ", "you: pressed ☕ Products", "bot: Here are this week's bestsellers ☕ "
                "Carousel of 3 cards", "you: pressed Add to cart", "bot: Added 1 × Cold Brew Kit",
                "bot: Was that what you wanted? Quick replies: Yes please, No thanks.", "you: pressed Yes please"]
    for start in expected:
        assert sum(line.startswith(start) for line in lines) == 1, (start, lines)


def test_chat_from_the_keyboard_retry_a_failed_send_switch_persona_and_conversation(page, console):
    store = open_store(console.db_path)
    sidebar = page.get_by_test_id("stSidebar")
    contact = store.get_setting("persona")
    earlier = new_conversation_by_keyboard(page)
    type_and_send(page, "kb earlier")
    bot_message_with(page, "kb earlier")  # the demo bot's echo
    new_conversation_by_keyboard(page)

    good_key = store.get_profile("sandbox")["flow_key"]
    store.save_profile("sandbox", flow_key="wrong-flow-key")
    try:
        type_and_send(page, "are you there?")
        expect(page.get_by_text(re.compile(r"failed: UChat answered 401"))).to_be_visible(timeout=TIMEOUT)
    finally:
        store.save_profile("sandbox", flow_key=good_key)
    wait_until(lambda: [line for line in announced(page) if line.startswith("Your message was not sent: UChat "
                                                                             "answered 401")], 10,
               message="the failure announced")
    tab_to(page, page.get_by_role("button", name="Retry"), back=True)
    page.keyboard.press("Enter")
    bot_message_with(page, "are you there?")
    expect(page.get_by_text(re.compile("failed: UChat"))).to_have_count(0, timeout=TIMEOUT)
    expect(page.get_by_text("sent ✓").last).to_be_visible()  # the state in words, not only a colour
    expect_focus(page, composer(page))

    # a new persona, from the sidebar's dialog
    tab_to(page, sidebar.get_by_role("button", name="New", exact=True))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    tab_to(page, dialog.get_by_role("textbox", name="Name"))
    page.keyboard.type("Kim Keyboard")
    tab_to(page, dialog.get_by_role("button", name="Save persona"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Chat as Kim Keyboard")).to_be_visible(timeout=TIMEOUT)

    # back to the first persona, by typing in the Persona box
    tab_to(page, sidebar.get_by_role("combobox", name="Persona"))
    page.keyboard.type(contact)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(rf"contact {re.escape(contact)} · conversation_id"))).to_be_visible(
        timeout=TIMEOUT)

    # and to the earlier conversation, from the sidebar's list
    tab_to(page, sidebar.get_by_role("button", name=re.compile(rf"^#{earlier} —")))
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(rf"conversation_id\s+{earlier}\b"))).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(MESSAGE).filter(has_text="kb earlier").first).to_be_visible(timeout=TIMEOUT)



# ---------------------------------------------------------------- the inspector and scenarios

def test_inspector_from_the_keyboard_pick_a_rejected_delivery_and_replay_it(page, console):
    store = open_store(console.db_path)
    profile = store.get_profile("sandbox")
    contact = f"kb-{secrets.token_hex(3)}"
    body = {"sender_id": contact, "conv_id": 4242, "text": "Signed with a key that is no longer the profile's",
            "type": "text", "message_type": "outgoing", "private": False}
    assert post_signed(profile["webhook_url"], body, "an-old-verification-key").status_code == 401
    rejected = store.list_deliveries(text=contact, limit=5)[0]
    assert rejected["outcome"] == "rejected"

    page.goto(f"{console.url}/inspector")
    expect(page.get_by_role("heading", name="Inspector")).to_be_visible(timeout=TIMEOUT)
    tab_to(page, page.get_by_role("textbox", name="Search", exact=True))
    page.keyboard.type(contact)
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 shown")).to_be_visible(timeout=TIMEOUT)
    # the grid draws its focused cell on its canvas (a blue frame), where styles cannot see it
    tab_to(page, page.get_by_test_id("stDataFrame").get_by_test_id("data-grid-canvas"), visible=False)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+Space")
    detail = page.locator(".st-key-in-detail")
    expect(detail).to_contain_text(f"Delivery d-{rejected['id']} · rejected", timeout=TIMEOUT)
    expect(detail).to_contain_text("Wrong verification key")

    tab_to(page, detail.get_by_role("button", name="Replay"))
    page.keyboard.press("Enter")
    expect(detail).to_contain_text("Replayed: accepted", timeout=TIMEOUT)  # re-signed with the current key
    accepted = [d for d in store.list_deliveries(text=contact, limit=5) if d["outcome"] == "accepted"]
    assert len(accepted) == 1 and bytes(accepted[0]["body"]) == bytes(rejected["body"])


def test_a_scenario_runs_from_the_keyboard(page, console):
    page.goto(f"{console.url}/scenarios")
    expect(page.get_by_role("heading", name="Scenarios")).to_be_visible(timeout=TIMEOUT)
    tab_to(page, page.get_by_role("combobox", name="Scenario files"))
    page.keyboard.type("agent_handover")
    expect(page.get_by_role("option", name="scenarios/agent_handover.yaml")).to_be_visible(timeout=TIMEOUT)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stMultiSelect")).to_contain_text("scenarios/agent_handover.yaml")
    tab_to(page, page.get_by_role("button", name="Run 1 scenario"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 of 1 scenario(s) passed.")).to_be_visible(timeout=60_000)
    run = page.locator('[class*="st-key-scn-run-"]').filter(has_text="Agent handover with a private note")
    expect(run).to_contain_text("Step 2")
