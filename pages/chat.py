"""The chat console: impersonate a contact and see the bot's replies live."""

from __future__ import annotations

import time
from functools import partial

import streamlit as st

from apichat import lint, outbox, transcript
from apichat import media as uploads
from apichat.payloads import MEDIA_KINDS, file_type_for
from ui import a11y, ask_view, autopilot_view, contacts, context, live, render
from ui.html import CSS
from ui.thread import Thread

context.require_app("pages/chat.py")
settings = context.settings()
db = context.store()
profile = context.active_profile()
st.html(CSS)

if profile is None:
    st.info("No connection profile yet. Add one on the **Connect** page, or start with the embedded sandbox "
            "(`APICHAT_SANDBOX=1`, the default).")
    st.stop()


persona = contacts.current_persona(db)
conversation = contacts.current_conversation(db, profile["name"], persona)
conv_key = conversation["id"]


# ---------------------------------------------------------------- sending

def send(kind: str, **fields) -> None:
    """Store the contact's message, then post it in the background (the thread shows sending → sent)."""
    try:
        message_id = outbox.prepare(db, conversation, persona, kind, **fields)
    except ValueError as exc:
        st.toast(str(exc), icon=":material/error:")
        return
    post(message_id)
    st.session_state["sends"] = st.session_state.get("sends", 0) + 1  # back to the message box, newest in view


def post(message_id: int) -> None:
    """Send in the background with the profile as it is now (a key fixed since the page was drawn counts)."""
    context.sender().deliver(db, db.get_profile(profile["name"]), message_id)


def send_postback(title: str, payload: str) -> None:
    send("postback", title=title, payload=payload)


def retry(message_id: int) -> None:
    db.set_message_status(message_id, "sending")
    post(message_id)
    st.session_state["sends"] = st.session_state.get("sends", 0) + 1


def send_files(files) -> None:
    for upload in files:
        data = upload.getvalue()
        try:
            token, name = uploads.save_upload(settings.media_dir, upload.name, data)
        except uploads.UploadError as exc:
            st.toast(str(exc), icon=":material/error:")
            continue
        url = uploads.media_url(settings.public_url, token, name)
        send(file_type_for(upload.type or uploads.guess_type(name)), url=url)


prompt = st.chat_input(f"Message the bot as {persona['name'] or persona['id']}…", accept_file="multiple",
                       key="composer")
if prompt:
    send_files(prompt.files or [])
    if prompt.text and prompt.text.strip():
        send("text", text=prompt.text)


contacts.sidebar(db, profile["name"], persona, conversation)  # after the composer: previews include what was just sent


# ---------------------------------------------------------------- header

name = persona["name"] or persona["id"]
with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
    st.markdown(f"### Chat as {name}", width="content")
    tools = st.container(horizontal=True, width="content", gap="small")
if not context.demo_mode():
    st.caption(f"profile **{profile['name']}** · contact `{persona['id']}` · conversation_id "
               f"`{conversation['conv_id']}`")
with tools:
    with st.popover("Ask N times", icon=":material/view_column:", help="Send a message as N new contacts at once and "
                    "see the answers side by side (the Side by side page)"):
        if started := ask_view.controls("chat-ask", profile, persona):
            st.session_state["ask"] = started
            st.switch_page("pages/ask.py")
    with st.popover("Autopilot", icon=":material/smart_toy:", help="A simulated contact with a goal chats here"):
        autopilot_view.popover(db, profile, settings.db_path)
    with st.popover("Send media by URL", icon=":material/attach_file:"):
        with st.form("media-url", border=False, clear_on_submit=True):
            kind = st.selectbox("Type", MEDIA_KINDS)
            url = st.text_input("URL", placeholder="https://…")
            if st.form_submit_button("Send", type="primary"):
                send(kind, url=url.strip())
    with st.popover("Export", icon=":material/download:"):
        export = partial(transcript.conversation_file, db)
        stem = f"conversation-{profile['name']}-{conversation['conv_id']}"
        st.download_button("Raw JSON", partial(export, conv_key, "json"), f"{stem}.json", "application/json",
                           on_click="ignore", icon=":material/data_object:")
        st.download_button("Markdown", partial(export, conv_key, "md"), f"{stem}.md", "text/markdown",
                           on_click="ignore", icon=":material/description:")
        st.download_button("HTML (anyone can open it)", partial(transcript.conversation_html, db, conv_key,
                           settings.media_dir), f"{stem}.html", "text/html", on_click="ignore", icon=":material/web:")

        def as_scenario(conv_id: int) -> str:
            from apichat.scenarios import record_conversation  # expectations: what the bot actually said

            try:
                return record_conversation(db, conv_id)
            except ValueError as exc:
                return f"# Nothing to save as a scenario: {exc}\n"
        st.download_button("Save as scenario", partial(as_scenario, conv_key), f"{stem}.scenario.yaml",
                           "application/x-yaml", on_click="ignore", icon=":material/checklist:",
                           help="A scenario file that replays your messages and expects what the bot said; "
                                "edit it, then run it on the Scenarios page or with pytest.")
autopilot_view.box(db)  # a simulated contact's progress and verdict (apichat.simulate)


# ---------------------------------------------------------------- the thread

def thread_state() -> Thread:
    thread = st.session_state.get("thread")
    if thread is None or thread.conversation != conv_key:
        thread = st.session_state["thread"] = Thread.open(db, conv_key)
    return thread


def load_earlier() -> None:
    thread_state().load_earlier(db)


def draw(rows: list[dict], known: dict[int, dict]) -> None:
    demo, announce = context.demo_mode(), thread_state().announce
    for row in rows:
        if row["direction"] == "out":
            render.contact_message(row, demo, retry, row["id"] in announce, asks=True)
            continue
        reply_to = known.get(row["reply_to"]) if row["reply_to"] else None
        if row["reply_to"] and reply_to is None:
            reply_to = known[row["reply_to"]] = db.get_message(row["reply_to"]) or {}
        render.bot_message(row, reply_to or None, demo, send_postback, row["id"] in announce, lint.channels_of(profile))


# The thread is drawn in two parts: the settled part once per full run, and the tail (messages that
# arrived since, and the contact's messages still sending) by the poll, so an idle poll draws almost
# nothing however long the thread is.
thread = thread_state()
thread.refresh(db)
if not st.session_state.pop("pace-changed", False):  # a change of pace alone redraws nothing: same split
    thread.settle()
if thread.has_older:
    st.button("Load earlier messages", icon=":material/expand_less:", on_click=load_earlier, key="load-earlier")
if not thread.rows:
    st.caption("No messages yet. Say **hi** to the bot, or type **help** to see what the demo bot can do.")
draw(thread.settled(), thread.by_id())


def live_tail() -> None:
    """The poll: an indexed look for anything newer, drawing only the tail of the thread."""
    thread = thread_state()
    live.wait_for_reply(db, thread.conversation, thread.last_id, st.session_state["poll-every"])  # team mode
    changed = thread.refresh(db)
    pace = live.poll_interval(thread.rows, time.time(), settings.poll_seconds)
    if pace != st.session_state["poll-every"]:  # a reply is now expected, or no longer
        if live.set_pace(pace):  # in place: nothing redrawn, an open dialog stays open
            st.session_state["poll-every"] = pace
        elif not contacts.dialog_open():  # a full run sets it, keeping the thread's split so nothing moves
            st.session_state["pace-changed"] = True
            st.rerun(scope="app")
    # a settled message changed, or the tail grew long: the whole thread is drawn again (not while the persona
    # dialog is open: a full run would close it)
    if thread.needs_full_redraw(changed) and not contacts.dialog_open():
        st.rerun(scope="app")
    draw(thread.tail(), thread.by_id())
    last, waiting = (thread.rows[-1] if thread.rows else None), thread.awaiting_reply()
    demo = context.demo_mode()
    render.waiting(last, db.refused_since(profile["name"], last["created_at"]) if waiting and not demo else [], demo)
    a11y.page_script(st.session_state.get("sends", 0))  # announces new messages; acts on a new send
    thread.mark_read(db)


# fast while a reply is expected (after a send, while waiting), at APICHAT_POLL_SECONDS when idle
st.session_state["poll-every"] = live.poll_interval(thread.rows, time.time(), settings.poll_seconds)
context.fragment(run_every=st.session_state["poll-every"])(live_tail)()
