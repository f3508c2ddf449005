"""Safe by default: where the console listens, and what it says when its store goes away. Each test starts
its own console, as a person would."""

from __future__ import annotations

import json
import os
import re
import shutil
import time

import pytest
import requests
from playwright.sync_api import expect

from apichat import signing
from apichat.processes import probe
from apichat.store import open_store
from tests.conftest import ROOT, wait_until
from tests.e2e.conftest import Console
from tests.sockets import listening, loopback

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


def test_started_as_the_readme_says_every_part_listens_on_loopback_only(tab, tmp_path):
    console = Console(tmp_path, address=None)  # `streamlit run app.py`: no address flag, the project's config
    try:
        tab.goto(console.url)
        tab.wait_for_selector(CHAT_BOX, timeout=60_000)
        expect(tab.get_by_text("webhook verified")).to_be_visible(timeout=30_000)  # receiver and sandbox run
        sockets = wait_until(lambda: (found := listening(console.proc.pid)) and {
            console.port, console.receiver_port, console.sandbox_port} <= {port for _, port in found} and found,
            20, message="the UI, receiver and sandbox listening")
        assert all(loopback(ip) for ip, _ in sockets), f"listening beyond this machine: {sockets}"
        assert f"URL: http://127.0.0.1:{console.port}" in console.output()
        assert "Network URL" not in console.output()
    finally:
        console.stop()


def test_on_every_interface_without_a_password_the_console_refuses_and_says_who_could_read_what(tab, tmp_path):
    console = Console(tmp_path, address="0.0.0.0")
    try:
        assert ("0.0.0.0", console.port) in listening(console.proc.pid)  # the deliberate act took effect
        for path in ("", "/connect", "/inspector"):
            tab.goto(console.url + path)
            warning = tab.get_by_test_id("stAlert").filter(has_text="refuses to run")
            expect(warning).to_be_visible(timeout=60_000)
            text = warning.inner_text()
            for said in ("This console can be reached from other machines, so it refuses to run.",
                         "every network interface of this machine",
                         "same office or café Wi-Fi",
                         "read every conversation and webhook delivery",
                         "copy the partner, flow and verification keys of every profile",
                         "send messages as any contact",
                         "set a password and restart",
                         "streamlit run app.py",
                         f"ssh -L {console.port}:127.0.0.1:{console.port} you@this-machine"):
                assert said in text, f"{said!r} not in the warning on {path or '/'}:\n{text}"
            expect(tab.locator(CHAT_BOX)).to_have_count(0)
            expect(tab.get_by_role("checkbox", name="Show keys")).to_have_count(0)  # the toggle on Connect
            expect(tab.get_by_role("heading")).to_have_count(0)  # no page drew anything
            expect(tab.get_by_test_id("stSidebarNav")).to_have_count(0)
            if not path:
                screenshot(tab, "safety-exposed-warning")
        assert down(console.receiver_port) and down(console.sandbox_port), "sidecars started while refused"
        assert not os.path.exists(console.db_path), "the store was opened while refused"
    finally:
        console.stop()


def test_with_a_password_it_listens_beyond_loopback_and_every_page_asks_for_it_first(tab, tmp_path):
    console = Console(tmp_path, address="0.0.0.0", APICHAT_UI_PASSWORD="team-secret-42")
    try:
        assert ("0.0.0.0", console.port) in listening(console.proc.pid)
        for path in ("/connect", ""):  # a deep link lands on the login too
            tab.goto(console.url + path)
            expect(tab.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
            expect(tab.locator(CHAT_BOX)).to_have_count(0)
            expect(tab.get_by_role("checkbox", name="Show keys")).to_have_count(0)
            expect(tab.get_by_test_id("stSidebarNav")).to_have_count(0)
        assert down(console.receiver_port), "the receiver started before anyone signed in"
        password = tab.get_by_label("Password", exact=True)
        password.fill("team-secret-41")
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.get_by_text("Wrong password. Try again in 1 s.")).to_be_visible(timeout=15_000)
        refused_until = time.monotonic() + 1.0  # the gate set its second before the page said so
        expect(tab.locator(CHAT_BOX)).to_have_count(0)
        screenshot(tab, "safety-login-wrong")

        # The gate refuses every attempt from this address until that second is over (its rule, which the
        # message states; nothing on the page changes when it ends), so the right password goes in after it.
        time.sleep(max(0.0, refused_until - time.monotonic()))
        password.fill("team-secret-42")
        password.press("Enter")
        tab.wait_for_selector(CHAT_BOX, timeout=60_000)  # the first run after signing in starts the sidecars
        expect(tab.get_by_text("webhook verified")).to_be_visible(timeout=30_000)  # receiver and sandbox started
        expect(tab.get_by_test_id("stSidebarNav")).to_be_visible()
        assert "team-secret-42" not in console.output()

        tab.get_by_role("button", name="Sign out").click()
        expect(tab.get_by_role("button", name="Sign in")).to_be_visible(timeout=45_000)
        expect(tab.locator(CHAT_BOX)).to_have_count(0)
    finally:
        console.stop()


def test_a_store_deleted_under_a_running_console_gives_one_message_a_503_and_comes_back_on_restart(tab, tmp_path):
    data = tmp_path / "data"
    env = {"APICHAT_DB": str(data / "console.db"), "APICHAT_MEDIA_DIR": str(data / "media")}
    console = Console(tmp_path, **env)
    try:
        tab.goto(console.url)
        tab.wait_for_selector(CHAT_BOX, timeout=60_000)
        expect(tab.get_by_text("webhook verified")).to_be_visible(timeout=30_000)
        reader = open_store(console.db_path)
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
