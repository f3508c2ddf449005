"""The inspector: every webhook delivery received and every request sent, live, with why, replay and curl."""

from __future__ import annotations

import hashlib
import time
from functools import partial

import pandas as pd
import streamlit as st

from apichat import inspect, rows
from apichat.payloads import MEDIA_KINDS
from ui import context
from ui.html import CSS

context.require_app("pages/inspector.py")
settings = context.settings()
db = context.store()
st.html(CSS)

MAX_ROWS = 300
INLINE_CURL_BYTES = 16 * 1024
ALL = "All"
OUTCOMES = (*inspect.DELIVERY_OUTCOMES, *inspect.REQUEST_OUTCOMES)
KINDS = ("text", "buttons", "cards", *MEDIA_KINDS, "media", "unsupported", "handshake", "postback",
         "get webhook", "set webhook", "remove webhook")
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
    value = {k: (None if v in (ALL, "") else v) for k, v in f.items()}
    deliveries, sent = [], []
    if value["direction"] != "out" and value["outcome"] not in inspect.REQUEST_OUTCOMES:
        deliveries = db.list_deliveries(profile=value["profile"], outcome=value["outcome"], kind=value["kind"],
                                        text=value["text"], after_id=after_delivery, limit=limit)
    if value["direction"] != "in" and value["outcome"] not in inspect.DELIVERY_OUTCOMES:
        sent = [r for r in db.list_requests(profile=value["profile"], text=value["text"], after_id=after_request,
                                            limit=limit)
                if inspect.request_matches(r, value["outcome"], value["kind"])]
    return deliveries, sent


def table_state() -> dict:
    """The rows shown; rebuilt when a filter changes, then only newer rows are fetched."""
    f = filters()
    state = st.session_state.get("in-state")
    if state is None or state["filters"] != f:
        deliveries, sent = fetch(f)
        state = st.session_state["in-state"] = {
            "filters": f, "entries": inspect.timeline(deliveries, sent)[:MAX_ROWS], "generation": next_generation(),
            "last_delivery": latest_id("d"), "last_request": latest_id("r")}
    return state


def next_generation() -> int:
    """A new key for the table whenever its rows or the pick change from outside (selections are positional)."""
    st.session_state["in-generation"] = st.session_state.get("in-generation", 0) + 1
    return st.session_state["in-generation"]


def latest_id(source: str) -> int:
    rows = db.list_deliveries(limit=1) if source == "d" else db.list_requests(limit=1)
    return rows[0]["id"] if rows else 0


def export(f: dict) -> str:
    deliveries, sent = fetch(f, limit=5000)
    return inspect.export_json(deliveries, sent)


# ---------------------------------------------------------------- selection

def pick(key: str | None) -> None:
    st.session_state["in-pick"] = key
    st.session_state.pop("in-replay", None)
    st.session_state["in-url-seen"] = key  # the address now names it: not a link to follow again
    if key:
        st.query_params["item"] = key
    else:
        st.query_params.pop("item", None)


def choose(key: str | None) -> None:
    """Pick from outside the table (Close, a link): the table is redrawn to show the same choice."""
    pick(key)
    state = st.session_state.get("in-state")
    if state is not None:
        state["generation"] = next_generation()


def pick_from_url() -> None:
    """?item=d-12 (or ?delivery=12, ?request=5) opens that entry: links from elsewhere land on it."""
    params = st.query_params
    wanted = params.get("item") or (f"d-{params['delivery']}" if params.get("delivery") else None) or (
        f"r-{params['request']}" if params.get("request") else None)
    if wanted and wanted != st.session_state.get("in-url-seen"):
        st.session_state["in-url-seen"] = wanted
        choose(wanted)


def load(key: str | None) -> tuple[str, dict] | None:
    if not key or "-" not in key:
        return None
    source, _, number = key.partition("-")
    if not number.isdigit():
        return None
    row = db.get_delivery(int(number)) if source == "d" else db.get_request(int(number))
    return (source, row) if row else None


def open_in_chat(message_id: int) -> None:
    """Make the chat show the conversation this message belongs to (its profile and contact too)."""
    message = db.get_message(message_id)
    conversation = db.get_conversation(message["conversation"]) if message else None
    if conversation is None:
        return
    st.session_state["profile"] = conversation["profile"]
    st.session_state["persona"] = conversation["contact_id"]
    st.session_state["conversation"] = conversation["id"]
    st.session_state["in-goto-chat"] = True


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
    newest = latest_id("d"), latest_id("r")
    if newest == (state["last_delivery"], state["last_request"]):
        return
    deliveries, sent = fetch(state["filters"], state["last_delivery"], state["last_request"])
    # rows that do not match the filters are passed over once, not scanned again at every poll
    state["last_delivery"] = max([newest[0], *(d["id"] for d in deliveries)])
    state["last_request"] = max([newest[1], *(r["id"] for r in sent)])
    if deliveries or sent:
        state["entries"] = (inspect.timeline(deliveries, sent) + state["entries"])[:MAX_ROWS]
        state["generation"] = next_generation()  # a new table: positions moved, the picked row is selected again
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
        pick(chosen)
    state["shown"] = table_key
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"{len(entries)} shown{' (the newest ' + str(MAX_ROWS) + ')' if len(entries) == MAX_ROWS else ''}"
                   f" · live: new entries appear within {settings.poll_seconds:g} s · click a row for its details "
                   "(from the keyboard: Tab into the table, arrows to a row, Shift+Space)",
                   width="stretch")
        st.download_button("Export JSON", partial(export, state["filters"]), "apichat-inspector.json",
                           "application/json", on_click="ignore", icon=":material/download:", type="tertiary",
                           help="Everything matching the filters (up to 5,000 of each), bodies parsed, keys masked.")


# ---------------------------------------------------------------- details

def link_to_message(message_id: int | None, label: str) -> None:
    if not message_id:
        return
    message = db.get_message(message_id)
    conversation = db.get_conversation(message["conversation"]) if message else None
    if conversation is None:
        st.caption(f"{label} message #{message_id}, which is no longer in the store.")
        return
    exists = db.get_profile(conversation["profile"]) is not None
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"{label} **message #{message_id}** in conversation `{conversation['conv_id']}` of contact "
                    f"`{conversation['contact_id']}` (profile **{inspect.literal(conversation['profile'])}**)",
                    width="stretch")
        st.button("Open in chat", key=f"in-open-{message_id}", icon=":material/chat:", on_click=open_in_chat,
                  args=(message_id,), disabled=not exists,
                  help="Its profile was deleted: the conversation is in the store, not in the chat." if not exists
                  else "Switch the chat to this conversation.")


def body_block(raw, empty: str) -> None:
    data, text = inspect.body_view(raw)
    if data is not None:
        st.json(data, expanded=2)
    elif text:
        st.code(text, language=None, wrap_lines=True)
    else:
        st.caption(empty)


def replay_block(delivery: dict) -> None:
    profile = db.get_profile(delivery["profile"]) if delivery["profile"] else None
    why_not = inspect.can_replay(delivery)
    if profile is None:
        why_not = f"its profile {delivery['profile']!r} no longer exists, so there is no key to sign with"
    elif not profile["verify_key"]:
        why_not = "its profile has no verification key to sign with"
    with st.container(horizontal=True, vertical_alignment="center"):
        clicked = st.button("Replay", key=f"in-replay-{delivery['id']}", icon=":material/replay:",
                            disabled=why_not is not None, type="primary")
        st.caption(f"Cannot replay: {why_not}." if why_not else (
            "Re-runs the handshake with the profile's current key." if inspect.is_handshake(delivery) else
            f"Sends the same bytes again to the local receiver (`{settings.receiver_url}{delivery['route']}`), signed "
            f"now with **{inspect.literal(delivery['profile'])}**'s current verification key. The same body within "
            f"10 minutes is acknowledged as a duplicate and shown once."))
    if clicked:
        before = latest_id("d")
        result = inspect.replay(delivery, profile["verify_key"], settings.receiver_url)
        digest = hashlib.sha256(inspect.body_bytes(delivery["body"])).hexdigest()
        stored = [d for d in db.list_deliveries(after_id=before, limit=50)
                  if d["route"] == delivery["route"] and (d["body_sha256"] == digest or inspect.is_handshake(d))]
        st.session_state["in-replay"] = (delivery["id"], result, stored[-1]["id"] if stored else None)
    done = st.session_state.get("in-replay")
    if done and done[0] == delivery["id"]:
        _, result, stored_id = done
        where = f" · stored as delivery d-{stored_id}" if stored_id else ""
        if result.status is not None and 200 <= result.status < 300:
            st.success(f"**Replayed: {result.outcome}.** The receiver answered {result.status} in "
                       f"{result.duration_ms:.0f} ms{where}.", icon=":material/check_circle:")
        else:
            st.error(f"**Replay {result.outcome}.**{where}  \n"
                     f"{inspect.literal(result.error or result.body[:500])}", icon=":material/error:")
        if stored_id:
            st.button(f"Show d-{stored_id}", key=f"in-show-{stored_id}", on_click=choose, args=(f"d-{stored_id}",))


def title(text: str) -> None:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"#### {text}", width="stretch")
        st.button("Close", key="in-close", icon=":material/close:", on_click=choose, args=(None,), type="tertiary")


def delivery_detail(d: dict) -> None:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d["received_at"]))
    title(f"⬇ Delivery d-{d['id']} · {d['outcome']}")
    st.caption(f"{when} · profile **{inspect.literal(d['profile'] or '—')}** · {d['method']} `{d['route']}` → "
               f"{d['status_code']} · {d['body_size']} bytes · from {d['remote_addr'] or '?'}"
               + (f" · x-flow-ns `{d['flow_ns']}`" if d["flow_ns"] else "")
               + (f" · x-action `{d['action']}`" if d["action"] else "") + (f" · {d['kind']}" if d["kind"] else ""))
    explanation = inspect.explain(d, db.verification_keys())
    if explanation:
        st.error(f"**{explanation.cause}** — {explanation.detail}  \n*Receiver's reason:* "
                 f"{inspect.literal(d['reason'])}", icon=":material/gpp_bad:")
        st.info(f"**What to do:** {explanation.fix}" + (f"  \n{explanation.recheck}" if explanation.recheck else ""),
                icon=":material/lightbulb:")
    elif d["reason"]:
        st.caption(f"Receiver: {inspect.literal(d['reason'])}")
    if d["outcome"] == "duplicate":
        link_to_message(d["message_id"], "Same body as")
    else:
        link_to_message(d["message_id"], "Became")
    if d["outcome"] == "rejected":
        st.caption("Rejected deliveries never reach the chat.")
    replay_block(d)
    body_tab, headers_tab, curl_tab = st.tabs(["Body", "Headers", "curl"])
    with body_tab:
        body_block(d["body"], "No body was kept (empty, or refused before it was read).")
    with headers_tab:
        st.caption("As received; credentials are stored masked.")
        st.json(rows.headers_of(d), expanded=True)
    with curl_tab:
        curl_block(d)


def curl_block(d: dict) -> None:
    profile = db.get_profile(d["profile"]) if d["profile"] else None
    key = (profile or {}).get("verify_key") or ""
    if not key and not inspect.is_handshake(d):
        st.caption("The profile has no verification key, so no signature can be computed.")
        return
    if d["body_size"] > len(inspect.body_bytes(d["body"])):
        st.caption("The body was cut at the store's size limit: it cannot be re-sent exactly.")
        return
    target = st.radio("Send to", ["local receiver", "public URL"], horizontal=True, key=f"in-curl-to-{d['id']}",
                      label_visibility="collapsed")
    base = settings.receiver_url if target == "local receiver" else settings.public_url
    raw = inspect.body_bytes(d["body"])
    body_file = f"delivery-{d['id']}.body" if len(raw) > INLINE_CURL_BYTES else None
    st.code(inspect.curl_for_delivery(d, key, base, body_file=body_file), language="bash", wrap_lines=True)
    if inspect.is_handshake(d):
        st.caption("The handshake as UChat sends it. Set UCHAT_VERIFY_TOKEN to the profile's key first.")
    else:
        st.caption(f"Re-sends the exact body with a signature computed now from "
                   f"**{inspect.literal(d['profile'])}**'s current verification key.")
    if body_file:
        st.download_button(f"Download {body_file}", raw, body_file, "application/octet-stream", on_click="ignore",
                           icon=":material/download:", help="The body is large: the curl reads it from this file.")


def request_detail(r: dict) -> None:
    entry = inspect.from_request(r)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["created_at"]))
    title(f"⬆ Request r-{r['id']} · {entry.target} · {entry.kind} · {entry.outcome}")
    took = f" in {r['duration_ms']:.0f} ms" if r["duration_ms"] is not None else ""
    st.caption(f"{when} · profile **{inspect.literal(r['profile'] or '—')}** · {r['method']} `{r['url']}` → "
               f"{r['status'] if r['status'] is not None else 'no answer'}{took}")
    if entry.outcome == "failed":
        st.error(f"**UChat's answer:** {inspect.literal(entry.reason or r['error'] or 'no answer')}",
                 icon=":material/error:")
    link_to_message(r["message_id"], "Sent for")
    request_tab, response_tab, curl_tab = st.tabs(["Request", "Response", "curl"])
    with request_tab:
        st.json(rows.headers_of(r, "request_headers"), expanded=True)
        body_block(r["request_body"], "No body.")
    with response_tab:
        body_block(r["response_body"], "No answer body." if r["status"] is not None else r["error"] or "No answer.")
    with curl_tab:
        variable = inspect.KEY_VARIABLES[entry.target]
        st.code(inspect.curl_for_request(r), language="bash", wrap_lines=True)
        st.caption(f"The key is left as ${variable}" + (" and the verification key as $UCHAT_VERIFY_TOKEN"
                                                        if entry.kind == "set webhook" else "")
                   + ": export it in your shell first; the real key is never shown here.")


# ---------------------------------------------------------------- the page

if st.session_state.pop("in-goto-chat", False):
    st.switch_page("pages/chat.py")
pick_from_url()

st.markdown("### Inspector")
st.caption("Every webhook the receiver got (accepted, duplicate, rejected, handshake) and every request the console "
           "sent (partner API, bot_url), newest first, as it happens.")

shown = st.session_state.get("in-state", {}).get("entries", [])
names = sorted({p["name"] for p in db.list_profiles()} | {e.profile for e in shown if e.profile})  # deleted ones too
with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    st.selectbox("Profile", [ALL, *names], key="in-profile", width=140)
    st.selectbox("Direction", list(DIRECTIONS), format_func=DIRECTIONS.get, key="in-direction", width=130,
                 help="Received: webhooks from UChat. Sent: partner API and bot_url requests.")
    st.selectbox("Outcome", [ALL, *OUTCOMES], key="in-outcome", width=130)
    st.selectbox("Kind", [ALL, *KINDS], key="in-kind", width=150)
    st.text_input("Search", key="in-text", placeholder="body, reason, URL, header…", width="stretch")

table()
watch()

found = load(st.session_state.get("in-pick"))
if found:
    with st.container(border=True, key="in-detail"):
        source, row = found
        if source == "d":
            delivery_detail(row)
        else:
            request_detail(row)
elif st.session_state.get("in-pick"):
    st.caption(f"{st.session_state['in-pick']} is not in the store.")
