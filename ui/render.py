"""Messages drawn as the contact would see them; bot content is untrusted and stays inert."""

from __future__ import annotations

import time
from datetime import datetime

import streamlit as st
from streamlit.errors import StreamlitAPIException

from apichat import lint
from apichat.media import guess_type
from apichat.payloads import safe_url
from apichat.rows import data_of, raw_of

from . import a11y
from .html import bubble, esc, link

AVATARS = {"contact": ":material/person:", "bot": ":material/smart_toy:", "agent": ":material/support_agent:"}
NOTE_AVATAR = ":material/sticky_note_2:"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def meta_line(row: dict, reply_to: dict | None, demo: bool, data: dict, announce: bool = False,
              asks: bool = False) -> None:
    """Time, delivery state or latency, kind, and the raw JSON behind a small popover (and, hidden, what the
    live region announces when the message just arrived); with `asks`, a link that asks this text N times."""
    parts = [_clock(row["created_at"])]
    if not demo:
        if row["direction"] == "out":
            status = row["status"]
            if status == "failed":
                parts.append(f'<span class="acc-failed">failed: {esc(row["error"])}</span>')
            elif status == "sending":
                parts.append('<span class="acc-sending">sending…</span>')
            else:
                parts.append("sent ✓")
        elif row["author"] == "agent":
            parts.append("human agent")
        if row["direction"] == "in" and reply_to is not None:
            parts.append(f"+{row['created_at'] - reply_to['created_at']:.1f} s after your message")
        parts.append(esc(row["kind"]))
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.html(f'<span class="acc-meta">{a11y.marker(row, data, demo, announce)}{" · ".join(parts)}</span>',
                width="content")
        if not demo:
            with st.popover("{ } JSON", help="Raw JSON of this message", type="tertiary"):
                if row.get("delivery"):
                    inspector_link(row["delivery"])
                st.json(raw_of(row), expanded=True)
        if asks and row["kind"] == "text" and row["status"] == "sent":
            ask_link(row["id"])


def ask_link(message: int) -> None:
    """The Side by side page, with this sent message ready to be asked N times."""
    try:
        st.page_link("pages/ask.py", label="Ask N times", query_params={"message": message},
                     icon=":material/view_column:", help="Send this message as N new contacts at once and compare "
                                                         "the answers")
    except StreamlitAPIException:  # a page run outside app.py's navigation (AppTest) has nowhere to link to
        pass


def inspector_link(delivery: int) -> None:
    """The webhook delivery this message came from, opened in the Inspector (same session)."""
    try:
        st.page_link("pages/inspector.py", label=f"Delivery d-{delivery} in the Inspector",
                     query_params={"delivery": delivery}, icon=":material/manage_search:")
    except StreamlitAPIException:  # a page run outside app.py's navigation (AppTest) has nowhere to link to
        pass


def buttons(items: list[dict], key: str, on_postback, disabled: bool = False) -> None:
    """Postback buttons that send, url buttons as links, call buttons as tel: links."""
    if not items:
        return
    with st.container(horizontal=True, gap="small", key=f"btns-{key}"):
        for i, b in enumerate(items):
            title = b.get("title") or b.get("payload") or "(untitled)"
            if b.get("kind") == "postback":
                st.button(title, key=f"pb-{key}-{i}", on_click=on_postback, args=(title, b.get("payload", "")),
                          disabled=disabled, help=f"postback payload: {b.get('payload', '')}")
            else:
                st.html(link(b.get("url", ""), ("📞 " if b.get("kind") == "call" else "🔗 ") + title,
                             css="acc-btnlink"), width="content")


def media(items: list[dict]) -> None:
    for m in items:
        url, kind = m.get("url", ""), m.get("kind")
        if not safe_url(url) or url.lower().startswith(("tel:", "mailto:")):
            st.html(link(url, f"{kind} (unsafe link)"))
        elif kind == "image":
            st.image(url, width=320, alt=f"image {a11y.file_name(url)}")
        elif kind == "audio":
            st.audio(url, alt=f"audio {a11y.file_name(url)}")
        elif kind == "video":
            st.video(url, format=guess_type(url.split("?")[0]) if "." in url.rsplit("/", 1)[-1] else "video/mp4",
                     width=360, alt=f"video {a11y.file_name(url)}")
        else:
            st.html(f'<div class="acc-file">📎 {link(url, a11y.file_name(url), download=True)}</div>')


def cards(items: list[dict], ratio: str, key: str, on_postback) -> None:
    """A carousel: a horizontally scrolling row of bordered cards."""
    square = ratio == "square"
    with st.container(horizontal=True, wrap=False, gap="small", key=f"cards-{'sq-' if square else ''}{key}"):
        for i, card in enumerate(items):
            with st.container(border=True, key=f"card-{key}-{i}"):
                image = safe_url(card.get("image_url"))
                parts = []
                if image:
                    parts.append(f'<img class="acc-card-img{" square" if square else ""}" src="{esc(image)}" '
                                 f'alt="{esc(card.get("title"))}">')
                parts.append(f'<div class="acc-card-title" dir="auto">{esc(card.get("title"))}</div>')
                if card.get("subtitle"):
                    parts.append(f'<div class="acc-card-subtitle" dir="auto">{esc(card.get("subtitle"))}</div>')
                if card.get("item_url"):
                    parts.append(link(card["item_url"], "Open ↗"))
                st.html("".join(parts))
                buttons(card.get("buttons") or [], f"{key}-{i}", on_postback)


def lint_note(data: dict, channels) -> None:
    """A small warning under a bot message that breaks the limits of a channel the profile lints for."""
    findings = lint.lint_message(data, channels)
    if findings:
        lines = "".join(f"<li>{esc(f.message)}</li>" for f in findings)
        st.html(f'<details class="acc-lint"><summary>⚠ {len(findings)} channel limit'
                f'{"s" if len(findings) > 1 else ""} broken: {esc(", ".join(dict.fromkeys(f.rule for f in findings)))}'
                f'</summary><ul>{lines}</ul></details>')


def bot_message(row: dict, reply_to: dict | None, demo: bool, on_postback, announce: bool = False,
                lint_channels=()) -> None:
    data = data_of(row)
    private = data.get("private")
    if demo and (private or (row["kind"] == "unsupported" and not data.get("text"))):
        return  # the contact never sees a private note, nor a message their app cannot show
    author = row["author"]
    avatar = NOTE_AVATAR if private else AVATARS.get(author, AVATARS["bot"])
    with st.chat_message("bot" if author == "bot" else "agent", avatar=avatar):  # "Chat message from bot"
        key = str(row["id"])
        if private:
            st.html('<div class="acc-note"><div class="acc-note-label">Private note · not seen by the contact'
                    f'</div>{bubble(data.get("text", ""))}</div>')
        elif row["kind"] == "unsupported" and demo:
            st.html(bubble(data["text"]))
        elif row["kind"] == "unsupported":
            st.html(f'<div class="acc-unsupported"><div class="acc-meta">Unsupported message '
                    f'({esc(data.get("content_type") or "unknown kind")}) — shown as text and raw JSON</div>'
                    f'{bubble(data.get("text") or "")}</div>')
            st.json(raw_of(row), expanded=False)
        elif data.get("text"):
            st.html(bubble(data["text"]))
        if not private:
            if data.get("cards"):
                cards(data["cards"], data.get("ratio", "horizontal"), key, on_postback)
            buttons(data.get("buttons") or [], key, on_postback)
            media(data.get("media") or [])
            if data.get("quick_replies"):
                buttons(data["quick_replies"], f"qr-{key}", on_postback)
        if not demo and lint_channels:
            lint_note(data, lint_channels)
        meta_line(row, reply_to, demo, data, announce)


def contact_message(row: dict, demo: bool, on_retry, announce: bool = False, asks: bool = False) -> None:
    data = data_of(row)
    with st.chat_message("user", avatar=AVATARS["contact"]):
        if data.get("postback"):
            st.html(f'<span class="acc-postback" dir="auto">{esc(data["postback"].get("title"))}</span>')
        elif data.get("text"):
            st.html(bubble(data["text"]))
        media(data.get("media") or [])
        meta_line(row, None, demo, data, announce, asks)
        if row["status"] == "failed":
            st.button("Retry", key=f"retry-{row['id']}", on_click=on_retry, args=(row["id"],),
                      icon=":material/refresh:")


def waiting(row: dict | None, refused: list[dict], demo: bool = False) -> None:
    """'Waiting for the bot…' under the contact's last message until a reply comes, and what was refused."""
    if demo or not (row and row["direction"] == "out" and row["status"] == "sent"):
        return
    st.html(f'<div class="acc-waiting">waiting for the bot… {time.time() - row["created_at"]:.0f} s</div>')
    if refused:
        latest = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        st.warning(f"Since your message, the receiver refused a webhook for this profile{more}: "
                   f"**{latest['status_code']}** — {latest['reason']}. It is not shown here; the Inspector "
                   f"explains it (delivery d-{latest['id']}).", icon=":material/gpp_bad:")
