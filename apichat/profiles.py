"""Connection profiles: the built-in sandbox, the `env` one from UCHAT_* variables, and saved ones.

Also the Connect page's actions (save, create, delete, where UChat calls back, the partner API calls, the
tunnel check) as functions a page or a command line can call: each returns what happened, in words.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import requests

from .client import PartnerClient, UChatError
from .config import SANDBOX_FLOW_KEY, SANDBOX_PARTNER_KEY, Settings
from .inspection import probe_receiver
from .markdown import literal
from .store import Store

SANDBOX = "sandbox"
SAFE_CONTACTS = 5  # a real workspace gets at most this many new contacts from one run without --allow-real
SANDBOX_WORKSPACE = "demo"
WEBHOOK_MODES = ("public", "local", "custom")  # where UChat calls back: the public URL, this machine, a URL typed in
PARTNER_FIELDS = {"base_url": "Base URL", "workspace_id": "Workspace id", "partner_key": "Partner API key"}
PARTNER_ACTIONS = {"get": "Get webhook", "set": "Set webhook", "remove": "Remove webhook"}
_MODE_SETTING, _CUSTOM_SETTING = "connect.webhook_mode.", "connect.webhook_custom."  # + the profile's name


def real_contacts_problem(contacts: int, *, real: bool, allow_real: bool) -> str:
    """Why `contacts` new contacts must not go to a real workspace in one run ('' when they may): more than
    SAFE_CONTACTS need --allow-real. Load runs and simulations share this rule."""
    if real and contacts > SAFE_CONTACTS and not allow_real:
        return (f"{contacts} contacts against a real workspace need --allow-real (up to {SAFE_CONTACTS} run "
                "without it); add --max-rate to cap messages per second")
    return ""


def new_verify_key() -> str:
    return secrets.token_urlsafe(24)


def webhook_url(settings: Settings, profile: str, local: bool = False) -> str:
    """The webhook URL UChat must call for `profile`; `local` for a UChat on this machine (the sandbox)."""
    base = settings.receiver_url if local else settings.public_url
    return f"{base.rstrip('/')}/webhook/{profile}"


def _http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


# ---------------------------------------------------------------- where UChat calls back

def webhook_mode(store: Store, name: str) -> str:
    """One of WEBHOOK_MODES: the sandbox is always local; a saved profile is public unless set otherwise."""
    if name == SANDBOX:
        return "local"
    saved = store.get_setting(_MODE_SETTING + name)
    return saved if saved in WEBHOOK_MODES else "public"


def set_webhook_mode(store: Store, name: str, mode: str) -> None:
    if mode not in WEBHOOK_MODES:
        raise ValueError(f"unknown webhook mode {mode!r} (one of {', '.join(WEBHOOK_MODES)})")
    store.set_setting(_MODE_SETTING + name, mode)


def custom_webhook_url(store: Store, name: str) -> str:
    return (store.get_setting(_CUSTOM_SETTING + name) or "").strip()


def set_custom_webhook_url(store: Store, name: str, url: str) -> None:
    store.set_setting(_CUSTOM_SETTING + name, url.strip())


def target_url(store: Store, settings: Settings, name: str, mode: str | None = None) -> str:
    """The URL UChat should call for profile `name` in `mode` (its saved mode when None); "" for no custom URL."""
    mode = mode or webhook_mode(store, name)
    if mode == "custom":
        return custom_webhook_url(store, name)
    return webhook_url(settings, name, local=(mode == "local"))


def receiver_base(url: str) -> str:
    """The receiver's own address in a webhook URL (what /healthz hangs off)."""
    return url.split("/webhook", 1)[0].rstrip("/") if "/webhook" in url else url.rstrip("/")


# ---------------------------------------------------------------- saving, creating, deleting

@dataclass(frozen=True)
class Outcome:
    """What an action did: `kind` is success, warning or error; `text` is Markdown, `extra` a detail shown verbatim."""

    kind: str
    text: str
    extra: str = ""

    @property
    def ok(self) -> bool:
        return self.kind != "error"


def save_fields(store: Store, name: str, values: dict) -> tuple[dict | None, str]:
    """Store the fields as typed (trimmed); (profile, "") or (None, why not)."""
    values = {field: (value or "").strip() for field, value in values.items()}
    if values.get("base_url") and not _http(values["base_url"]):
        return None, f"The base URL must start with http:// or https:// (got {values['base_url']!r})."
    if "base_url" in values:
        values["base_url"] = values["base_url"].rstrip("/")
    try:
        return store.save_profile(name, **values), ""
    except ValueError as exc:
        return None, str(exc)


def create_profile(store: Store, name: str, base_url: str, local: bool = False) -> tuple[dict | None, str]:
    """A new profile with a fresh verification key, UChat calling it locally or at the public URL."""
    name = name.strip()
    if store.get_profile(name):
        return None, f"A profile named {name!r} exists already."
    try:
        profile = store.save_profile(name, base_url=base_url.strip().rstrip("/"), verify_key=new_verify_key())
    except ValueError as exc:
        return None, str(exc)
    set_webhook_mode(store, name, "local" if local else "public")
    return profile, ""


def delete_profile(store: Store, name: str) -> None:
    """Forget the profile and where it was set to be called back; its conversations stay readable."""
    store.delete_profile(name)
    for key in (_MODE_SETTING + name, _CUSTOM_SETTING + name):
        store.delete_setting(key)


# ---------------------------------------------------------------- the partner API

def missing_for_partner(profile: dict) -> str:
    absent = [label for field, label in PARTNER_FIELDS.items() if not profile.get(field)]
    return f"Fill in {', '.join(absent)} first." if absent else ""


def describe_webhook(data: dict) -> str:
    """UChat's answer about a webhook, as Markdown lines."""
    status = data.get("webhook_status") or "not set"
    lines = [f"webhook_status: **{literal(status)}**"]
    if data.get("webhook_url"):
        lines.append(f"webhook_url: `{data['webhook_url']}`")
    if data.get("bot_url"):
        lines.append(f"bot_url: `{data['bot_url']}`")
    return "  \n".join(lines)


def partner_action(store: Store, settings: Settings, name: str, action: str,
                   session: requests.Session | None = None) -> Outcome:
    """Get, set or remove the webhook of stored profile `name`, keeping what UChat answered in the profile.

    Warns when UChat calls another URL than the profile's, or holds another verification key (its webhooks
    would then be rejected).
    """
    label = PARTNER_ACTIONS[action]
    profile = store.get_profile(name)
    if profile is None:
        return Outcome("error", f"No profile named {name!r}.")
    problem = missing_for_partner(profile)
    url = target_url(store, settings, name)
    if action == "set" and not problem:
        if not profile["verify_key"]:
            problem = "Generate a verification key first: UChat needs one to verify the webhook."
        elif not _http(url):
            problem = "Enter the custom webhook URL (http:// or https://) first."
    if problem:
        return Outcome("error", problem)
    client = PartnerClient(profile["base_url"], profile["partner_key"], profile["workspace_id"], store=store,
                           profile=name, session=session)
    try:
        if action == "get":
            data = client.get_webhook()
        elif action == "set":
            data = client.set_webhook(url, profile["verify_key"])
        else:
            data = client.remove_webhook()
    except UChatError as exc:
        where = f"UChat answered {exc.status}" if exc.status else f"No answer from UChat ({exc.kind})"
        return Outcome("error", f"**{label} failed.** {where}:", exc.message)
    store.save_profile(name, webhook_url=data.get("webhook_url", ""), webhook_status=data.get("webhook_status", ""),
                       bot_url=data.get("bot_url", ""))
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
    return Outcome("warning" if notes else "success", f"**{done}.**  \n{describe_webhook(data)}", " ".join(notes))


def check_webhook_url(store: Store, settings: Settings, name: str,
                      session: requests.Session | None = None) -> Outcome:
    """Does the profile's webhook URL reach this console's receiver (GET <receiver>/healthz through it)?"""
    url = target_url(store, settings, name)
    if not _http(url):
        return Outcome("error", "Enter the custom webhook URL (http:// or https://) first.")
    probe = probe_receiver(receiver_base(url), local_url=settings.receiver_url, session=session)
    if probe.ok:
        return Outcome("warning" if probe.warning else "success", f"**Reachable.** {literal(probe.message)}",
                       probe.warning)
    return Outcome("error", "**Not reachable.**", probe.message)


# ---------------------------------------------------------------- env and sandbox profiles

def ensure_env_profile(store: Store, settings: Settings) -> dict | None:
    """Create or update the `env` profile from UCHAT_* variables and make it the default."""
    env = settings.env_profile
    if env is None:
        return None
    fields = {k: v for k, v in vars(env).items() if v}
    if env.bot_url and not env.partner_key:
        fields["webhook_status"] = "set outside the console"
    profile = store.save_profile("env", **fields)
    store.set_default_profile("env")
    return profile


def complete_env_profile(store: Store, settings: Settings, client_factory=None) -> dict | None:
    """Fetch the bot_url of the `env` profile from the partner API when only the partner key was given."""
    env = settings.env_profile
    if env is None or env.bot_url or not (env.partner_key and env.workspace_id):
        return None
    client = (client_factory or PartnerClient)(env.base_url, env.partner_key, env.workspace_id, store=store,
                                               profile="env")
    current = client.get_webhook()
    return store.save_profile("env", webhook_url=current.get("webhook_url", ""),
                              webhook_status=current.get("webhook_status", ""), bot_url=current.get("bot_url", ""))


def connect_sandbox(store: Store, settings: Settings, client_factory=None) -> dict:
    """Make the `sandbox` profile point at the embedded sandbox, with its webhook set and verified.

    Idempotent: when the sandbox already has our webhook URL and key, nothing is changed.
    """
    existing = store.get_profile(SANDBOX) or {}
    url = webhook_url(settings, SANDBOX, local=True)
    profile = store.save_profile(
        SANDBOX, base_url=settings.sandbox_url, partner_key=existing.get("partner_key") or SANDBOX_PARTNER_KEY,
        workspace_id=existing.get("workspace_id") or SANDBOX_WORKSPACE,
        flow_key=existing.get("flow_key") or SANDBOX_FLOW_KEY,
        verify_key=existing.get("verify_key") or new_verify_key())
    factory = client_factory or PartnerClient
    client = factory(profile["base_url"], profile["partner_key"], profile["workspace_id"], store=store,
                     profile=SANDBOX)
    current = client.get_webhook()
    if not (current.get("webhook_url") == url and current.get("webhook_status") == "verified"
            and current.get("webhook_verification_key") == profile["verify_key"]):
        current = client.set_webhook(url, profile["verify_key"])
    return store.save_profile(SANDBOX, webhook_url=current.get("webhook_url", ""),
                              webhook_status=current.get("webhook_status", ""), bot_url=current.get("bot_url", ""))
