"""The chat console: impersonate a contact and see the bot's replies live."""

from __future__ import annotations

import secrets
import time
from functools import partial

import streamlit as st

from apichat import media as uploads
from apichat import outbox, transcript
from apichat.payloads import MEDIA_KINDS, file_type_for
from ui import a11y, context, live, render
from ui.html import CSS

LIVE_WINDOW = 40  # the latest messages drawn when a thread opens; "Load earlier" adds as many again

context.require_app("pages/chat.py")
settings = context.settings()
db = context.store()
profile = context.active_profile()
st.html(CSS)

if profile is None:
    st.info("No connection profile yet. Add one on the **Connect** page, or start with the embedded sandbox "
            "(`APICHAT_SANDBOX=1`, the default).")
    st.stop()


# ---------------------------------------------------------------- personas and conversations

def new_persona_id() -> str:
    return f"tester-{secrets.token_hex(3)}"


def current_persona() -> dict:
    persona_id = st.session_state.get("persona") or db.get_setting("persona")
    persona = db.get_contact(persona_id) if persona_id else None
    if persona is None:  # the first visit: one persona, kept for the next visits and reloads
        persona = db.save_contact(new_persona_id(), "Test Contact", "", "")
        db.set_setting("persona", persona["id"])
    if st.session_state.get("persona") != persona["id"]:
        st.session_state["persona"] = persona["id"]
    return persona


def select_persona(persona_id: str) -> None:
    st.session_state["persona"] = persona_id
    st.session_state.pop("conversation", None)
    db.set_setting("persona", persona_id)


def open_conversation(conv_id: int) -> None:
    row = db.ensure_conversation(profile["name"], st.session_state["persona"], int(conv_id))
    st.session_state["conversation"] = row["id"]


def new_conversation() -> None:
    """A fresh conversation_id; an empty current conversation is already fresh, so it is kept."""
    current = st.session_state.get("conversation")
    if current and db.get_conversation(current) and db.count_messages(current) == 0:
        return
    open_conversation(db.next_conv_id(profile["name"], st.session_state["persona"]))


def current_conversation(persona: dict) -> dict:
    row = db.get_conversation(st.session_state.get("conversation") or 0)
    if row is None or row["profile"] != profile["name"] or row["contact_id"] != persona["id"]:
        existing = db.list_conversations(profile["name"], persona["id"])
        row = db.get_conversation(existing[0]["id"]) if existing else db.ensure_conversation(
            profile["name"], persona["id"], db.next_conv_id(profile["name"], persona["id"]))
        st.session_state["conversation"] = row["id"]
    return row


@st.dialog("Contact persona")
def persona_dialog(persona: dict | None) -> None:
    editing = persona is not None
    if not editing and "persona-draft-id" not in st.session_state:  # one suggestion per dialog, kept on redraws
        st.session_state["persona-draft-id"] = new_persona_id()
    with st.form("persona-form", border=False):
        where = {"value": persona["id"]} if editing else {"key": "persona-draft-id"}
        pid = st.text_input("Contact id (sender.id)", disabled=editing,
                            help="UChat's UNIQUE BOT USER ID for this contact.", **where)
        name = st.text_input("Name", value=persona["name"] if editing else "")
        email = st.text_input("Email", value=persona["email"] if editing else "")
        phone = st.text_input("Phone number", value=persona["phone"] if editing else "")
        if st.form_submit_button("Save persona", type="primary"):
            if not pid.strip():
                st.error("The contact id cannot be empty.")
                return
            db.save_contact(pid.strip(), name.strip(), email.strip(), phone.strip())
            select_persona(pid.strip())
            st.session_state.pop("persona-draft-id", None)
            st.rerun()


persona = current_persona()
conversation = current_conversation(persona)
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
    context.sender_pool().submit(outbox.deliver, db, db.get_profile(profile["name"]), message_id)


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


# the sidebar after the composer, so its previews include what was just sent
with st.sidebar:
    st.subheader("Contact")
    contacts = db.list_contacts()
    labels = {c["id"]: f"{c['name'] or c['id']} · {c['id']}" for c in contacts}
    choice = st.selectbox("Persona", list(labels), index=list(labels).index(persona["id"]),
                          format_func=labels.get, key=f"persona-pick-{persona['id']}")
    if choice != persona["id"]:
        select_persona(choice)
        st.rerun()
    with st.container(horizontal=True, gap="small"):
        if st.button("New", icon=":material/person_add:", key="persona-new"):
            persona_dialog(None)
        if st.button("Edit", icon=":material/edit:", key="persona-edit"):
            persona_dialog(persona)

    st.subheader("Conversations")
    with st.container(horizontal=True, gap="small"):
        st.button("New conversation", icon=":material/add_comment:", key="conv-new", on_click=new_conversation)
        with st.popover("Open id", icon=":material/tag:"):
            typed = st.number_input("conversation_id", min_value=0, step=1, value=int(conversation["conv_id"]),
                                    key="conv-typed")
            st.button("Open", key="conv-open", on_click=lambda: open_conversation(st.session_state["conv-typed"]))
    for conv in db.list_conversations(profile["name"], persona["id"])[:30]:
        preview = (conv["last_text"] or conv["last_kind"] or "no messages yet")[:32]
        unread = f" · **{conv['unread']} new**" if conv["unread"] and conv["id"] != conv_key else ""
        st.button(f"#{conv['conv_id']} — {preview}{unread}", key=f"conv-{conv['id']}", width="stretch",
                  type="primary" if conv["id"] == conv_key else "tertiary",
                  on_click=st.session_state.__setitem__, args=("conversation", conv["id"]))


# ---------------------------------------------------------------- header

name = persona["name"] or persona["id"]
with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
    st.markdown(f"### Chat as {name}", width="content")
    tools = st.container(horizontal=True, width="content", gap="small")
if not context.demo_mode():
    st.caption(f"profile **{profile['name']}** · contact `{persona['id']}` · conversation_id "
               f"`{conversation['conv_id']}`")
with tools:
    with st.popover("Send media by URL", icon=":material/attach_file:"):
        with st.form("media-url", border=False, clear_on_submit=True):
            kind = st.selectbox("Type", MEDIA_KINDS)
            url = st.text_input("URL", placeholder="https://…")
            if st.form_submit_button("Send", type="primary"):
                send(kind, url=url.strip())
    with st.popover("Export", icon=":material/download:"):
        def export(fmt: str, conv_id: int) -> str:
            conv = db.get_conversation(conv_id)
            rows = db.messages_before(conv_id, None, 1_000_000)
            contact = db.get_contact(conv["contact_id"])
            return (transcript.to_json if fmt == "json" else transcript.to_markdown)(conv, contact, rows)
        stem = f"conversation-{profile['name']}-{conversation['conv_id']}"
        st.download_button("Raw JSON", partial(export, "json", conv_key), f"{stem}.json", "application/json",
                           on_click="ignore", icon=":material/data_object:")
        st.download_button("Markdown", partial(export, "md", conv_key), f"{stem}.md", "text/markdown",
                           on_click="ignore", icon=":material/description:")

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


# ---------------------------------------------------------------- the thread

def thread_state() -> dict:
    state = st.session_state.get("thread")
    if state is None or state["conversation"] != conv_key:
        latest = db.messages_before(conv_key, None, LIVE_WINDOW)
        state = st.session_state["thread"] = {
            "conversation": conv_key, "rows": latest, "last_id": latest[-1]["id"] if latest else 0,
            "read": 0, "checked": time.time(), "has_older": len(latest) == LIVE_WINDOW,
            "limit": 2 * LIVE_WINDOW,  # a long session keeps drawing a bounded window
            "announce": set(),  # ids that arrived or failed while the thread was open: read out once
        }
    return state


def refresh(state: dict) -> set[int]:
    """Fetch only what changed since the last look: newer messages, and delivery states still moving.

    Returns the ids of the rows that are new or changed.
    """
    rows = state["rows"]
    fresh = db.messages_since(conv_key, state["last_id"])
    moving = [r["id"] for r in rows if r["status"] in ("sending", "failed")]  # failed → sending on a retry
    changed = {}
    if moving:
        checked, state["checked"] = state["checked"], time.time()
        changed = {r["id"]: r for r in db.message_changes(conv_key, moving, checked - 1.0)}
        rows[:] = [changed.get(r["id"], r) for r in rows]
    state["announce"].update(r["id"] for r in fresh)
    state["announce"].update(i for i, r in changed.items() if r["status"] == "failed")
    if fresh:
        rows.extend(fresh)
        state["last_id"] = fresh[-1]["id"]
        if len(rows) > state["limit"]:
            del rows[:len(rows) - state["limit"]]
            state["has_older"] = True
            state["announce"] &= {r["id"] for r in rows}
    return set(changed) | {r["id"] for r in fresh}


def load_earlier() -> None:
    state = thread_state()
    earlier = db.messages_before(conv_key, state["rows"][0]["id"], LIVE_WINDOW)
    state["rows"][:0] = earlier
    state["has_older"] = len(earlier) == LIVE_WINDOW
    state["limit"] = max(state["limit"], len(state["rows"]) + LIVE_WINDOW)


def draw(rows: list[dict], known: dict[int, dict]) -> None:
    demo, announce = context.demo_mode(), thread_state()["announce"]
    for row in rows:
        if row["direction"] == "out":
            render.contact_message(row, demo, retry, row["id"] in announce)
            continue
        reply_to = known.get(row["reply_to"]) if row["reply_to"] else None
        if row["reply_to"] and reply_to is None:
            reply_to = known[row["reply_to"]] = db.get_message(row["reply_to"]) or {}
        render.bot_message(row, reply_to or None, demo, send_postback, row["id"] in announce)


# The thread is drawn in two parts: the settled part once per full run, and the tail (messages that
# arrived since, and the contact's messages still sending) by the poll, so an idle poll draws almost
# nothing however long the thread is.
state = thread_state()
refresh(state)
moving = [r["id"] for r in state["rows"] if r["status"] in ("sending", "failed")]
if not st.session_state.pop("pace-changed", False):  # a change of pace alone redraws nothing: same split
    state["boundary"] = min(moving) - 1 if moving else state["last_id"]
if state["has_older"]:
    st.button("Load earlier messages", icon=":material/expand_less:", on_click=load_earlier, key="load-earlier")
if not state["rows"]:
    st.caption("No messages yet. Say **hi** to the bot, or type **help** to see what the demo bot can do.")
draw([r for r in state["rows"] if r["id"] <= state["boundary"]], {r["id"]: r for r in state["rows"]})


def live_tail() -> None:
    """The poll: an indexed look for anything newer, drawing only the tail of the thread."""
    state = thread_state()
    changed = refresh(state)
    pace = live.poll_interval(state["rows"], time.time(), settings.poll_seconds)
    if pace != st.session_state["poll-every"]:  # a reply is now expected, or no longer
        if live.set_pace(pace):
            st.session_state["poll-every"] = pace
        else:  # a full run sets the new pace, keeping the thread's split so nothing on screen moves
            st.session_state["pace-changed"] = True
            st.rerun(scope="app")
    tail = [r for r in state["rows"] if r["id"] > state["boundary"]]
    if any(i <= state["boundary"] for i in changed) or len(tail) > LIVE_WINDOW:
        st.rerun(scope="app")  # a settled message changed, or the tail grew long: redraw the whole thread
    draw(tail, {r["id"]: r for r in state["rows"]})
    last = state["rows"][-1] if state["rows"] else None
    waiting = last is not None and last["direction"] == "out" and last["status"] == "sent"
    demo = context.demo_mode()
    render.waiting(last, db.refused_since(profile["name"], last["created_at"]) if waiting and not demo else [], demo)
    a11y.page_script(st.session_state.get("sends", 0))  # announces new messages; acts on a new send
    if state["last_id"] > state["read"]:
        db.mark_read(conv_key, state["last_id"])
        state["read"] = state["last_id"]


# fast while a reply is expected (after a send, while waiting), at APICHAT_POLL_SECONDS when idle
st.session_state["poll-every"] = live.poll_interval(state["rows"], time.time(), settings.poll_seconds)
context.fragment(run_every=st.session_state["poll-every"])(live_tail)()
