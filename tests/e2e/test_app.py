"""How the console starts: each test here starts its own, as a new user would."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port
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


class _Squatter(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"some other program")

    def log_message(self, *args):
        pass


def test_a_receiver_port_taken_by_another_program_is_said_in_the_page(tab, tmp_path):
    squatter = HTTPServer(("127.0.0.1", free_port()), _Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    console = Console(tmp_path, receiver_port=squatter.server_port)
    try:
        tab.goto(console.url)
        alert = tab.get_by_text("The receiver is not available")
        expect(alert).to_be_visible(timeout=60_000)
        expect(tab.get_by_text(f"127.0.0.1:{squatter.server_port} is taken by another program")).to_be_visible()
    finally:
        console.stop()
        squatter.shutdown()
