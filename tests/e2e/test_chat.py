"""The chat console in Chromium, against the embedded sandbox, started as a user starts it."""

from __future__ import annotations

import re
import struct
import zlib

import requests
from playwright.sync_api import expect

from tests.conftest import wait_until
from tests.e2e.chat_helpers import MESSAGE, bot_message_with, conversation_id, new_conversation, send


def bodies(console, since: int = 0) -> list[dict]:
    return [entry["body"] for entry in console.received()[since:]]


def test_first_screen_is_a_working_chat(page, console):
    expect(page.get_by_text("webhook verified")).to_be_visible()
    new_conversation(page)
    before = len(console.received())
    send(page, "hi")
    reply = bot_message_with(page, "I'm Bean")
    conv = conversation_id(page)
    expect(reply.get_by_role("button", name=re.compile("Products"))).to_be_visible()
    expect(page.get_by_text("sent ✓").first).to_be_visible()
    expect(reply.get_by_text(re.compile(r"\+\d+\.\d s after your message"))).to_be_visible()
    sent = bodies(console, before)[-1]
    assert sent["content"] == "hi" and sent["event"] == "message_created"
    assert sent["conversation_id"] == conv and isinstance(sent["conversation_id"], int)
    assert sent["sender"]["type"] == "contact" and sent["message_type"] == "incoming"


def test_clicking_a_button_sends_the_postback_and_shows_the_answer(page, console):
    new_conversation(page)
    send(page, "menu")
    greeting = bot_message_with(page, "I'm Bean")
    button = greeting.get_by_role("button", name=re.compile("Products"))
    title = button.inner_text().strip()
    before = len(console.received())
    button.click()
    wait_until(lambda: any(b["event"] == "message_postback" for b in bodies(console, before)),
               15, message="the postback at the sandbox")
    postback = next(b for b in bodies(console, before) if b["event"] == "message_postback")
    assert postback["content"] == title
    assert postback["submitted_values"] == [{"title": title, "payload": "MENU_PRODUCTS"}]
    bot_message_with(page, "Espresso Blend")
    assert [b["event"] for b in bodies(console, before)].count("message_postback") == 1  # one click, one postback
    # The click shows as the contact's own message, once, as in the contact's chat. While a full run is drawing,
    # Streamlit keeps the previous run's elements until it has drawn past them, so for a moment the bubble can be
    # there twice (the earlier copy faded); the page settles on one.
    own = page.locator(".acc-postback", has_text="Products")
    expect(own).to_have_count(1)
    expect(own).to_be_visible()


def test_carousel_renders_bordered_cards_with_images(page, console):
    new_conversation(page)
    send(page, "cards")
    message = bot_message_with(page, "Travel Mug")
    row = message.locator('[class*="st-key-cards-"]').first
    cards = row.locator('[data-testid="stVerticalBlockBorderWrapper"], [class*="st-key-card-"]')
    expect(row.locator('[class*="st-key-card-"]')).to_have_count(3)
    images = row.locator("img.acc-card-img")
    expect(images).to_have_count(3)
    wait_until(lambda: images.evaluate_all("els => els.every(e => e.complete && e.naturalWidth > 0)"), 15,
               message="card images to load")
    assert row.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert cards.count() >= 3
    expect(message.get_by_role("button", name="Add to cart")).to_have_count(3)
    expect(message.locator('a[href^="https://"]').first).to_be_visible()

    send(page, "square cards")
    square = page.locator('[class*="st-key-cards-sq-"] img.acc-card-img').first
    expect(square).to_be_visible(timeout=15_000)
    box = square.bounding_box()
    assert abs(box["width"] - box["height"]) <= 2, box


def test_image_audio_video_and_file_render_and_load(page, console):
    new_conversation(page)
    for command in ("image", "audio", "video", "file"):
        send(page, command)
    image = page.get_by_test_id("stImage").locator("img").last
    expect(image).to_be_visible(timeout=20_000)
    wait_until(lambda: image.evaluate("e => e.complete && e.naturalWidth > 0"), 15, message="image to load")
    audio = page.get_by_test_id("stAudio").last
    expect(audio).to_be_attached(timeout=20_000)
    wait_until(lambda: audio.evaluate("e => e.readyState >= 1 && e.duration > 0"), 15,
               message="audio metadata (playable)")
    video = page.get_by_test_id("stVideo").last
    expect(video).to_be_attached(timeout=20_000)
    wait_until(lambda: video.evaluate("e => e.readyState >= 1 && e.videoWidth > 0"), 15,
               message="video metadata (playable)")
    link = page.locator(".acc-file a[download]").last
    expect(link).to_be_visible(timeout=20_000)
    answer = requests.get(link.get_attribute("href"), timeout=5)
    assert answer.status_code == 200 and answer.content[:4] == b"%PDF"


def _png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_an_uploaded_file_reaches_the_bot_as_a_url_serving_the_same_bytes(page, console, tmp_path):
    new_conversation(page)
    picture = tmp_path / "red pixel.png"
    picture.write_bytes(_png())
    before = len(console.received())
    page.get_by_test_id("stChatInput").locator('input[type="file"]').set_input_files(str(picture))
    expect(page.get_by_test_id("stChatInput").get_by_text("red pixel.png")).to_be_visible(timeout=10_000)
    page.get_by_test_id("stChatInputSubmitButton").click()
    wait_until(lambda: any(b.get("attachments") for b in bodies(console, before)), 15,
               message="the attachment at the sandbox")
    sent = next(b for b in bodies(console, before) if b.get("attachments"))
    attachment = sent["attachments"][0]
    assert attachment["file_type"] == "image" and sent["content"] == ""
    assert attachment["data_url"].startswith(console.receiver_url + "/media/")
    served = requests.get(attachment["data_url"], timeout=5)
    assert served.status_code == 200 and served.content == picture.read_bytes()
    assert served.headers["Content-Type"] == "image/png"
    # the demo bot echoes the picture back, and the page shows it
    wait_until(lambda: page.get_by_test_id("stImage").count() >= 2, 15, message="sent and echoed image")


def test_bot_html_script_and_javascript_links_stay_inert(page, console):
    new_conversation(page)
    send(page, "xss")
    message = bot_message_with(page, "<script>")
    expect(message.get_by_text(re.compile(r"onerror"))).to_be_visible()
    assert page.locator(f'{MESSAGE} a[href^="javascript:" i]').count() == 0
    assert page.locator(f"{MESSAGE} script").count() == 0
    assert page.locator(f"{MESSAGE} img[onerror]").count() == 0
    expect(page.locator(".acc-blocked").first).to_be_visible()
    # an onerror handler runs in the task that marks its image failed: once every image in every frame is complete,
    # a planted handler has had its chance; the canary shows that a dialog raised here does get recorded
    with page.expect_event("dialog"):
        page.evaluate("() => { const img = new Image(); img.onerror = () => alert('canary'); img.src = 'data:,x'; }")
    for frame in page.frames:
        frame.wait_for_function("() => [...document.images].every(img => img.complete)")
    assert page.dialogs == ["canary"]


def test_a_failed_send_shows_uchat_error_and_retry_sends_it(page, console):
    from apichat.store import open_store

    new_conversation(page)
    store = open_store(console.db_path)
    good_key = store.get_profile("sandbox")["flow_key"]
    store.save_profile("sandbox", flow_key="wrong-flow-key")
    try:
        send(page, "are you there?")
        expect(page.get_by_text(re.compile(r"failed: UChat answered 401"))).to_be_visible(timeout=15_000)
        retry = page.get_by_role("button", name="Retry")
        expect(retry).to_be_visible()
    finally:
        store.save_profile("sandbox", flow_key=good_key)
    retry.click()
    bot_message_with(page, "are you there?")  # the demo bot's echo
    expect(page.get_by_text(re.compile("failed: UChat"))).to_have_count(0, timeout=15_000)


def test_demo_mode_hides_debugging_affordances(page, console):
    new_conversation(page)
    send(page, "hi")
    reply = bot_message_with(page, "I'm Bean")
    expect(page.get_by_text("sent ✓").first).to_be_visible()
    expect(reply.get_by_role("button", name="{ } JSON", exact=True)).to_be_visible()  # the raw JSON behind each message
    page.get_by_text("Demo mode").click()
    expect(page.get_by_text("sent ✓")).to_have_count(0, timeout=10_000)
    expect(page.get_by_role("button", name="{ } JSON", exact=True)).to_have_count(0)
    expect(bot_message_with(page, "I'm Bean")).to_be_visible()
    page.get_by_text("Demo mode").click()
    expect(page.get_by_text("sent ✓").first).to_be_visible(timeout=10_000)
    expect(reply.get_by_role("button", name="{ } JSON", exact=True)).to_be_visible()


def test_a_new_persona_keeps_the_contact_id_typed_in(page, console):
    page.get_by_test_id("stSidebar").get_by_role("button", name="New", exact=True).click()
    dialog = page.get_by_role("dialog")
    contact_id = dialog.get_by_role("textbox", name="Contact id (sender.id)")
    expect(contact_id).to_have_value(re.compile(r"^tester-[0-9a-f]{6}$"))
    suggested = contact_id.input_value()
    dialog.get_by_role("textbox", name="Name").fill("Quinn")  # a redraw of the dialog must not change the suggestion
    expect(contact_id).to_have_value(suggested)
    contact_id.fill("qa-custom-42")
    dialog.get_by_role("button", name="Save persona").click()
    expect(page.get_by_text(re.compile(r"contact qa-custom-42 · conversation_id"))).to_be_visible(timeout=15_000)
    # the new contact's thread is empty: wait for the previous contact's messages to go (the caption can change
    # a moment before the thread does), or send() counts an old "hi" as the one before its own
    expect(page.locator(MESSAGE)).to_have_count(0, timeout=15_000)
    send(page, "hi")
    bot_message_with(page, "Hi Quinn!")
    assert console.received()[-1]["body"]["sender"]["id"] == "qa-custom-42"


def test_a_refused_reply_is_said_while_waiting(page, console):
    new_conversation(page)
    requests.post(f"{console.sandbox_url}/sandbox/faults", json={"fault": "bad_signature", "count": 1},
                  timeout=5).raise_for_status()
    send(page, "hi")
    warning = page.get_by_text(re.compile(r"the receiver refused a webhook for this profile: 401"))
    expect(warning).to_be_visible(timeout=15_000)
    expect(page.get_by_text(re.compile(r"waiting for the bot… \d+ s"))).to_be_visible()
    assert page.locator(MESSAGE).filter(has_text="I'm Bean").count() == 0


def test_demo_mode_hides_private_notes_and_the_debugging_header(page, console):
    new_conversation(page)
    send(page, "agent")
    expect(page.get_by_text("Private note · not seen by the contact")).to_be_visible(timeout=15_000)
    bot_message_with(page, "Maya")
    page.get_by_text("Demo mode").click()
    expect(page.get_by_text("Private note · not seen by the contact")).to_have_count(0, timeout=10_000)
    expect(page.get_by_text(re.compile(r"conversation_id \d+"))).to_have_count(0)
    expect(bot_message_with(page, "Maya")).to_be_visible()
    page.get_by_text("Demo mode").click()
    expect(page.get_by_text("Private note · not seen by the contact")).to_be_visible(timeout=10_000)


def test_sending_brings_the_newest_message_into_view(page, console):
    new_conversation(page)
    send(page, "long")
    send(page, "burst")
    bot_message_with(page, "5/5")
    page.evaluate("() => document.querySelector('[data-testid=\"stAppScrollToBottomContainer\"]').scrollTo(0, 0)")
    send(page, "emoji")
    reply = bot_message_with(page, "Good morning")
    expect(reply).to_be_in_viewport(timeout=10_000)
