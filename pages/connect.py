"""Connection profiles: the keys of a UChat workspace (or the sandbox) and the webhook UChat calls back."""

from __future__ import annotations

import streamlit as st

from apichat import inspect, profiles
from apichat.client import PartnerClient, UChatError
from apichat.config import UCHAT_BASE_URL
from ui import context
from ui.html import CSS

context.require_app("pages/connect.py")
settings = context.settings()
db = context.store()
st.html(CSS)

FIELDS = (  # field, label, secret, help
    ("base_url", "Base URL", False, "UChat's address (https://www.uchat.com.au) or your partner domain."),
    ("workspace_id", "Workspace id", False, "The workspace whose API Chat channel you test."),
    ("partner_key", "Partner API key", True, "Used for get / set / remove webhook (UChat partner settings)."),
    ("flow_key", "Flow API key", True, "The workspace's flow API key (manage flow permission): used to send "
                                       "messages as the contact to bot_url."),
    ("verify_key", "Verification key", True, "UChat sends it back in the handshake and signs every webhook with "
                                             "it. A new key takes effect at the next Set webhook."),
    ("bot_url", "bot_url", False, "Filled in by Set / Get webhook. Paste it yourself if the webhook was set "
                                  "outside the console."),
)
MODES = {"public": "Public URL (tunnel)", "local": "UChat runs on this machine (local)", "custom": "Custom URL"}


# ---------------------------------------------------------------- where UChat calls back

def mode_of(name: str) -> str:
    if name == profiles.SANDBOX:
        return "local"
    saved = db.get_setting(f"connect.webhook_mode.{name}")
    return saved if saved in MODES else "public"


def target_url(name: str, mode: str) -> str:
    if mode == "custom":
        return (db.get_setting(f"connect.webhook_custom.{name}") or "").strip()
    return profiles.webhook_url(settings, name, local=(mode == "local"))


def receiver_base(url: str) -> str:
    """The receiver's own address in a webhook URL (what /healthz hangs off)."""
    return url.split("/webhook", 1)[0].rstrip("/") if "/webhook" in url else url.rstrip("/")


# ---------------------------------------------------------------- fields

def field_key(field: str) -> str:
    """One set of fields, refilled when another profile is picked. The keys are new whenever the page fills them
    in, so the browser never keeps showing a value typed before (a form field the person typed in ignores a value
    set from the server)."""
    return f"cx-field-{field}-{st.session_state.get('cx-generation', 0)}"


def refill(values: dict) -> None:
    """Show `values` in the fields: new widgets, the old ones' state forgotten."""
    for field, *_ in FIELDS:
        st.session_state.pop(field_key(field), None)
    st.session_state["cx-generation"] = st.session_state.get("cx-generation", 0) + 1
    for field, *_ in FIELDS:
        st.session_state[field_key(field)] = values.get(field) or ""


def load_fields(profile: dict) -> None:
    """The fields show the stored profile when it is picked (typed values are kept until then)."""
    reload = st.session_state.pop("cx-reload", None) == profile["name"]
    if reload or st.session_state.get("cx-loaded") != profile["name"] or field_key("base_url") not in st.session_state:
        refill(profile)
        st.session_state["cx-loaded"] = profile["name"]


def typed() -> dict:
    return {field: (st.session_state.get(field_key(field)) or "").strip() for field, *_ in FIELDS}


def save_typed(name: str) -> tuple[dict | None, str]:
    """Store what is typed; (profile, "") or (None, why not)."""
    values = typed()
    if values["base_url"] and not values["base_url"].startswith(("http://", "https://")):
        return None, f"The base URL must start with http:// or https:// (got {values['base_url']!r})."
    values["base_url"] = values["base_url"].rstrip("/")
    return db.save_profile(name, **values), ""


def generate_key(name: str) -> None:
    """A form button: what is typed was just committed, and is kept; only the verification key is new."""
    refill({**typed(), "verify_key": profiles.new_verify_key()})
    st.session_state[f"cx-note-{name}"] = "A new verification key is typed in. Set webhook stores it and sends it to UChat."


# ---------------------------------------------------------------- actions

def remember(name: str, kind: str, text: str, extra: str = "", slot: str = "result") -> None:
    st.session_state[f"cx-{slot}-{name}"] = (kind, text, extra)


def missing_for_partner(profile: dict) -> str:
    absent = [label for field, label, *_ in FIELDS
              if field in ("base_url", "workspace_id", "partner_key") and not profile[field]]
    return f"Fill in {', '.join(absent)} first." if absent else ""


def describe(data: dict) -> str:
    status = data.get("webhook_status") or "not set"
    lines = [f"webhook_status: **{inspect.literal(status)}**"]
    if data.get("webhook_url"):
        lines.append(f"webhook_url: `{data['webhook_url']}`")
    if data.get("bot_url"):
        lines.append(f"bot_url: `{data['bot_url']}`")
    return "  \n".join(lines)


def partner_action(name: str, action: str) -> None:
    """Save the fields, call the partner API, keep what UChat answered in the profile."""
    profile, problem = save_typed(name)
    if profile is None:
        remember(name, "error", problem)
        return
    problem = missing_for_partner(profile)
    url = target_url(name, mode_of(name))
    if action == "set" and not problem:
        if not profile["verify_key"]:
            problem = "Generate a verification key first: UChat needs one to verify the webhook."
        elif not url.startswith(("http://", "https://")):
            problem = "Enter the custom webhook URL (http:// or https://) first."
    if problem:
        remember(name, "error", problem)
        return
    client = PartnerClient(profile["base_url"], profile["partner_key"], profile["workspace_id"], store=db,
                           profile=name)
    label = {"get": "Get webhook", "set": "Set webhook", "remove": "Remove webhook"}[action]
    try:
        if action == "get":
            data = client.get_webhook()
        elif action == "set":
            data = client.set_webhook(url, profile["verify_key"])
        else:
            data = client.remove_webhook()
    except UChatError as exc:
        where = f"UChat answered {exc.status}" if exc.status else f"No answer from UChat ({exc.kind})"
        remember(name, "error", f"**{label} failed.** {where}:", exc.message)
        return
    db.save_profile(name, webhook_url=data.get("webhook_url", ""), webhook_status=data.get("webhook_status", ""),
                    bot_url=data.get("bot_url", ""))
    st.session_state["cx-reload"] = name  # the fields show what UChat answered (bot_url) at the next run
    notes = []
    if action != "remove" and data.get("webhook_url") and data["webhook_url"] != url:
        notes.append("UChat calls a different URL than the one this profile exposes: press Set webhook to change it.")
    their_key = data.get("webhook_verification_key")
    if action == "get" and their_key and their_key != profile["verify_key"]:
        notes.append("UChat holds a different verification key than this profile, so its webhooks will be "
                     "rejected: press Set webhook to send this profile's key.")
    done = {"get": "UChat has this webhook", "set": "Webhook set and verified",
            "remove": "Webhook removed: UChat no longer sends this workspace's replies to the console"}[action]
    if action == "get" and not data.get("webhook_url"):
        done = "No webhook is set for this workspace"
    remember(name, "warning" if notes else "success", f"**{done}.**  \n{describe(data)}", " ".join(notes))


def check_url(name: str) -> None:
    url = target_url(name, mode_of(name))
    if not url.startswith(("http://", "https://")):
        remember(name, "error", "Enter the custom webhook URL (http:// or https://) first.",
                 slot="check")
        return
    probe = inspect.probe_receiver(receiver_base(url), local_url=settings.receiver_url)
    if probe.ok:
        remember(name, "warning" if probe.warning else "success", f"**Reachable.** {inspect.literal(probe.message)}",
                 probe.warning, slot="check")
    else:
        remember(name, "error", "**Not reachable.**", probe.message, slot="check")


def use_profile(name: str) -> None:
    st.session_state["profile"] = name  # the sidebar's selectbox: the chat switches to this profile


def show_result(name: str, slot: str = "result") -> None:
    result = st.session_state.get(f"cx-{slot}-{name}")
    if not result:
        return
    kind, text, extra = result
    box = {"success": st.success, "warning": st.warning, "error": st.error}[kind]
    icon = {"success": ":material/check_circle:", "warning": ":material/warning:", "error": ":material/error:"}[kind]
    box(text + (f"  \n{inspect.literal(extra)}" if extra else ""), icon=icon)


# ---------------------------------------------------------------- dialogs

@st.dialog("New connection profile")
def new_profile_dialog() -> None:
    st.caption("A profile is one UChat workspace: its keys, and the webhook UChat calls back. Its conversations "
               "stay its own.")
    with st.form("cx-new-form", border=False):  # committed by its button: nothing typed is lost on the way
        name = st.text_input("Name", placeholder="staging", key="cx-new-name",
                             help="Letters, digits, '-', '_' or '.': it becomes part of the webhook URL.")
        base = st.text_input("Base URL", value=UCHAT_BASE_URL, key="cx-new-base")
        local = st.checkbox("UChat runs on this machine (local)", key="cx-new-local",
                            help="For a profile pointed at the sandbox or another UChat on this computer: the webhook "
                                 "URL is the local receiver's, not the public one.")
        if st.form_submit_button("Create profile", type="primary"):
            name = name.strip()
            if db.get_profile(name):
                st.error(f"A profile named {name!r} exists already.")
                return
            try:
                db.save_profile(name, base_url=base.strip().rstrip("/"), verify_key=profiles.new_verify_key())
            except ValueError as exc:
                st.error(str(exc))
                return
            db.set_setting(f"connect.webhook_mode.{name}", "local" if local else "public")
            st.session_state["cx-next"] = name
            st.rerun()


@st.dialog("Delete profile")
def delete_dialog(name: str) -> None:
    st.markdown(f"Delete the profile **{inspect.literal(name)}**?")
    st.caption("Its keys are forgotten here (the webhook stays set at UChat: remove it first if UChat should stop "
               "calling). Its conversations and the inspector's history stay readable.")
    if name == "env":
        st.caption("The env profile comes back at the next start while UCHAT_* variables are set.")
    with st.container(horizontal=True):
        if st.button("Delete", type="primary", key="cx-delete-yes", icon=":material/delete:"):
            db.delete_profile(name)
            st.session_state.pop("cx-loaded", None)
            st.session_state["cx-next"] = None
            st.rerun()
        if st.button("Cancel", key="cx-delete-no"):
            st.rerun()


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
        new_profile_dialog()

if not names:
    st.info("No profile yet. Create one with **New profile** (the sandbox profile appears by itself when the "
            "embedded sandbox runs).")
    st.stop()

name = st.session_state["cx-pick"]
profile = db.get_profile(name)
load_fields(profile)
mode = mode_of(name)
url = target_url(name, mode)
in_use = st.session_state.get("profile") == name

with st.container(border=True):
    with st.container(horizontal=True, vertical_alignment="center"):
        status = profile["webhook_status"] or "not set"
        dot = ":green[●]" if status == "verified" else ":orange[●]"
        st.markdown(f"**{inspect.literal(name)}** &nbsp; {dot} webhook {inspect.literal(status)}"
                    + ("" if profile["bot_url"] else " · no bot_url yet"), width="stretch")
        st.button("In use in the chat" if in_use else "Use this profile", key="cx-use", disabled=in_use,
                  icon=":material/check:" if in_use else ":material/swap_horiz:", on_click=use_profile, args=(name,),
                  help="Switch the chat to this profile (the sidebar's Profile does the same).")
        if st.button("Delete…", key="cx-delete", icon=":material/delete:", disabled=name == profiles.SANDBOX,
                     help="The built-in sandbox profile cannot be deleted." if name == profiles.SANDBOX else
                     "Asks first. Conversations stay readable."):
            delete_dialog(name)

# Where UChat calls back comes first, then the keys and the calls that use them: the keyboard's order too.
where, keys = st.columns([5, 6], gap="medium")

with where, st.container(border=True, key="cx-webhook"):
    st.markdown("**Webhook URL**")
    if name == profiles.SANDBOX:
        st.caption("The sandbox runs on this machine, so it calls the local receiver directly.")
    else:
        chosen = st.radio("UChat calls the console at", list(MODES), format_func=MODES.get, key=f"cx-mode-{name}",
                          index=list(MODES).index(mode))
        if chosen != mode:
            db.set_setting(f"connect.webhook_mode.{name}", chosen)
            mode, url = chosen, target_url(name, chosen)
        if mode == "custom":
            custom = st.text_input("Custom webhook URL", value=url, key=f"cx-custom-{name}",
                                   placeholder="https://example.com/uchat/webhook/" + name,
                                   help="When a proxy maps the receiver under another path.")
            if custom.strip() != url:
                db.set_setting(f"connect.webhook_custom.{name}", custom.strip())
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
            check_url(name)
        st.rerun()
    show_result(name, "check")

with keys, st.container(border=True, key="cx-keys"):
    st.markdown("**Keys**")
    show = st.toggle("Show keys", key="cx-show-keys", help="Keys are masked unless you ask to see them.")
    # One form, committed by its buttons: a value typed, then left with Tab (through a password field's
    # reveal button, which never commits it on its own) is sent with the button that is pressed.
    with st.form("cx-keys-form", border=False, enter_to_submit=False):
        for field, label, secret, help_text in FIELDS:
            if field == "verify_key":
                with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
                    st.text_input(label, key=field_key(field), type="default" if show else "password",
                                  help=help_text)
                    st.form_submit_button("Generate", icon=":material/autorenew:", on_click=generate_key,
                                          args=(name,), help="A new random key (profiles.new_verify_key).")
            else:
                st.text_input(label, key=field_key(field), type="password" if secret and not show else "default",
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
    show_result(name)
    if name == profiles.SANDBOX:
        st.caption("The sandbox profile's address and webhook are restored when the console starts.")
    elif name == "env":
        st.caption("Set from UCHAT_* variables at start: edits here are replaced at the next start.")
    st.caption("**Check URL** tests the tunnel · **Get** reads UChat's setting · **Set** stores the keys, then asks "
               "UChat to verify and use the URL · **Remove** detaches the workspace. Each result is kept in the "
               "profile and every call is listed in the Inspector.")
