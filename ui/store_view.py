"""What the store holds, as the Connect page shows it: per table its rows, oldest row and retention."""

from __future__ import annotations

import time

import streamlit as st

from apichat.config import Settings
from apichat.store import Store
from apichat.store.retention import PruneBusy


def _size(count: int | None) -> str:
    if count is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def holdings(db: Store, settings: Settings) -> None:
    """An expander with a table of the store's tables; bytes only when asked (they are counted page by page)."""
    with st.expander("What the store holds", icon=":material/database:"):
        sizes = st.toggle("Measure bytes", key="cx-store-bytes",
                          help="Reads every page of the store: seconds on a large one.")
        rows = [{"table": row["table"], "rows": row["rows"], "bytes": _size(row["bytes"]) if sizes else "—",
                 "oldest row": time.strftime("%Y-%m-%d %H:%M", time.localtime(row["oldest"])) if row["oldest"]
                 else "—", "kept": settings.retention.kept_for(row["table"])}
                for row in db.holdings(sizes=sizes)]
        st.dataframe(rows, hide_index=True, key="cx-store-table")
        every = settings.retention.every_hours
        st.caption(f"The receiver prunes what is older than its retention every {every:g} h, in small batches. "
                   "Change it with APICHAT_RETENTION_DAYS (deliveries and requests), "
                   "APICHAT_MESSAGES_RETENTION_DAYS (conversations) and APICHAT_RUNS_RETENTION_DAYS (scenario "
                   "runs), in days or `keep`, set where the receiver starts; trim by hand with "
                   "`python -m apichat.store prune --older-than 30d --dry-run` (docs/retention.md).")


def _clear(db: Store, profile: str, forget: tuple[str, ...]) -> None:
    try:
        counts = db.clear_profile(profile)
    except PruneBusy as exc:  # the receiver's prune runs now: a few seconds
        st.toast(str(exc), icon=":material/hourglass_top:")
        return
    for key in forget:  # what the page drew from the rows just deleted
        st.session_state.pop(key, None)
    st.toast(f"Profile {profile}'s history cleared: {counts['conversations']} conversations, "
             f"{counts['deliveries']} deliveries, {counts['requests']} requests.", icon=":material/delete_sweep:")


def clear_profile(db: Store, profile: str, key: str, forget: tuple[str, ...] = ()) -> None:
    """"Clear this profile's history" behind a popover that says what goes (the chat's sidebar, the Inspector)."""
    with st.popover("Clear…", icon=":material/delete_sweep:", help="Clear this profile's history (asks first)"):
        st.caption(f"Every conversation, delivery, request and scenario run of profile **{profile}** is deleted "
                   "for good; the profile and its keys stay.")
        st.button("Clear this profile's history", type="primary", key=key, on_click=_clear,
                  args=(db, profile, forget))
