"""What the chat's live region says about each kind of message (no browser: the words and the markers)."""

from __future__ import annotations

import html

from ui import a11y


def row(direction="in", kind="text", author="bot", status="received", **extra) -> dict:
    return {"id": 7, "direction": direction, "kind": kind, "author": author, "status": status, "error": "",
            "updated_at": 12.5, **extra}


def test_who_said_it():
    assert a11y.who(row(), {}) == "bot"
    assert a11y.who(row(author="agent"), {}) == "agent"
    assert a11y.who(row(author="agent"), {"private": True}) == "agent, private note"
    assert a11y.who(row(direction="out", author="contact"), {}) == "you"


def test_every_kind_is_said_in_words():
    assert a11y.words(row(kind="buttons"), {"text": "Pick", "buttons": [{"title": "A"}, {"payload": "B"}]}) == \
        "Pick Buttons: A, B."
    cards = {"text": "Bestsellers", "cards": [{"title": "Espresso"}, {"title": "Mug"}]}
    assert a11y.words(row(kind="cards"), cards) == "Bestsellers Carousel of 2 cards: Espresso; Mug."
    media = {"media": [{"kind": "image", "url": "https://x.test/media/ab/latte.png?size=2"}]}
    assert a11y.words(row(kind="image"), media) == "image latte.png."
    assert a11y.words(row(), {"text": "Ok?", "quick_replies": [{"title": "Yes"}]}) == "Ok? Quick replies: Yes."
    assert a11y.words(row(kind="unsupported"), {"text": "Rate us"}) == "unsupported message: Rate us"
    assert a11y.words(row(direction="out"), {"postback": {"title": "☕ Products"}}) == "pressed ☕ Products"
    assert a11y.words(row(kind="file"), {}) == "file"  # nothing else to say: its kind
    assert len(a11y.words(row(), {"text": "x" * 1000})) == a11y.SAY_LIMIT


def test_a_failed_send_is_said_once_per_failure_and_not_in_demo_mode():
    failed = row(direction="out", author="contact", status="failed", error="UChat answered 401: bad key")
    key, said = a11y.announcement(failed, {"text": "hi"})
    assert said == "Your message was not sent: UChat answered 401: bad key." and key == "7:failed:12.5"
    assert a11y.announcement({**failed, "updated_at": 13.0}, {"text": "hi"})[0] != key  # a retry that failed again
    assert a11y.announcement(failed, {"text": "hi"}, demo=True) is None


def test_only_messages_marked_to_be_announced_carry_words_and_bot_text_stays_inert():
    data = {"text": '<img src=x onerror="alert(1)">'}
    assert a11y.marker(row(), data) == ""  # history: nothing to read out again
    marked = a11y.marker(row(), data, announce=True)
    assert marked.startswith("<span hidden ") and "<img" not in marked
    assert html.unescape(marked.split('data-acc-say="')[1].split('"')[0]) == 'bot: <img src=x onerror="alert(1)">'
