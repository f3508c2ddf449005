"""Ask N times: a message sent in the chat, asked again as five new contacts, the answers side by side."""

from __future__ import annotations

import yaml
from playwright.sync_api import expect

from tests.e2e.chat_helpers import bot_message_with, new_conversation, send
from tests.e2e.conftest import idle


def test_a_message_asked_five_times_shows_five_answers_side_by_side_and_saves_a_similar_to_scenario(page, tmp_path):
    new_conversation(page)
    send(page, "hi")
    bot_message_with(page, "Northwind Coffee")
    idle(page)
    page.get_by_role("link", name="Ask N times").last.click()  # under the message just sent
    expect(page.get_by_role("heading", name="Side by side")).to_be_visible(timeout=15_000)
    box = page.get_by_label("Message", exact=True)
    expect(box).to_have_value("hi", timeout=15_000)
    idle(page)
    page.get_by_role("button", name="Ask 5 times").click()

    columns = [page.locator(f".st-key-ask-col-{i}") for i in range(1, 6)]
    save = page.get_by_role("button", name="Save as scenario")
    expect(save).to_be_visible(timeout=30_000)  # drawn once every answer has settled
    for column in columns:
        expect(column.locator(".acc-text").get_by_text("Northwind Coffee").first).to_be_visible()  # the reply, drawn as the chat draws it
        expect(column.get_by_role("button", name="☕ Products")).to_be_visible()  # its buttons too
        expect(column.locator(".acc-ask-sim")).to_have_text("1.00")  # the demo bot answers alike every time
        expect(column.get_by_text("first reply")).to_be_visible()
    expect(page.locator(".st-key-ask-col-6")).to_have_count(0)
    expect(page.locator(".acc-ask-typical")).to_have_count(1)
    expect(page.get_by_text("Pair similarity")).to_be_visible()
    expect(page.locator(".acc-ask-matrix td")).to_have_count(25)
    expect(page.locator(".acc-ask-matrix td").first).to_have_text("1.00")
    page.set_viewport_size({"width": 1400, "height": 2200})  # Streamlit scrolls inside: a tall window shows it all
    page.screenshot(path="/tmp/ask.png", full_page=True)

    idle(page)
    with page.expect_download() as download:
        save.click()
    assert download.value.suggested_filename.endswith(".scenario.yaml")
    download.value.save_as(tmp_path / "ask.yaml")
    saved = (tmp_path / "ask.yaml").read_text(encoding="utf-8")
    [step] = yaml.safe_load(saved)["steps"]
    assert step["send"] == "hi"
    texts = [e["text"] for e in step["expect"]]
    assert texts, saved
    assert "Northwind Coffee" in texts[0]["similar_to"] and texts[0]["at_least"] == 0.95
