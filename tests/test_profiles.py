"""The Connect page's actions in apichat.profiles: where UChat calls back, saving and deleting, the partner API
(against the real sandbox app in-process and a real webhook server), and the tunnel check."""

from __future__ import annotations

import pytest
import requests

from apichat import profiles
from apichat.config import load_settings
from apichat.store import Store, open_store
from sandbox import create_app
from tests.conftest import other_program
from tests.test_client import SANDBOX, FlaskAdapter
from tests.test_sandbox import WebhookServer


@pytest.fixture
def store():
    return open_store(":memory:")


@pytest.fixture
def settings():
    return load_settings({"APICHAT_PUBLIC_URL": "https://tunnel.example", "APICHAT_RECEIVER_PORT": "8611"})


@pytest.fixture
def sandbox(tmp_path):
    app = create_app({"state_path": str(tmp_path / "sandbox.json"), "public_url": SANDBOX, "handshake_timeout": 2})
    session = requests.Session()
    session.mount(SANDBOX, FlaskAdapter(app))
    yield session
    app.extensions["sandbox"].close()


@pytest.fixture
def webhook():
    server = WebhookServer(key="verify-me")
    yield server
    server.close()


def staging(store: Store, **fields) -> dict:
    values = {"base_url": SANDBOX, "workspace_id": "acme", "partner_key": "sandbox-partner-key",
              "verify_key": "verify-me", **fields}
    return store.save_profile("staging", **values)


# ---------------------------------------------------------------- where UChat calls back

def test_the_webhook_url_follows_the_saved_mode(store, settings):
    staging(store)
    assert profiles.webhook_mode(store, "staging") == "public"
    assert profiles.target_url(store, settings, "staging") == "https://tunnel.example/webhook/staging"
    profiles.set_webhook_mode(store, "staging", "local")
    assert profiles.target_url(store, settings, "staging") == "http://127.0.0.1:8611/webhook/staging"
    profiles.set_webhook_mode(store, "staging", "custom")
    assert profiles.target_url(store, settings, "staging") == ""  # nothing typed yet
    profiles.set_custom_webhook_url(store, "staging", "  https://proxy.example/uchat/webhook/staging ")
    assert profiles.target_url(store, settings, "staging") == "https://proxy.example/uchat/webhook/staging"
    assert profiles.target_url(store, settings, "staging", "public") == "https://tunnel.example/webhook/staging"
    with pytest.raises(ValueError, match="unknown webhook mode"):
        profiles.set_webhook_mode(store, "staging", "tunnel")
    assert profiles.webhook_mode(store, "staging") == "custom"


def test_the_sandbox_is_always_called_locally(store, settings):
    store.set_setting("connect.webhook_mode.sandbox", "public")
    assert profiles.webhook_mode(store, profiles.SANDBOX) == "local"
    assert profiles.target_url(store, settings, profiles.SANDBOX) == "http://127.0.0.1:8611/webhook/sandbox"


@pytest.mark.parametrize(("url", "base"), [
    ("https://t.example/webhook/staging", "https://t.example"),
    ("https://t.example/uchat/webhook/staging", "https://t.example/uchat"),
    ("https://t.example/hook/", "https://t.example/hook"),
])
def test_the_receiver_base_is_what_precedes_webhook(url, base):
    assert profiles.receiver_base(url) == base


# ---------------------------------------------------------------- saving, creating, deleting

def test_deleting_a_profile_forgets_where_it_was_called_back(store, settings):
    profiles.create_profile(store, "staging", SANDBOX, local=True)
    profiles.set_webhook_mode(store, "staging", "custom")
    profiles.set_custom_webhook_url(store, "staging", "https://old-proxy.example/webhook/staging")
    profiles.create_profile(store, "prod", SANDBOX)
    profiles.set_webhook_mode(store, "prod", "custom")
    profiles.delete_profile(store, "staging")
    assert store.get_profile("staging") is None
    assert store.get_setting("connect.webhook_mode.staging") is None
    assert store.get_setting("connect.webhook_custom.staging") is None
    store.save_profile("staging", base_url=SANDBOX)  # a profile of the same name starts afresh
    assert profiles.webhook_mode(store, "staging") == "public"
    assert profiles.target_url(store, settings, "staging") == "https://tunnel.example/webhook/staging"
    assert profiles.webhook_mode(store, "prod") == "custom", "another profile's setting went too"


def test_saving_fields_checks_the_base_url_and_trims(store):
    staging(store)
    saved, problem = profiles.save_fields(store, "staging", {"base_url": "www.uchat.com.au", "flow_key": "new"})
    assert saved is None and "must start with http:// or https://" in problem and "'www.uchat.com.au'" in problem
    assert store.get_profile("staging")["flow_key"] == "", "a refused form was stored in part"
    saved, problem = profiles.save_fields(store, "staging", {"base_url": " https://x.example/ ", "flow_key": " f "})
    assert problem == "" and (saved["base_url"], saved["flow_key"]) == ("https://x.example", "f")


def test_creating_a_profile_refuses_a_taken_or_bad_name(store):
    created, problem = profiles.create_profile(store, " staging ", "https://x.example/", local=True)
    assert problem == "" and created["name"] == "staging" and created["base_url"] == "https://x.example"
    assert len(created["verify_key"]) >= 24 and profiles.webhook_mode(store, "staging") == "local"
    again, problem = profiles.create_profile(store, "staging", "https://y.example")
    assert again is None and problem == "A profile named 'staging' exists already."
    assert store.get_profile("staging")["base_url"] == "https://x.example"
    bad, problem = profiles.create_profile(store, "my profile", "https://x.example")
    assert bad is None and "letters, digits" in problem
    assert [p["name"] for p in store.list_profiles()] == ["staging"]


# ---------------------------------------------------------------- the partner API

def test_set_get_and_remove_the_webhook_through_the_sandbox(store, settings, sandbox, webhook):
    staging(store)
    profiles.set_webhook_mode(store, "staging", "custom")
    profiles.set_custom_webhook_url(store, "staging", webhook.url)
    done = profiles.partner_action(store, settings, "staging", "set", session=sandbox)
    assert (done.kind, done.extra) == ("success", "") and "Webhook set and verified" in done.text
    saved = store.get_profile("staging")
    assert saved["webhook_status"] == "verified" and saved["webhook_url"] == webhook.url
    assert saved["bot_url"].startswith(SANDBOX) and f"`{saved['bot_url']}`" in done.text
    assert len(webhook.handshakes) == 1

    read = profiles.partner_action(store, settings, "staging", "get", session=sandbox)
    assert read.kind == "success" and "UChat has this webhook" in read.text

    store.save_profile("staging", verify_key="rotated-here-only")
    stale = profiles.partner_action(store, settings, "staging", "get", session=sandbox)
    assert stale.kind == "warning" and "different verification key" in stale.extra

    profiles.set_webhook_mode(store, "staging", "public")
    moved = profiles.partner_action(store, settings, "staging", "get", session=sandbox)
    assert moved.kind == "warning" and "calls a different URL" in moved.extra

    gone = profiles.partner_action(store, settings, "staging", "remove", session=sandbox)
    assert gone.kind == "success" and "Webhook removed" in gone.text
    assert store.get_profile("staging")["bot_url"] == ""
    empty = profiles.partner_action(store, settings, "staging", "get", session=sandbox)
    assert "No webhook is set for this workspace" in empty.text


def test_partner_calls_say_what_is_missing_before_calling(store, settings, sandbox):
    store.save_profile("staging", base_url=SANDBOX)
    missing = profiles.partner_action(store, settings, "staging", "get", session=sandbox)
    assert (missing.kind, missing.text) == ("error", "Fill in Workspace id, Partner API key first.")
    staging(store, verify_key="")
    no_key = profiles.partner_action(store, settings, "staging", "set", session=sandbox)
    assert no_key.kind == "error" and no_key.text.startswith("Generate a verification key first")
    staging(store)
    profiles.set_webhook_mode(store, "staging", "custom")
    no_url = profiles.partner_action(store, settings, "staging", "set", session=sandbox)
    assert no_url.text == "Enter the custom webhook URL (http:// or https://) first."
    assert store.list_requests() == [], "a call was made although something was missing"


def test_uchats_refusal_is_reported_with_its_status_and_words(store, settings, sandbox):
    staging(store, partner_key="wrong-key")
    refused = profiles.partner_action(store, settings, "staging", "get", session=sandbox)
    assert refused.kind == "error" and refused.text == "**Get webhook failed.** UChat answered 401:"
    assert refused.extra and store.get_profile("staging")["webhook_status"] == ""


# ---------------------------------------------------------------- the tunnel check

def test_checking_the_url_names_what_answers(store, settings):
    staging(store)
    profiles.set_webhook_mode(store, "staging", "custom")
    assert profiles.check_webhook_url(store, settings, "staging").text.startswith("Enter the custom webhook URL")
    with other_program() as port:
        profiles.set_custom_webhook_url(store, "staging", f"http://127.0.0.1:{port}/webhook/staging")
        probe = profiles.check_webhook_url(store, settings, "staging")
    assert (probe.kind, probe.text) == ("error", "**Not reachable.**")
    assert "not as this console's receiver" in probe.extra
