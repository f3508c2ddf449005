"""Properties over random input: the parser's output is storable, signatures verify exactly the signed bytes,
the receiver never answers 5xx nor accepts anything unsigned, the handshake echoes only for the right
token, and the scenario loader raises only its own error, always with file and line."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apichat import signing
from apichat.media import save_upload
from apichat.payloads import BotMessage, parse_bot_message
from apichat.scenarios import ScenarioError, load_scenario, parse_scenario
from apichat.store import open_store
from receiver import create_app

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(PROPERTY, max_examples=60)
KEYS = {"main": "main-key-7f3a", "shop": "shop-key-91c2", "nokey": ""}
MIB = 1024 * 1024

# ---------------------------------------------------------------- strategies

# lone surrogates ('\ud800') are what json.loads makes of a "\ud800" escape: valid JSON, not valid UTF-8
SURROGATES = st.text(st.characters(codec=None, categories=["Cs"]), min_size=1, max_size=3)
TEXT = (st.text(max_size=30) | SURROGATES | st.builds(lambda a, s: a + s, st.text(max_size=5), SURROGATES)
        | st.builds(lambda c, n: c * n, st.characters(), st.sampled_from([1000, 70_000])))
FIELDS = st.sampled_from([
    "text", "content", "message", "type", "content_type", "content_attributes", "buttons", "items", "elements",
    "cards", "attachments", "quick_replies", "conv_id", "conversation_id", "sender_id", "contact_id", "sender",
    "private", "url", "data_url", "title", "payload", "value", "uri", "file_type", "default_action", "ratio",
    "image_url", "subtitle", "phone_number", "agent_id", "sender_type", "flow_ns"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63 - 2, max_value=2**70)
           | st.floats(allow_nan=False) | TEXT
           | st.sampled_from(["image", "call", "web_url", "generic_template", "button_template", "text", "123",
                              "-9223372036854775809", "true", "{}", '{"buttons": [1]}', "tel:+1", "agent"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(FIELDS | st.text(max_size=8), inner, max_size=6), max_leaves=30)
OBJECTS = st.dictionaries(FIELDS | st.text(max_size=8).filter(lambda k: not k.lower().startswith("hub")),
                          JSON, max_size=8)


def no_surrogates(text: str) -> str:
    """`text` as the store keeps it: a lone surrogate becomes U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


# ---------------------------------------------------------------- the parser: its output is storable and round-trips

@pytest.fixture(scope="module")
def memory_store():
    store = open_store(":memory:")
    store.save_profile("main", verify_key=KEYS["main"])
    return store


@PROPERTY
@given(value=JSON, as_bytes=st.booleans())
def test_every_parsed_message_is_stored_and_reads_back(memory_store, value, as_bytes):
    raw = json.dumps(value).encode()  # ASCII: a lone surrogate travels as its \\udXXX escape, as JSON allows
    msg = parse_bot_message(raw if as_bytes else value, flow_ns="f-1")
    outcome, delivery, message_id = memory_store.accept_webhook(
        profile="main", route="/webhook", method="POST", headers={"X-Test": "1"}, body=raw, message=msg,
        flow_ns="f-1")
    assert outcome in ("accepted", "duplicate") and memory_store.get_delivery(delivery)["message_id"] == message_id
    row = memory_store.get_message(message_id)
    assert row["raw"] == raw.decode()
    if outcome == "accepted":
        assert row["kind"] == msg.kind and row["direction"] == "in" and row["author"] == msg.author
        stored = BotMessage.from_dict(json.loads(row["data"]))
        expected = json.loads(no_surrogates(json.dumps(msg.to_dict(raw=False), ensure_ascii=False)))
        assert dataclasses.asdict(stored) == {**expected, "raw": None}


@PROPERTY
@given(value=JSON)
def test_to_dict_and_from_dict_round_trip(value):
    value = json.loads(json.dumps(value))  # as a webhook delivers it (a split surrogate pair arrives joined)
    msg = parse_bot_message(value)
    assert BotMessage.from_dict(msg.to_dict()) == msg
    through_json = BotMessage.from_dict(json.loads(json.dumps(msg.to_dict(raw=False))))
    assert through_json == dataclasses.replace(msg, raw=None)


# ---------------------------------------------------------------- signatures

BODIES = st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode())
SIGNING_KEYS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@PROPERTY
@given(body=BODIES, key=SIGNING_KEYS, other=BODIES, other_key=SIGNING_KEYS, upper=st.booleans(),
       spaces=st.sampled_from(["", " ", "\t", "  "]))
def test_a_signature_verifies_exactly_the_bytes_and_key_it_was_made_with(body, key, other, other_key, upper,
                                                                          spaces):
    header = signing.sign(body, key)
    spelled = spaces + (header.upper() if upper else header) + spaces
    assert signing.verify(body, spelled, key)
    assert signing.verify(other, header, key) is (other == body)
    assert signing.verify(body, header, other_key) is (other_key == key)
    assert not signing.verify(body, signing.sign(body, ""), "")


def hmac_hex(body: bytes, key: str) -> str:
    """HMAC-SHA256 as UChat's PHP `hash_hmac('sha256', $payload, $key)` makes it, straight from hmac."""
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


# how a sender may spell the right signature (verify is tolerant of these), or get it slightly wrong
SPELLINGS = st.sampled_from([
    lambda h: "sha256=" + h, lambda h: "SHA256=" + h.upper(), lambda h: " sha256= " + h[:32] + " " + h[32:] + "\t",
    lambda h: h, lambda h: "sha256=" + h[:-1], lambda h: "sha256=" + h + "0", lambda h: "sha1=" + h,
    lambda h: "sha256=" + h[:-1] + ("0" if h[-1] != "0" else "1")])


@PROPERTY
@given(body=BODIES, header=st.none() | TEXT | st.builds(lambda h: "sha256=" + h, st.text("0123456789abcdefABCDEF ",
                                                                                          max_size=70)),
       spell=st.none() | SPELLINGS, key=st.text(max_size=20))
def test_the_signature_check_never_raises_and_never_tells_the_key(body, header, spell, key):
    key = "KEY-" + key
    if spell is not None:  # a spelling of this body's real signature, made without the signing module
        header = spell(hmac_hex(body, key))
    digest = None if header is None else "".join(header.split()).lower().removeprefix("sha256=")
    valid = signing.verify(body, header, key)
    assert valid is (digest == hmac_hex(body, key))
    reason = signing.diagnose(body, header, key, {"other": "KEY-other-key"})
    assert isinstance(reason, str) and key not in reason and "KEY-other-key" not in reason
    assert (reason == "signature is valid") is valid


# ---------------------------------------------------------------- the receiver, in-process, under random requests

class Receiver:
    """One receiver app and store for a whole property: invariants are checked over every delivery so far."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.store = open_store(str(folder / "console.db"))
        for name, key in KEYS.items():
            self.store.save_profile(name, verify_key=key)
        self.store.set_default_profile("main")
        self.token, self.filename = save_upload(str(folder / "media"), "photo.png", b"\x89PNG fake")
        self.app = create_app({"db_path": str(folder / "console.db"), "media_dir": str(folder / "media")},
                              store=self.store)
        self.client = self.app.test_client()
        self.checked = 0

    def profile_of(self, path: str) -> str:
        return path.split("/")[2] if path.count("/") >= 2 else "main"

    def assert_nothing_unsigned_accepted(self) -> int:
        """Every accepted or duplicate delivery since the last check carries a valid signature of its profile."""
        rows = self.store.list_deliveries(after_id=self.checked, limit=10_000)
        for row in rows:
            if row["outcome"] in ("accepted", "duplicate"):
                key = KEYS[row["profile"]]
                signature = signing.find_header(json.loads(row["headers"]))
                assert key and signing.verify(row["body"], signature, key), row
                assert row["status_code"] == 200 and row["method"] in ("POST", "HEAD")
                message = self.store.get_message(row["message_id"])
                assert message is not None and message["direction"] == "in"
            else:
                assert 200 <= row["status_code"] < 500, row
                assert row["outcome"] in ("rejected", "handshake"), row
        self.checked = max([self.checked] + [r["id"] for r in rows])
        return len(rows)


@pytest.fixture(scope="module")
def receiver():
    with tempfile.TemporaryDirectory(prefix="apichat-properties-") as folder:
        harness = Receiver(Path(folder))
        yield harness
        harness.store.close()


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=40)
URL_TEXT = st.text(max_size=20).map(lambda t: quote(t, safe=""))
PATHS = st.one_of(
    st.sampled_from(["/webhook", "/webhook/main", "/webhook/shop", "/webhook/nokey", "/webhook/", "/healthz",
                     "/media", "/", "/webhook/main/extra", "/webhook/%2e%2e", "/media/%2e%2e/%2e%2e"]),
    URL_TEXT.map(lambda t: "/webhook/" + t),
    st.tuples(URL_TEXT, URL_TEXT).map(lambda p: f"/media/{p[0]}/{p[1]}"),
    st.builds(lambda name: f"/media/{{token}}/{name}", st.sampled_from(["{file}", "..", "%2e%2e%2fconsole.db",
                                                                        "photo.PNG", "x"])),
    URL_TEXT.map(lambda t: "/" + t))
CONTENT_TYPES = st.sampled_from([
    None, "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
    "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x",
    "text/plain", "text/xml", "application/octet-stream", "", "*/*", "application/json; charset=utf-16",
    "multipart/mixed; boundary=\"", ";;;", "application/x-www-form-urlencoded; charset=nope"]) | HEADER_TEXT
HUB_NAMES = st.sampled_from(["hub_mode", "hub.mode", "hub-mode", "hub_verify_token", "hub.verify_token",
                             "hub_challenge", "hub.challenge", "hub", "HUB_MODE"])
QUERIES = st.dictionaries(HUB_NAMES | st.text(max_size=8), st.text(max_size=12) | st.sampled_from(
    ["subscribe", KEYS["main"], KEYS["shop"]]), max_size=4)
RANDOM_BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda v: json.dumps(v).encode()),
    OBJECTS.map(lambda v: json.dumps(v).encode()),
    QUERIES.map(lambda q: "&".join(f"{quote(k)}={quote(v)}" for k, v in q.items()).encode()),
    st.sampled_from([b"", b"{", b"[" * 5000, b"\xff\xfe{\x00}\x00", b'{"text": "\\ud800"}', b"null",
                     b'{"hub": {"mode": "subscribe"}}', b"x" * (MIB + 1), b"--x\r\nContent-Disposition: form-data;"
                     b' name="hub_mode"\r\n\r\nsubscribe\r\n--x--\r\n']))
SIGNATURES = st.sampled_from(["none", "main", "shop", "nokey", "empty-key", "random", "sha1", "garbage"])
EXTRA_HEADERS = st.lists(st.tuples(
    st.sampled_from(["X-Hub-Signature-256", "x-flow-ns", "x-action", "Content-Encoding", "Transfer-Encoding",
                     "Content-Length", "Authorization", "Cookie", "X-Forwarded-For", "Host", "Accept"])
    | st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12), HEADER_TEXT | st.sampled_from(
        ["gzip", "chunked", "identity", "-1", "99999999999", "0", "sha256=" + "0" * 64])), max_size=4)


def signature_for(kind: str, body: bytes, data) -> str | None:
    if kind in KEYS or kind == "empty-key":
        return signing.sign(body, KEYS.get(kind, ""))
    return {"none": None, "sha1": "sha1=" + "a" * 40, "garbage": data.draw(HEADER_TEXT),
            "random": "sha256=" + data.draw(st.text("0123456789abcdef", min_size=64, max_size=64))}[kind]


@PROPERTY
@given(method=st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
                               "PROPFIND"]),
       path=PATHS, query=QUERIES, body=RANDOM_BODIES, content_type=CONTENT_TYPES, signature=SIGNATURES,
       extra=EXTRA_HEADERS, data=st.data())
def test_random_requests_never_5xx_and_nothing_unsigned_is_accepted(receiver, method, path, query, body,
                                                                    content_type, signature, extra, data):
    path = path.replace("{token}", receiver.token).replace("{file}", receiver.filename)
    headers = [(name, value) for name, value in extra if name.lower() != "host"]
    sent = signature_for(signature, body, data)
    if sent is not None:
        headers.append(("X-Hub-Signature-256", sent))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    response = receiver.client.open(path, method=method, query_string=query, headers=headers, data=body)
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        assert response.is_json or method == "HEAD", response.get_data()[:200]
    receiver.assert_nothing_unsigned_accepted()


@PROPERTY
@given(body=OBJECTS, content_type=CONTENT_TYPES, profile=st.sampled_from(["", "/main", "/shop"]),
       spelling=st.sampled_from(["X-Hub-Signature-256", "x-hub-signature-256", "X-HUB-SIGNATURE-256"]),
       upper=st.booleans(), ascii_only=st.booleans(), pad=st.sampled_from([0, 0, 0, 50_000]))
def test_every_validly_signed_message_is_acknowledged_and_kept(receiver, body, content_type, profile, spelling,
                                                               upper, ascii_only, pad):
    if pad:
        body = {**body, "padding": "x" * pad}
    try:
        raw = json.dumps(body, ensure_ascii=ascii_only).encode()
    except UnicodeEncodeError:  # a lone surrogate is not UTF-8: a JSON encoder sends its escape
        raw = json.dumps(body).encode()
    signature = signing.sign(raw, KEYS[profile.strip("/") or "main"])
    headers = {spelling: signature.upper() if upper else signature}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = receiver.client.post("/webhook" + profile, data=raw, headers=headers)
    if len(raw) > MIB:
        assert response.status_code == 413 and receiver.store.list_deliveries(limit=1)[0]["status_code"] == 413
        return
    assert response.status_code == 200, (response.status_code, response.get_data()[:300])
    delivery = receiver.store.list_deliveries(limit=1)[0]
    assert delivery["outcome"] in ("accepted", "duplicate") and bytes(delivery["body"]) == raw
    assert receiver.store.get_message(delivery["message_id"])["raw"] == raw.decode("utf-8", "replace") or \
        delivery["outcome"] == "duplicate"
    receiver.assert_nothing_unsigned_accepted()


# ---------------------------------------------------------------- the handshake

ENCODINGS = ("GET query", "POST query", "form", "multipart", "json", "json nested")
TOKENS = st.sampled_from([KEYS["main"], KEYS["shop"], KEYS["main"] + " ", " " + KEYS["main"], KEYS["main"].upper(),
                          KEYS["main"][:-1], "", "subscribe"]) | TEXT


def handshake_request(client, path: str, encoding: str, fields: dict):
    if encoding == "GET query":
        return client.get(path, query_string=fields)
    if encoding == "POST query":
        return client.post(path, query_string=fields)
    if encoding == "form":
        return client.post(path, data=fields)
    if encoding == "multipart":
        return client.post(path, data=fields, content_type="multipart/form-data")
    if encoding == "json":
        return client.post(path, data=json.dumps(fields), content_type="application/json")
    nested = {"hub": {name.split(name[3], 1)[1]: value for name, value in fields.items()}}
    return client.post(path, data=json.dumps(nested), content_type="application/json")


@PROPERTY
@given(encoding=st.sampled_from(ENCODINGS), separator=st.sampled_from(["_", ".", "-"]),
       route=st.sampled_from(["/webhook", "/webhook/main", "/webhook/shop", "/webhook/nokey"]),
       mode=st.sampled_from(["subscribe", "Subscribe", " subscribe ", "unsubscribe", "", "subscribe!"]) | TEXT,
       token=TOKENS, challenge=st.none() | TEXT | st.text("0123456789abcdef", min_size=32, max_size=32))
def test_the_handshake_echoes_the_exact_challenge_only_for_the_right_token(receiver, encoding, separator, route,
                                                                           mode, token, challenge):
    if not encoding.startswith("json"):  # a URL or a form carries UTF-8: a lone surrogate cannot be sent
        mode, token = no_surrogates(mode), no_surrogates(token)
        challenge = None if challenge is None else no_surrogates(challenge)
    fields = {f"hub{separator}mode": mode, f"hub{separator}verify_token": token}
    if challenge is not None:
        fields[f"hub{separator}challenge"] = challenge
    key = KEYS[receiver.profile_of(route)]
    response = handshake_request(receiver.client, route, encoding, fields)
    assert response.status_code < 500, response.get_data()[:300]
    right = bool(key) and token == key and mode.strip().lower() == "subscribe"
    if response.status_code == 200:
        assert right and response.get_data() == challenge.encode() and response.mimetype == "text/plain"
    elif right and challenge is not None and no_surrogates(challenge) == challenge:
        pytest.fail(f"the right token was refused: {response.status_code} {response.get_data()[:200]}")
    if mode.strip().lower() == "subscribe" and challenge is not None and not (bool(key) and token == key):
        too_big = (response.request.content_length or 0) > MIB  # two 70,000-character fields can pass 1 MiB
        assert response.status_code == (413 if too_big else 403)
    assert key not in response.get_data(as_text=True) or not key or token == key
    receiver.assert_nothing_unsigned_accepted()


# ---------------------------------------------------------------- the scenario loader

FRAGMENTS = st.sampled_from([
    "name: x", "steps:", "- send: hi", "  - send: hi", "    expect:", "      - text: {contains: a}", "- click: X",
    "- wait: 1s", "- wait: 1e400s", "  messages: !!int abc", "  messages: " + "9" * 5000, "- !!float x: 1",
    "timeout: !!float nope", "a: &a [1, *a]", "- <<: *a", "- <<: 5", "? [a, b]\n: 1", "steps: !!omap [a: 1]",
    "contact: {name: A, id: !!binary '@@'}", "- send: !!timestamp 2020-13-45", "- send: !!python/object:os.system x",
    "\t- send: x", "steps: [" * 300, "{a: " * 300, "- expect: {text: {matches: '('}}", "- expect: {cards: {count: -1}}",
    "- expect: {buttons: {exactly: [{title: 1}]}}", "- postback: {payload: ~}", "- send_image: javascript:x",
    "- expect: [not: {private: yes}]", "settle: 10m", "  within: 0s", "- expect_messages: {min: 3, max: 1}",
    "%YAML 1.1", "--- !!str", "...", "&x", "*x", "- !!set {a, b}", "- send: \"\\ud800\"", "- send: \"\\0\"",
    "- click: {card: [1], button: {a: b}}", "- any_order: maybe", "- name: [1]", "steps:\r  - send: x",
])
YAMLISH = st.lists(st.tuples(st.sampled_from(["", "  ", "    ", "      "]), FRAGMENTS | st.text(max_size=20)),
                   max_size=12).map(lambda lines: "\n".join(indent + line for indent, line in lines))
SCENARIO_TEXTS = YAMLISH | st.text(max_size=200) | JSON.map(lambda v: yaml.safe_dump(
    {"steps": v}, allow_unicode=True) if not any(0xD800 <= ord(c) < 0xE000 for c in json.dumps(
        v, ensure_ascii=False)) else "steps: []")
PROBLEM = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<what>\S.*)$")


def assert_located(error: ScenarioError, path: str, text: str) -> None:
    assert error.problems, "a ScenarioError without problems"
    for problem in error.problems:
        found = PROBLEM.match(problem)
        assert found and found["path"] == path and len(problem.splitlines()) == 1, problem
        assert 1 <= int(found["line"]) <= len(text.splitlines()) + 1, (problem, text)


@PROPERTY
@given(text=SCENARIO_TEXTS)
def test_the_scenario_parser_raises_only_its_own_error_with_file_and_line(text):
    try:
        parse_scenario(text, "suite/my scenario.yaml")
    except ScenarioError as error:
        assert_located(error, "suite/my scenario.yaml", text)
    else:  # a scenario needs `steps:`: without the word anywhere, the text cannot be one
        assert "steps" in text, f"accepted a text without steps: {text!r}"


# one-line steps: each is fine, or wrong in one way the parser must name at its line
GOOD_STEPS = ["- send: hi", "- click: Products", "- wait: 1s", "- postback: {payload: P}", "- {send: x, messages: 1}",
              "- send: 'it''s [not] a list'", "- send_image: https://x.test/a.png", "- expect: {text: {contains: a}}",
              "- {send: x, expect: [{buttons: {count: 3}}], within: 2s}", "- {click: {card: 1, button: Buy}}"]
BAD_STEPS = ["- expect: {text: {matches: '('}}", "- expect: {cards: {count: -1}}", "- postback: {payload: ~}",
             "- send_image: javascript:x", "- expect_messages: {min: 3, max: 1}", "- any_order: maybe", "- hello",
             "- sned: hi", "- wait: forever", "- wait: 1e400s", "- {send: a, click: b}", "- send: [1, 2]",
             "- click: ''", "- {wait: 1s, within: 1s}", "- expect: {kind: sticker}", "- wait: 11m", "- {}", "- []",
             "- 5", "- ~", "- {send: x, messages: -1}"]
STEP_LISTS = st.lists(st.sampled_from(GOOD_STEPS).map(lambda s: (s, False))
                      | st.sampled_from(BAD_STEPS).map(lambda s: (s, True)), min_size=1, max_size=8)


@PROPERTY
@given(head=st.sampled_from(["", "name: Mixed\n", "contact: {name: Ann}\ntimeout: 5s\n"]), steps=STEP_LISTS)
def test_every_wrong_step_is_rejected_at_its_line_and_right_ones_parse(head, steps):
    text = head + "steps:\n" + "".join(f"  {step}\n" for step, _ in steps)
    first = head.count("\n") + 2
    wrong = {first + i for i, (_, bad) in enumerate(steps) if bad}
    try:
        scenario = parse_scenario(text, "mixed.yaml")
    except ScenarioError as error:
        assert_located(error, "mixed.yaml", text)
        assert {int(PROBLEM.match(p)["line"]) for p in error.problems} == wrong, (error.problems, text)
    else:
        assert not wrong, f"accepted wrong steps at lines {sorted(wrong)}:\n{text}"
        assert len(scenario.steps) == len(steps)


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return True
    return False


@FEW
@given(raw=st.binary(max_size=300) | SCENARIO_TEXTS.map(lambda t: t.encode("utf-16")) | st.builds(
    lambda t, junk: t.encode("utf-8", "surrogatepass") + junk, SCENARIO_TEXTS, st.binary(max_size=4)))
def test_the_scenario_loader_reads_any_bytes_into_its_own_error(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.yaml"
        path.write_bytes(raw)
        try:
            load_scenario(path, "random.yaml")
        except ScenarioError as error:
            assert_located(error, "random.yaml", raw.decode("utf-8", "replace"))
            if len(raw) > 512 * 1024:  # too big is said first, whatever the bytes
                assert "a scenario may be at most 512 KiB" in error.problems[0], error.problems
            elif _not_utf8(raw):
                assert error.problems[0].endswith(": the file is not UTF-8 text"), error.problems
        else:
            assert not _not_utf8(raw), f"accepted bytes that are not UTF-8: {raw!r}"
            assert b"steps" in raw, f"accepted a file without steps: {raw!r}"


def test_deeply_nested_and_self_referencing_scenarios_are_reported_with_a_line():
    for text in ("steps:\n  - send: " + "[" * 5000 + "]" * 5000, "steps: " + "{a: " * 3000 + "1" + "}" * 3000,
                 "a: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 1500)) + "steps:\n"
                 "  - send: *a1499\n",
                 "steps:\n  - send: x\n    messages: !!int abc\n", "steps:\n  - wait: !!float abc\n",
                 "steps:\n  - !!int x: 1\n", "steps:\n  - send: x\n    messages: " + "9" * 5000 + "\n"):
        with pytest.raises(ScenarioError) as caught:
            parse_scenario(text, "deep.yaml")
        assert_located(caught.value, "deep.yaml", text)


# ---------------------------------------------------------------- regressions found while hardening (issue #7)

def test_media_never_follows_a_symlink_nor_opens_what_is_not_a_file(tmp_path):
    import os

    media = tmp_path / "media"
    token, name = save_upload(str(media), "photo.png", b"\x89PNG real")
    (tmp_path / "secret.txt").write_text("top secret")
    (media / token / "leak.txt").symlink_to(tmp_path / "secret.txt")  # a link inside pointing outside
    (media / token / "again.png").symlink_to(media / token / name)  # even one pointing inside
    (media / "AAAAAAAAAAAA").symlink_to(tmp_path, target_is_directory=True)  # a token folder that is a link
    os.mkfifo(media / token / "pipe.txt")  # opening a FIFO would block a worker for ever
    app = create_app({"db_path": str(tmp_path / "c.db"), "media_dir": str(media)})
    client = app.test_client()
    for path in (f"/media/{token}/leak.txt", f"/media/{token}/again.png", "/media/AAAAAAAAAAAA/secret.txt",
                 f"/media/{token}/pipe.txt"):
        response = client.get(path)
        assert response.status_code == 404 and b"top secret" not in response.get_data(), path
    served = client.get(f"/media/{token}/{name}")
    assert served.status_code == 200 and served.get_data() == b"\x89PNG real" and served.mimetype == "image/png"
    assert served.headers["Content-Length"] == "9" and served.headers.get("ETag") and served.last_modified
    assert client.get(f"/media/{token}/{name}", headers={"Range": "bytes=0-3"}).get_data() == b"\x89PNG"

    linked = tmp_path / "linked-media"  # the media dir itself may be a link the user chose
    linked.symlink_to(media, target_is_directory=True)
    other = create_app({"db_path": str(tmp_path / "c.db"), "media_dir": str(linked)}).test_client()
    assert other.get(f"/media/{token}/{name}").get_data() == b"\x89PNG real"
    assert other.get(f"/media/{token}/leak.txt").status_code == 404


def test_lone_surrogates_are_stored_and_never_break_the_handshake(receiver):
    raw = b'{"text": "broken \\ud83d emoji", "sender_id": "\\udc00", "conv_id": 7, "type": "text"}'
    answer = receiver.client.post("/webhook", data=raw, headers={"X-Hub-Signature-256": signing.sign(raw, KEYS["main"])})
    assert answer.status_code == 200
    delivery = receiver.store.list_deliveries(limit=1)[0]
    stored = receiver.store.get_message(delivery["message_id"])
    assert stored["text"] == "broken \ufffd emoji" and bytes(delivery["body"]) == raw
    assert receiver.store.get_conversation(stored["conversation"])["contact_id"] == "\ufffd"

    def handshake(token: str, challenge: str):
        return receiver.client.post("/webhook", data=json.dumps({"hub_mode": "subscribe", "hub_verify_token": token,
                                                                 "hub_challenge": challenge}),
                                    content_type="application/json")

    assert handshake(KEYS["main"], "\ud800").status_code == 400
    assert handshake("\ud800", "abc").status_code == 403
    assert handshake("wrong", "\ud800").status_code == 403
    right = handshake(KEYS["main"], "ok ✓")
    assert right.status_code == 200 and right.get_data() == "ok ✓".encode()
    receiver.assert_nothing_unsigned_accepted()


def test_the_handshake_compares_digests_of_equal_length_whatever_the_token(receiver, monkeypatch):
    import hmac

    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    for token in ("", "x", KEYS["main"][:-1], KEYS["main"], KEYS["main"] * 50):
        receiver.client.get("/webhook", query_string={"hub_mode": "subscribe", "hub_verify_token": token,
                                                      "hub_challenge": "c"})
    assert compared == [(32, 32)] * 5  # the key's length does not decide how long the comparison takes


def test_receiver_logs_never_print_a_key_and_cannot_be_forged_by_a_path(receiver, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    body = b'{"text": "hello"}'
    receiver.client.get("/webhook", query_string={"hub_mode": "subscribe", "hub_verify_token": KEYS["main"],
                                                  "hub_challenge": "c"})
    receiver.client.post("/webhook", data={"hub_mode": "subscribe", "hub_verify_token": KEYS["shop"],
                                           "hub_challenge": "c"})
    receiver.client.post("/webhook/shop", data=body, headers={"X-Hub-Signature-256": signing.sign(body, KEYS["main"])})
    receiver.client.post("/webhook", data=body, headers={"X-Hub-Signature-256": signing.sign(body, KEYS["main"]),
                                                         "Authorization": f"Bearer {KEYS['shop']}"})
    forged = receiver.client.get("/webhook/x%0A2026-01-01 receiver INFO POST -> 200 accepted")
    assert forged.status_code == 404 and "no profile named 'x\\n2026" in forged.get_json()["reason"]
    assert caplog.records and all(k not in caplog.text for k in (KEYS["main"], KEYS["shop"]))
    assert not any(line.startswith("2026-01-01") for r in caplog.records for line in r.getMessage().splitlines())
