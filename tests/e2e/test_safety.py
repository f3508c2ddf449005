"""Safe by default: what the console says when its store goes away. Each test starts its own console, as a
person would."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import requests
from playwright.sync_api import expect

from apichat import signing
from apichat.processes import probe
from apichat.store import Store
from tests.conftest import ROOT, wait_until
from tests.e2e.conftest import Console

SCREENSHOTS = ROOT / "test-results"
CHAT_BOX = '[data-testid="stChatInputTextArea"]'


@pytest.fixture
def tab(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    yield context.new_page()
    context.close()


def down(port: int) -> bool:
    return probe(f"http://127.0.0.1:{port}", timeout=0.5) == "down"


def screenshot(tab, name: str) -> None:
    """Kept for a person to look at (test-results/ is not committed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_store_deleted_under_a_running_console_gives_one_message_a_503_and_comes_back_on_restart(tab, tmp_path):
    data = tmp_path / "data"
    env = {"APICHAT_DB": str(data / "console.db"), "APICHAT_MEDIA_DIR": str(data / "media")}
    console = Console(tmp_path, **env)
    try:
        tab.goto(console.url)
        tab.wait_for_selector(CHAT_BOX, timeout=60_000)
        expect(tab.get_by_text("webhook verified")).to_be_visible(timeout=30_000)
        reader = Store(console.db_path)
        key = reader.get_profile("sandbox")["verify_key"]
        reader.close()

        shutil.rmtree(data)  # "start fresh" while the console runs
        expected = (f"the store at {data / 'console.db'} is missing or unreadable: its folder {data} was deleted; "
                    "restart the console or point APICHAT_DB at a store")

        health = requests.get(f"{console.receiver_url}/healthz", timeout=5)
        assert health.status_code == 503 and health.json()["reason"] == expected
        body = json.dumps({"sender_id": "c1", "conv_id": 1, "text": "lost?", "type": "text"}).encode()
        answer = requests.post(f"{console.receiver_url}/webhook/sandbox", data=body, timeout=5, headers={
            "Content-Type": "application/json", signing.HEADER: signing.sign(body, key)})
        assert answer.status_code == 503 and answer.json()["reason"] == expected

        # the open chat's live poll notices by itself: one message instead of the page
        message = tab.get_by_test_id("stAlert").filter(has_text="is missing or unreadable")
        expect(message).to_be_visible(timeout=15_000)
        said = " ".join(message.get_by_test_id("stMarkdownContainer").inner_text().split())
        assert said == "The " + expected[4:] + ".", said
        expect(tab.locator(CHAT_BOX)).to_have_count(0)
        screenshot(tab, "safety-store-missing")
        for path in ("/connect", "/inspector", "/scenarios", "/"):
            tab.goto(console.url + path)
            expect(message).to_be_visible(timeout=30_000)
            expect(tab.get_by_test_id("stAlert")).to_have_count(1)
            expect(tab.get_by_text(re.compile("OperationalError|Traceback|no such table"))).to_have_count(0)
        assert not data.exists(), "something was written to the deleted store"
    finally:
        console.stop()
    wait_until(lambda: down(console.receiver_port), 15, 0.2, "the old receiver to exit with its console")

    again = Console(tmp_path, **env)  # a restart recreates the store
    try:
        tab.goto(again.url)
        tab.wait_for_selector(CHAT_BOX, timeout=60_000)
        expect(tab.get_by_text("webhook verified")).to_be_visible(timeout=30_000)
        assert (data / "console.db").is_file()
        assert requests.get(f"{again.receiver_url}/healthz", timeout=5).json()["status"] == "ok"
    finally:
        again.stop()


def test_a_store_that_is_not_a_database_is_said_on_every_page_and_left_alone(tab, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 200)
    console = Console(tmp_path, APICHAT_DB=str(notes))
    try:
        for path in ("", "/connect"):
            tab.goto(console.url + path)
            message = tab.get_by_test_id("stAlert").filter(has_text="is missing or unreadable")
            expect(message).to_be_visible(timeout=60_000)
            said = " ".join(message.get_by_test_id("stMarkdownContainer").inner_text().split())
            assert said == (f"The store at {notes} is missing or unreadable: file is not a database; restart the "
                            "console or point APICHAT_DB at a store."), said
            expect(tab.get_by_text(re.compile("DatabaseError|Traceback"))).to_have_count(0)
        assert notes.read_text().startswith("my notes, not a database")
    finally:
        console.stop()
