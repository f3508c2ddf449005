"""The baseline of an idle poll: a Streamlit page whose fragment draws one element every poll."""

import os

import streamlit as st


@st.fragment(run_every=float(os.environ.get("APICHAT_POLL_SECONDS", "1")))
def tick() -> None:
    st.html("<div>idle</div>")


tick()
