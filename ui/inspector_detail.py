"""The Inspector's selection (the picked entry, kept in the address) and its detail pane: why a delivery was
refused, replay, bodies, headers and curl. The rules are apichat.inspection's; this only draws them."""

from __future__ import annotations

import time

import streamlit as st

from apichat import inspection, lint, rows
from apichat.markdown import literal
from ui import context

INLINE_CURL_BYTES = 16 * 1024


# ---------------------------------------------------------------- selection

def next_generation() -> int:
    """A new key for the table whenever its rows or the pick change from outside (selections are positional)."""
    st.session_state["in-generation"] = st.session_state.get("in-generation", 0) + 1
    return st.session_state["in-generation"]


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
    wanted = inspection.item_from_params(st.query_params)
    if wanted and wanted != st.session_state.get("in-url-seen"):
        st.session_state["in-url-seen"] = wanted
        choose(wanted)


def open_in_chat(message_id: int) -> None:
    """Make the chat show the conversation this message belongs to (its profile and contact too)."""
    conversation = inspection.conversation_of(context.store(), message_id)
    if conversation is None:
        return
    st.session_state["profile"] = conversation["profile"]
    st.session_state["persona"] = conversation["contact_id"]
    st.session_state["conversation"] = conversation["id"]
    st.session_state["in-goto-chat"] = True


# ---------------------------------------------------------------- details

def show(key: str | None) -> None:
    """The picked entry's details, or a line saying it is not in the store."""
    found = inspection.lookup(context.store(), key)
    if found:
        with st.container(border=True, key="in-detail"):
            source, row = found
            if source == "d":
                delivery_detail(row)
            else:
                request_detail(row)
    elif key:
        st.caption(f"{key} is not in the store.")


def link_to_message(message_id: int | None, label: str) -> None:
    if not message_id:
        return
    db = context.store()
    conversation = inspection.conversation_of(db, message_id)
    if conversation is None:
        st.caption(f"{label} message #{message_id}, which is no longer in the store.")
        return
    exists = db.get_profile(conversation["profile"]) is not None
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"{label} **message #{message_id}** in conversation `{conversation['conv_id']}` of contact "
                    f"`{conversation['contact_id']}` (profile **{literal(conversation['profile'])}**)",
                    width="stretch")
        st.button("Open in chat", key=f"in-open-{message_id}", icon=":material/chat:", on_click=open_in_chat,
                  args=(message_id,), disabled=not exists,
                  help="Its profile was deleted: the conversation is in the store, not in the chat." if not exists
                  else "Switch the chat to this conversation.")


def body_block(raw, empty: str) -> None:
    data, text = inspection.body_view(raw)
    if data is not None:
        st.json(data, expanded=2)
    elif text:
        st.code(text, language=None, wrap_lines=True)
    else:
        st.caption(empty)


def replay_block(delivery: dict) -> None:
    db, settings = context.store(), context.settings()
    profile = db.get_profile(delivery["profile"]) if delivery["profile"] else None
    why_not = inspection.replay_blocker(delivery, profile)
    with st.container(horizontal=True, vertical_alignment="center"):
        clicked = st.button("Replay", key=f"in-replay-{delivery['id']}", icon=":material/replay:",
                            disabled=why_not is not None, type="primary")
        st.caption(f"Cannot replay: {why_not}." if why_not else (
            "Re-runs the handshake with the profile's current key." if inspection.is_handshake(delivery) else
            f"Sends the same bytes again to the local receiver (`{settings.receiver_url}{delivery['route']}`), signed "
            f"now with **{literal(delivery['profile'])}**'s current verification key. The same body within "
            f"10 minutes is acknowledged as a duplicate and shown once."))
    if clicked:
        result, stored_id = inspection.replay_and_find(db, delivery, profile["verify_key"], settings.receiver_url)
        st.session_state["in-replay"] = (delivery["id"], result, stored_id)
    done = st.session_state.get("in-replay")
    if done and done[0] == delivery["id"]:
        _, result, stored_id = done
        where = f" · stored as delivery d-{stored_id}" if stored_id else ""
        if result.status is not None and 200 <= result.status < 300:
            st.success(f"**Replayed: {result.outcome}.** The receiver answered {result.status} in "
                       f"{result.duration_ms:.0f} ms{where}.", icon=":material/check_circle:")
        else:
            st.error(f"**Replay {result.outcome}.**{where}  \n"
                     f"{literal(result.error or result.body[:500])}", icon=":material/error:")
        if stored_id:
            st.button(f"Show d-{stored_id}", key=f"in-show-{stored_id}", on_click=choose, args=(f"d-{stored_id}",))


def title(text: str) -> None:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"#### {text}", width="stretch")
        st.button("Close", key="in-close", icon=":material/close:", on_click=choose, args=(None,), type="tertiary")


def delivery_detail(d: dict) -> None:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d["received_at"]))
    title(f"⬇ Delivery d-{d['id']} · {d['outcome']}")
    st.caption(f"{when} · profile **{literal(d['profile'] or '—')}** · {d['method']} `{d['route']}` → "
               f"{d['status_code']} · {d['body_size']} bytes · from {d['remote_addr'] or '?'}"
               + (f" · x-flow-ns `{d['flow_ns']}`" if d["flow_ns"] else "")
               + (f" · x-action `{d['action']}`" if d["action"] else "") + (f" · {d['kind']}" if d["kind"] else ""))
    explanation = inspection.explain(d, context.store().verification_keys())
    if explanation:
        st.error(f"**{explanation.cause}** — {explanation.detail}  \n*Receiver's reason:* "
                 f"{literal(d['reason'])}", icon=":material/gpp_bad:")
        st.info(f"**What to do:** {explanation.fix}" + (f"  \n{explanation.recheck}" if explanation.recheck else ""),
                icon=":material/lightbulb:")
    elif d["reason"]:
        st.caption(f"Receiver: {literal(d['reason'])}")
    if d["outcome"] == "duplicate":
        link_to_message(d["message_id"], "Same body as")
    else:
        link_to_message(d["message_id"], "Became")
    if d["outcome"] == "rejected":
        st.caption("Rejected deliveries never reach the chat.")
    lint_block(d)
    replay_block(d)
    body_tab, headers_tab, curl_tab = st.tabs(["Body", "Headers", "curl"])
    with body_tab:
        body_block(d["body"], "No body was kept (empty, or refused before it was read).")
    with headers_tab:
        st.caption("As received; credentials are stored masked.")
        st.json(rows.headers_of(d), expanded=True)
    with curl_tab:
        curl_block(d)


def lint_block(d: dict) -> None:
    """The channel limits the message this delivery became breaks (the profile's channels)."""
    db = context.store()
    message = db.get_message(d["message_id"]) if d["message_id"] and d["outcome"] == "accepted" else None
    if not message or message["direction"] != "in":
        return
    channels = lint.channels_of(db.get_profile(d["profile"] or ""))
    findings = lint.lint_message(rows.data_of(message), channels)
    if findings:
        st.warning("**Channel limits** (" + ", ".join(channels) + "):  \n" +
                   "  \n".join(literal(f.message) for f in findings), icon=":material/rule:")
    elif channels:
        st.caption(f"Channel limits: none broken ({', '.join(channels)}).")


def curl_block(d: dict) -> None:
    db, settings = context.store(), context.settings()
    profile = db.get_profile(d["profile"]) if d["profile"] else None
    key = (profile or {}).get("verify_key") or ""
    if not key and not inspection.is_handshake(d):
        st.caption("The profile has no verification key, so no signature can be computed.")
        return
    if d["body_size"] > len(inspection.body_bytes(d["body"])):
        st.caption("The body was cut at the store's size limit: it cannot be re-sent exactly.")
        return
    target = st.radio("Send to", ["local receiver", "public URL"], horizontal=True, key=f"in-curl-to-{d['id']}",
                      label_visibility="collapsed")
    base = settings.receiver_url if target == "local receiver" else settings.public_url
    raw = inspection.body_bytes(d["body"])
    body_file = f"delivery-{d['id']}.body" if len(raw) > INLINE_CURL_BYTES else None
    st.code(inspection.curl_for_delivery(d, key, base, body_file=body_file), language="bash", wrap_lines=True)
    if inspection.is_handshake(d):
        st.caption("The handshake as UChat sends it. Set UCHAT_VERIFY_TOKEN to the profile's key first.")
    else:
        st.caption(f"Re-sends the exact body with a signature computed now from "
                   f"**{literal(d['profile'])}**'s current verification key.")
    if body_file:
        st.download_button(f"Download {body_file}", raw, body_file, "application/octet-stream", on_click="ignore",
                           icon=":material/download:", help="The body is large: the curl reads it from this file.")


def request_detail(r: dict) -> None:
    entry = inspection.from_request(r)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["created_at"]))
    title(f"⬆ Request r-{r['id']} · {entry.target} · {entry.kind} · {entry.outcome}")
    took = f" in {r['duration_ms']:.0f} ms" if r["duration_ms"] is not None else ""
    st.caption(f"{when} · profile **{literal(r['profile'] or '—')}** · {r['method']} `{r['url']}` → "
               f"{r['status'] if r['status'] is not None else 'no answer'}{took}")
    if entry.outcome == "failed":
        st.error(f"**UChat's answer:** {literal(entry.reason or r['error'] or 'no answer')}",
                 icon=":material/error:")
    link_to_message(r["message_id"], "Sent for")
    request_tab, response_tab, curl_tab = st.tabs(["Request", "Response", "curl"])
    with request_tab:
        st.json(rows.headers_of(r, "request_headers"), expanded=True)
        body_block(r["request_body"], "No body.")
    with response_tab:
        body_block(r["response_body"], "No answer body." if r["status"] is not None else r["error"] or "No answer.")
    with curl_tab:
        variable = inspection.KEY_VARIABLES[entry.target]
        st.code(inspection.curl_for_request(r), language="bash", wrap_lines=True)
        st.caption(f"The key is left as ${variable}" + (" and the verification key as $UCHAT_VERIFY_TOKEN"
                                                        if entry.kind == "set webhook" else "")
                   + ": export it in your shell first; the real key is never shown here.")
