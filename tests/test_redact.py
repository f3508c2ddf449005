"""Secrets masked in one place: keys in headers, JSON and form bodies, raw handshake bytes."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from apichat import redact as redact_module
from apichat.redact import (
    SECRET_FIELDS,
    mask,
    masked_authorization,
    masked_body,
    masked_headers,
    redact,
    redact_text,
    without_token,
)

KEY = "a-verification-key-1234"


@pytest.mark.parametrize("secret, shown", [
    (None, ""), ("", ""), ("abc", "•••"), ("12345678", "••••••••"), ("sandbox-flow-key", "••••••-key"),
])
def test_mask(secret, shown):
    assert mask(secret) == shown
    if secret and len(secret) > 8:
        assert secret[:-4] not in mask(secret)


def test_headers_keep_their_names_and_lose_their_credentials():
    headers = {"Authorization": "Bearer partner-key-abcd", "Cookie": "session=xyz-secret", "X-Api-Key": "k-987654321",
               "X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "application/json"}
    shown = masked_headers(headers)
    assert shown["Authorization"] == "Bearer ••••••abcd" == masked_authorization(headers["Authorization"])
    assert shown["Cookie"] == mask("session=xyz-secret") and shown["X-Api-Key"] == "••••••4321"
    assert shown["X-Hub-Signature-256"] == headers["X-Hub-Signature-256"]  # an HMAC of a stored body, not a key
    assert shown["Content-Type"] == "application/json"


@pytest.mark.parametrize("field", [*SECRET_FIELDS, "Webhook_Verification_Key", "HUB_VERIFY_TOKEN"])
def test_every_spelling_of_the_key_is_masked_in_json_anywhere(field):
    body = json.dumps({"status": "ok", "data": {field: KEY, "bot_url": "https://bot/x"}, "list": [{field: KEY}]})
    for shown in (masked_body(body), json.dumps(redact(json.loads(body)), ensure_ascii=False)):
        assert KEY not in shown and "••••••1234" in shown and "https://bot/x" in shown


def test_bodies_without_a_key_are_kept_byte_for_byte():
    body = '{"b": 1,   "a": "verify_token mentioned in text only"}'
    assert masked_body(body) == body
    assert masked_body("not json verify_token=x") == "not json verify_token=x"
    assert redact({"n": [1, {"x": None}]}) == {"n": [1, {"x": None}]}


def test_a_placeholder_replaces_the_key_for_curl():
    assert redact({"webhook_verification_key": KEY}, placeholder="$UCHAT_VERIFY_TOKEN") == {
        "webhook_verification_key": "$UCHAT_VERIFY_TOKEN"}


def test_form_and_raw_handshakes_lose_the_token_in_every_encoding():
    form = f"hub_mode=subscribe&hub_verify_token={quote_plus(KEY + ' é')}&hub_challenge=c1"
    assert redact_text(form) == f"hub_mode=subscribe&hub_verify_token={mask(KEY + ' é')}&hub_challenge=c1"
    token = KEY + " é/"
    for raw in (form.encode(), json.dumps({"hub_verify_token": token}).encode(), token.encode(),
                f"hub.verify_token={quote_plus(token)}".encode()):
        cleaned = without_token(raw.replace(quote_plus(KEY + " é").encode(), quote_plus(token).encode()), token)
        assert token.encode() not in cleaned and quote_plus(token).encode() not in cleaned
        assert mask(token).encode() in cleaned


def test_masked_url_keeps_the_empty_host_of_a_socket_url():
    assert redact_module.masked_url("postgresql:///db?password=hunter2") == "postgresql:///db?password=••••••"


def test_masked_body_masks_a_key_name_written_with_json_escapes():
    masked = redact_module.masked_body('{"verify\\u005ftoken":"hunter2secret"}')
    assert "hunter2secret" not in masked


def test_redact_text_masks_a_percent_encoded_key_name_and_leaves_other_text_byte_for_byte():
    assert "hunter2secret" not in redact_module.redact_text("verify%5Ftoken=hunter2secret&x=1")
    assert redact_module.redact_text("a=%7E&b=c+d") == "a=%7E&b=c+d"


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:pw@h:5432/db", "postgresql://u:••••••@h:5432/db"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("postgresql://h/db?sslmode=require", "postgresql://h/db?sslmode=require"),
    ("postgresql://h/db?Password=x&sslmode=a b", "postgresql://h/db?Password=••••••&sslmode=a%20b"),
    ("postgresql://h/db?password=x#frag", "postgresql://h/db?password=••••••#frag"),
    ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ("postgresql://u:p@[::1/db", "postgresql://(an address that cannot be read)"),
    ("http://[::1/x", "http://[::1/x"),  # cannot be read, but has no credentials to hide
    ("postgresql://u:p@ss@h/db", "postgresql://u:••••••@h/db"),  # an @ inside the password
    ("postgresql://u:p@h/db?options=a:b,c&host=/tmp", "postgresql://u:••••••@h/db?options=a:b,c&host=/tmp"),
    ("postgresql://h/db?sslmode=&password=x", "postgresql://h/db?sslmode=&password=••••••"),
    ("postgresql:/db?password=x", "postgresql:/db?password=••••••"),
    ("?password=x", "?password=••••••"),
])
def test_masked_url_hides_only_the_password(url, shown):
    assert redact_module.masked_url(url) == shown


@pytest.mark.parametrize(("raw", "token", "kept"), [
    (b"hub.verify_token=abcd", "abcd", b"hub.verify_token=" + "••••".encode()),
    (b"x=abc", "abc", b"x=abc"),
    (b"t=a+b%26cd", "a b&cd", b"t=" + "••••••".encode()),
    (b"t=a%20b%26cd", "a b&cd", b"t=" + "••••••".encode()),
    (b'{"t":"a\\/bcd"}', "a/bcd", b'{"t":"' + "•••••".encode() + b'"}'),  # PHP's json_encode escapes "/"
    (b'{"t":"a/bcd"}', "a/bcd", b'{"t":"' + "•••••".encode() + b'"}'),
])
def test_without_token_masks_every_encoding_of_the_token(raw, token, kept):
    assert redact_module.without_token(raw, token) == kept


@pytest.mark.parametrize(("header", "shown"), [
    ("Bearer abcdefghijkl", "Bearer ••••••ijkl"),
    ("Bearer abc def ghijkl", "Bearer ••••••ijkl"),  # a token with spaces is still one token
    ("abcdefghijkl", "••••••ijkl"),  # no scheme: the whole value is the token
])
def test_an_authorization_header_keeps_its_scheme_only(header, shown):
    assert redact_module.masked_authorization(header) == shown


def test_a_placeholder_replaces_a_key_nested_in_objects_and_lists():
    body = {"a": {"verify_token": "k1234567890"}, "b": [{"hub_verify_token": "k1234567890"}]}
    assert redact_module.redact(body, "$KEY") == {"a": {"verify_token": "$KEY"}, "b": [{"hub_verify_token": "$KEY"}]}


def test_a_form_handshake_keeps_its_empty_fields():
    assert redact_module.redact_text("hub.verify_token=abcdefghijkl&hub.challenge=") == \
        "hub.verify_token=••••••ijkl&hub.challenge="


def test_a_token_with_a_lone_surrogate_is_masked_without_an_error():
    token = "abcd\ud800efghijkl"
    raw = ("token=" + token).encode("utf-8", errors="surrogatepass")
    assert redact_module.without_token(raw, token) == b"token=" + redact_module.mask(token).encode()
