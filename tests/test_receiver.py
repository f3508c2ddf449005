"""The receiver: handshake in every encoding, signed messages stored before 2xx, media, health, the process."""

from __future__ import annotations

import io
import json
import re
import socket
import sqlite3
import subprocess
import sys

import pytest
import requests

from apichat import media as media_module
from apichat import signing
from apichat.media import TOKEN_RE, UploadError, clean_filename, media_url, save_upload
from apichat.store import Store, open_store
from receiver import create_app

from .conftest import ROOT, free_port, process_env, wait_until

MAIN_KEY, SHOP_KEY = "main-verify-key", "shop-verify-key"
MIB = 1024 * 1024


class WebhookSender:
    """Signs real bytes with `key` and posts them through the app's test client, as UChat would."""

    def __init__(self, client, key: str, path: str = "/webhook"):
        self.client, self.key, self.path = client, key, path

    def send(self, body, headers: dict | None = None, signature: str | None = None):
        raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        sent = {"Content-Type": "application/json", "X-Hub-Signature-256": signing.sign(raw, self.key),
                "x-flow-ns": "f-bot-1", "x-action": "messages"}
        if signature is not None:
            sent["X-Hub-Signature-256"] = signature
        sent.update(headers or {})
        return self.client.post(self.path, data=raw, headers={k: v for k, v in sent.items() if v is not None})


def reply(text: str = "Hello from the bot", **extra) -> dict:
    return {"sender_id": "contact-1", "conv_id": 123, "text": text, "type": "text", "message_type": "outgoing",
            "private": False, **extra}


@pytest.fixture
def store(tmp_path):
    s = open_store(str(tmp_path / "console.db"))
    s.save_profile("main", verify_key=MAIN_KEY)
    s.save_profile("shop", verify_key=SHOP_KEY)
    s.set_default_profile("main")
    return s


@pytest.fixture
def app(tmp_path, store):
    return create_app({"db_path": str(tmp_path / "console.db"), "media_dir": str(tmp_path / "media")}, store=store)


@pytest.fixture
def client(app):
    return app.test_client()


def deliveries(store: Store, **filters) -> list[dict]:
    return store.list_deliveries(**filters)


def messages(store: Store) -> list[dict]:
    return [m for c in store.list_conversations("main") + store.list_conversations("shop")
            for m in store.messages_since(c["id"])]


# ---------------------------------------------------------------- handshake

CHALLENGE = "205c40409f9bcdeb9e00614b442c5fdd"


def hub(key: str, mode: str = "subscribe", style: str = "_") -> dict:
    return {f"hub{style}mode": mode, f"hub{style}verify_token": key, f"hub{style}challenge": CHALLENGE}


ENCODINGS = {
    "GET query": lambda c, path, p: c.get(path, query_string=p),
    "POST query": lambda c, path, p: c.post(path, query_string=p),
    "form": lambda c, path, p: c.post(path, data=p),
    "multipart": lambda c, path, p: c.post(path, data={**p, "extra": (io.BytesIO(b"x"), "x.txt")},
                                           content_type="multipart/form-data"),
    "json flat": lambda c, path, p: c.post(path, json=p),
    "json nested": lambda c, path, p: c.post(path, json={"hub": {k.split(k[3], 1)[1]: v for k, v in p.items()}}),
    "json, no content type": lambda c, path, p: c.post(path, data=json.dumps(p), content_type=""),
    "urlencoded as text/plain": lambda c, path, p: c.post(
        path, data="&".join(f"{k}={v}" for k, v in p.items()), content_type="text/plain"),
}
ROUTES = {"/webhook": MAIN_KEY, "/webhook/shop": SHOP_KEY}


@pytest.mark.parametrize("style", ["_", "."])
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", ROUTES)
def test_handshake_right_key(client, store, path, encoding, style):
    response = ENCODINGS[encoding](client, path, hub(ROUTES[path], style=style))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain" and response.get_data() == CHALLENGE.encode()
    recorded = deliveries(store)[0]
    assert (recorded["outcome"], recorded["kind"], recorded["status_code"]) == ("handshake", "handshake", 200)
    assert recorded["profile"] == ("shop" if path.endswith("shop") else "main")


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", ROUTES)
def test_handshake_wrong_key(client, store, path, encoding):
    other = SHOP_KEY if ROUTES[path] == MAIN_KEY else MAIN_KEY
    for key in ("wrong", other, ""):
        response = ENCODINGS[encoding](client, path, hub(key))
        assert response.status_code == 403 and CHALLENGE not in response.get_data(as_text=True)
    assert [(d["outcome"], d["status_code"]) for d in deliveries(store)] == [("rejected", 403)] * 3
    assert "does not match" in deliveries(store)[0]["reason"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_handshake_mode_not_subscribe(client, store, encoding):
    response = ENCODINGS[encoding](client, "/webhook", hub(MAIN_KEY, mode="unsubscribe"))
    assert response.status_code == 400 and CHALLENGE not in response.get_data(as_text=True)
    assert "unsubscribe" in deliveries(store)[0]["reason"]


def test_handshake_mode_in_any_case_and_challenge_exact(client):
    odd = "a b+c/=é"
    response = client.get("/webhook", query_string={"hub_mode": "Subscribe", "hub_verify_token": MAIN_KEY,
                                                    "hub_challenge": odd})
    assert response.status_code == 200 and response.get_data(as_text=True) == odd


def test_handshake_without_challenge_is_400(client):
    assert client.get("/webhook", query_string={"hub_mode": "subscribe", "hub_verify_token": MAIN_KEY}
                      ).status_code == 400


def test_handshake_sees_a_key_saved_a_moment_ago(client, store):
    """The console stores the new key just before UChat verifies it during "set webhook"."""
    assert client.post("/webhook/shop", data=hub("brand-new")).status_code == 403
    store.save_profile("shop", verify_key="brand-new")
    assert client.post("/webhook/shop", data=hub("brand-new")).status_code == 200


def test_get_without_handshake_is_400(client, store):
    assert client.get("/webhook").status_code == 400
    assert deliveries(store)[0]["outcome"] == "rejected"


def test_unknown_profile_is_404_and_recorded(client, store):
    response = client.post("/webhook/nobody", data=hub(MAIN_KEY))
    assert response.status_code == 404 and CHALLENGE not in response.get_data(as_text=True)
    assert deliveries(store)[0]["profile"] == "nobody" and "nobody" in deliveries(store)[0]["reason"]


# ---------------------------------------------------------------- messages

def test_signed_message_is_stored_and_committed_before_200(client, store, tmp_path):
    response = WebhookSender(client, MAIN_KEY).send(reply("stored?"))
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    other = sqlite3.connect(tmp_path / "console.db")  # another connection sees it: it is committed
    row = other.execute("SELECT text, kind, direction, author FROM messages").fetchall()
    assert row == [("stored?", "text", "in", "bot")]
    delivery = deliveries(store)[0]
    assert (delivery["outcome"], delivery["flow_ns"], delivery["action"], delivery["profile"]) == (
        "accepted", "f-bot-1", "messages", "main")


def test_profile_route_uses_its_own_key(client, store):
    assert WebhookSender(client, SHOP_KEY, "/webhook/shop").send(reply("for shop")).status_code == 200
    assert WebhookSender(client, MAIN_KEY, "/webhook/shop").send(reply("wrong key")).status_code == 401
    assert WebhookSender(client, SHOP_KEY, "/webhook").send(reply("shop key on default")).status_code == 401
    assert [c["last_text"] for c in store.list_conversations("shop")] == ["for shop"]
    assert store.list_conversations("main") == []
    assert "profile 'shop'" in deliveries(store)[0]["reason"]


def test_missing_signature_is_401_and_recorded(client, store):
    response = WebhookSender(client, MAIN_KEY).send(reply(), headers={"X-Hub-Signature-256": None})
    assert response.status_code == 401
    recorded = deliveries(store)[0]
    assert (recorded["outcome"], recorded["status_code"]) == ("rejected", 401)
    assert recorded["reason"] == "no X-Hub-Signature-256 header" and json.loads(recorded["body"]) == reply()
    assert messages(store) == []


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha1=" + "0" * 40, "garbage", ""])
def test_wrong_signature_is_401_and_recorded(client, store, signature):
    response = WebhookSender(client, MAIN_KEY).send(reply(), signature=signature)
    assert response.status_code == 401 and response.get_json()["status"] == "error"
    assert deliveries(store)[0]["outcome"] == "rejected" and deliveries(store)[0]["reason"]
    assert messages(store) == []


def test_tampered_body_is_401(client, store):
    raw = json.dumps(reply("pay 10")).encode()
    response = client.post("/webhook", data=raw.replace(b"10", b"99"),
                           headers={"X-Hub-Signature-256": signing.sign(raw, MAIN_KEY)})
    assert response.status_code == 401 and messages(store) == []


@pytest.mark.parametrize("spelling", [
    lambda s: s.upper(), lambda s: "Sha256=" + s[7:].upper(), lambda s: f"  {s}  ",
])
def test_signature_header_spellings(client, store, spelling):
    raw = json.dumps(reply()).encode()
    response = client.post("/webhook", data=raw, headers={"x-hub-signature-256": spelling(signing.sign(raw, MAIN_KEY))})
    assert response.status_code == 200 and len(messages(store)) == 1


def test_php_escaped_body_verified_as_received(client, store):
    raw = (b'{"sender_id":"c-1","conv_id":123,"text":"Caf\\u00e9 see https:\\/\\/x.test\\/a","type":"text",'
           b'"message_type":"outgoing","private":false}')
    assert WebhookSender(client, MAIN_KEY).send(raw).status_code == 200
    assert messages(store)[0]["text"] == "Café see https://x.test/a"
    assert messages(store)[0]["raw"] == raw.decode()


def test_body_over_1_mib_is_413_and_recorded(client, store):
    raw = b'{"text": "' + b"x" * MIB + b'"}'
    response = WebhookSender(client, MAIN_KEY).send(raw)
    assert response.status_code == 413
    recorded = deliveries(store)[0]
    assert (recorded["outcome"], recorded["status_code"], recorded["body_size"]) == ("rejected", 413, len(raw))
    assert messages(store) == []


def test_body_of_exactly_1_mib_is_accepted(client, store):
    head = b'{"sender_id":"c","conv_id":1,"text":"'
    raw = head + b"y" * (MIB - len(head) - 2) + b'"}'
    assert len(raw) == MIB
    assert WebhookSender(client, MAIN_KEY).send(raw).status_code == 200


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe{", b"", b'{"text": "unterminated'])
def test_signed_but_not_json_is_400_and_recorded(client, store, raw):
    response = WebhookSender(client, MAIN_KEY).send(raw)
    assert response.status_code == 400
    recorded = deliveries(store)[0]
    assert (recorded["outcome"], recorded["status_code"]) == ("rejected", 400) and "not JSON" in recorded["reason"]
    assert messages(store) == []


def test_signed_json_nested_too_deep_is_recorded_not_500(client, store):
    raw = b"[" * 100_000 + b"]" * 100_000
    response = WebhookSender(client, MAIN_KEY).send(raw)
    assert response.status_code == 400
    assert deliveries(store)[0]["status_code"] == 400


def test_signed_json_that_is_not_a_message_is_kept_as_unsupported(client, store):
    assert WebhookSender(client, MAIN_KEY).send(b"[1, 2, 3]").status_code == 200
    assert WebhookSender(client, MAIN_KEY).send(b'{"text": "deep", "x": ' + b"[" * 900 + b"]" * 900 + b"}"
                                                ).status_code == 200
    assert sorted(m["kind"] for m in messages(store)) == ["text", "unsupported"]


def test_same_body_again_is_acknowledged_and_shown_once(client, store):
    sender = WebhookSender(client, MAIN_KEY)
    raw = json.dumps(reply("only once")).encode()
    first, second = sender.send(raw), sender.send(raw)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == {"status": "ok"} and second.get_json()["status"] == "ok"
    assert [m["text"] for m in messages(store)] == ["only once"]
    assert [d["outcome"] for d in deliveries(store)] == ["duplicate", "accepted"]
    assert sender.send(json.dumps(reply("only once"), indent=1)).status_code == 200  # other bytes: new
    assert len(messages(store)) == 2


def test_every_kind_is_stored_with_its_parse(client, store):
    sender = WebhookSender(client, MAIN_KEY)
    bodies = [
        reply("buttons", content_type="button_template",
              content_attributes={"text": "b", "buttons": [{"type": "postback", "title": "A", "payload": "a"}]}),
        reply("cards", content_type="generic_template", content_attributes={"ratio": "square", "items": [
            {"title": "T", "image_url": "https://x.test/i.png", "buttons": []}]}),
        {**reply(), "type": "image", "url": "https://x.test/i.png", "text": None},
        reply("note", private=True),
        reply("?", type="sticker"),
    ]
    for body in bodies:
        assert sender.send(body).status_code == 200
    stored = messages(store)
    assert [m["kind"] for m in stored] == ["buttons", "cards", "image", "text", "unsupported"]
    assert json.loads(stored[1]["data"])["ratio"] == "square"
    assert stored[3]["author"] == "agent" and json.loads(stored[3]["data"])["private"] is True
    assert json.loads(stored[4]["raw"])["type"] == "sticker"


def test_a_store_failure_is_never_acknowledged(client, store, monkeypatch):
    def broken(**_):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "accept_webhook", broken)
    response = WebhookSender(client, MAIN_KEY).send(reply())
    assert response.status_code == 503 and response.get_json()["status"] == "error"


def test_every_delivery_is_recorded(client, store):
    sender = WebhookSender(client, MAIN_KEY)
    sender.send(reply("a"))
    sender.send(reply("a"))
    sender.send(reply("b"), signature="sha256=" + "1" * 64)
    sender.send(b"nope")
    client.post("/webhook", data=hub(MAIN_KEY))
    client.post("/webhook", data=hub("bad"))
    client.get("/webhook")
    assert [(d["outcome"], d["status_code"]) for d in deliveries(store)][::-1] == [
        ("accepted", 200), ("duplicate", 200), ("rejected", 401), ("rejected", 400), ("handshake", 200),
        ("rejected", 403), ("rejected", 400)]


def test_no_profile_at_all(tmp_path):
    app = create_app({"db_path": str(tmp_path / "empty.db"), "media_dir": str(tmp_path / "media")})
    response = app.test_client().post("/webhook", data=hub("anything"))
    assert response.status_code == 404
    assert open_store(str(tmp_path / "empty.db")).list_deliveries()[0]["reason"] == "no connection profile is set up yet"


def test_env_verify_token_alone_makes_the_env_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("UCHAT_VERIFY_TOKEN", "from-the-env")
    app = create_app({"db_path": str(tmp_path / "env.db"), "media_dir": str(tmp_path / "media")})
    client = app.test_client()
    assert client.post("/webhook", data=hub("from-the-env")).get_data() == CHALLENGE.encode()
    assert client.post("/webhook/env", data=hub("from-the-env")).status_code == 200
    assert WebhookSender(client, "from-the-env").send(reply("env")).status_code == 200
    assert WebhookSender(client, "other").send(reply("env")).status_code == 401
    store = open_store(str(tmp_path / "env.db"))
    assert store.default_profile()["name"] == "env" and store.list_conversations("env")[0]["last_text"] == "env"


# ---------------------------------------------------------------- the hot path: no profile query per webhook


def traced(store: Store) -> list[str]:
    """Every statement this thread's connection and the store's writer run from now on."""
    seen: list[str] = []
    store.trace(seen.append)
    return seen


def test_webhooks_read_no_profile_while_nothing_changed(client, store):
    sender = WebhookSender(client, MAIN_KEY, "/webhook/main")
    assert sender.send(reply("warm-up")).status_code == 200
    statements = traced(store)
    for i in range(20):
        assert sender.send(reply(f"number {i}")).status_code == 200
    assert WebhookSender(client, MAIN_KEY).send(reply("to the default profile")).status_code == 200
    assert not [s for s in statements if "FROM profiles" in s or "FROM settings" in s]
    # each webhook is one transaction of its own (nothing else was waiting), its delivery and message inside
    assert statements.count("BEGIN IMMEDIATE") == statements.count("COMMIT") == 21
    assert sum(s.startswith("INSERT INTO deliveries") for s in statements) == 21
    assert len(messages(store)) == 22


def test_a_key_changed_by_another_process_is_used_at_once(client, store, tmp_path):
    assert WebhookSender(client, MAIN_KEY, "/webhook/main").send(reply("before")).status_code == 200
    statements = traced(store)
    open_store(str(tmp_path / "console.db")).save_profile("main", verify_key="rotated-key")  # the console, elsewhere
    # verified against the receiver's copy (the old key), refused by the writer as stale, then checked again
    old = WebhookSender(client, MAIN_KEY, "/webhook/main").send(reply("signed with the old key"))
    assert old.status_code == 401
    assert deliveries(store, outcome="rejected")[0]["reason"].startswith("wrong key")
    assert sum("FROM profiles" in s for s in statements) == 1  # read again once, then cached
    assert WebhookSender(client, "rotated-key", "/webhook/main").send(reply("new key")).status_code == 200
    assert WebhookSender(client, "rotated-key", "/webhook/main").send(reply("again")).status_code == 200
    assert sum("FROM profiles" in s for s in statements) == 1
    assert [m["text"] for m in messages(store)] == ["before", "new key", "again"]


def test_a_profile_added_or_made_default_elsewhere_is_found(client, store, tmp_path):
    other = open_store(str(tmp_path / "console.db"))
    assert WebhookSender(client, "late-key", "/webhook/late").send(reply("too early")).status_code == 404
    other.save_profile("late", verify_key="late-key")
    assert WebhookSender(client, "late-key", "/webhook/late").send(reply("found")).status_code == 200
    other.set_default_profile("shop")
    assert WebhookSender(client, SHOP_KEY).send(reply("default is shop now")).status_code == 200
    other.delete_profile("late")
    assert WebhookSender(client, "late-key", "/webhook/late").send(reply("gone")).status_code == 404


# ---------------------------------------------------------------- media and health

@pytest.fixture
def uploaded(tmp_path):
    media = str(tmp_path / "media")
    return {name: save_upload(media, name, data) for name, data in (
        ("photo.png", b"\x89PNG\r\n\x1a\nfake"), ("clip.mp4", b"mp4"), ("doc.pdf", b"%PDF-1.4"),
        ("page.html", b"<script>alert(1)</script>"), ("notes.bin", b"\x00\x01"))}


@pytest.mark.parametrize("name, mimetype, inline", [
    ("photo.png", "image/png", True), ("clip.mp4", "video/mp4", True), ("doc.pdf", "application/pdf", True),
    ("page.html", "text/html", False), ("notes.bin", "application/octet-stream", False),
])
def test_media_served_with_its_type(client, uploaded, tmp_path, name, mimetype, inline):
    token, clean = uploaded[name]
    response = client.get(f"/media/{token}/{clean}")
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert ("attachment" in response.headers.get("Content-Disposition", "")) is not inline
    assert response.get_data() == (tmp_path / "media" / token / clean).read_bytes()


def test_media_never_leaves_the_media_dir(client, uploaded, tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    token, _ = uploaded["photo.png"]
    for path in (f"/media/{token}/..%2f..%2fsecret.txt", f"/media/{token}/..%2F..%2Fconsole.db",
                 f"/media/{token}/%2e%2e", "/media/..%2f..%2f/secret.txt", "/media/%2e%2e/secret.txt",
                 f"/media/{token}/../../secret.txt", f"/media/{token}/..\\..\\secret.txt",
                 f"/media/{token}/.secret", "/media/........../secret.txt", f"/media/{token}/%00photo.png"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"top secret" not in response.get_data() and b"SQLite" not in response.get_data()


def test_media_has_no_listing(client, uploaded):
    token, _ = uploaded["photo.png"]
    for path in ("/media", "/media/", f"/media/{token}", f"/media/{token}/", f"/media/{token}/missing.png",
                 "/media/unknowntoken1/photo.png"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("given, clean", [
    ("photo.png", "photo.png"), ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\cv.pdf", "cv.pdf"),
    ("..", "file"), (".hidden", "hidden"), ("my photo (1).JPG", "my_photo_1_.JPG"), ("", "file"),
    ("café.png", "caf_.png"), ("a" * 300 + ".png", "a" * 120),
])
def test_clean_filename(given, clean):
    assert clean_filename(given) == clean


def test_save_upload(tmp_path, monkeypatch):
    token, name = save_upload(str(tmp_path / "m"), "../report.pdf", b"%PDF")
    assert TOKEN_RE.match(token) and name == "report.pdf"
    assert (tmp_path / "m" / token / name).read_bytes() == b"%PDF"
    assert media_url("https://abc.test/", token, name) == f"https://abc.test/media/{token}/{name}"
    assert save_upload(str(tmp_path / "m"), "report.pdf", b"x")[0] != token  # never overwrites
    with pytest.raises(UploadError, match="empty"):
        save_upload(str(tmp_path / "m"), "empty.txt", b"")
    monkeypatch.setattr(media_module, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(UploadError, match="limit"):
        save_upload(str(tmp_path / "m"), "big.bin", b"x" * 11)


def test_healthz(client, store, monkeypatch):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"

    def down():
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(store, "ping", down)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "error"


def test_a_deleted_store_answers_503_with_the_reason_and_acknowledges_nothing(client, store, tmp_path):
    assert client.get("/healthz").status_code == 200
    for name in ("console.db", "console.db-wal", "console.db-shm"):  # what `rm -rf data/` takes away
        (tmp_path / name).unlink(missing_ok=True)
    expected = (f"the store at {tmp_path / 'console.db'} is missing or unreadable: the file was deleted; "
                "restart the console or point APICHAT_DB at a store")

    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["reason"] == expected
    answer = WebhookSender(client, MAIN_KEY).send(reply("kept?"))
    assert answer.status_code == 503 and answer.get_json() == {"status": "error", "reason": expected}
    handshake = client.get("/webhook", query_string=hub(MAIN_KEY))
    assert handshake.status_code == 503 and CHALLENGE not in handshake.get_data(as_text=True)
    assert WebhookSender(client, "wrong-key", "/webhook/nobody").send(reply()).status_code == 503
    assert not (tmp_path / "console.db").exists(), "the receiver recreated or wrote to the deleted store"


def test_nothing_else_is_exposed(client):
    for method, path in (("GET", "/"), ("GET", "/admin"), ("DELETE", "/webhook"), ("PUT", "/webhook/main")):
        response = client.open(path, method=method)
        assert response.status_code in (404, 405) and response.is_json


# ---------------------------------------------------------------- the real process

def test_real_process(start_process, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(tmp_path, UCHAT_VERIFY_TOKEN="proc-key", APICHAT_RECEIVER_PORT=str(port))
    proc = start_process(["-m", "receiver"], env, url=base)

    answer = requests.post(f"{base}/webhook", data=hub("proc-key"), timeout=5)
    assert answer.status_code == 200 and answer.text == CHALLENGE
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert requests.get(f"{base}/webhook", params=hub("wrong"), timeout=5).status_code == 403

    raw = json.dumps(reply("through waitress ✓")).encode()
    signature = signing.sign(raw, "proc-key")
    answer = requests.post(f"{base}/webhook", data=raw, timeout=5,
                           headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    store = open_store(str(tmp_path / "console.db"))
    assert store.list_conversations("env")[0]["last_text"] == "through waitress ✓"

    tampered = requests.post(f"{base}/webhook", data=raw.replace(b"waitress", b"tampered"), timeout=5,
                             headers={"X-Hub-Signature-256": signature})
    assert tampered.status_code == 401
    too_big = requests.post(f"{base}/webhook", data=b"x" * (MIB + 1), timeout=10,
                            headers={"X-Hub-Signature-256": signature})
    assert too_big.status_code == 413
    chunked = requests.post(f"{base}/webhook", data=iter([b"x" * MIB, b"y"]), timeout=10,
                            headers={"X-Hub-Signature-256": signature})
    assert chunked.status_code == 413

    assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok" and proc.proc.poll() is None
    outcomes = [(d["outcome"], d["status_code"]) for d in store.list_deliveries()][::-1]
    assert outcomes == [("handshake", 200), ("rejected", 403), ("accepted", 200), ("rejected", 401),
                        ("rejected", 413), ("rejected", 413)]


def _raw_http(port: int, request: bytes) -> bytes:
    """Send `request` as it is (no client library to tidy it) and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_the_served_process_reads_chunked_bodies_refuses_bad_framing_and_never_repeats_a_key(start_process,
                                                                                              tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_process(["-m", "receiver"], process_env(tmp_path, UCHAT_VERIFY_TOKEN="proc-key-0123456789",
                                                         APICHAT_RECEIVER_PORT=str(port)), url=base)
    raw = json.dumps(reply("sent in chunks")).encode()
    answer = requests.post(f"{base}/webhook", data=iter([raw[:20], raw[20:]]), timeout=10,  # chunked: no length
                           headers={"X-Hub-Signature-256": signing.sign(raw, "proc-key-0123456789")})
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}

    bad = _raw_http(port, b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400"), bad[:200]
    assert b"the body could not be read" in bad

    # a handshake's query string split by a stray space: gunicorn's own page would repeat the key
    line = b"GET /webhook?hub_mode=subscribe&hub_verify_token= proc-key-0123456789&hub_challenge=1 HTTP/1.1\r\n"
    broken = _raw_http(port, line + b"Host: x\r\n\r\n")
    assert broken.startswith(b"HTTP/1.1 400") and b"proc-key-0123456789" not in broken, broken[:300]

    assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
    store = open_store(str(tmp_path / "console.db"))
    assert [m["text"] for m in store.messages_since(store.list_conversations("env")[0]["id"], 0)] == ["sent in chunks"]
    assert [(d["outcome"], d["status_code"]) for d in store.list_deliveries()][0] == ("rejected", 400)
    log = proc.output()
    assert "proc-key-0123456789" not in log and "Traceback" not in log, log
    assert "invalid request from 127.0.0.1: InvalidHTTPVersion (400)" in log, log


def test_clients_silent_in_the_middle_of_a_request_do_not_hold_the_receiver(start_process, tmp_path):
    """With one thread, two clients stalled mid-request (one in its body, one in its headers) would hold it for
    good; each read has --read-timeout, then the thread is free for the next webhook."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_process(["-m", "receiver", "--threads", "1", "--read-timeout", "1"],
                         process_env(tmp_path, UCHAT_VERIFY_TOKEN="proc-key", APICHAT_RECEIVER_PORT=str(port)), url=base)
    with socket.create_connection(("127.0.0.1", port)) as in_body, \
            socket.create_connection(("127.0.0.1", port)) as in_headers:
        in_body.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100\r\n\r\n{\"text\": \"half")
        in_headers.sendall(b"POST /webhook HTTP/1.1\r\nHo")
        raw = json.dumps(reply("after two stalled clients")).encode()
        answer = requests.post(f"{base}/webhook", data=raw, timeout=30,
                               headers={"X-Hub-Signature-256": signing.sign(raw, "proc-key")})
        assert answer.status_code == 200
        in_body.settimeout(30)
        said = in_body.recv(65536)
        assert said.startswith(b"HTTP/1.1 400") and b"the client stopped sending it" in said, said[:300]
        in_headers.settimeout(30)
        assert in_headers.recv(65536) == b""  # closed: nothing to answer a request never read
    log = proc.output()
    assert "a client sent nothing for 1 s in the middle of a request: connection closed" in log, log
    assert "Traceback" not in log, log


def test_a_receiver_killed_with_sigkill_leaves_no_worker_serving_its_port(start_process, tmp_path):
    import signal

    from apichat.processes import probe

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_process(["-m", "receiver"], process_env(tmp_path, APICHAT_RECEIVER_PORT=str(port)), url=base)
    worker = requests.get(f"{base}/healthz", timeout=5).json()["pid"]
    assert worker != proc.proc.pid  # gunicorn: the process started is the master, a worker answers
    proc.stop(signal.SIGKILL)
    wait_until(lambda: probe(base, timeout=0.5) == "down", 10, 0.1, "the worker to die with its master")
    with socket.socket() as again:  # the port is free for the next receiver (which sets SO_REUSEADDR too)
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def run_receiver(tmp_path, *args, **env):
    return subprocess.run([sys.executable, "-m", "receiver", *args], cwd=ROOT, env=process_env(tmp_path, **env),
                          capture_output=True, text=True, timeout=60)


def test_help_documents_the_flags(tmp_path):
    done = run_receiver(tmp_path, "--help", APICHAT_RECEIVER_PORT="abc")
    assert done.returncode == 0
    for flag in ("--host", "--port", "--db", "--media-dir", "--threads"):
        assert flag in done.stdout
    assert "APICHAT_RECEIVER_PORT" in done.stdout


@pytest.mark.parametrize("args, env, says", [
    ((), {"APICHAT_RECEIVER_PORT": "abc"}, "APICHAT_RECEIVER_PORT"),
    (("--port", "70000"), {}, "port"),
    (("--threads", "0"), {}, "threads"),
    (("--workers", "65"), {}, "workers '65' must be a whole number from 1 to 64"),
    (("--workers", "2"), {}, "--workers 2 needs a store several processes can share (APICHAT_DB=postgresql://"),
    (("--db", "/proc/no/such/dir/console.db"), {}, "console.db"),
])
def test_bad_settings_exit_with_one_readable_line(tmp_path, args, env, says):
    done = run_receiver(tmp_path, *args, **env)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 4 and says in lines[-1], done.stderr  # argparse prints its usage (3 lines) first


def test_port_in_use_is_one_readable_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_receiver(tmp_path, "--port", str(port))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    said = rf"receiver: cannot listen on 127\.0\.0\.1:{port}: \[Errno \d+\] Address already in use"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and re.fullmatch(said, lines[0]), done.stderr


def test_process_stays_up_under_bad_input(start_process, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start_process(["-m", "receiver"], process_env(tmp_path, UCHAT_VERIFY_TOKEN="k", APICHAT_RECEIVER_PORT=str(port)),
                  url=base)
    for data, headers in ((b"\x00" * 100, {}), (b"[" * 200_000, {"X-Hub-Signature-256": signing.sign(b"[" * 200_000, "k")}),
                          (b"hub_mode=subscribe&hub_challenge=1", {"Content-Type": "multipart/form-data"}),
                          (b"{", {"Content-Type": "application/json"})):
        assert requests.post(f"{base}/webhook", data=data, headers=headers, timeout=10).status_code < 500
    wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200, 5, message="healthy")


def test_a_handshake_is_stored_without_the_verification_token(tmp_path):
    from receiver import create_app

    store = open_store(str(tmp_path / "c.db"))
    store.save_profile("p", verify_key="a-long-verification-token")
    client = create_app({"db_path": str(tmp_path / "c.db")}, store=store).test_client()
    answers = [client.post("/webhook/p", data={"hub_mode": "subscribe", "hub_challenge": "c1",
                                               "hub_verify_token": "a-long-verification-token"}),
               client.post("/webhook/p", json={"hub": {"mode": "subscribe", "challenge": "c2",
                                                      "verify_token": "a-long-verification-token"}}),
               client.post("/webhook/p", data={"hub_mode": "subscribe", "hub_challenge": "c3",
                                               "hub_verify_token": "a-wrong-token-of-someone"})]
    assert [(a.status_code, a.get_data(as_text=True)) for a in answers[:2]] == [(200, "c1"), (200, "c2")]
    assert answers[2].status_code == 403 and "c3" not in answers[2].get_data(as_text=True)
    stored = [bytes(d["body"]) for d in store.list_deliveries()]
    assert len(stored) == 3
    assert not any(b"a-long-verification-token" in b or b"a-wrong-token-of-someone" in b for b in stored)
    assert all(b"hub" in b for b in stored)  # the rest of the body is kept for debugging
