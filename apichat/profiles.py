"""Connection profiles: the built-in sandbox, the `env` one from UCHAT_* variables, and saved ones."""

from __future__ import annotations

import secrets

from .config import SANDBOX_FLOW_KEY, SANDBOX_PARTNER_KEY, Settings
from .store import Store

SANDBOX = "sandbox"
SANDBOX_WORKSPACE = "demo"


def new_verify_key() -> str:
    return secrets.token_urlsafe(24)


def webhook_url(settings: Settings, profile: str, local: bool = False) -> str:
    """The webhook URL UChat must call for `profile`; `local` for a UChat on this machine (the sandbox)."""
    base = settings.receiver_url if local else settings.public_url
    return f"{base.rstrip('/')}/webhook/{profile}"


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
    from .client import PartnerClient

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
    from .client import PartnerClient

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
