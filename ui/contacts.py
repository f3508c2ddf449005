"""The chat's contact persona and conversations: which are current (kept in the session and, for the persona, in
the store across visits), the persona dialog, and the sidebar that picks them."""

from __future__ import annotations

import secrets

import streamlit as st

from apichat.store import Store

from . import store_view

DIALOG_OPEN = "persona-dialog-open"  # set while the persona dialog is open: a full run of the page would close it


def dialog_open() -> bool:
    return bool(st.session_state.get(DIALOG_OPEN))


def _dialog_closed() -> None:
    st.session_state.pop(DIALOG_OPEN, None)


def new_persona_id() -> str:
    return f"tester-{secrets.token_hex(3)}"


def current_persona(db: Store) -> dict:
    persona_id = st.session_state.get("persona") or db.get_setting("persona")
    persona = db.get_contact(persona_id) if persona_id else None
    if persona is None:  # the first visit: one persona, kept for the next visits and reloads
        persona = db.save_contact(new_persona_id(), "Test Contact", "", "")
        db.set_setting("persona", persona["id"])
    if st.session_state.get("persona") != persona["id"]:
        st.session_state["persona"] = persona["id"]
    return persona


def select_persona(db: Store, persona_id: str) -> None:
    st.session_state["persona"] = persona_id
    st.session_state.pop("conversation", None)
    db.set_setting("persona", persona_id)


def show_conversation(db: Store, contact_id: str, conversation: int) -> None:
    """Make `contact_id` the persona and its stored conversation `conversation` the current one (a simulation's)."""
    select_persona(db, contact_id)
    st.session_state["conversation"] = conversation


def open_conversation(db: Store, profile: str, conv_id: int) -> None:
    row = db.ensure_conversation(profile, st.session_state["persona"], int(conv_id))
    st.session_state["conversation"] = row["id"]


def new_conversation(db: Store, profile: str) -> None:
    """A fresh conversation_id; an empty current conversation is already fresh, so it is kept."""
    current = st.session_state.get("conversation")
    if current and db.get_conversation(current) and db.count_messages(current) == 0:
        return
    open_conversation(db, profile, db.next_conv_id(profile, st.session_state["persona"]))


def current_conversation(db: Store, profile: str, persona: dict) -> dict:
    row = db.get_conversation(st.session_state.get("conversation") or 0)
    if row is None or row["profile"] != profile or row["contact_id"] != persona["id"]:
        existing = db.list_conversations(profile, persona["id"])
        row = db.get_conversation(existing[0]["id"]) if existing else db.ensure_conversation(
            profile, persona["id"], db.next_conv_id(profile, persona["id"]))
        st.session_state["conversation"] = row["id"]
    return row


@st.dialog("Contact persona", on_dismiss=_dialog_closed)
def persona_dialog(db: Store, persona: dict | None) -> None:
    st.session_state[DIALOG_OPEN] = True
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
            select_persona(db, pid.strip())
            st.session_state.pop("persona-draft-id", None)
            _dialog_closed()
            st.rerun()


def sidebar(db: Store, profile: str, persona: dict, conversation: dict) -> None:
    """The persona picker and the profile's conversations with this persona (the current one highlighted)."""
    conv_key = conversation["id"]
    _dialog_closed()  # a full run closes a dialog it does not draw again; the dialog marks itself open when drawn
    with st.sidebar:
        st.subheader("Contact")
        contacts = db.list_contacts()
        labels = {c["id"]: f"{c['name'] or c['id']} · {c['id']}" for c in contacts}
        choice = st.selectbox("Persona", list(labels), index=list(labels).index(persona["id"]),
                              format_func=labels.get, key=f"persona-pick-{persona['id']}")
        if choice != persona["id"]:
            select_persona(db, choice)
            st.rerun()
        with st.container(horizontal=True, gap="small"):
            if st.button("New", icon=":material/person_add:", key="persona-new"):
                persona_dialog(db, None)
            if st.button("Edit", icon=":material/edit:", key="persona-edit"):
                persona_dialog(db, persona)

        st.subheader("Conversations")
        with st.container(horizontal=True, gap="small"):
            st.button("New conversation", icon=":material/add_comment:", key="conv-new", on_click=new_conversation,
                      args=(db, profile))
            with st.popover("Open id", icon=":material/tag:"):
                st.number_input("conversation_id", min_value=0, step=1, value=int(conversation["conv_id"]),
                                key="conv-typed")
                st.button("Open", key="conv-open",
                      on_click=lambda: open_conversation(db, profile, st.session_state["conv-typed"]))
        for conv in db.list_conversations(profile, persona["id"])[:30]:
            preview = (conv["last_text"] or conv["last_kind"] or "no messages yet")[:32]
            unread = f" · **{conv['unread']} new**" if conv["unread"] and conv["id"] != conv_key else ""
            st.button(f"#{conv['conv_id']} — {preview}{unread}", key=f"conv-{conv['id']}", width="stretch",
                      type="primary" if conv["id"] == conv_key else "tertiary",
                      on_click=st.session_state.__setitem__, args=("conversation", conv["id"]))
        history(db, profile, conversation)


def _forget_thread() -> None:
    """The next run opens the latest conversation left, or a new one, with a thread read afresh (SQLite may give
    a new conversation the id of the one deleted)."""
    st.session_state.pop("conversation", None)
    st.session_state.pop("thread", None)


def _deleted(db: Store, conversation: int) -> None:
    db.delete_conversation(conversation)
    _forget_thread()


def history(db: Store, profile: str, conversation: dict) -> None:
    """Delete this conversation / clear the profile's history, each behind a popover that says what goes."""
    with st.container(horizontal=True, gap="small"):
        with st.popover("Delete…", icon=":material/delete:", help="Delete this conversation (asks first)"):
            st.caption(f"Conversation #{conversation['conv_id']}, its messages and the deliveries and requests "
                       "they came with are deleted for good.")
            st.button("Delete this conversation", type="primary", key="conv-delete", on_click=_deleted,
                      args=(db, conversation["id"]))
        store_view.clear_profile(db, profile, "profile-clear", forget=("conversation", "thread"))
