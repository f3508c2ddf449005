"""The contract of docs/protocol.md, end to end: UChat's example payloads, its required fields, and every reply kind through a real receiver."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlsplit

import pytest

from apichat.client import BotClient, PartnerClient
from apichat.store import open_store
from sandbox import create_app
from sandbox.bot import COMMANDS
from tests.conftest import free_port, process_env, wait_until
from tests.seed_examples import SEED_EXAMPLES, filled
from tests.test_sandbox import WebhookServer

FLOW = {"Authorization": "Bearer sandbox-flow-key"}
PLACEHOLDERS = {"{{IMAGE URL}}": "https://cdn.example.com/cat.png", "{{AUDIO URL}}": "https://cdn.example.com/hi.mp3",
                "{{VIDEO URL}}": "https://cdn.example.com/clip.mp4", "{{FILE URL}}": "https://cdn.example.com/doc.pdf"}

def seed_example(name: str) -> dict:
    return filled(name, PLACEHOLDERS)[1]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    """An in-process sandbox with a webhook set (through the partner API); yields (test client, bot_url path)."""
    webhook = WebhookServer()
    app = create_app({"state_path": str(tmp_path_factory.mktemp("contract") / "sandbox.json"),
                      "public_url": "http://sandbox.test"})
    client = app.test_client()
    answer = client.post("/api/partner/workspace/contract/apichat-webhook",
                         headers={"Authorization": "Bearer sandbox-partner-key"},
                         json={"webhook_url": webhook.url, "webhook_verification_key": webhook.key})
    assert answer.status_code == 200, answer.json
    yield client, urlsplit(answer.json["data"]["bot_url"]).path
    app.extensions["sandbox"].close()
    webhook.close()


@pytest.mark.parametrize("name", list(SEED_EXAMPLES))
def test_every_seed_example_is_accepted(bot, name):
    client, path = bot
    answer = client.post(path, json=seed_example(name), headers=FLOW)
    assert answer.status_code == 200, answer.json
    assert answer.json == {"status": "ok"}


def drop(*keys):
    def change(body):
        target = body
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


def put(value, *keys):
    def change(body):
        target = body
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


BROKEN = [  # (UChat's example, change, the message's expected words)
    *[("text", drop(field), f"{field} is required") for field in
      ("message_type", "sender", "conversation_id", "event", "content")],
    *[("text", drop("sender", field), f"sender.{field} is required") for field in
      ("id", "name", "email", "phone_number", "type")],
    ("text", put("outgoing", "message_type"), 'message_type must be "incoming", got "outgoing"'),
    ("text", put("Ann", "sender"), "sender must be an object, got string"),
    ("text", put(123, "sender", "id"), "sender.id must be a string, got integer"),
    ("text", put(" ", "sender", "id"), "sender.id must not be empty"),
    ("text", put(None, "sender", "email"), "sender.email must be a string, got null"),
    ("text", put(5, "sender", "phone_number"), "sender.phone_number must be a string, got integer"),
    ("text", put("user", "sender", "type"), 'sender.type must be "contact", got "user"'),
    ("text", put("123", "conversation_id"), "conversation_id must be an integer, got string"),
    ("text", put(True, "conversation_id"), "conversation_id must be an integer, got boolean"),
    ("text", put(12.5, "conversation_id"), "conversation_id must be an integer, got number"),
    ("text", put("message_updated", "event"), 'event must be "message_created" or "message_postback"'),
    ("text", put(42, "content"), "content must be a string, got integer"),
    ("text", put("", "content"), "content must not be empty when there are no attachments"),
    ("postback", drop("submitted_values"), "submitted_values is required"),
    ("postback", put([], "submitted_values"), "submitted_values must not be empty"),
    ("postback", put({"title": "A", "payload": "B"}, "submitted_values"), "submitted_values must be an array, got object"),
    ("postback", drop("submitted_values", 0, "payload"), "submitted_values[0].payload is required"),
    ("postback", drop("submitted_values", 0, "title"), "submitted_values[0].title is required"),
    ("postback", put(7, "submitted_values", 0, "payload"), "submitted_values[0].payload must be a string, got integer"),
    ("image", put({"file_type": "image"}, "attachments"), "attachments must be an array, got object"),
    ("image", put([], "attachments"), "content must not be empty when there are no attachments"),
    ("audio", drop("attachments", 0, "file_type"), "attachments[0].file_type is required"),
    ("video", put("gif", "attachments", 0, "file_type"), "attachments[0].file_type must be one of"),
    ("file", drop("attachments", 0, "data_url"), "attachments[0].data_url is required"),
    ("file", put("ftp://cdn.example.com/a.pdf", "attachments", 0, "data_url"),
     "attachments[0].data_url must be an http(s) URL"),
    ("image", put(None, "attachments", 0, "data_url"), "attachments[0].data_url must be a string, got null"),
]


@pytest.mark.parametrize("name, change, expected", BROKEN, ids=[b[2][:60] for b in BROKEN])
def test_a_missing_or_mistyped_field_is_a_400_naming_it(bot, name, change, expected):
    client, path = bot
    body = copy.deepcopy(seed_example(name))
    change(body)
    answer = client.post(path, json=body, headers=FLOW)
    assert answer.status_code == 400
    assert expected in answer.json["message"], answer.json["message"]


# ---------------------------------------------------------------- every reply kind, real processes

NOTE, AGENT = ("text", "agent", True), ("text", "agent", False)
TEXT, BUTTONS, CARDS, UNSUPPORTED = ("text", "bot", False), ("buttons", "bot", False), ("cards", "bot", False), \
    ("unsupported", "bot", False)
STEPS = [  # (what the contact sends, the replies the receiver must store: kind, author, private)
    ("hi", [BUTTONS]),
    ("help", [TEXT]),
    ("cards", [CARDS]),
    ("square cards", [CARDS]),
    ("media", [BUTTONS]),
    ("more", [BUTTONS]),
    *[(kind, [TEXT, (kind, "bot", False)]) for kind in ("image", "audio", "video", "file")],
    (("attachment", "audio"), [TEXT, ("audio", "bot", False)]),
    ("agent", [NOTE, AGENT]),
    ("burst", [TEXT] * 5),
    ("slow", [TEXT]),
    ("unknown", [UNSUPPORTED]),
    ("location", [UNSUPPORTED]),
    ("long", [TEXT]),
    ("emoji", [TEXT]),
    ("rtl", [TEXT]),
    ("links", [BUTTONS]),
    ("xss", [TEXT, BUTTONS]),
    (("postback", "MENU_PRODUCTS"), [CARDS]),
    (("postback", "ADD_MUG"), [BUTTONS]),
    ("how late are you open?", [TEXT]),
]


def test_every_reply_kind_reaches_a_real_receiver(tmp_path, start_process):
    receiver_port, sandbox_port = free_port(), free_port()
    env = process_env(tmp_path, UCHAT_VERIFY_TOKEN="contract-verify-key")
    start_process(["-m", "receiver", "--port", str(receiver_port)], env,
                  f"http://127.0.0.1:{receiver_port}")
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    start_process(["-m", "sandbox", "--port", str(sandbox_port), "--slow-seconds", "0.3"], env, sandbox_url)

    data = PartnerClient(sandbox_url, "sandbox-partner-key", "contract").set_webhook(
        f"http://127.0.0.1:{receiver_port}/webhook", "contract-verify-key")
    assert data["webhook_status"] == "verified"
    bot = BotClient(data["bot_url"], "sandbox-flow-key")
    store = open_store(str(tmp_path / "console.db"))
    contact = {"id": "contract-contact", "name": "Casey Tester"}
    last = max((d["id"] for d in store.list_deliveries()), default=0)

    def deliveries(count: int) -> list[dict]:
        nonlocal last
        rows = wait_until(lambda: (found := store.list_deliveries(after_id=last)) and len(found) >= count and found,
                          10, message=f"{count} deliveries after #{last}")[::-1]
        last = rows[-1]["id"]
        return rows

    def send(step, conv_id: int) -> None:
        if isinstance(step, str):
            bot.send_text(contact, conv_id, step)
        elif step[0] == "postback":
            bot.send_postback(contact, conv_id, step[1].title(), step[1])
        else:
            bot.send_media(contact, conv_id, step[1], f"{sandbox_url}/sandbox/media/chime.wav")

    # One conversation per step: the receiver shows a body it got within 10 minutes only once, and the
    # bot legitimately repeats itself (the "audio" sample and the echo of chime.wav are the same bytes).
    seen_kinds = set()
    for conv_id, (step, expected) in enumerate(STEPS, start=100):
        send(step, conv_id)
        rows = deliveries(len(expected))
        assert [r["outcome"] for r in rows] == ["accepted"] * len(expected), (step, rows)
        stored = []
        for row in rows:
            message = store.get_message(row["message_id"])
            data = json.loads(message["data"])
            assert data["sender_id"] == "contract-contact" and data["conv_id"] == conv_id
            stored.append((row["kind"], message["author"], data["private"]))
            if step == "square cards":
                assert data["ratio"] == "square" and len(data["cards"]) >= 3
            if step == "links":
                assert [b["kind"] for b in data["buttons"]] == ["url", "call", "postback"]
        assert stored == expected, step
        seen_kinds.update(kind for kind, _, _ in stored)
    assert seen_kinds == {"text", "buttons", "cards", "image", "audio", "video", "file", "unsupported"}
    covered = {COMMANDS[step].__name__ for step, _ in STEPS if isinstance(step, str) and step in COMMANDS}
    assert covered == {handler.__name__ for handler in COMMANDS.values()}  # a new command needs a row here

    send("fault bad_signature", 1)
    assert [r["outcome"] for r in deliveries(1)] == ["accepted"]
    send("help", 1)
    [rejected] = deliveries(1)
    assert (rejected["outcome"], rejected["status_code"]) == ("rejected", 401)
    send("fault duplicate", 1)
    deliveries(1)
    send("emoji", 1)
    first, again = deliveries(2)
    assert (first["outcome"], again["outcome"]) == ("accepted", "duplicate")
    assert again["message_id"] == first["message_id"]
