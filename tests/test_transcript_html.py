"""The HTML transcript as a file: inert (escaped text, no script, no javascript: link, a policy that allows
nothing but inline styles and images), drawn like the chat, with each step's verdict beside its replies."""

from __future__ import annotations

import base64
import json
import re

from apichat import media, transcript
from apichat.transcript import Section, to_html

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
CONV = {"profile": "sandbox", "contact_id": "qa-1", "conv_id": 41}


def _msg(id_, direction, author, kind, data, *, reply_to=None, status="sent", error="", at=0.0):
    return {"id": id_, "direction": direction, "author": author, "kind": kind, "text": data.get("text", ""),
            "data": json.dumps(data), "raw": "{}", "status": status, "error": error, "reply_to": reply_to,
            "created_at": 1_800_000_000 + at}


def _page(messages, results=(), media_dir=None) -> str:
    return to_html("Run", [Section("Run", CONV, {"name": "Quinn"}, messages, list(results), "failed")], media_dir)


def test_bot_content_stays_text_and_nothing_can_run_or_load():
    page = _page([
        _msg(1, "out", "contact", "text", {"text": "xss"}),
        _msg(2, "in", "bot", "buttons", {"text": "<script>alert(1)</script>", "buttons": [
            {"kind": "web_url", "title": "Open", "url": "javascript:alert(1)"},
            {"kind": "web_url", "title": "Site", "url": "https://example.com/?a=1&b=\"2\""},
            {"kind": "postback", "title": "<img src=x onerror=alert(1)>", "payload": "MENU"}]}, reply_to=1, at=1.25),
        _msg(3, "in", "agent", "text", {"text": "internal <i>only</i>", "private": True}, at=2),
        _msg(4, "out", "contact", "text", {"text": "again"}, status="failed", error="HTTP 400: <bad>", at=3),
    ])
    assert "<script" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page and '<span class="btn blocked"' in page
    assert 'href="https://example.com/?a=1&amp;b=&quot;2&quot;"' in page
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert policy.startswith("default-src 'none'; img-src data:;") and "script-src" not in policy
    assert "Private note · not seen by the contact" in page and "internal &lt;i&gt;only&lt;/i&gt;" in page
    assert "+1.25 s" in page, "the reply's time after the contact's message is missing"
    assert "failed: HTTP 400: &lt;bad&gt;" in page


def test_small_images_the_console_holds_are_inline_and_others_are_links(tmp_path):
    token, name = media.save_upload(str(tmp_path), "dot.png", PNG)
    big_token, big = media.save_upload(str(tmp_path), "big.png", PNG + b"\0" * transcript.INLINE_IMAGE_BYTES)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    page = _page([_msg(1, "in", "bot", "image", {"media": [
        {"kind": "image", "url": f"http://127.0.0.1:8502/media/{token}/{name}"},
        {"kind": "image", "url": f"http://127.0.0.1:8502/media/{big_token}/{big}"},
        {"kind": "image", "url": "https://cdn.example.com/remote.png"},
        {"kind": "image", "url": data_url},
        {"kind": "video", "url": "https://cdn.example.com/clip.mp4"}]})], media_dir=str(tmp_path))
    inline = re.findall(r'<img src="(data:[^"]+)"', page)
    assert inline == [data_url, data_url], "the small upload and the data: image are not both inline"
    assert '<img src="http' not in page, "a remote image would be fetched"
    assert f'href="http://127.0.0.1:8502/media/{big_token}/{big}"' in page and "remote.png" in page
    assert 'href="https://cdn.example.com/clip.mp4"' in page


def test_each_verdict_is_beside_the_replies_it_judged():
    results = [
        {"position": 1, "label": 'send "hi"', "status": "passed", "first_reply_ms": 120.0,
         "detail": json.dumps({"sent_id": 1, "reply_ids": [2, 3], "failures": []})},
        {"position": 2, "label": 'send "slow"', "status": "failed", "first_reply_ms": None,
         "detail": json.dumps({"sent_id": 4, "reply_ids": [], "failures": [
             {"line": 9, "problem": "expected 1 reply, 0 arrived", "rows": [["messages", "1", "0 <none>"]]}]})}]
    page = _page([_msg(1, "out", "contact", "text", {"text": "hi"}),
                  _msg(2, "in", "bot", "text", {"text": "one"}, reply_to=1),
                  _msg(3, "in", "bot", "text", {"text": "two"}, reply_to=1),
                  _msg(4, "out", "contact", "text", {"text": "slow"})], results)
    bubbles = page.split('<div class="msg ')[1:]
    assert ["verdict" in b for b in bubbles] == [False, False, True, True]
    assert "✓ step 1: send &quot;hi&quot; — passed · first reply 0.12 s" in bubbles[2]
    assert "line 9: expected 1 reply, 0 arrived" in bubbles[3] and "<td>0 &lt;none&gt;</td>" in bubbles[3]
