"""Payloads: the builders write exactly UChat's documented JSON (docs/protocol.md §4); the parser reads every shape a bot sends."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apichat.payloads import (
    BotMessage,
    Button,
    Card,
    Media,
    file_type_for,
    media_payload,
    parse_bot_message,
    postback_payload,
    safe_url,
    text_payload,
)
from tests.seed_examples import filled

FILL = {
    "{{UNIQUE BOT USER ID}}": "contact-42",
    "{{BOT USER NAME}}": "Ada Tester",
    "{{TEXT MESSAGE}}": "Hello \"bot\" / café",
    "{{BUTTON TITLE}}": "Yes please",
    "{{BUTTON PAYLOAD}}": "YES_PAYLOAD",
    "{{IMAGE URL}}": "https://cdn.test/a.png",
    "{{AUDIO URL}}": "https://cdn.test/a.mp3",
    "{{VIDEO URL}}": "https://cdn.test/a.mp4",
    "{{FILE URL}}": "https://cdn.test/a.pdf",
}
SENDER = {"id": "contact-42", "name": "Ada Tester"}


def seed(name: str) -> dict:
    text, value = filled(name, FILL)
    assert "{{" not in text
    return value


def same_json(built: dict, expected: dict) -> None:
    """Equal values and the same key order at every level (what goes over the wire)."""
    assert built == expected
    assert json.dumps(built) == json.dumps(expected)


# ---------------------------------------------------------------- builders

def test_text_payload_is_the_documented_one():
    same_json(text_payload(SENDER, 123, FILL["{{TEXT MESSAGE}}"]), seed("text"))


def test_postback_payload_is_the_documented_one():
    same_json(postback_payload(SENDER, 123, "Yes please", "YES_PAYLOAD"), seed("postback"))


@pytest.mark.parametrize("kind", ["image", "audio", "video", "file"])
def test_media_payload_is_the_documented_one(kind):
    expected = seed(kind)
    same_json(media_payload(SENDER, 123, kind, FILL["{{" + kind.upper() + " URL}}"]), expected)


def test_builders_coerce_to_the_documented_types():
    body = text_payload({"id": 7, "name": None, "phone": "+1555"}, "123", "hi")
    assert body["conversation_id"] == 123 and isinstance(body["conversation_id"], int)
    assert body["sender"] == {"id": "7", "name": "", "email": "", "phone_number": "+1555", "type": "contact"}


@pytest.mark.parametrize("sender, shown", [
    ({}, {"id": "", "name": "", "email": "", "phone_number": ""}),
    ({"id": "c1", "name": "Ada", "email": "ada@x.test", "phone_number": "+1555"},
     {"id": "c1", "name": "Ada", "email": "ada@x.test", "phone_number": "+1555"}),
    ({"id": "c1", "name": None, "email": None, "phone": "+1666"},
     {"id": "c1", "name": "", "email": "", "phone_number": "+1666"}),  # phone: the contact profile's spelling
    ({"id": "c1", "phone_number": "+1555", "phone": "+1666"}, {"id": "c1", "name": "", "email": "", "phone_number": "+1555"}),
])
def test_the_contact_the_bot_receives_has_every_field_as_text(sender, shown):
    assert text_payload(sender, 1, "hi")["sender"] == {**shown, "type": "contact"}


def test_media_payload_refuses_unknown_kinds():
    with pytest.raises(ValueError, match="^file_type must be one of image, audio, video, file, not 'sticker'$"):
        media_payload(SENDER, 1, "sticker", "https://x.test/a")


@pytest.mark.parametrize("mime, kind", [("image/png", "image"), ("audio/mpeg", "audio"), ("VIDEO/mp4", "video"),
                                        ("application/pdf", "file"), (None, "file"), ("", "file"),
                                        ('image/png; name="a/b.png"', "image"), ("text/plain", "file")])
def test_file_type_for(mime, kind):
    assert file_type_for(mime) == kind


# ---------------------------------------------------------------- UChat's documented bot messages

BASE = {"sender_id": "contact-42", "conv_id": 123, "message_type": "outgoing", "private": False}


def bot(**fields) -> dict:
    return {**BASE, **fields}


def postback(title="Pick", payload="PICK"):
    return {"type": "postback", "title": title, "payload": payload}


def test_text():
    body = bot(text="Hello there", type="text")
    msg = parse_bot_message(json.dumps(body).encode(), flow_ns="f123")
    assert (msg.kind, msg.text, msg.sender_id, msg.conv_id) == ("text", "Hello there", "contact-42", 123)
    assert (msg.author, msg.private, msg.flow_ns, msg.notes) == ("bot", False, "f123", [])
    assert msg.raw == body


def test_button_template():
    body = bot(text="Choose", type="text", content_type="button_template",
               content_attributes={"text": "Choose one", "buttons": [postback("A", "PA"), postback("B", "PB")]})
    msg = parse_bot_message(body)
    assert msg.kind == "buttons" and msg.text == "Choose" and msg.content_type == "button_template"
    assert msg.buttons == [Button("postback", "A", "PA"), Button("postback", "B", "PB")]


def test_button_template_text_from_attributes_when_body_has_none():
    body = bot(type="text", content_type="button_template",
               content_attributes={"text": "Only here", "buttons": [postback()]})
    assert parse_bot_message(body).text == "Only here"


@pytest.mark.parametrize("ratio", ["horizontal", "square"])
def test_generic_template(ratio):
    item = {"title": "Shoe", "image_url": "https://x.test/s.png", "item_url": None, "subtitle": "Red",
            "default_action": None, "buttons": [postback("Buy", "BUY_1")]}
    body = bot(text="Cards", type="text", content_type="generic_template",
               content_attributes={"ratio": ratio, "items": [item, {**item, "title": "Hat"}]})
    msg = parse_bot_message(body)
    assert msg.kind == "cards" and msg.ratio == ratio and len(msg.cards) == 2
    assert msg.cards[0] == Card("Shoe", "Red", "https://x.test/s.png", "", [Button("postback", "Buy", "BUY_1")])
    assert msg.cards[1].title == "Hat"


def test_generic_template_unknown_ratio_falls_back_to_horizontal():
    body = bot(content_type="generic_template", content_attributes={"ratio": "tall", "items": [{"title": "x"}]})
    assert parse_bot_message(body).ratio == "horizontal"


def test_card_default_action_link():
    body = bot(content_type="generic_template",
               content_attributes={"items": [{"title": "x", "default_action": {"type": "web_url",
                                                                                 "url": "https://x.test/p"}}]})
    assert parse_bot_message(body).cards[0].item_url == "https://x.test/p"


@pytest.mark.parametrize("kind", ["image", "audio", "video", "file"])
def test_media_with_url(kind):
    msg = parse_bot_message(bot(url=f"https://cdn.test/m.{kind}", type=kind))
    assert msg.kind == kind and msg.media == [Media(kind, f"https://cdn.test/m.{kind}")]


@pytest.mark.parametrize("private", [True, "true", 1, "1", "yes", "on", " TRUE "])
def test_private_note_is_an_agents(private):
    msg = parse_bot_message(bot(text="internal: check stock", type="text", private=private))
    assert msg.private is True and msg.author == "agent" and msg.text == "internal: check stock"


@pytest.mark.parametrize("private", [False, "false", 0, None, "0", "no", "", {"a": 1}, [1]])
def test_not_private(private):
    msg = parse_bot_message(bot(text="hi", type="text", private=private))
    assert msg.private is False and msg.author == "bot"


@pytest.mark.parametrize("fields, author", [
    ({"sender_type": "agent"}, "agent"), ({"sender_type": "User"}, "agent"), ({"sender_type": "human"}, "agent"),
    ({"sender_type": "human_agent"}, "agent"), ({"sender": {"type": "agent"}}, "agent"), ({"agent_id": 7}, "agent"),
    ({"agent_name": "Sam"}, "agent"), ({"agent_id": ""}, "bot"), ({"sender_type": "bot"}, "bot"), ({}, "bot"),
])
def test_a_reply_is_an_agents_when_any_of_its_fields_says_so(fields, author):
    assert parse_bot_message(bot(text="hi", **fields)).author == author


@pytest.mark.parametrize("fields, text", [
    ({"text": "a"}, "a"), ({"content": "a"}, "a"), ({"message": "a"}, "a"), ({"text": "", "content": "a"}, "a"),
    ({"content": "a", "message": "b"}, "a"), ({"content": "", "message": "b"}, "b"),
    ({"content_attributes": {"text": "a"}}, "a"), ({"text": "a", "content_attributes": {"text": "b"}}, "a"),
    ({"text": {"a": "café"}}, '{"a": "café"}'), ({"text": 1.5}, "1.5"),
])
def test_the_text_is_read_under_each_name_a_bot_gives_it(fields, text):
    assert parse_bot_message(bot(**fields)).text == text


@pytest.mark.parametrize("fields, sender_id", [
    ({"sender_id": "a"}, "a"), ({"contact_id": "a"}, "a"), ({"user_id": "a"}, "a"), ({"sender": {"id": 5}}, "5"),
    ({"sender_id": "", "user_id": "a"}, "a"), ({"contact_id": "a", "user_id": "b"}, "a"),
    ({"user_id": "b", "sender": {"id": 5}}, "b"),
])
def test_the_contact_is_read_under_each_name_a_bot_gives_it(fields, sender_id):
    assert parse_bot_message({"text": "hi", **fields}).sender_id == sender_id


def test_the_flow_is_the_one_given_else_the_bodys_else_none():
    assert parse_bot_message(bot(text="x")).flow_ns == ""
    assert parse_bot_message(bot(text="x", flow_ns="f1")).flow_ns == "f1"
    assert parse_bot_message(bot(text="x", flow_ns="f1"), flow_ns="f2").flow_ns == "f2"


def test_agent_reply_not_private():
    msg = parse_bot_message(bot(text="Hi, I'm Sam", sender_type="agent"))
    assert msg.author == "agent" and not msg.private


# ---------------------------------------------------------------- tolerated variants

def buttons_of(*buttons) -> list[Button]:
    msg = parse_bot_message(bot(text="t", content_type="button_template",
                                content_attributes={"text": "t", "buttons": list(buttons)}))
    assert msg.kind == "buttons"
    return msg.buttons


@pytest.mark.parametrize("kind", ["web_url", "url"])
def test_link_buttons(kind):
    assert buttons_of({"type": kind, "title": "Site", "url": "https://x.test"}) == [
        Button("url", "Site", "", "https://x.test")]


@pytest.mark.parametrize("kind", ["phone_number", "call"])
def test_call_buttons(kind):
    assert buttons_of({"type": kind, "title": "Call us", "payload": "+15551234"}) == [
        Button("call", "Call us", "+15551234", "tel:+15551234")]


def test_call_button_number_already_a_tel_link():
    assert buttons_of({"type": "call", "title": "Call", "url": "tel:+1555"})[0].url == "tel:+1555"


@pytest.mark.parametrize("label", ["title", "caption", "text"])
def test_button_label_names(label):
    assert buttons_of({"type": "postback", label: "Go", "payload": "GO"}) == [Button("postback", "Go", "GO")]


@pytest.mark.parametrize("name", ["payload", "value"])
def test_button_value_names(name):
    assert buttons_of({"type": "postback", "title": "Go", name: "GO_VALUE"})[0].payload == "GO_VALUE"


@pytest.mark.parametrize("name", ["url", "uri", "link"])
def test_button_link_names(name):
    assert buttons_of({"type": "web_url", "title": "Open", name: "https://x.test/o"})[0].url == "https://x.test/o"


@pytest.mark.parametrize("button, parsed", [
    # the title under each of its names; an empty one gives way to the next
    ({"type": "postback", "label": "Go", "payload": "GO"}, Button("postback", "Go", "GO")),
    ({"type": "postback", "title": "", "caption": "Go", "payload": "GO"}, Button("postback", "Go", "GO")),
    ({"type": "postback", "payload": "GO"}, Button("postback", "GO", "GO")),  # no title: the payload shows
    ({"type": "postback", "title": "Go"}, Button("postback", "Go", "Go")),  # no payload: the title is sent
    # the type under content_type (quick replies' spelling)
    ({"content_type": "web_url", "title": "Site", "url": "https://x.test", "payload": "P"},
     Button("url", "Site", "P", "https://x.test")),
    ({"type": "POSTBACK", "title": "Go", "payload": "GO"}, Button("postback", "Go", "GO")),
    # a link with a payload too is a link only when its type says so
    ({"type": "postback", "title": "Site", "url": "https://x.test", "payload": "P"}, Button("postback", "Site", "P")),
    ({"title": "Site", "url": "https://x.test", "payload": "P"}, Button("postback", "Site", "P")),
    ({"title": "Site", "url": "https://x.test"}, Button("url", "Site", "", "https://x.test")),
    ({"type": "web_url", "url": "https://x.test"}, Button("url", "https://x.test", "", "https://x.test")),
])
def test_a_button_is_read_under_each_name_a_bot_gives_its_fields(button, parsed):
    assert buttons_of(button) == [parsed]


@pytest.mark.parametrize("kind", ["web_url", "url", "link", "open_url", "weburl", " Web_URL "])
def test_each_link_type_makes_a_link_even_with_a_payload(kind):
    assert buttons_of({"type": kind, "title": "Site", "url": "https://x.test", "payload": "P"}) == [
        Button("url", "Site", "P", "https://x.test")]


@pytest.mark.parametrize("kind", ["phone_number", "call", "phone", "tel", "phone_call", "PHONE"])
@pytest.mark.parametrize("field", ["payload", "phone_number", "url"])
def test_each_call_type_takes_the_number_from_the_payload_phone_number_or_url(kind, field):
    number = "tel:+1555" if field == "url" else "+1555"
    assert buttons_of({"type": kind, "title": "Call", field: number}) == [Button("call", "Call", "+1555", "tel:+1555")]


def test_a_call_button_prefers_the_payload_and_shows_the_number_when_it_has_no_title():
    assert buttons_of({"type": "call", "payload": "+1", "phone_number": "+2", "url": "tel:+3"}) == [
        Button("call", "+1", "+1", "tel:+1")]
    assert buttons_of({"type": "call", "phone_number": "+2", "url": "tel:+3"})[0].payload == "+2"


@pytest.mark.parametrize("item, card", [
    ({"title": "T"}, Card("T")),
    ({"name": "T"}, Card("T")),
    ({"header": "T"}, Card("T")),
    ({"title": "", "name": "N", "header": "H"}, Card("N")),
    ({"title": "T", "subtitle": "S"}, Card("T", "S")),
    ({"title": "T", "description": "S"}, Card("T", "S")),
    ({"title": "T", "text": "S"}, Card("T", "S")),
    ({"image_url": "https://x.test/1.png"}, Card(image_url="https://x.test/1.png")),
    ({"media_url": "https://x.test/1.png"}, Card(image_url="https://x.test/1.png")),
    ({"image": "https://x.test/1.png"}, Card(image_url="https://x.test/1.png")),
    ({"thumbnail_url": "https://x.test/1.png"}, Card(image_url="https://x.test/1.png")),
    ({"item_url": "https://x.test/p"}, Card(item_url="https://x.test/p")),
    ({"url": "https://x.test/p"}, Card(item_url="https://x.test/p")),
    ({"default_action": {"uri": "https://x.test/p"}}, Card(item_url="https://x.test/p")),
    ({"default_action": {"link": "https://x.test/p"}}, Card(item_url="https://x.test/p")),
    ({"item_url": "https://x.test/a", "default_action": {"url": "https://x.test/b"}}, Card(item_url="https://x.test/a")),
    ({"default_action": "https://x.test/p"}, Card()),
])
def test_a_card_is_read_under_each_name_a_bot_gives_its_fields(item, card):
    assert parse_bot_message(bot(content_type="generic_template", content_attributes={"items": [item]})).cards == [card]


@pytest.mark.parametrize("body, media", [
    ({"type": "image", "url": "https://x.test/a"}, [Media("image", "https://x.test/a")]),
    ({"type": "image", "data_url": "https://x.test/a"}, [Media("image", "https://x.test/a")]),
    ({"type": "audio", "media_url": "https://x.test/a"}, [Media("audio", "https://x.test/a")]),
    ({"type": "file", "file_url": "https://x.test/a"}, [Media("file", "https://x.test/a")]),
    ({"type": "video", "content_attributes": {"url": "https://x.test/a"}}, [Media("video", "https://x.test/a")]),
    ({"type": "video", "content_attributes": {"data_url": "https://x.test/a"}}, [Media("video", "https://x.test/a")]),
    ({"type": "text", "text": "see", "url": "https://x.test/a"}, []),  # a url beside a text is no medium
    ({"type": "image"}, []),
    ({"attachments": [{"type": "audio", "url": "https://x.test/a"}]}, [Media("audio", "https://x.test/a")]),
    ({"attachments": [{"kind": "VIDEO", "file_url": "https://x.test/a"}]}, [Media("video", "https://x.test/a")]),
    ({"attachments": [{"file_type": "image", "media_url": "https://x.test/a"}]}, [Media("image", "https://x.test/a")]),
    ({"attachments": [{"file_type": "image", "thumb_url": "https://x.test/a"}]}, [Media("image", "https://x.test/a")]),
    ({"attachments": [{"file_type": "image", "data_url": "https://x.test/a", "url": "https://x.test/b"}]},
     [Media("image", "https://x.test/a")]),
    ({"attachments": [{"file_type": "image"}]}, []),
])
def test_a_medium_is_read_under_each_name_a_bot_gives_its_url_and_kind(body, media):
    assert parse_bot_message(bot(**body)).media == media


def test_a_note_about_something_ignored_quotes_its_first_80_characters():
    long_item = "x" * 100
    notes = parse_bot_message(bot(content_type="button_template", content_attributes={
        "buttons": [[long_item]]}, text="t")).notes
    assert notes == [f"ignored a button that is not an object: {json.dumps([long_item])[:80]}"]
    notes = parse_bot_message(bot(content_type="generic_template", content_attributes={"items": [long_item]})).notes
    assert notes == [f"ignored a card that is not an object: {long_item[:80]}"]


def test_untyped_button_with_only_a_link_is_a_link():
    assert buttons_of({"title": "Open", "link": "https://x.test"})[0].kind == "url"


def test_elements_media_url_and_description():
    body = bot(content_type="generic_template", content_attributes={"elements": [
        {"title": "T", "media_url": "https://x.test/i.png", "description": "D"}]})
    msg = parse_bot_message(body)
    assert msg.kind == "cards"
    assert msg.cards == [Card("T", "D", "https://x.test/i.png", "", [])]


def test_content_attributes_as_a_json_string():
    attrs = {"text": "Pick", "buttons": [postback("A", "PA")]}
    msg = parse_bot_message(bot(text="Pick", content_type="button_template", content_attributes=json.dumps(attrs)))
    assert msg.kind == "buttons" and msg.buttons == [Button("postback", "A", "PA")] and msg.notes == []


def test_content_attributes_as_a_broken_string():
    msg = parse_bot_message(bot(text="Pick", content_type="button_template", content_attributes="{not json"))
    assert msg.text == "Pick" and any("not JSON" in n for n in msg.notes)


def test_attachments_next_to_text():
    body = bot(text="Here are your files", type="text", attachments=[
        {"file_type": "image", "data_url": "https://x.test/a.png"},
        {"file_type": "file", "data_url": "https://x.test/b.pdf"},
        {"file_type": "sticker", "data_url": "https://x.test/c.webp"}])
    msg = parse_bot_message(body)
    assert msg.kind == "media" and msg.text == "Here are your files"
    assert msg.media == [Media("image", "https://x.test/a.png"), Media("file", "https://x.test/b.pdf"),
                         Media("file", "https://x.test/c.webp")]


def test_attachments_of_one_kind():
    body = bot(attachments=[{"file_type": "image", "data_url": "https://x.test/a.png"},
                            {"file_type": "image", "data_url": "https://x.test/b.png"}])
    msg = parse_bot_message(body)
    assert msg.kind == "image" and len(msg.media) == 2


def test_quick_replies():
    body = bot(text="Pick one", quick_replies=[{"content_type": "text", "title": "Red", "payload": "RED"},
                                               {"title": "Blue", "payload": "BLUE"}, "Green"])
    msg = parse_bot_message(body)
    assert msg.kind == "text" and msg.text == "Pick one"
    assert msg.quick_replies == [Button("postback", "Red", "RED"), Button("postback", "Blue", "BLUE"),
                                 Button("postback", "Green", "Green")]


@pytest.mark.parametrize("value, expected", [
    (123, 123), ("123", 123), (" 123 ", 123), (123.0, 123), ("abc-1", "abc-1"), (None, None), ("", None),
    (True, None), ("²", "²"), (2**70, str(2**70)), (-5, -5),
])
def test_conv_id_as_string_or_number(value, expected):
    msg = parse_bot_message(bot(text="x", conv_id=value))
    assert msg.conv_id == expected and msg.kind == "text" and not any("error" in n for n in msg.notes)


@pytest.mark.parametrize("value, expected", [
    ("-5", -5), (" -5 ", -5), ("--5", "--5"), ("-", "-"), ("5-", "5-"), ("a12", "a12"), ("1.5", "1.5"), (1.5, "1.5"),
    (str(2**63), str(2**63)), (str(2**63 - 1), 2**63 - 1), (str(-2**63), -2**63), ("   ", None), (False, None),
])
def test_conv_id_is_an_integer_only_when_all_of_it_is_one_that_fits(value, expected):
    msg = parse_bot_message(bot(text="x", conv_id=value))
    assert msg.conv_id == expected and type(msg.conv_id) is type(expected) and msg.notes == []


def test_conversation_id_spelling():
    body = {"sender_id": "c", "conversation_id": "77", "text": "x"}
    assert parse_bot_message(body).conv_id == 77


@pytest.mark.parametrize("field, value", [("content_type", "location_template"), ("type", "sticker")])
def test_unknown_type_is_unsupported_with_text_and_raw(field, value):
    body = bot(text="Where we are", **{field: value}, extra={"lat": 1.5})
    msg = parse_bot_message(json.dumps(body))
    assert msg.kind == "unsupported" and msg.text == "Where we are" and msg.raw == body
    assert any(value in note for note in msg.notes)


def test_nothing_to_show_is_unsupported():
    msg = parse_bot_message(bot(type="text"))
    assert msg.kind == "unsupported" and msg.raw["conv_id"] == 123


@pytest.mark.parametrize("body, note", [
    (b"not json at all", "not JSON"), (b"\xff\xfe\x00garbage", "not JSON"), ("[1, 2]", "list"),
    ("null", "NoneType"), ("42", "int"), ('"text"', "str"), (b"", "not JSON"),
])
def test_non_object_bodies(body, note):
    msg = parse_bot_message(body)
    assert msg.kind == "unsupported" and any(note in n for n in msg.notes)


@pytest.mark.parametrize("body, text, note, raw", [
    ("not json", "not json", "body is not JSON", "not json"),
    (b"caf\xe9 \xff", "caf\ufffd \ufffd", "body is not JSON", "caf\ufffd \ufffd"),
    ('["a", "é"]', '["a", "é"]', "body is a JSON list, not an object", ["a", "é"]),
    ("7", "7", "body is a JSON int, not an object", 7),
])
def test_a_body_that_is_no_object_is_kept_whole_as_unsupported(body, text, note, raw):
    msg = parse_bot_message(body, flow_ns="f1")
    assert (msg.kind, msg.text, msg.flow_ns, msg.notes, msg.raw) == ("unsupported", text, "f1", [note], raw)


@pytest.mark.parametrize("attrs, notes", [
    ("", []), ("  ", []), ('{"text": "a"}', []), ("{not json", ["content_attributes is a string that is not JSON"]),
    ("[1]", ["content_attributes is not an object"]), (None, []), (5, ["content_attributes is not an object"]),
])
def test_content_attributes_that_are_not_an_object_are_noted_unless_empty(attrs, notes):
    assert parse_bot_message(bot(text="x", content_attributes=attrs)).notes == notes


@pytest.mark.parametrize("body, kind, titles", [
    ({"text": "t", "buttons": [{"title": "A", "payload": "A"}]}, "buttons", ["A"]),
    ({"text": "t", "content_attributes": {"buttons": [{"title": "A", "payload": "A"}]}}, "buttons", ["A"]),
    ({"text": "t", "content_type": "button_template"}, "buttons", []),  # its type says buttons, though none came
    ({"text": "t", "content_attributes": {"quick_replies": ["Q"]}}, "text", ["Q"]),
    ({"text": "t", "quick_replies": ["Q"], "content_attributes": {"quick_replies": ["R"]}}, "text", ["Q"]),
    ({"content_attributes": {"cards": [{"title": "C"}]}}, "cards", ["C"]),
    ({"content_attributes": {"elements": [{"title": "C"}]}}, "cards", ["C"]),
    ({"items": [{"title": "C"}]}, "cards", ["C"]),
    ({"elements": [{"title": "C"}]}, "cards", ["C"]),
    ({"cards": [{"title": "C"}]}, "cards", ["C"]),
    ({"cards": [{"title": "B"}], "content_attributes": {"items": [{"title": "A"}]}}, "cards", ["A"]),
])
def test_buttons_quick_replies_and_cards_are_read_in_the_body_or_its_attributes(body, kind, titles):
    msg = parse_bot_message(body)
    found = [b.title for b in msg.buttons + msg.quick_replies] + [c.title for c in msg.cards]
    assert (msg.kind, found, msg.notes) == (kind, titles, [])


@pytest.mark.parametrize("attrs, ratio", [
    ({"ratio": "square"}, "square"), ({"image_aspect_ratio": "SQUARE"}, "square"), ({"ratio": "Horizontal"}, "horizontal"),
    ({"ratio": "", "image_aspect_ratio": "square"}, "square"), ({}, "horizontal"),
])
def test_the_cards_ratio_under_each_of_its_names(attrs, ratio):
    assert parse_bot_message({"content_attributes": {**attrs, "items": [{"title": "C"}]}}).ratio == ratio


@pytest.mark.parametrize("body, note", [
    ({"text": "t", "type": "sticker"}, "unknown type: sticker"),
    ({"text": "t", "content_type": "location"}, "unknown content_type: location"),
    ({"text": "t", "content_type": "location", "type": "sticker"}, "unknown content_type: location"),
])
def test_an_unknown_type_is_named_in_the_note(body, note):
    msg = parse_bot_message(body)
    assert (msg.kind, msg.notes) == ("unsupported", [note])


def test_two_media_of_two_kinds_are_media_and_of_one_kind_that_kind():
    two = [{"file_type": "image", "data_url": "https://x.test/a"}, {"file_type": "audio", "data_url": "https://x.test/b"}]
    assert parse_bot_message({"attachments": two}).kind == "media"
    assert parse_bot_message({"attachments": [two[0], two[0]]}).kind == "image"
    assert parse_bot_message({"attachments": [two[1]]}).kind == "audio"


def test_a_quick_reply_that_is_not_an_object_is_noted():
    msg = parse_bot_message({"text": "t", "quick_replies": ["Yes", 5, None]})
    assert [q.title for q in msg.quick_replies] == ["Yes"]
    assert msg.notes == ["ignored a button that is not an object: 5", "ignored a button that is not an object: "]


def test_an_empty_string_for_buttons_or_quick_replies_is_none():
    msg = parse_bot_message(bot(text="x", buttons="", quick_replies="", content_attributes={"quick_replies": ""}))
    assert (msg.kind, msg.buttons, msg.quick_replies) == ("text", [], [])


@pytest.mark.parametrize("body, kind, text, notes", [
    ({"text": None, "content_attributes": None, "buttons": None, "attachments": None, "quick_replies": None},
     "unsupported", "", ["no text, buttons, cards or media found"]),
    ({"text": 5, "content_attributes": 5, "conv_id": [1], "sender_id": {"a": 1}, "private": [True]},
     "text", "5", ["content_attributes is not an object"]),
    ({"content_type": "generic_template", "content_attributes": {"items": {"title": "not a list"}}},
     "cards", "", []),
    ({"content_type": "generic_template", "content_attributes": {"items": [None, 1, "x", {"buttons": 7}]}},
     "cards", "", ["ignored a card that is not an object: ", "ignored a card that is not an object: 1",
                   "ignored a card that is not an object: x", "ignored a button that is not an object: 7"]),
    ({"content_type": "button_template", "content_attributes": {"buttons": [None, 3, [1], {"type": None}]}},
     "buttons", "", ["ignored a button that is not an object: ", "ignored a button that is not an object: 3",
                     "ignored a button that is not an object: [1]"]),
    ({"attachments": [None, "x", {"file_type": None, "data_url": None}, {"data_url": 5}]}, "file", "", []),
    ({"attachments": {"file_type": "image", "data_url": "https://x.test/a.png"}}, "image", "", []),
    ({"type": ["image"], "content_type": {"a": 1}, "url": {"u": 1}}, "unsupported", "",
     ['unknown content_type: {"a": 1}']),
    ({"content_attributes": "[1, 2]", "text": "x"}, "text", "x", ["content_attributes is not an object"]),
    ({"quick_replies": "Yes", "text": "q"}, "text", "q", []),
    ({"text": "deep", "raw": [[[[[[[[[[{"a": [None]}]]]]]]]]]]}, "text", "deep", []),
])
def test_wrong_types_everywhere_never_raise(body, kind, text, notes):
    msg = parse_bot_message(body)
    assert not any("parser error" in note for note in msg.notes), msg.notes  # read, not caught as a crash
    assert (msg.kind, msg.text, msg.notes) == (kind, text, notes)
    assert isinstance(msg, BotMessage) and msg.raw == body
    json.dumps(msg.to_dict())


def test_wrong_types_keep_what_is_usable():
    conv = parse_bot_message({"text": 5, "conv_id": [1], "sender_id": {"a": 1}, "private": [True]})
    assert (conv.conv_id, conv.sender_id, conv.private, conv.author) == ("[1]", '{"a": 1}', False, "bot")
    [card] = parse_bot_message({"content_type": "generic_template",
                                "content_attributes": {"items": [None, 1, "x", {"buttons": 7}]}}).cards
    assert card == Card()
    assert parse_bot_message({"content_type": "button_template", "content_attributes": {
        "buttons": [None, 3, [1], {"type": None}]}}).buttons == [Button("postback", "", "")]
    assert parse_bot_message({"attachments": [None, "x", {"file_type": None, "data_url": None},
                                              {"data_url": 5}]}).media == [Media("file", "5")]
    assert parse_bot_message({"attachments": {"file_type": "image", "data_url": "https://x.test/a.png"}}).media == [
        Media("image", "https://x.test/a.png")]
    assert parse_bot_message({"quick_replies": "Yes", "text": "q"}).quick_replies == [Button("postback", "Yes", "Yes")]


def test_a_message_read_back_from_its_dict_keeps_its_buttons_and_quick_replies():
    body = bot(text="Pick", content_type="button_template", quick_replies=["Q"],
               content_attributes={"buttons": [postback(), {"type": "web_url", "title": "S", "url": "https://x.test"}]})
    msg = parse_bot_message(body)
    again = BotMessage.from_dict(json.loads(json.dumps(msg.to_dict())))
    assert again.buttons == [Button("postback", "Pick", "PICK"), Button("url", "S", "", "https://x.test")]
    assert again.quick_replies == [Button("postback", "Q", "Q")] and again == msg


def test_roundtrip_through_dict():
    body = bot(text="Cards", content_type="generic_template", quick_replies=[{"title": "Q", "payload": "q"}],
               attachments=[{"file_type": "image", "data_url": "https://x.test/a.png"}],
               content_attributes={"items": [{"title": "T", "buttons": [postback(), {"type": "call",
                                                                                    "payload": "+1"}]}]})
    msg = parse_bot_message(body)
    again = BotMessage.from_dict(json.loads(json.dumps(msg.to_dict())))
    assert again == msg


def test_safe_url():
    assert safe_url("https://x.test") == "https://x.test"
    assert safe_url(" tel:+1 ") == "tel:+1"
    assert safe_url("javascript:alert(1)") == ""
    assert safe_url("java\nscript:alert(1)") == ""
    assert safe_url(None) == ""
    assert safe_url("java\tscript:alert(1)") == ""
    assert safe_url("ht\ttps://x.test") == "ht\ttps://x.test"  # browsers drop a tab or newline inside a URL
    assert safe_url("MAILTO:a@x.test") == "MAILTO:a@x.test"
    assert safe_url("ftp://x.test") == "" and safe_url("/relative") == "" and safe_url(5) == ""


# ---------------------------------------------------------------- never raises, whatever the JSON

KEYS = st.sampled_from(["text", "type", "content_type", "content_attributes", "buttons", "items", "elements",
                        "attachments", "quick_replies", "conv_id", "conversation_id", "sender_id", "sender",
                        "private", "url", "title", "payload", "value", "uri", "link", "file_type", "data_url",
                        "default_action", "ratio", "image_url", "subtitle", "phone_number"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=20) | st.sampled_from(["image", "call", "web_url", "generic_template",
                                                       "button_template", "123", "true", "{}", "[1]"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=6), max_leaves=40)
KINDS = {"text", "buttons", "cards", "image", "audio", "video", "file", "media", "unsupported"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_never_raises_on_any_json(value):
    for body in (value, json.dumps(value), json.dumps(value).encode()):
        msg = parse_bot_message(body)
        assert msg.kind in KINDS
        assert msg.conv_id is None or isinstance(msg.conv_id, str) or -2**63 <= msg.conv_id < 2**63
        assert not any("parser error" in n for n in msg.notes), msg.notes
        json.dumps(msg.to_dict())


def test_deeply_nested_body_is_parsed_and_converted():
    depth = 900  # about as deep as json.loads goes
    body = json.loads('{"text": "deep", "extra": ' + "[" * depth + "]" * depth + "}")
    msg = parse_bot_message(body)
    assert msg.kind == "text"
    data = msg.to_dict()
    assert data["raw"] is body and data["text"] == "deep"
    assert "raw" not in msg.to_dict(raw=False)


def test_a_parser_bug_keeps_the_message_as_unsupported(monkeypatch):
    import apichat.payloads as payloads

    def broken(*_):
        raise KeyError("boom")

    monkeypatch.setattr(payloads, "_card", broken)
    body = bot(text="Cards", content_type="generic_template", content_attributes={"items": [{"title": "T"}]})
    for sent in (body, json.dumps(body), json.dumps(body).encode()):
        msg = parse_bot_message(sent)
        assert msg.kind == "unsupported" and "Cards" in msg.text and any("parser error" in n for n in msg.notes)
    kept = parse_bot_message(body, flow_ns="f1")
    assert (kept.flow_ns, kept.raw, kept.notes) == ("f1", body, ["parser error: KeyError('boom')"])
    as_bytes = parse_bot_message(json.dumps(body).encode() + b"\xff", flow_ns="f1")  # not JSON: read before _card
    assert as_bytes.notes == ["body is not JSON"]
    long_text = {**body, "text": "x" * 3000, "when": {1, 2}}  # a set: no JSON text of it, its repr instead
    msg = parse_bot_message(long_text)
    assert msg.text == repr(long_text)[:2000] and len(msg.text) == 2000 and msg.raw is long_text


def test_a_parser_bug_on_bytes_keeps_their_text_and_no_raw(monkeypatch):
    import apichat.payloads as payloads

    def broken(*_):
        raise KeyError("boom")

    monkeypatch.setattr(payloads, "_parse", broken)
    msg = parse_bot_message(b'{"text": "caf\xe9"}', flow_ns="f1")
    assert (msg.kind, msg.text, msg.flow_ns, msg.raw) == ("unsupported", '{"text": "caf\ufffd"}', "f1", None)
    assert parse_bot_message({"text": "a"}).raw == {"text": "a"}


def test_to_dict_is_asdict_without_copying_raw():
    from dataclasses import asdict

    body = bot(text="Cards", content_type="generic_template", quick_replies=["Q"], private=True,
               attachments=[{"file_type": "video", "data_url": "https://x.test/v.mp4"}],
               content_attributes={"items": [{"title": "T", "buttons": [postback(), {"type": "call",
                                                                                    "payload": "+1"}]}]})
    msg = parse_bot_message(body)
    data = msg.to_dict()
    assert data == asdict(msg) and data["raw"] is body
    data["cards"][0]["buttons"][0]["title"] = "changed"
    data["notes"].append("x")
    assert msg.cards[0].buttons[0].title == "Pick" and "x" not in msg.notes  # a copy, not a view
