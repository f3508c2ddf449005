"""The Inspector in Chromium: a badly signed reply is shown as rejected with why (and never in the chat),
replay makes a duplicate rather than a second message, and the curl of a request never holds the key."""

from __future__ import annotations

import json
import re
import secrets

import requests
from playwright.sync_api import expect

from apichat.store import Store, open_store
from tests.conftest import wait_until
from tests.e2e.chat_helpers import new_conversation, send
from tests.e2e.conftest import idle

TIMEOUT = 20_000


def sandbox_profile(store: Store) -> dict:
    return wait_until(lambda: (p := store.get_profile("sandbox")) and p["bot_url"] and p, 30,
                      message="the sandbox profile to be connected")


def open_inspector(page) -> None:
    page.get_by_role("link", name="Inspector").click()
    expect(page.get_by_role("heading", name="Inspector")).to_be_visible(timeout=TIMEOUT)


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def search(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Search", exact=True)
    box.fill(text)
    box.press("Enter")


def table(page):
    return page.get_by_test_id("stDataFrame")


def cells(page, text: str):
    """The table's cells whose whole text is `text` (the grid keeps an accessible copy of what it draws)."""
    return table(page).locator('[role="gridcell"]').filter(has_text=re.compile(f"^{re.escape(text)}$"))


def table_key(page) -> str | None:
    """The key of the table on screen (in-table-N: the page draws a new N whenever its rows are fetched anew)."""
    return page.evaluate("""() => {
        const shown = document.querySelector('[class*="st-key-in-table-"]');
        return shown && [...shown.classList].find(name => name.startsWith('st-key-in-table-'));
    }""")


def filtered(page, change) -> None:
    """Change one filter and wait until the table drawn for it is on screen.

    A filter change makes the page fetch the rows anew and draw them as a new table (a new key). Until that
    table arrives the browser shows the previous one, which may show the very row the test wants: a row
    clicked there is a selection in a table the next run no longer has, and Streamlit drops it.
    """
    before = table_key(page)
    change()
    wait_until(lambda: table_key(page) != before, TIMEOUT / 1000, message=f"a new table after {before}")


def open_detail(page, key: str, title: str):
    """Click the first row once the table shows `key` (d-…/r-…) there; its detail pane, once the run that drew it
    has ended (until then the pane of the entry picked before can still be on screen, stale, beside it)."""
    expect(table(page).locator('[role="gridcell"]').first).to_have_text(key, timeout=TIMEOUT)
    idle(page)  # the run that drew this table has ended: the click is the next thing the server hears
    table(page).click(position={"x": 15, "y": 35 + 17})  # the row marker of the first row
    detail = page.locator(".st-key-in-detail").filter(has_text=title)
    expect(detail).to_be_visible(timeout=TIMEOUT)
    idle(page)
    expect(page.locator(".st-key-in-detail")).to_have_count(1)
    return detail


def bubbles(page, text: str):
    """The chat's messages that contain `text` (the thread, not the sidebar's previews)."""
    return page.get_by_test_id("stChatMessage").filter(has_text=text)


def deliveries_for(store: Store, contact: str) -> list[dict]:
    return [d for d in store.list_deliveries(text=contact, limit=50) if contact in bytes(d["body"] or b"").decode()]


def test_a_badly_signed_reply_is_rejected_with_why_and_never_reaches_the_chat(page, console):
    store = open_store(console.db_path)
    sandbox_profile(store)
    contact = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Persona").input_value().split(" · ")[-1]
    first_id = max([0, *(d["id"] for d in store.list_deliveries(limit=1))])
    greeting, helping = "I'm Bean, the assistant of Northwind Coffee", "Here's everything I can do"

    def stored(outcome: str, text: str, count: int) -> list[dict]:
        return wait_until(lambda: len(found := [
            d for d in deliveries_for(store, contact) if d["id"] > first_id and d["outcome"] == outcome
            and text.encode() in bytes(d["body"])]) == count and found, 20, message=f"{count} {outcome} {text!r}")

    conv_id = new_conversation(page)  # an empty thread, whatever earlier tests did
    send(page, "hi")  # a new contact is greeted first: get that out of the way
    stored("accepted", greeting, 1)
    requests.post(f"{console.sandbox_url}/sandbox/faults", json={"fault": "bad_signature", "count": 1},
                  timeout=5).raise_for_status()
    send(page, "help")
    rejected = stored("rejected", helping, 1)
    assert rejected[0]["message_id"] is None and rejected[0]["status_code"] == 401
    send(page, "hi")  # the fault is used up: this reply is signed right and arrives after the rejected one
    stored("accepted", greeting, 2)
    expect(bubbles(page, greeting)).to_have_count(2, timeout=TIMEOUT)
    expect(bubbles(page, helping)).to_have_count(0)  # the rejected reply is not in the chat

    open_inspector(page)
    filtered(page, lambda: choose(page, "Outcome", "rejected"))
    filtered(page, lambda: search(page, f'"sender_id":"{contact}","conv_id":{conv_id},'))  # this conversation only
    expect(page.get_by_text("1 shown")).to_be_visible(timeout=TIMEOUT)
    expect(cells(page, "rejected")).to_have_count(1)
    detail = open_detail(page, f"d-{rejected[0]['id']}", f"Delivery d-{rejected[0]['id']} · rejected")
    expect(detail).to_contain_text("Wrong verification key")
    expect(detail).to_contain_text("wrong key or body altered after signing")  # the receiver's reason
    expect(detail).to_contain_text("What to do")
    expect(detail).to_contain_text("never reach the chat")

    # the request the chat sent, with its key left as a placeholder in the curl
    filtered(page, lambda: choose(page, "Outcome", "sent"))
    filtered(page, lambda: search(page, contact))
    sent = store.list_requests(text=contact)[0]
    assert sent["target"] == "bot" and sent["status"] == 200
    detail = open_detail(page, f"r-{sent['id']}", f"Request r-{sent['id']} · bot_url")
    expect(cells(page, "⬆ bot_url").first).to_be_attached()
    detail.get_by_role("tab", name="curl").click()
    curl = detail.get_by_test_id("stCode")
    expect(curl).to_contain_text("Authorization: Bearer $UCHAT_FLOW_KEY")
    expect(curl).to_contain_text(contact)
    expect(curl).not_to_contain_text("sandbox-flow-key")


def test_replay_turns_an_accepted_delivery_into_a_duplicate_not_a_second_message(page, console):
    store = open_store(console.db_path)
    profile = sandbox_profile(store)
    contact = f"qa-replay-{secrets.token_hex(3)}"
    body = {"content": "help", "message_type": "incoming", "event": "message_created", "conversation_id": 7,
            "sender": {"id": contact, "name": "QA", "email": "", "phone_number": "", "type": "contact"}}
    requests.post(profile["bot_url"], data=json.dumps(body), timeout=5, headers={
        "Authorization": "Bearer sandbox-flow-key", "Content-Type": "application/json"}).raise_for_status()
    accepted = wait_until(lambda: [d for d in deliveries_for(store, contact) if d["outcome"] == "accepted"
                                   and b"Here's everything I can do" in bytes(d["body"])], 20,
                          message="the bot's help to be accepted")[0]  # a first contact is greeted before it
    conversation = store.get_message(accepted["message_id"])["conversation"]
    before = store.count_messages(conversation)

    page.goto(f"{console.url}/inspector?delivery={accepted['id']}")  # a link straight to one delivery
    detail = page.locator(".st-key-in-detail")
    expect(detail).to_contain_text(f"Delivery d-{accepted['id']} · accepted", timeout=TIMEOUT)
    expect(detail).to_contain_text(f"Became message #{accepted['message_id']}")
    detail.get_by_role("button", name="Replay").click()
    expect(detail).to_contain_text("Replayed: duplicate", timeout=TIMEOUT)

    duplicate = [d for d in deliveries_for(store, contact) if d["outcome"] == "duplicate"]
    assert len(duplicate) == 1 and duplicate[0]["message_id"] == accepted["message_id"]
    assert bytes(duplicate[0]["body"]) == bytes(accepted["body"])
    assert store.count_messages(conversation) == before
    expect(detail).to_contain_text(f"stored as delivery d-{duplicate[0]['id']}")
    expect(cells(page, f"d-{duplicate[0]['id']}")).to_have_count(1, timeout=TIMEOUT)  # the table updates live

    detail.get_by_role("button", name="Open in chat").click()
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=TIMEOUT)
    expect(bubbles(page, "Here's everything I can do")).to_have_count(1, timeout=TIMEOUT)  # shown once
