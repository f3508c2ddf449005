"""The API Chat console: `streamlit run app.py`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import context, login

PAGES = [
    ("pages/chat.py", "Chat", ":material/chat:"),
    ("pages/ask.py", "Side by side", ":material/view_column:"),
    ("pages/connect.py", "Connect", ":material/link:"),
    ("pages/inspector.py", "Inspector", ":material/manage_search:"),
    ("pages/scenarios.py", "Scenarios", ":material/checklist:"),
    ("pages/monitors.py", "Monitors", ":material/monitor_heart:"),
    ("pages/explorer.py", "Explorer", ":material/account_tree:"),
    ("pages/load.py", "Load", ":material/speed:"),
]
HERE = Path(__file__).parent

st.set_page_config(page_title="API Chat Console", page_icon=":material/forum:", layout="wide")


def sidebar_status(found) -> None:
    db = context.store()
    names = [p["name"] for p in db.list_profiles()]
    context.active_profile()  # sets the selection before the widget that shows it
    with st.sidebar:
        if names:
            st.selectbox("Profile", names, key="profile", help="Which UChat workspace (or the sandbox) you are talking to.")
        else:
            st.caption("No connection profile yet: add one on **Connect**.")
        profile = context.active_profile()
        if profile:
            verified = profile["webhook_status"] == "verified"
            st.caption(f"{':green[●]' if verified else ':orange[●]'} webhook "
                       f"{'verified' if verified else (profile['webhook_status'] or 'not set')}"
                       f"{'' if profile['bot_url'] else ' · no bot_url'}")
        line = []
        for status in found.values():
            dot = ":green[●]" if status.ok else (":gray[○]" if status.state == "disabled" else ":red[●]")
            line.append(f"{dot} {status.name}")
        st.caption(" &nbsp; ".join(line), help="\n\n".join(f"**{s.name}** {s.url}: {s.state} — {s.detail}"
                                                            for s in found.values()))
        st.toggle("Demo mode", key="demo_mode",
                  help="Hide raw JSON, latency and delivery states: the thread looks like the contact's chat.")


pages = [st.Page(path, title=title, icon=icon, default=(path == "pages/chat.py"))
         for path, title, icon in PAGES if (HERE / path).exists()]
context.refuse_if_exposed(pages)  # listening beyond loopback with no login: a warning, and nothing starts
if login.require_login(pages):  # APICHAT_UI_PASSWORD set: every page asks for it first (else the form, and the run ends)
    navigation = st.navigation(pages)
    context.check_store()  # a deleted or unreadable store: one message on every page, not a database error
    st.session_state["_app_ran"] = True
    found = context.services()
    for status in found.values():
        if status.state in ("foreign", "failed"):
            st.error(f"**The {status.name} is not available.** {status.detail}", icon=":material/error:")
        elif status.problem:
            st.warning(status.problem, icon=":material/warning:")

    if return_to := st.session_state.pop("_return_to", None):  # a deep link that came through require_app
        page, query = return_to
        st.switch_page(page, query_params=query or None)
    sidebar_status(found)
    context.run_page(navigation)
