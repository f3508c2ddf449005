"""Connection profiles: the keys of a UChat workspace (or the sandbox) and the webhook UChat calls back."""

from __future__ import annotations

import streamlit as st

from apichat import profiles
from apichat.config import UCHAT_BASE_URL
from apichat.markdown import literal
from ui import context, notice, store_view
from ui import profile_form as form
from ui.html import CSS

context.require_app("pages/connect.py")
settings = context.settings()
db = context.store()
st.html(CSS)


def save_typed(name: str) -> tuple[dict | None, str]:
    """Store what is typed; (profile, "") or (None, why not)."""
    return profiles.save_fields(db, name, form.typed())


def generate_key(name: str) -> None:
    """A form button: what is typed was just committed, and is kept; only the verification key is new."""
    form.refill({**form.typed(), "verify_key": profiles.new_verify_key()})
    st.session_state[f"cx-note-{name}"] = "A new verification key is typed in. Set webhook stores it and sends it to UChat."


def remember(name: str, outcome: profiles.Outcome, slot: str = "result") -> None:
    st.session_state[f"cx-{slot}-{name}"] = outcome


def partner_action(name: str, action: str) -> None:
    """Save the fields, call the partner API, keep what UChat answered in the profile."""
    profile, problem = save_typed(name)
    outcome = profiles.partner_action(db, settings, name, action) if profile else profiles.Outcome("error", problem)
    if outcome.ok:
        form.reload_after(name)  # the fields show what UChat answered (bot_url) at the next run
    remember(name, outcome)


def use_profile(name: str) -> None:
    st.session_state["profile"] = name  # the sidebar's selectbox: the chat switches to this profile


# ---------------------------------------------------------------- the page

st.markdown("### Connect")
st.caption("A connection profile holds one UChat workspace's keys and the webhook UChat calls back. The "
           "**sandbox** profile is the local stand-in for UChat; **env** comes from UCHAT_* variables; add your own "
           "for staging, production…")

all_profiles = db.list_profiles()
names = [p["name"] for p in all_profiles]
if "cx-next" in st.session_state:
    st.session_state["cx-pick"] = st.session_state.pop("cx-next")
if st.session_state.get("cx-pick") not in names:
    active = context.active_profile()
    st.session_state["cx-pick"] = active["name"] if active else (names[0] if names else None)

with st.container(horizontal=True, vertical_alignment="bottom"):
    if names:
        st.selectbox("Profile", names, key="cx-pick", width=320,
                     format_func=lambda n: n + {"sandbox": " · built-in", "env": " · from UCHAT_* variables"}.get(n, ""))
    if st.button("New profile", icon=":material/add:", key="cx-new"):
        form.new_profile_dialog(db)

if not names:
    st.info("No profile yet. Create one with **New profile** (the sandbox profile appears by itself when the "
            "embedded sandbox runs).")
    st.stop()

name = st.session_state["cx-pick"]
profile = db.get_profile(name)
form.load_fields(profile)
mode = profiles.webhook_mode(db, name)
url = profiles.target_url(db, settings, name, mode)
in_use = st.session_state.get("profile") == name

with st.container(border=True):
    with st.container(horizontal=True, vertical_alignment="center"):
        status = profile["webhook_status"] or "not set"
        dot = ":green[●]" if status == "verified" else ":orange[●]"
        st.markdown(f"**{literal(name)}** &nbsp; {dot} webhook {literal(status)}"
                    + ("" if profile["bot_url"] else " · no bot_url yet"), width="stretch")
        st.button("In use in the chat" if in_use else "Use this profile", key="cx-use", disabled=in_use,
                  icon=":material/check:" if in_use else ":material/swap_horiz:", on_click=use_profile, args=(name,),
                  help="Switch the chat to this profile (the sidebar's Profile does the same).")
        if st.button("Delete…", key="cx-delete", icon=":material/delete:", disabled=name == profiles.SANDBOX,
                     help="The built-in sandbox profile cannot be deleted." if name == profiles.SANDBOX else
                     "Asks first. Conversations stay readable."):
            form.delete_dialog(db, name)

# Where UChat calls back comes first, then the keys and the calls that use them: the keyboard's order too.
where, keys = st.columns([5, 6], gap="medium")

with where, st.container(border=True, key="cx-webhook"):
    st.markdown("**Webhook URL**")
    if name == profiles.SANDBOX:
        st.caption("The sandbox runs on this machine, so it calls the local receiver directly.")
    else:
        chosen = st.radio("UChat calls the console at", list(form.MODES), format_func=form.MODES.get,
                          key=f"cx-mode-{name}", index=list(form.MODES).index(mode))
        if chosen != mode:
            profiles.set_webhook_mode(db, name, chosen)
            mode, url = chosen, profiles.target_url(db, settings, name, chosen)
        if mode == "custom":
            custom = st.text_input("Custom webhook URL", value=url, key=f"cx-custom-{name}",
                                   placeholder="https://example.com/uchat/webhook/" + name,
                                   help="When a proxy maps the receiver under another path.")
            if custom.strip() != url:
                profiles.set_custom_webhook_url(db, name, custom)
                url = custom.strip()
    if name != profiles.SANDBOX:
        st.caption({"public": f"Expose this URL (APICHAT_PUBLIC_URL + /webhook/{name}): your tunnel must forward "
                              f"it to the receiver at {settings.receiver_url}.",
                    "local": "The receiver on this machine, for a UChat (like the sandbox) running here too.",
                    "custom": "UChat calls exactly this URL."}[mode])
    st.code(url or "(enter the custom URL)", language=None, wrap_lines=True)
    if profile["webhook_url"] and profile["webhook_url"] != url:
        st.warning(f"UChat was last seen calling `{profile['webhook_url']}`: press **Set webhook** to switch it to "
                   "the URL above.", icon=":material/sync_problem:")
    if st.button("Check URL", key="cx-check", icon=":material/network_check:",
                 help="GET <receiver>/healthz through this URL: does your tunnel reach the receiver?"):
        with st.spinner("Fetching /healthz…"):
            remember(name, profiles.check_webhook_url(db, settings, name), slot="check")
        st.rerun()
    notice.show(st.session_state.get(f"cx-check-{name}"))
    form.lint_channels(db, profile)

with keys, st.container(border=True, key="cx-keys"):
    st.markdown("**Keys**")
    show = st.toggle("Show keys", key="cx-show-keys", help="Keys are masked unless you ask to see them.")
    # One form, committed by its buttons: a value typed, then left with Tab (through a password field's
    # reveal button, which never commits it on its own) is sent with the button that is pressed.
    with st.form("cx-keys-form", border=False, enter_to_submit=False):
        for field, label, secret, help_text in form.FIELDS:
            if field == "verify_key":
                with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
                    st.text_input(label, key=form.field_key(field), type="default" if show else "password",
                                  help=help_text)
                    st.form_submit_button("Generate", icon=":material/autorenew:", on_click=generate_key,
                                          args=(name,), help="A new random key (profiles.new_verify_key).")
            else:
                st.text_input(label, key=form.field_key(field), type="password" if secret and not show else "default",
                              help=help_text, placeholder=UCHAT_BASE_URL if field == "base_url" else None)
        note = st.session_state.pop(f"cx-note-{name}", None)
        if note:
            st.caption(note)
        with st.container(horizontal=True, gap="small"):
            save = st.form_submit_button("Save", icon=":material/save:")
            put = st.form_submit_button("Set webhook", type="primary", icon=":material/upload:",
                                        help="Saves the keys, then asks UChat to set the webhook URL. UChat "
                                             "verifies it during the call (the handshake), so the key is stored "
                                             "first.")
            get = st.form_submit_button("Get webhook", icon=":material/download:",
                                        help="Read what UChat has for this workspace (status, URL, bot_url).")
            with st.popover("Remove webhook", icon=":material/link_off:"):
                st.caption("UChat stops sending this workspace's bot replies to the console, and bot_url is "
                           "cleared.")
                remove = st.form_submit_button("Remove the webhook", type="primary")
    if save:
        saved, problem = save_typed(name)
        if saved is None:
            st.error(problem)
        else:
            st.toast(f"Profile {name} saved.", icon=":material/check:")
    action = "get" if get else "set" if put else "remove" if remove else None
    if action:
        with st.spinner({"get": "Asking UChat…", "set": "UChat is verifying the URL…", "remove": "Asking UChat…"}[action]):
            partner_action(name, action)
        st.rerun()
    notice.show(st.session_state.get(f"cx-result-{name}"))
    if name == profiles.SANDBOX:
        st.caption("The sandbox profile's address and webhook are restored when the console starts.")
    elif name == "env":
        st.caption("Set from UCHAT_* variables at start: edits here are replaced at the next start.")
    st.caption("**Check URL** tests the tunnel · **Get** reads UChat's setting · **Set** stores the keys, then asks "
               "UChat to verify and use the URL · **Remove** detaches the workspace. Each result is kept in the "
               "profile and every call is listed in the Inspector.")

store_view.holdings(db, settings)
