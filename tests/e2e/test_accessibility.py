"""The console for everyone: axe-core finds nothing serious of ours on any page, in a populated state; the chat
stays usable at 390 px wide and at 200 % zoom."""

from __future__ import annotations

import re
import secrets

import requests
from playwright.sync_api import expect

from apichat.store import Store, open_store
from tests.conftest import ROOT
from tests.e2e.axe import audit, explain
from tests.e2e.chat_helpers import MESSAGE, bot_message_with, new_conversation, send
from tests.e2e.keyboard import post_signed
from tests.e2e.test_scenarios_page import FAILING, pick_file, upload

TIMEOUT = 20_000
SHOTS = ROOT / "test-results"


def persona_id(page) -> str:
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Persona").input_value().split(" · ")[-1]


def quick_replies(console, store: Store, contact: str, conv_id: int, text: str) -> None:
    """A bot reply with quick replies, as UChat delivers one (the demo bot sends none)."""
    profile = store.get_profile("sandbox")
    answer = post_signed(profile["webhook_url"], {
        "sender_id": contact, "conv_id": conv_id, "text": text, "type": "text", "message_type": "outgoing",
        "private": False, "quick_replies": [{"content_type": "text", "title": "Yes please", "payload": "QR_YES"},
                                            {"content_type": "text", "title": "No thanks", "payload": "QR_NO"}]},
        profile["verify_key"])
    assert answer.status_code == 200, answer.text


def test_axe_finds_nothing_serious_of_ours_in_a_chat_with_every_kind_of_message(page, console):
    store = open_store(console.db_path)
    conv_id = new_conversation(page)
    for text in ("hi", "cards", "image", "audio", "video", "file", "agent", "unknown", "links", "xss"):
        send(page, text)
    bot_message_with(page, "Not bold")  # the last of the replies
    quick_replies(console, store, persona_id(page), conv_id, "Anything else?")
    bot_message_with(page, "Anything else?")
    requests.post(f"{console.sandbox_url}/sandbox/faults", json={"fault": "bad_signature", "count": 1},
                  timeout=5).raise_for_status()
    send(page, "help")
    expect(page.get_by_text(re.compile("the receiver refused a webhook"))).to_be_visible(timeout=TIMEOUT)
    good_key = store.get_profile("sandbox")["flow_key"]
    store.save_profile("sandbox", flow_key="wrong-flow-key")
    try:
        send(page, "will this one fail?")
        expect(page.get_by_role("button", name="Retry")).to_be_visible(timeout=TIMEOUT)
    finally:
        store.save_profile("sandbox", flow_key=good_key)

    page.set_viewport_size({"width": 1400, "height": 12_000})  # the whole thread on screen: contrast is measured
    expect(page.locator(MESSAGE).first).to_be_in_viewport()
    expect(page.locator(".acc-card-title").first).to_be_in_viewport()
    ours = audit(page, "chat: every kind of message, a carousel, quick replies, a refused reply, a failed send")
    assert not ours, explain(ours)

    bot_message_with(page, "Anything else?").get_by_role("button", name="{ } JSON").click()
    expect(page.get_by_test_id("stPopoverBody").filter(has_text="QR_NO")).to_be_visible(timeout=TIMEOUT)
    ours = audit(page, "chat: a message's raw JSON open")
    assert not ours, explain(ours)


def test_axe_finds_nothing_serious_of_ours_on_connect_inspector_and_scenarios(page, console):
    store = open_store(console.db_path)
    profile = store.get_profile("sandbox")
    contact = f"axe-{secrets.token_hex(3)}"
    body = {"sender_id": contact, "conv_id": 77, "text": "signed with the wrong key", "type": "text"}
    assert post_signed(profile["webhook_url"], body, "not-the-key").status_code == 401
    rejected = store.list_deliveries(text=contact, limit=1)[0]

    page.set_viewport_size({"width": 1400, "height": 4000})  # everything on screen: contrast is measured
    page.goto(f"{console.url}/connect")
    page.get_by_role("button", name="Check URL").click()
    expect(page.get_by_text(re.compile(r"Reachable\."))).to_be_visible(timeout=TIMEOUT)
    ours = audit(page, "connect: the sandbox profile, Check URL's answer")
    assert not ours, explain(ours)
    page.get_by_role("button", name="New profile").click()
    expect(page.get_by_role("dialog")).to_be_visible(timeout=TIMEOUT)
    ours = audit(page, "connect: the new profile dialog")
    assert not ours, explain(ours)

    page.goto(f"{console.url}/inspector?delivery={rejected['id']}")
    detail = page.locator(".st-key-in-detail")
    expect(detail).to_contain_text(f"Delivery d-{rejected['id']} · rejected", timeout=TIMEOUT)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(detail.get_by_role("tabpanel", name="Body").get_by_test_id("stJson")).to_contain_text("the wrong key")
    ours = audit(page, "inspector: deliveries and requests, a rejected one open")
    assert not ours, explain(ours)
    detail.get_by_role("tab", name="curl").click()
    expect(detail.get_by_test_id("stCode")).to_contain_text("curl")
    ours = audit(page, "inspector: a rejected delivery's curl")
    assert not ours, explain(ours)

    page.goto(f"{console.url}/scenarios")
    page.wait_for_selector('[data-testid="stFileUploader"]', timeout=30_000)
    pick_file(page, "scenarios/agent_handover.yaml")
    upload(page, [("failing.yaml", FAILING)])
    page.get_by_role("button", name="Run 2 scenarios").click()
    expect(page.get_by_text("1 of 2 scenario(s) passed, 1 did not.")).to_be_visible(timeout=60_000)
    expect(page.locator(".scn-diff").first).to_be_visible()
    ours = audit(page, "scenarios: a run, one scenario failing with expected beside arrived")
    assert not ours, explain(ours)
    for tab, shown in (("History", "stDataFrame"), ("Record from a conversation", "stCode")):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tabpanel").get_by_test_id(shown)).to_be_visible(timeout=TIMEOUT)
        ours = audit(page, f"scenarios: {tab}")
        assert not ours, explain(ours)


# Every part of every message on screen: inside the viewport's width, and none on top of another. The
# carousel's own cards are left out: its row is clipped on purpose and scrolls sideways (checked apart).
_LAYOUT = """() => {
  const width = document.documentElement.clientWidth, problems = [];
  const name = e => (e.innerText || e.getAttribute("data-testid") || e.tagName).trim().slice(0, 40);
  for (const message of document.querySelectorAll('[data-testid="stChatMessage"]')) {
    const parts = [...message.querySelectorAll('[data-testid="stElementContainer"]')]
      .filter(e => !e.parentElement.closest('[class*="st-key-cards-"]'))
      .map(e => [e, e.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && r.height > 0);
    for (const [e, r] of parts)
      if (r.left < -1 || r.right > width + 1) problems.push(`${name(e)} is cut at the side (${r.left}-${r.right})`);
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
      const [a, ra] = parts[i], [b, rb] = parts[j];
      if (a.contains(b) || b.contains(a)) continue;
      const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (x > 1 && y > 1) problems.push(`${name(a)} overlaps ${name(b)}`);
    }
  }
  const main = document.querySelector('[data-testid="stAppScrollToBottomContainer"]');
  if (main.scrollWidth > main.clientWidth + 1) problems.push(`the page scrolls sideways (${main.scrollWidth}px)`);
  return problems;
}"""


def test_the_chat_stays_usable_at_390px_wide_and_at_200_percent_zoom(page, console):
    """390 CSS px is a phone; 200 % zoom of a 1280 x 800 window lays out as a 640 x 400 CSS px viewport."""
    new_conversation(page)
    for text in ("hi", "cards", "more", "agent"):
        send(page, text)
    greeting, carousel = bot_message_with(page, "I'm Bean"), bot_message_with(page, "Travel Mug")
    menu = bot_message_with(page, "A few more things a bot can do")
    bot_message_with(page, "Maya from the Northwind team")
    SHOTS.mkdir(exist_ok=True)
    for label, size in (("390px", {"width": 390, "height": 844}), ("zoom-200", {"width": 640, "height": 400})):
        page.set_viewport_size(size)
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true", timeout=TIMEOUT)
        problems = page.evaluate(_LAYOUT)
        assert not problems, f"{label}: {problems}"

        buttons = menu.locator('[class*="st-key-btns-"]').get_by_role("button")
        expect(buttons).to_have_count(8)
        tops = {round(buttons.nth(i).bounding_box()["y"]) for i in range(8)}
        assert len(tops) > 1, f"{label}: the eight buttons of the menu stay on one line"  # they wrap, in view

        row = carousel.locator('[class*="st-key-cards-"]')
        assert row.evaluate("e => e.scrollWidth > e.clientWidth + 100"), f"{label}: the carousel does not overflow"
        last = carousel.get_by_role("button", name="Tell me more").last
        last.scroll_into_view_if_needed()  # what a Tab to it does: the row scrolls sideways, the page does not
        assert row.evaluate("e => e.scrollLeft") > 100, f"{label}: the carousel does not scroll sideways"
        expect(last).to_be_in_viewport()
        assert not page.evaluate(_LAYOUT), f"{label} after scrolling the carousel"
        page.screenshot(path=str(SHOTS / f"chat-{label}-carousel.png"))  # for a person to look at
        row.evaluate("e => e.scrollTo(0, 0)")
        greeting.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"chat-{label}-greeting.png"))
