"""The console's login: one shared password (or its scrypt hash), sessions that expire, guesses slowed.

    python -m apichat.auth hash     # asks for a password, prints the APICHAT_UI_PASSWORD_HASH value

Pure (no Streamlit): `ui/login.py` draws the form and keeps the session. A `Gate` lives once per console
process, so the slowing of failed attempts holds across browser sessions and reloads:

- after the n-th consecutive wrong password from one client (its address), the next attempt from it is
  refused for 2**(n-1) seconds, up to a minute; a right password clears its count;
- every attempt, right or wrong, is refused while its client is waiting, so guessing stays slow even
  when the guesses are fired in parallel;
- comparisons take the same time whatever the password (`hmac.compare_digest`, scrypt for the hash).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets
import sys
import threading
import time
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_WAIT_SECONDS = 60.0
DEFAULT_SESSION_MINUTES = 720


class AuthError(ValueError):
    """A password setting that cannot be used (a hash in the wrong format); the message says why."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash` (base64), the format APICHAT_UI_PASSWORD_HASH takes."""
    if not password:
        raise AuthError("the password is empty")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise AuthError("APICHAT_UI_PASSWORD_HASH is not a scrypt hash (make one with `python -m apichat.auth hash`)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise AuthError("APICHAT_UI_PASSWORD_HASH is damaged (make a new one with `python -m apichat.auth hash`)") from None
    if n < 2 or n & (n - 1) or not 0 < r <= 64 or not 0 < p <= 16 or not salt or len(digest) < 16:
        raise AuthError("APICHAT_UI_PASSWORD_HASH has parameters out of range (make a new one with "
                        "`python -m apichat.auth hash`)")
    return n, r, p, salt, digest


def verify_hash(password: str, encoded: str) -> bool:
    n, r, p, salt, digest = _parse_hash(encoded)
    given = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(given, digest)


@dataclass(frozen=True)
class Attempt:
    """What became of one attempt: `ok`, or refused with `wait` seconds before the client may try again."""

    ok: bool
    wait: float = 0.0
    message: str = ""


class Gate:
    """The password and the failed-attempt counts of one console process (thread-safe)."""

    def __init__(self, password: str = "", password_hash: str = "", *,
                 session_minutes: float = DEFAULT_SESSION_MINUTES, clock=time.monotonic):
        if password and password_hash:
            raise AuthError("set APICHAT_UI_PASSWORD or APICHAT_UI_PASSWORD_HASH, not both")
        if password_hash:
            _parse_hash(password_hash)  # a bad hash is a setting error at start, not a login that never works
        if session_minutes <= 0:
            raise AuthError(f"APICHAT_UI_SESSION_MINUTES={session_minutes} must be more than 0")
        self._password, self._hash = password, password_hash.strip()
        self.session_seconds = session_minutes * 60
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (consecutive failures, not before)

    @classmethod
    def from_env(cls, env, **kwargs) -> Gate:
        """APICHAT_UI_PASSWORD or APICHAT_UI_PASSWORD_HASH, and APICHAT_UI_SESSION_MINUTES (AuthError if bad)."""
        raw = env.get("APICHAT_UI_SESSION_MINUTES", "").strip()
        try:
            minutes = float(raw) if raw else DEFAULT_SESSION_MINUTES
        except ValueError:
            raise AuthError(f"APICHAT_UI_SESSION_MINUTES={raw!r} is not a number of minutes") from None
        return cls(env.get("APICHAT_UI_PASSWORD", ""), env.get("APICHAT_UI_PASSWORD_HASH", ""),
                   session_minutes=minutes, **kwargs)

    @property
    def enabled(self) -> bool:
        return bool(self._password or self._hash)

    def _matches(self, given: str) -> bool:
        if self._hash:
            return verify_hash(given, self._hash)
        return hmac.compare_digest(given.encode(), self._password.encode())

    def attempt(self, client: str, given: str) -> Attempt:
        """Check `given` for `client`; wrong ones slow that client down (see the module's docstring)."""
        now = self._clock()
        with self._lock:
            count, not_before = self._failures.get(client, (0, 0.0))
            if now < not_before:
                wait = max(1.0, not_before - now)
                why = "Too many wrong passwords" if count else "A sign-in from this address is being checked"
                return Attempt(False, wait, f"{why}: try again in {wait:.0f} s.")
            self._failures[client] = (count, now + 1.0)  # a parallel guess waits while this one is checked
        ok = bool(given) and self._matches(given)
        with self._lock:
            if ok:
                self._failures.pop(client, None)
                return Attempt(True)
            count, _ = self._failures.get(client, (0, 0.0))
            count += 1
            wait = min(MAX_WAIT_SECONDS, 2.0 ** (count - 1))
            self._failures[client] = (count, self._clock() + wait)
            if len(self._failures) > 10_000:  # forget the oldest clients, not the slowing of the newest
                for stale in list(self._failures)[:5_000]:
                    del self._failures[stale]
        return Attempt(False, wait, f"Wrong password. Try again in {wait:.0f} s." if wait >= 1 else "Wrong password.")

    def expired(self, signed_in_at: float) -> bool:
        return self._clock() - signed_in_at >= self.session_seconds

    def now(self) -> float:
        return self._clock()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["hash"]:
        print("usage: python -m apichat.auth hash   (prints the APICHAT_UI_PASSWORD_HASH of a password you type)",
              file=sys.stderr)
        return 2
    first = getpass.getpass("Password for the console: ")
    if not first:
        print("auth: the password is empty", file=sys.stderr)
        return 2
    if sys.stdin.isatty() and getpass.getpass("Again: ") != first:
        print("auth: the two passwords differ", file=sys.stderr)
        return 2
    print(hash_password(first))
    return 0


if __name__ == "__main__":
    sys.exit(main())
