"""The Connect page's fields (one set of text inputs, refilled with the stored profile when another is picked)
and its dialogs."""

from __future__ import annotations

import streamlit as st

from apichat import lint, profiles
from apichat.config import UCHAT_BASE_URL
from apichat.markdown import literal
from apichat.store import Store

FIELDS = (  # field, label, secret, help
    ("base_url", "Base URL", False, "UChat's address (https://www.uchat.com.au) or your partner domain."),
    ("workspace_id", "Workspace id", False, "The workspace whose API Chat channel you test."),
    ("partner_key", "Partner API key", True, "Used for get / set / remove webhook (UChat partner settings)."),
    ("flow_key", "Flow API key", True, "The workspace's flow API key (manage flow permission): used to send "
                                       "messages as the contact to bot_url."),
    ("verify_key", "Verification key", True, "UChat sends it back in the handshake and signs every webhook with "
                                             "it. A new key takes effect at the next Set webhook."),
    ("bot_url", "bot_url", False, "Filled in by Set / Get webhook. Paste it yourself if the webhook was set "
                                  "outside the console."),
)
MODES = {"public": "Public URL (tunnel)", "local": "UChat runs on this machine (local)", "custom": "Custom URL"}


def field_key(field: str) -> str:
    """One set of fields, refilled when another profile is picked. The keys are new whenever the page fills them
    in, so the browser never keeps showing a value typed before (a form field the person typed in ignores a value
    set from the server)."""
    return f"cx-field-{field}-{st.session_state.get('cx-generation', 0)}"


def refill(values: dict) -> None:
    """Show `values` in the fields: new widgets, the old ones' state forgotten."""
    for field, *_ in FIELDS:
        st.session_state.pop(field_key(field), None)
    st.session_state["cx-generation"] = st.session_state.get("cx-generation", 0) + 1
    for field, *_ in FIELDS:
        st.session_state[field_key(field)] = values.get(field) or ""


def load_fields(profile: dict) -> None:
    """The fields show the stored profile when it is picked (typed values are kept until then), or again after
    an action asked for it with `reload_after` (UChat's answer changed the profile)."""
    reload = st.session_state.pop("cx-reload", None) == profile["name"]
    if reload or st.session_state.get("cx-loaded") != profile["name"] or field_key("base_url") not in st.session_state:
        refill(profile)
        st.session_state["cx-loaded"] = profile["name"]


def reload_after(name: str) -> None:
    st.session_state["cx-reload"] = name


def typed() -> dict:
    return {field: (st.session_state.get(field_key(field)) or "").strip() for field, *_ in FIELDS}


# ---------------------------------------------------------------- dialogs

@st.dialog("New connection profile")
def new_profile_dialog(db: Store) -> None:
    st.caption("A profile is one UChat workspace: its keys, and the webhook UChat calls back. Its conversations "
               "stay its own.")
    with st.form("cx-new-form", border=False):  # committed by its button: nothing typed is lost on the way
        name = st.text_input("Name", placeholder="staging", key="cx-new-name",
                             help="Letters, digits, '-', '_' or '.': it becomes part of the webhook URL.")
        base = st.text_input("Base URL", value=UCHAT_BASE_URL, key="cx-new-base")
        local = st.checkbox("UChat runs on this machine (local)", key="cx-new-local",
                            help="For a profile pointed at the sandbox or another UChat on this computer: the webhook "
                                 "URL is the local receiver's, not the public one.")
        if st.form_submit_button("Create profile", type="primary"):
            created, problem = profiles.create_profile(db, name, base, local)
            if created is None:
                st.error(problem)
                return
            st.session_state["cx-next"] = created["name"]
            st.rerun()


@st.dialog("Delete profile")
def delete_dialog(db: Store, name: str) -> None:
    st.markdown(f"Delete the profile **{literal(name)}**?")
    st.caption("Its keys are forgotten here (the webhook stays set at UChat: remove it first if UChat should stop "
               "calling). Its conversations and the inspector's history stay readable.")
    if name == "env":
        st.caption("The env profile comes back at the next start while UCHAT_* variables are set.")
    with st.container(horizontal=True):
        if st.button("Delete", type="primary", key="cx-delete-yes", icon=":material/delete:"):
            profiles.delete_profile(db, name)
            st.session_state.pop("cx-loaded", None)
            st.session_state["cx-next"] = None
            st.rerun()
        if st.button("Cancel", key="cx-delete-no"):
            st.rerun()


def lint_channels(db: Store, profile: dict) -> None:
    """Which channels' limits the chat, the Inspector and the explorer check this profile's bot messages against."""
    name = profile["name"]
    labels = {"messenger": "Facebook Messenger", "whatsapp": "WhatsApp"}

    def save() -> None:
        db.save_profile(name, lint_channels=",".join(st.session_state[f"cx-lint-{name}"]))

    st.multiselect("Lint bot messages for", list(lint.CHANNELS), default=list(lint.channels_of(profile)),
                   format_func=labels.get, key=f"cx-lint-{name}", on_change=save,
                   help="Messages that break these channels' limits (button count, title length, carousel size…) "
                        "get a small warning in the chat and the Inspector. None: no lint.")
