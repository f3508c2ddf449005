"""The inspector: every webhook delivery received and every request sent, live, with why, replay and curl."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from apichat import inspection
from apichat.payloads import MESSAGE_KINDS
from ui import context, store_view
from ui import inspector_detail as detail
from ui.html import CSS

context.require_app("pages/inspector.py")
settings = context.settings()
db = context.store()
st.html(CSS)

MAX_ROWS = 300
ALL = "All"
OUTCOMES = (*inspection.DELIVERY_OUTCOMES, *inspection.REQUEST_OUTCOMES)
KINDS = (*MESSAGE_KINDS, "handshake", "postback", "get webhook", "set webhook", "remove webhook")
DIRECTIONS = {ALL: "All", "in": "⬇ Received", "out": "⬆ Sent"}
OUTCOME_COLORS = {"accepted": "#15803d", "sent": "#15803d", "duplicate": "#6b7280", "handshake": "#1d4ed8",
                  "rejected": "#b91c1c", "failed": "#b91c1c"}


# ---------------------------------------------------------------- filters and fetching

def filters() -> dict:
    return {"profile": st.session_state.get("in-profile", ALL), "direction": st.session_state.get("in-direction", ALL),
            "outcome": st.session_state.get("in-outcome", ALL), "kind": st.session_state.get("in-kind", ALL),
            "text": (st.session_state.get("in-text") or "").strip()}


def fetch(f: dict, after_delivery: int = 0, after_request: int = 0, limit: int = MAX_ROWS) -> tuple[list, list]:
    """(deliveries, requests) matching the filters, newer than the given ids, newest first."""
    return inspection.query(db, **{k: (None if v == ALL else v) for k, v in f.items()}, after_delivery=after_delivery,
                         after_request=after_request, limit=limit)


def table_state() -> dict:
    """The rows shown; rebuilt when a filter changes, then only newer rows are fetched."""
    f = filters()
    state = st.session_state.get("in-state")
    if state is None or state["filters"] != f:
        deliveries, sent = fetch(f)
        state = st.session_state["in-state"] = {
            "filters": f, "entries": inspection.timeline(deliveries, sent)[:MAX_ROWS],
            "generation": detail.next_generation()}
        state["last_delivery"], state["last_request"] = inspection.newest_ids(db)
    return state


def export(f: dict) -> str:
    deliveries, sent = fetch(f, limit=5000)
    return inspection.export_json(deliveries, sent)


# ---------------------------------------------------------------- the live table

def styled(frame: pd.DataFrame):
    return frame.style.map(lambda v: f"color: {OUTCOME_COLORS.get(v, 'inherit')}; font-weight: 600",
                           subset=["outcome"])


COLUMNS = {
    "id": st.column_config.TextColumn("id", width=55, help="d-… a delivery received, r-… a request sent"),
    "time": st.column_config.DatetimeColumn("time", format="HH:mm:ss", width=70),
    "profile": st.column_config.TextColumn("profile", width=90),
    "direction": st.column_config.TextColumn("direction", width=110),
    "outcome": st.column_config.TextColumn("outcome", width=85),
    "status": st.column_config.NumberColumn("status", format="%d", width=55),
    "kind": st.column_config.TextColumn("kind", width=100),
    "action": st.column_config.TextColumn("action", width=70),
    "flow ns": st.column_config.TextColumn("flow ns", width=80),
    "size": st.column_config.NumberColumn("size", format="%d B", width=65),
    "ms": st.column_config.NumberColumn("ms", format="%d", width=50, help="How long UChat took to answer"),
    "message": st.column_config.NumberColumn("message", format="#%d", width=70,
                                             help="The chat message it became (or was sent for)"),
    "reason": st.column_config.TextColumn("reason", width="large"),
}


@context.fragment(run_every=settings.poll_seconds)
def watch() -> None:
    """The poll: a cheap query for entries newer than the newest shown; the page is redrawn only when some came."""
    state = table_state()
    newest = inspection.newest_ids(db)
    if newest == (state["last_delivery"], state["last_request"]):
        return
    deliveries, sent = fetch(state["filters"], state["last_delivery"], state["last_request"])
    # rows that do not match the filters are passed over once, not scanned again at every poll
    state["last_delivery"] = max([newest[0], *(d["id"] for d in deliveries)])
    state["last_request"] = max([newest[1], *(r["id"] for r in sent)])
    if deliveries or sent:
        state["entries"] = (inspection.timeline(deliveries, sent) + state["entries"])[:MAX_ROWS]
        state["generation"] = detail.next_generation()  # a new table: positions moved, the picked row is selected again
        st.rerun(scope="app")


def table() -> None:
    """The entries, newest first; clicking a row picks it (clicking it again lets go)."""
    state = table_state()
    entries = state["entries"]
    if not entries:
        st.info("Nothing matches yet. Send a message from the **Chat** page, or press Get webhook on **Connect**: "
                "every call shows up here as it happens.", icon=":material/hourglass_empty:")
        return
    keys = [e.key for e in entries]
    picked = st.session_state.get("in-pick")
    position = keys.index(picked) if picked in keys else None
    table_key = f"in-table-{state['generation']}"
    event = st.dataframe(
        styled(pd.DataFrame([e.row() for e in entries])), key=table_key, on_select="rerun",
        selection_mode="single-row", hide_index=True, placeholder="–", height=min(38 + 35 * len(entries), 390),
        column_config=COLUMNS, column_order=list(COLUMNS), alt="Deliveries received and requests sent, newest first",
        selection_default={"selection": {"rows": [position]}} if position is not None else None)
    rows = event.selection.rows
    chosen = keys[rows[0]] if rows and rows[0] < len(keys) else None
    if chosen != picked and (chosen is not None or state.get("shown") == table_key):
        detail.pick(chosen)
    state["shown"] = table_key
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"{len(entries)} shown{' (the newest ' + str(MAX_ROWS) + ')' if len(entries) == MAX_ROWS else ''}"
                   f" · live: new entries appear within {settings.poll_seconds:g} s · click a row for its details "
                   "(from the keyboard: Tab into the table, arrows to a row, Shift+Space)",
                   width="stretch")
        st.download_button("Export JSON", partial(export, state["filters"]), "apichat-inspector.json",
                           "application/json", on_click="ignore", icon=":material/download:", type="tertiary",
                           help="Everything matching the filters (up to 5,000 of each), bodies parsed, keys masked.")


# ---------------------------------------------------------------- the page

if st.session_state.pop("in-goto-chat", False):
    st.switch_page("pages/chat.py")
detail.pick_from_url()

st.markdown("### Inspector")
st.caption("Every webhook the receiver got (accepted, duplicate, rejected, handshake) and every request the console "
           "sent (partner API, bot_url), newest first, as it happens. Kept "
           f"{settings.retention.kept_for('deliveries')} (APICHAT_RETENTION_DAYS; Connect shows what the store holds).")

shown = st.session_state.get("in-state", {}).get("entries", [])
names = sorted({p["name"] for p in db.list_profiles()} | {e.profile for e in shown if e.profile})  # deleted ones too
with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    st.selectbox("Profile", [ALL, *names], key="in-profile", width=140)
    st.selectbox("Direction", list(DIRECTIONS), format_func=DIRECTIONS.get, key="in-direction", width=130,
                 help="Received: webhooks from UChat. Sent: partner API and bot_url requests.")
    st.selectbox("Outcome", [ALL, *OUTCOMES], key="in-outcome", width=130)
    st.selectbox("Kind", [ALL, *KINDS], key="in-kind", width=150)
    st.text_input("Search", key="in-text", placeholder="body, reason, URL, header…", width="stretch")
    if st.session_state.get("in-profile", ALL) != ALL:
        store_view.clear_profile(db, st.session_state["in-profile"], "in-clear", forget=("in-state", "in-pick"))

table()
watch()

detail.show(st.session_state.get("in-pick"))
