"""The login form that gates every page when APICHAT_UI_PASSWORD (or its hash) is set.

The password check and the slowing of wrong guesses are `apichat.auth.Gate`, one per console process.
A signed-in browser session keeps the time it signed in; after APICHAT_UI_SESSION_MINUTES it must sign in
again. A reload of the tab is a new Streamlit session, so it asks again too.
"""

from __future__ import annotations

import os

import streamlit as st

from apichat.auth import AuthError, Gate

SIGNED_IN = "_signed_in_at"


@st.cache_resource(show_spinner=False)
def _gate() -> Gate:
    return Gate.from_env(os.environ)


def gate() -> Gate:
    try:
        return _gate()
    except AuthError as exc:
        st.error(f"**A setting is wrong:** {exc}. Fix the environment variable and restart the console.",
                 icon=":material/error:")
        st.stop()


def _client() -> str:
    try:
        return st.context.ip_address or "unknown"
    except Exception:  # AppTest has no client
        return "unknown"


def require_login(pages: list) -> bool:
    """Whether the pages may be drawn: True without a password or once this session signed in; else the login
    form is drawn and the caller draws nothing more.

    The run that draws the form must end normally, not with st.stop(): Streamlit forgets the fragments of the
    run before (the chat's live poll) only when a run finishes. After a stop they stay registered, and a poll
    tick already on its way ran the chat's fragment into the login page's layout, whose paths it no longer has
    ("Bad delta path"): the browser's app crashed to an empty page instead of showing the form.
    """
    current = gate()
    if not current.enabled:
        return True
    signed_in_at = st.session_state.get(SIGNED_IN)
    expired = signed_in_at is not None and current.expired(signed_in_at)
    if signed_in_at is not None and not expired:
        with st.sidebar:
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=sign_out)
        return True
    st.session_state.pop(SIGNED_IN, None)
    st.navigation(pages, position="hidden")  # every URL lands here; no menu to pages that cannot open
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("API Chat Console")
        if expired:
            st.info("Your session expired: sign in again.", icon=":material/schedule:")
        with st.form("login", clear_on_submit=True):
            given = st.text_input("Password", type="password", key="login_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            outcome = current.attempt(_client(), given or "")
            if outcome.ok:
                st.session_state[SIGNED_IN] = current.now()
                st.rerun()
            st.error(outcome.message, icon=":material/lock:")
        st.caption("This console is shared: sign in with the password its owner set (`APICHAT_UI_PASSWORD`).")
    return False


def sign_out() -> None:
    st.session_state.pop(SIGNED_IN, None)
