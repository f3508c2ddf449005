"""Side by side: one message asked N times, as N new contacts at once, and the N answers compared."""

from __future__ import annotations

import streamlit as st

from apichat import lint
from ui import ask_view, contacts, context
from ui.html import CSS

context.require_app("pages/ask.py")
db = context.store()
profile = context.active_profile()
st.html(CSS + ask_view.CSS)

st.markdown("### Side by side")
if profile is None:
    st.info("No connection profile yet. Add one on the **Connect** page.")
    st.stop()
persona = contacts.current_persona(db)
st.caption(f"The same message sent as N new contacts (named *Ask 1/N · {persona['name'] or persona['id']}*), each "
           f"in a new conversation, at once, to profile **{profile['name']}**; the answers side by side.")

if asked_from := st.query_params.get("message"):  # "Ask N times" under a message sent in the chat
    sent = db.get_message(int(asked_from)) if asked_from.isdigit() else None
    ask_view.prefill("ask", sent["text"] if sent and sent["direction"] == "out" else None)
    del st.query_params["message"]
started = ask_view.controls("ask", profile, persona)
if started:
    st.session_state["ask"] = started

job = ask_view.asks().get(st.session_state.get("ask"))
if job is None:
    st.caption("Nothing asked yet in this session.")
    st.stop()


@context.fragment(run_every=None if job.done else 0.5)
def live() -> None:
    current = ask_view.asks().get(job.id)
    ask_view.show(current, context.demo_mode(), lint.channels_of(profile))
    if current.done and not job.done:
        st.rerun(scope="app")  # settled: drawn once more without the poll, with Save as scenario


live()
