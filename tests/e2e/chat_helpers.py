"""Actions a person takes in the chat, for the browser tests."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

MESSAGE = '[data-testid="stChatMessage"]'


def conversation_id(page: Page) -> int:
    caption = page.get_by_text(re.compile(r"conversation_id")).first.inner_text()
    return int(re.search(r"conversation_id\s+(\d+)", caption).group(1))


def new_conversation(page: Page) -> int:
    """Open a fresh conversation, so a test sees only its own messages."""
    before = conversation_id(page)
    if page.locator(MESSAGE).count() == 0:  # already fresh: the console keeps an empty conversation
        return before
    page.get_by_role("button", name="New conversation").click()
    caption = page.get_by_text(re.compile(rf"conversation_id\s+(?!{before}\b)\d+"))
    expect(caption).to_be_visible(timeout=15_000)
    expect(page.locator(MESSAGE)).to_have_count(0, timeout=15_000)
    return int(re.search(r"conversation_id\s+(\d+)", caption.inner_text()).group(1))


def send(page: Page, text: str) -> None:
    """Type and send `text`; returns once the contact's message is in the thread (as a person would wait)."""
    mine = page.locator(MESSAGE).filter(has=page.locator(f'.acc-text:text-is("{text}")'))
    before = mine.count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    expect(mine).to_have_count(before + 1, timeout=15_000)


def last_message(page: Page):
    return page.locator(MESSAGE).last


def bot_message_with(page: Page, text: str, timeout: float = 15_000):
    """The bot message containing `text`, once it is on screen."""
    found = page.locator(MESSAGE).filter(has_text=text).last
    expect(found).to_be_visible(timeout=timeout)
    return found
