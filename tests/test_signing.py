"""Signatures: computed as UChat's PHP does (docs/protocol.md §5), verified over the raw bytes, tolerantly, in constant time."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess

import pytest
from werkzeug.datastructures import Headers

from apichat import signing

CHECK_KEY = "It's a Secret to Everybody"
CHECK_BODY = "Hello, World!"
CHECK_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# What PHP's json_encode sends (slashes and non-ASCII escaped) and what UChat's PHP snippet signs it to.
# Produced with php 8.2 by php_sign() below; kept so the check runs on machines without php.
PHP_KEY = "php-key"
PHP_BODY = (b'{"sender_id":"c-1","conv_id":123,"text":"Caf\\u00e9 \\u2713 see https:\\/\\/example.com\\/a\\/b",'
            b'"type":"text","message_type":"outgoing","private":false}')
PHP_SIGNATURE = "sha256=c2f0a5813d12ca053733c0f4800de235f9de6e823b9cde9067973c3941308b89"

SEED_PHP = """
$payload = file_get_contents('php://stdin');
$verification_key = getenv('VERIFY_KEY');
$sign = 'sha256='.hash_hmac('sha256', $payload, $verification_key);
echo $sign;
"""


def php_sign(body: bytes, key: str) -> str:
    """UChat's PHP snippet (docs/protocol.md §5) run by php itself (the body on stdin, as request()->body())."""
    result = subprocess.run(["php", "-r", SEED_PHP], input=body, capture_output=True, timeout=30,
                            env={"VERIFY_KEY": key, "PATH": "/usr/bin:/bin:/usr/local/bin"}, check=True)
    return result.stdout.decode()


def test_public_check_value():
    assert signing.sign(CHECK_BODY, CHECK_KEY) == CHECK_SIGNATURE
    assert signing.sign(CHECK_BODY.encode(), CHECK_KEY) == CHECK_SIGNATURE
    assert signing.verify(CHECK_BODY.encode(), CHECK_SIGNATURE, CHECK_KEY)


def test_matches_uchats_php():
    if shutil.which("php"):
        expected = php_sign(PHP_BODY, PHP_KEY)
        assert expected == PHP_SIGNATURE  # the hard-coded value below stays honest
        assert php_sign(CHECK_BODY.encode(), CHECK_KEY) == CHECK_SIGNATURE
    else:
        expected = PHP_SIGNATURE
    assert signing.sign(PHP_BODY, PHP_KEY) == expected


def test_php_json_is_verified_as_received_and_not_after_reserialization():
    assert b"\\/" in PHP_BODY and b"\\u00e9" in PHP_BODY
    assert signing.verify(PHP_BODY, PHP_SIGNATURE, PHP_KEY)
    decoded = json.loads(PHP_BODY)
    for reserialized in (json.dumps(decoded), json.dumps(decoded, ensure_ascii=False),
                         json.dumps(decoded, separators=(",", ":"))):
        assert not signing.verify(reserialized.encode(), PHP_SIGNATURE, PHP_KEY)


def test_raw_non_ascii_bytes_are_verified_as_received():
    body = '{"text":"café ✓ — naïve","url":"https://x.test/a/b"}'.encode()
    header = signing.sign(body, "k")
    assert header == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signing.verify(body, header, "k")
    assert signing.verify(body.decode(), header, "k")  # str is signed as its UTF-8 bytes
    assert not signing.verify(json.dumps(json.loads(body)).encode(), header, "k")
    assert not signing.verify(body.decode().encode("latin-1", errors="replace"), header, "k")


def test_non_ascii_key_is_used_as_utf8_bytes():
    header = signing.sign(b"x", "clé")
    assert header == "sha256=" + hmac.new("clé".encode(), b"x", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("variant", [
    lambda s: s,
    lambda s: s.upper(),                                   # SHA256=ABC...
    lambda s: "Sha256=" + s[7:],
    lambda s: s[:7] + s[7:].upper(),                       # hex in upper case
    lambda s: f"  {s}  ",
    lambda s: f"\t{s}\r\n",
    lambda s: s.replace("=", " = "),
    lambda s: s[:20] + " " + s[20:],                       # a space inside the hex
    lambda s: s[7:],                                       # no prefix at all
])
def test_verify_is_tolerant_of_header_spelling(variant):
    assert signing.verify(CHECK_BODY, variant(CHECK_SIGNATURE), CHECK_KEY)


@pytest.mark.parametrize("header", [
    None, "", "   ", "sha256=", "sha1=" + "0" * 40,
    CHECK_SIGNATURE[:-1],                                   # one digit short
    CHECK_SIGNATURE + "0",                                  # one digit long
    CHECK_SIGNATURE[:-1] + ("0" if CHECK_SIGNATURE[-1] != "0" else "1"),
    CHECK_SIGNATURE[:-1] + "g",
    "sha512=" + CHECK_SIGNATURE[7:],
    "md5=" + CHECK_SIGNATURE[7:],
])
def test_verify_rejects(header):
    assert not signing.verify(CHECK_BODY, header, CHECK_KEY)


def test_verify_rejects_wrong_key_wrong_body_and_empty_key():
    assert not signing.verify(CHECK_BODY, CHECK_SIGNATURE, CHECK_KEY + " ")
    assert not signing.verify(CHECK_BODY + " ", CHECK_SIGNATURE, CHECK_KEY)
    assert not signing.verify(b"", signing.sign(b"", ""), "")  # no key configured never verifies


def test_verify_compares_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    assert signing.verify(CHECK_BODY, CHECK_SIGNATURE, CHECK_KEY)
    assert not signing.verify(CHECK_BODY, "sha256=" + "0" * 64, CHECK_KEY)
    assert len(calls) == 2
    assert signing.constant_time_equal("token", "token") and not signing.constant_time_equal("token", "tokem")
    assert len(calls) == 4


def test_find_header_any_case():
    value = CHECK_SIGNATURE
    for name in ("X-Hub-Signature-256", "x-hub-signature-256", "X-HUB-SIGNATURE-256"):
        assert signing.find_header({"Content-Type": "application/json", name: value}) == value
    assert signing.find_header(Headers([("x-hub-SIGNATURE-256", value)])) == value
    assert signing.find_header({"X-Hub-Signature": "sha1=abc"}) is None
    assert signing.find_header({}) is None


def test_diagnose_says_why():
    body, key = PHP_BODY, PHP_KEY
    good = signing.sign(body, key)
    assert signing.diagnose(body, None, key) == "no X-Hub-Signature-256 header"
    assert signing.diagnose(body, "  ", key) == "no X-Hub-Signature-256 header"
    assert "no verification key" in signing.diagnose(body, good, "")
    assert "sha1=" in signing.diagnose(body, "sha1=" + "a" * 40, key)
    assert "base64" in signing.diagnose(body, "sha256=" + "A" * 43 + "=", key)
    assert "malformed" in signing.diagnose(body, "sha256=xyz", key)
    assert signing.diagnose(body, good, key) == "signature is valid"
    other = signing.sign(body, "other-key")
    assert "profile 'shop'" in signing.diagnose(body, other, key, {"shop": "other-key", "me": key})
    # something in between unescaped PHP's slashes, or re-serialized the JSON, after signing
    assert "turned into /" in signing.diagnose(body.replace(b"\\/", b"/"), good, key)
    unsigned_escapes = b'{"url":"https://x.test/a"}'
    assert "slashes" in signing.diagnose(unsigned_escapes.replace(b"/", b"\\/"), signing.sign(unsigned_escapes, key), key)
    reserialized = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert "re-serialized" in signing.diagnose(reserialized, good, key)
    assert "surrounding whitespace" in signing.diagnose(body + b"\n", good, key)
    assert "wrong key" in signing.diagnose(body, signing.sign(b"other", key), key)


_BODY = b'{"url":"https:\\/\\/x.test\\/a","text":"caf\\u00e9"}'
_KEY = "k3y"
_GOOD = signing.sign(_BODY, _KEY)


@pytest.mark.parametrize(("body", "header", "key", "others", "reason"), [
    (_BODY, None, _KEY, None, "no X-Hub-Signature-256 header"),
    (_BODY, "", _KEY, None, "no X-Hub-Signature-256 header"),
    (_BODY, " \t", _KEY, None, "no X-Hub-Signature-256 header"),
    (_BODY, _GOOD, "", None, "the profile has no verification key to check the signature with"),
    (_BODY, "sha1=" + "a" * 40, _KEY, None, "signature uses sha1=, expected sha256= (HMAC-SHA256)"),
    (_BODY, "SHA1=" + "a" * 40, _KEY, None, "signature uses sha1=, expected sha256= (HMAC-SHA256)"),
    (_BODY, "sha256=" + "A" * 44, _KEY, None, "signature looks base64-encoded, expected sha256=<64 hex digits>"),
    (_BODY, "sha256=abc=", _KEY, None, "signature looks base64-encoded, expected sha256=<64 hex digits>"),
    (_BODY, "sha256=xyz", _KEY, None,
     "signature header is malformed (expected sha256=<64 hex digits>, got 10 chars)"),
    (_BODY, "xyz", _KEY, None, "signature header is malformed (expected sha256=<64 hex digits>, got 3 chars)"),
    (_BODY, "A" * 44, _KEY, None, "signature looks base64-encoded, expected sha256=<64 hex digits>"),
    (_BODY, "sha256 = x y z", _KEY, None,
     "signature header is malformed (expected sha256=<64 hex digits>, got 10 chars)"),
    (_BODY, _GOOD, _KEY, None, "signature is valid"),
    (_BODY, signing.sign(_BODY, "shop-key"), _KEY, {"blank": "", "me": _KEY, "shop": "shop-key"},
     "signed with the verification key of profile 'shop', not this profile's key"),
    (b" " + _BODY + b"\n", _GOOD, _KEY, None, "body was altered in transit after signing (surrounding whitespace changed)"),
    (_BODY.replace(b"\\/", b"/"), _GOOD, _KEY, None,
     "body was altered in transit after signing (escaped slashes \\/ turned into /)"),
    (b'{"u":"a\\/b"}', signing.sign(b'{"u":"a/b"}', _KEY), _KEY, None,
     "body was altered in transit after signing (escaped slashes \\/ added)"),
    (json.dumps(json.loads(_BODY), ensure_ascii=False).encode(), _GOOD, _KEY, None,
     "body was altered in transit after signing (JSON re-serialized: the sender's \\/ and \\uXXXX escapes were rewritten)"),
    (_BODY, signing.sign(b"other", _KEY), _KEY, {"me": _KEY},
     "wrong key or body altered after signing (HMAC does not match this profile's verification key)"),
    (b"not json", signing.sign(b"other", _KEY), _KEY, None,
     "wrong key or body altered after signing (HMAC does not match this profile's verification key)"),
])
def test_diagnose_names_each_reason(body, header, key, others, reason):
    assert signing.diagnose(body, header, key, others) == reason


def test_diagnose_accepts_text_bodies():
    assert signing.diagnose(_BODY.decode(), _GOOD, _KEY) == "signature is valid"


@pytest.mark.parametrize(("given", "expected", "equal"), [
    ("token", "token", True), ("token", "tokem", False), ("tok", "token", False), ("", "", True),
    ("caf\u00e9", "caf\u00e9", True), ("\ud800", "\ud800", True), ("\ud800", "?", False), ("\ud800", "", False),
])
def test_constant_time_equal_compares_any_text(given, expected, equal):
    assert signing.constant_time_equal(given, expected) is equal
