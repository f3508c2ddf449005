"""An action's outcome (apichat.profiles.Outcome, or anything with kind, text and extra) as a coloured box."""

from __future__ import annotations

import streamlit as st

from apichat.markdown import literal

BOXES = {"success": (st.success, ":material/check_circle:"), "warning": (st.warning, ":material/warning:"),
         "error": (st.error, ":material/error:")}


def show(outcome) -> None:
    """The outcome's Markdown text, then its detail shown verbatim (UChat's words are not Markdown)."""
    if outcome is None:
        return
    box, icon = BOXES[outcome.kind]
    box(outcome.text + (f"  \n{literal(outcome.extra)}" if outcome.extra else ""), icon=icon)
