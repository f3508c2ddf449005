"""Team mode in Chromium: the console on a PostgreSQL store (APICHAT_DB=postgresql://…) chats with the demo bot,
and a reply that another receiver (another host, as far as the store can tell) stored shows in its thread."""

from __future__ import annotations

import json

import requests

from apichat import signing
from apichat.store import open_store
from tests.conftest import ROOT, free_port, process_env
from tests.e2e.chat_helpers import bot_message_with, conversation_id, new_conversation, send
from tests.e2e.conftest import Console


def test_a_console_on_postgresql_shows_replies_stored_by_any_receiver(browser, pg_cluster, start_process,
                                                                       tmp_path):
    url = pg_cluster.new_database()
    console = Console(tmp_path / "console", APICHAT_DB=url)
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        tab.goto(console.url)
        tab.wait_for_selector('[data-testid="stChatInputTextArea"]', timeout=60_000)
        new_conversation(tab)
        send(tab, "hi")
        bot_message_with(tab, "I'm Bean")  # sandbox -> the console's receiver -> PostgreSQL -> the page
        conv = conversation_id(tab)

        # a second receiver on another port with its own environment, writing to the same database
        port = free_port()
        other = f"http://127.0.0.1:{port}"
        start_process(["-m", "receiver"], process_env(tmp_path, APICHAT_DB=url, APICHAT_RECEIVER_PORT=str(port)),
                      url=other, name="receiver-b")
        store = open_store(url)
        contact = next(c["contact_id"] for c in store.list_conversations("sandbox") if c["conv_id"] == conv)
        body = json.dumps({"sender_id": contact, "conv_id": conv, "type": "text",
                           "text": "An agent answering from the other host"}).encode()
        answer = requests.post(f"{other}/webhook/sandbox", data=body, timeout=30, headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signing.sign(body, store.get_profile("sandbox")["verify_key"])})
        assert answer.status_code == 200, answer.text
        bot_message_with(tab, "An agent answering from the other host")
        assert url.split("@")[0].split(":")[-1] not in console.output()  # the password is never logged
        (ROOT / "test-results").mkdir(exist_ok=True)
        tab.screenshot(path=str(ROOT / "test-results" / "team-mode.png"))  # how docs/team-mode.png was taken
    finally:
        tab.context.close()
        console.stop()
