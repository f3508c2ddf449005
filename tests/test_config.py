"""Settings: the defaults of docs/configuration.md, every variable read, bad values refused with a message that names them."""

from __future__ import annotations

import pytest

from apichat.config import (
    MAX_BODY_BYTES,
    UCHAT_BASE_URL,
    EnvProfile,
    Settings,
    SettingsError,
    env_profile_from,
    is_shared_store,
    load_settings,
)


def test_defaults_are_designs():
    s = load_settings({})
    assert (s.db_path, s.media_dir, s.receiver_host, s.receiver_port) == ("data/console.db", "data/media",
                                                                          "127.0.0.1", 8502)
    assert (s.public_url, s.sandbox, s.sandbox_port, s.poll_seconds) == ("http://127.0.0.1:8502", True, 8503, 1.0)
    assert s.max_body_bytes == MAX_BODY_BYTES == 1024 * 1024 and s.env_profile is None
    assert (s.receiver_url, s.sandbox_url) == ("http://127.0.0.1:8502", "http://127.0.0.1:8503")


def test_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("APICHAT_RECEIVER_PORT", "9100")
    assert load_settings().receiver_port == 9100


def test_every_variable():
    s = load_settings({
        "APICHAT_DB": " /tmp/x/c.db ", "APICHAT_MEDIA_DIR": "/tmp/x/m", "APICHAT_RECEIVER_HOST": "0.0.0.0",
        "APICHAT_RECEIVER_PORT": "9000", "APICHAT_PUBLIC_URL": "https://abc.trycloudflare.com/",
        "APICHAT_SANDBOX": "0", "APICHAT_SANDBOX_PORT": "9001", "APICHAT_POLL_SECONDS": "0.5",
    })
    assert (s.db_path, s.media_dir, s.receiver_host, s.receiver_port) == ("/tmp/x/c.db", "/tmp/x/m", "0.0.0.0", 9000)
    assert (s.public_url, s.sandbox, s.sandbox_port, s.poll_seconds) == (
        "https://abc.trycloudflare.com", False, 9001, 0.5)
    assert s.receiver_url == "http://127.0.0.1:9000"  # a wildcard address is reached on loopback


def test_public_url_follows_the_port():
    assert load_settings({"APICHAT_RECEIVER_PORT": "9002"}).public_url == "http://127.0.0.1:9002"


@pytest.mark.parametrize("flag, on", [("1", True), ("true", True), ("YES", True), ("on", True), ("", True),
                                      ("0", False), ("false", False), ("No", False), ("off", False)])
def test_sandbox_flag(flag, on):
    assert load_settings({"APICHAT_SANDBOX": flag}).sandbox is on


@pytest.mark.parametrize("env, says", [
    ({"APICHAT_RECEIVER_PORT": "abc"}, "APICHAT_RECEIVER_PORT='abc' is not a whole number"),
    ({"APICHAT_RECEIVER_PORT": "0"}, "APICHAT_RECEIVER_PORT=0 is not a TCP port"),
    ({"APICHAT_RECEIVER_PORT": "70000"}, "APICHAT_RECEIVER_PORT=70000 is not a TCP port"),
    ({"APICHAT_RECEIVER_PORT": "-1"}, "is not a TCP port"),
    ({"APICHAT_RECEIVER_PORT": "85.02"}, "is not a whole number"),
    ({"APICHAT_SANDBOX_PORT": "x"}, "APICHAT_SANDBOX_PORT"),
    ({"APICHAT_SANDBOX_PORT": "8502"}, "APICHAT_SANDBOX_PORT=8502 is the receiver's port"),
    ({"APICHAT_POLL_SECONDS": "fast"}, "APICHAT_POLL_SECONDS='fast' is not a number"),
    ({"APICHAT_POLL_SECONDS": "0"}, "between 0.1 and 60"),
    ({"APICHAT_POLL_SECONDS": "nan"}, "between 0.1 and 60"),
    ({"APICHAT_POLL_SECONDS": "1000"}, "between 0.1 and 60"),
    ({"APICHAT_SANDBOX": "maybe"}, "APICHAT_SANDBOX='maybe'"),
    ({"APICHAT_PUBLIC_URL": "abc.trycloudflare.com"}, "must start with http:// or https://"),
    ({"UCHAT_VERIFY_TOKEN": "k", "UCHAT_BASE_URL": "www.uchat.com.au"}, "UCHAT_BASE_URL"),
    ({"UCHAT_BOT_URL": "bot.dfktv2.com/api/apichat/abc"}, "UCHAT_BOT_URL"),
])
def test_bad_values_are_named(env, says):
    with pytest.raises(SettingsError, match=None) as caught:
        load_settings(env)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_same_port_is_fine_without_the_sandbox():
    assert load_settings({"APICHAT_SANDBOX": "0", "APICHAT_SANDBOX_PORT": "8502"}).sandbox is False


def test_no_uchat_variable_no_env_profile():
    assert env_profile_from({}) is None
    assert env_profile_from({"UCHAT_BASE_URL": "https://partner.test", "UCHAT_VERIFY_TOKEN": "  "}) is None


def test_verify_token_alone_makes_the_env_profile():
    profile = load_settings({"UCHAT_VERIFY_TOKEN": " secret-key "}).env_profile
    assert profile == EnvProfile(base_url=UCHAT_BASE_URL, verify_key="secret-key")


def test_bot_url_alone_makes_the_env_profile():
    profile = env_profile_from({"UCHAT_BOT_URL": "https://bot.dfktv2.com/api/apichat/abc"})
    assert profile.bot_url == "https://bot.dfktv2.com/api/apichat/abc" and profile.partner_key == ""


def test_full_env_profile():
    profile = env_profile_from({
        "UCHAT_BASE_URL": "https://partner.example.com/", "UCHAT_PARTNER_KEY": "pk", "UCHAT_WORKSPACE_ID": "42",
        "UCHAT_FLOW_KEY": "fk", "UCHAT_VERIFY_TOKEN": "vk", "UCHAT_BOT_URL": "https://bot.test/api/apichat/x"})
    assert profile == EnvProfile("https://partner.example.com", "pk", "42", "fk", "vk",
                                 "https://bot.test/api/apichat/x")


def test_settings_replace_keeps_the_rest():
    s = load_settings({"UCHAT_VERIFY_TOKEN": "k", "APICHAT_RECEIVER_PORT": "9005"})
    t = s.replace(db_path="/tmp/other.db")
    assert t.db_path == "/tmp/other.db" and t.receiver_port == 9005 and t.env_profile == s.env_profile
    assert s.db_path == "data/console.db"  # frozen: the original is unchanged
    with pytest.raises(TypeError):
        s.replace(no_such_setting=1)
    assert isinstance(t, Settings)


def test_a_database_url_is_team_mode_shown_masked_with_a_local_folder_for_logs():
    url = "postgresql://qa:s3cret-pass@db.internal:5432/apichat"
    team = load_settings({"APICHAT_DB": url, "APICHAT_MEDIA_DIR": "/srv/console/media"})
    assert team.store_shared and team.db_path == url
    assert team.db_label == "postgresql://qa:••••••@db.internal:5432/apichat"
    assert team.data_dir == "/srv/console"  # logs beside the media, never a folder named after the URL
    alone = load_settings({"APICHAT_DB": "/tmp/x/console.db"})
    assert not alone.store_shared and alone.db_label == "/tmp/x/console.db" and alone.data_dir == "/tmp/x"


@pytest.mark.parametrize(("db", "shared"), [("data/console.db", False), ("", False), (None, False),
                                            ("postgresql://u:p@db:5432/apichat", True), ("postgres://db/x", True),
                                            ("/srv/postgresql/console.db", False)])
def test_which_stores_are_shared(db, shared):
    assert is_shared_store(db) is shared
