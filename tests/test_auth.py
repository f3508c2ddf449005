"""The console's login rules: the password or its hash, slowed guesses, expiring sessions."""

from __future__ import annotations

import subprocess
import sys

import pytest

from apichat.auth import MAX_WAIT_SECONDS, AuthError, Gate, hash_password, verify_hash
from tests.conftest import ROOT


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_password_means_no_gate():
    assert not Gate().enabled
    assert not Gate.from_env({}).enabled
    assert Gate.from_env({"APICHAT_UI_PASSWORD": "s3cret"}).enabled


def test_the_right_password_opens_and_a_wrong_one_is_slowed_twice_as_long_each_time():
    clock = Clock()
    gate = Gate("correct horse", clock=clock)
    waits = []
    for _ in range(8):
        outcome = gate.attempt("10.0.0.5", "wrong")
        assert not outcome.ok and outcome.message.startswith("Wrong password")
        waits.append(outcome.wait)
        refused = gate.attempt("10.0.0.5", "correct horse")  # even the right one, while the client waits
        assert not refused.ok and refused.message.startswith("Too many wrong passwords")
        clock.now += outcome.wait
    assert waits == [1, 2, 4, 8, 16, 32, MAX_WAIT_SECONDS, MAX_WAIT_SECONDS]
    assert gate.attempt("10.0.0.5", "correct horse").ok
    assert gate.attempt("10.0.0.5", "wrong").wait == 1  # a success clears the count


def test_one_clients_guesses_do_not_lock_out_another():
    clock = Clock()
    gate = Gate("pw", clock=clock)
    for _ in range(5):
        gate.attempt("attacker", "guess")
        clock.now += 0.5
    assert gate.attempt("colleague", "pw").ok


@pytest.mark.parametrize("given", ["", "PW", "pw ", " pw", "p"])
def test_near_misses_and_empty_are_wrong(given):
    assert not Gate("pw").attempt("c", given).ok


def test_the_hash_form_works_and_holds_no_password():
    encoded = hash_password("team password")
    assert "team password" not in encoded and encoded.startswith("scrypt$")
    assert verify_hash("team password", encoded) and not verify_hash("team passwore", encoded)
    assert hash_password("x", salt=b"s" * 16) != hash_password("x", salt=b"t" * 16)
    gate = Gate.from_env({"APICHAT_UI_PASSWORD_HASH": encoded})
    assert gate.enabled and gate.attempt("c", "team password").ok
    assert not gate.attempt("d", "nope").ok


@pytest.mark.parametrize(("env", "said"), [
    ({"APICHAT_UI_PASSWORD_HASH": "md5$abc"}, "is not a scrypt hash"),
    ({"APICHAT_UI_PASSWORD_HASH": "scrypt$16384$8$1$!!$!!"}, "is damaged"),
    ({"APICHAT_UI_PASSWORD_HASH": "scrypt$1000$8$1$c2FsdHNhbHQ=$" + "A" * 44}, "out of range"),
    ({"APICHAT_UI_PASSWORD": "a", "APICHAT_UI_PASSWORD_HASH": hash_password("a")}, "not both"),
    ({"APICHAT_UI_PASSWORD": "a", "APICHAT_UI_SESSION_MINUTES": "soon"}, "is not a number of minutes"),
    ({"APICHAT_UI_PASSWORD": "a", "APICHAT_UI_SESSION_MINUTES": "0"}, "must be more than 0"),
])
def test_bad_settings_say_which_and_why(env, said):
    with pytest.raises(AuthError, match=said):
        Gate.from_env(env)


def test_sessions_expire_after_the_set_minutes():
    clock = Clock()
    gate = Gate.from_env({"APICHAT_UI_PASSWORD": "pw", "APICHAT_UI_SESSION_MINUTES": "30"}, clock=clock)
    signed_in = gate.now()
    clock.now += 29 * 60
    assert not gate.expired(signed_in)
    clock.now += 60
    assert gate.expired(signed_in)


def test_the_hash_command_prints_a_hash_that_verifies():
    done = subprocess.run([sys.executable, "-m", "apichat.auth", "hash"], input="typed secret\n", text=True,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    encoded = done.stdout.strip().splitlines()[-1]
    assert verify_hash("typed secret", encoded) and "typed secret" not in done.stdout
    bad = subprocess.run([sys.executable, "-m", "apichat.auth"], text=True, capture_output=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "usage: python -m apichat.auth hash" in bad.stderr
