"""How the console starts: each test here starts its own, as a new user would."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port, other_program
from tests.e2e.conftest import Console


@pytest.fixture
def tab(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    yield context.new_page()
    context.close()


def test_a_deep_link_on_a_fresh_server_opens_that_page_with_navigation(tab, tmp_path):
    console = Console(tmp_path)
    try:
        tab.goto(f"{console.url}/inspector")
        expect(tab.get_by_role("heading", name="Inspector")).to_be_visible(timeout=60_000)
        nav = tab.get_by_test_id("stSidebarNav")
        expect(nav.get_by_text("Chat", exact=True)).to_be_visible()
        expect(nav.get_by_text("app", exact=True)).to_have_count(0)  # not Streamlit's pages/ folder mode
        expect(tab.get_by_text("webhook verified")).to_be_visible(timeout=30_000)  # app.py ran: sidecars up
    finally:
        console.stop()


def test_a_receiver_port_taken_by_another_program_is_said_in_the_page(tab, tmp_path):
    with other_program() as port:
        console = Console(tmp_path, receiver_port=port)
        try:
            tab.goto(console.url)
            alert = tab.get_by_text("The receiver is not available")
            expect(alert).to_be_visible(timeout=60_000)
            expect(tab.get_by_text(f"127.0.0.1:{port} is taken by another program")).to_be_visible()
        finally:
            console.stop()


def test_uchat_variables_point_the_console_at_another_uchat(tab, tmp_path, start_process):
    """The `env` profile: a UChat stand-in that is not the embedded sandbox, reached through UCHAT_*."""
    from apichat.client import PartnerClient
    from sandbox.state import bot_code
    from tests.conftest import process_env, wait_until
    from tests.e2e.chat_helpers import bot_message_with, send

    port = free_port()
    other = f"http://127.0.0.1:{port}"
    start_process(["-m", "sandbox", "--port", str(port), "--state", str(tmp_path / "other.json")],
                  process_env(tmp_path / "x"), other, name="other-uchat")
    console = Console(tmp_path, APICHAT_SANDBOX="0", UCHAT_BOT_URL=f"{other}/api/apichat/{bot_code('ws-9')}",
                      UCHAT_FLOW_KEY="sandbox-flow-key", UCHAT_VERIFY_TOKEN="env-secret-token")
    try:
        tab.goto(console.url)
        expect(tab.get_by_text(re.compile(r"^profile env · contact"))).to_be_visible(timeout=60_000)
        answer = PartnerClient(other, "sandbox-partner-key", "ws-9").set_webhook(f"{console.receiver_url}/webhook",
                                                                                "env-secret-token")
        assert answer["webhook_status"] == "verified"  # the receiver verified against UCHAT_VERIFY_TOKEN
        send(tab, "hi")
        bot_message_with(tab, "I'm Bean")
        received = wait_until(lambda: __import__("requests").get(f"{other}/sandbox/received").json(), 10,
                              message="what the other UChat received")
        body = (received["received"] if isinstance(received, dict) else received)[-1]["body"]
        assert list(body) == ["content", "message_type", "sender", "conversation_id", "event"]
        assert list(body["sender"]) == ["id", "name", "email", "phone_number", "type"]
        assert body["content"] == "hi" and body["sender"]["type"] == "contact"
    finally:
        console.stop()
