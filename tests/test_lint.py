"""Channel-limit lint: every rule at its limit (clean) and one past it (flagged)."""

from __future__ import annotations

import pytest

from apichat import lint
from apichat.payloads import parse_bot_message


def pb(title="Go", payload="GO"):
    return {"kind": "postback", "title": title, "payload": payload, "url": ""}


def card(title="Card", subtitle="", buttons=None):
    return {"title": title, "subtitle": subtitle, "image_url": "", "item_url": "", "buttons": buttons or []}


def buttons_msg(text="Pick", buttons=None, quick_replies=None):
    return {"kind": "buttons", "text": text, "buttons": [pb()] if buttons is None else buttons,
            "quick_replies": quick_replies or [], "cards": [], "media": []}


def cards_msg(cards):
    return {"kind": "cards", "text": "", "buttons": [], "quick_replies": [], "cards": cards, "media": []}


def rules(data, channels=lint.CHANNELS):
    return sorted({f.rule for f in lint.lint_message(data, channels)})


# (rule, builder of a message with n of the measured thing, the limit)
CASES = [
    ("messenger.button_text", lambda n: buttons_msg(text="x" * n), 640),
    ("messenger.button_count", lambda n: buttons_msg(buttons=[pb(f"B{i}", f"P{i}") for i in range(n)]), 3),
    ("messenger.button_title", lambda n: buttons_msg(buttons=[pb("t" * n)]), 20),
    ("messenger.postback_payload", lambda n: buttons_msg(buttons=[pb("Go", "p" * n)]), 1000),
    ("messenger.elements", lambda n: cards_msg([card(f"C{i}") for i in range(n)]), 10),
    ("messenger.card_title", lambda n: cards_msg([card("t" * n)]), 80),
    ("messenger.card_subtitle", lambda n: cards_msg([card("C", "s" * n)]), 80),
    ("messenger.card_buttons", lambda n: cards_msg([card("C", buttons=[pb(f"B{i}", f"P{i}") for i in range(n)])]), 3),
    ("messenger.quick_replies", lambda n: {"kind": "text", "text": "Pick",
                                           "quick_replies": [pb(f"Q{i}", f"Q{i}") for i in range(n)]}, 13),
    ("whatsapp.reply_buttons", lambda n: buttons_msg(buttons=[pb(f"B{i}", f"P{i}") for i in range(n)]), 3),
    ("whatsapp.button_title", lambda n: buttons_msg(buttons=[pb("t" * n)]), 20),
    ("whatsapp.body", lambda n: buttons_msg(text="x" * n), 1024),
    ("whatsapp.list_rows", lambda n: {"kind": "text", "text": "Pick",
                                      "quick_replies": [pb(f"Q{i}", f"Q{i}") for i in range(n)]}, 10),
    ("whatsapp.list_rows", lambda n: cards_msg([card(f"C{i}") for i in range(n)]), 10),
    ("whatsapp.row_title", lambda n: {"kind": "text", "text": "Pick",
                                      "quick_replies": [pb("r" * n, "R")] + [pb(f"Q{i}", f"Q{i}") for i in range(4)]},
     24),
    ("whatsapp.row_title", lambda n: cards_msg([card("t" * n)]), 24),
]


@pytest.mark.parametrize("rule,build,limit", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_holds_at_its_limit_and_flags_one_past_it(rule, build, limit):
    channel = rule.split(".")[0]
    assert rule not in rules(build(limit), (channel,))
    over = lint.lint_message(build(limit + 1), (channel,))
    found = [f for f in over if f.rule == rule]
    assert found and found[0].actual == limit + 1 and found[0].limit == limit
    assert rule in found[0].message and str(limit) in found[0].message


def test_a_button_template_needs_at_least_one_button_on_messenger():
    assert rules(buttons_msg(buttons=[]), ("messenger",)) == ["messenger.button_count"]


def test_only_the_chosen_channels_are_linted_and_private_notes_never():
    twelve = cards_msg([card(f"C{i}") for i in range(12)])
    assert rules(twelve, ("messenger",)) == ["messenger.elements"]
    assert rules(twelve, ("whatsapp",)) == ["whatsapp.list_rows"]
    assert rules(twelve, ()) == []
    assert rules({**twelve, "private": True}) == []
    assert lint.lint_message("not a dict") == []


def test_a_parsed_webhook_is_linted_as_stored():
    body = {"content_type": "generic_template", "content_attributes": {"items": [
        {"title": f"Item {i}", "buttons": [{"type": "postback", "title": "A title far longer than twenty",
                                           "payload": "X"}]} for i in range(11)]}}
    found = rules(parse_bot_message(body).to_dict(raw=False))
    assert found == ["messenger.button_title", "messenger.elements", "whatsapp.list_rows"]


def test_url_and_call_buttons_have_no_payload_rule_and_are_not_whatsapp_replies():
    link = {"kind": "url", "title": "Site", "payload": "", "url": "https://example.com"}
    assert rules(buttons_msg(buttons=[link] * 3)) == []
    assert rules(buttons_msg(buttons=[link] * 4)) == ["messenger.button_count"]


def test_channels_setting_is_parsed_strictly_and_read_tolerantly():
    assert lint.parse_channels("whatsapp, Messenger") == ("messenger", "whatsapp")
    assert lint.parse_channels("") == ()
    assert lint.parse_channels(None) == lint.CHANNELS
    with pytest.raises(ValueError, match="unknown channel.*telegram"):
        lint.parse_channels("telegram")
    assert lint.channels_of({"lint_channels": "whatsapp"}) == ("whatsapp",)
    assert lint.channels_of({"lint_channels": "bogus"}) == lint.CHANNELS
    assert lint.channels_of(None) == lint.CHANNELS


def test_allow_lists_take_rule_ids_or_whole_channels():
    finding = lint.Finding("messenger.elements", "cards", 10, 12)
    assert lint.allowed(finding, ["messenger"]) and lint.allowed(finding, ["messenger.elements"])
    assert not lint.allowed(finding, ["whatsapp", "messenger.card_title"])


def test_the_demo_bot_greeting_breaks_both_button_limits_and_its_carousel_is_clean():
    from sandbox.bot import respond

    def answer(event, **extra):
        payload = {"sender": {"id": "c1", "name": "Ana"}, "conversation_id": 1, "event": event, "content": "",
                   **extra}
        return [parse_bot_message(r.body).to_dict(raw=False) for r in respond(payload, media_base="http://x").replies]
    hi = answer("message_created", content="hi")
    assert [rules(m) for m in hi] == [["messenger.button_count", "whatsapp.reply_buttons"]]
    products = answer("message_postback", content="Products",
                      submitted_values=[{"title": "Products", "payload": "MENU_PRODUCTS"}])
    assert [rules(m) for m in products] == [[]]
