"""Settings and connection profiles, and the receiver's in-memory copy of the profiles (`profiles()`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import core
from .core import Core

PROFILE_FIELDS = ("base_url", "partner_key", "workspace_id", "flow_key", "verify_key",
                  "bot_url", "webhook_url", "webhook_status", "lint_channels")
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ProfileSnapshot:
    """Every profile and the default one, as of `version` of the profile_version table (migration 5)."""

    version: int
    by_name: dict[str, dict]
    default: dict | None

    def lookup(self, name: str | None) -> dict | None:
        """Profile `name`, or the default profile when `name` is None."""
        return self.by_name.get(name) if name else self.default

    def verification_keys(self) -> dict[str, str]:
        return {name: p["verify_key"] for name, p in self.by_name.items() if p["verify_key"]}


class Profiles(Core):
    """The tables settings and profiles (and profile_version, which the database bumps when either changes)."""

    _snapshot: ProfileSnapshot | None = None

    # ------------------------------------------------------------ settings

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self._row("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def delete_setting(self, key: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM settings WHERE key = ?", (key,))

    # ------------------------------------------------------------ profiles

    def save_profile(self, name: str, **fields: Any) -> dict:
        """Create or update profile `name` with the given fields (others unchanged)."""
        unknown = set(fields) - set(PROFILE_FIELDS)
        if unknown:
            raise ValueError(f"unknown profile field(s): {', '.join(sorted(unknown))}")
        name = name.strip()
        if not PROFILE_NAME_RE.match(name):
            # the name is a path segment of /webhook/<profile>: '.', '..' or 'é' would not route cleanly
            raise ValueError("a profile name uses letters, digits, '-', '_' or '.' only (ASCII, not starting "
                             "with '.', at most 64 characters)")
        now = core.now()
        values = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        with self.write() as conn:
            conn.execute("INSERT INTO profiles (name, created_at, updated_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (name) DO NOTHING", (name, now, now))
            if values:
                sets = ", ".join(f"{k} = ?" for k in values)
                conn.execute(f"UPDATE profiles SET {sets}, updated_at = ? WHERE name = ?",
                             (*values.values(), now, name))
        return self.get_profile(name)

    def get_profile(self, name: str) -> dict | None:
        return self._row("SELECT * FROM profiles WHERE name = ?", (name,))

    def list_profiles(self) -> list[dict]:
        return self._rows("SELECT * FROM profiles ORDER BY created_at, name")

    def delete_profile(self, name: str) -> None:
        """Forget the profile's settings; its conversations, messages and deliveries stay readable."""
        with self.write() as conn:
            conn.execute("DELETE FROM profiles WHERE name = ?", (name,))
            conn.execute("DELETE FROM settings WHERE key = 'default_profile' AND value = ?", (name,))

    def default_profile(self) -> dict | None:
        """The profile chosen as default, else the oldest one, else None (one query: the receiver asks often)."""
        return self._row("SELECT * FROM profiles ORDER BY name = (SELECT value FROM settings "
                         "WHERE key = 'default_profile') DESC, created_at, name LIMIT 1")

    def set_default_profile(self, name: str) -> None:
        self.set_setting("default_profile", name)

    def verification_keys(self) -> dict[str, str]:
        return {p["name"]: p["verify_key"] for p in self.list_profiles() if p["verify_key"]}

    def profiles(self, fresh: bool = False) -> ProfileSnapshot:
        """Every profile and the default one, from memory while no process has changed them.

        The receiver asks for every request. The copy is read again when `fresh`, or when a write of this
        process saw profile_version move (each batch of webhooks reads it, and refuses a webhook verified
        against an older version with StaleProfiles), so a changed key is never missed and an unchanged one
        costs no query.
        """
        snapshot = self._snapshot
        if fresh or snapshot is None or snapshot.version != self._profiles_version:
            conn = self.conn
            conn.execute(self.BEGIN_READ)  # one consistent read of the version and what it numbers
            try:
                version = conn.execute("SELECT version FROM profile_version").fetchone()[0]
                rows = [dict(r) for r in conn.execute("SELECT * FROM profiles ORDER BY created_at, name")]
                chosen = conn.execute("SELECT value FROM settings WHERE key = 'default_profile'").fetchone()
            finally:
                conn.execute("COMMIT")
            by_name = {row["name"]: row for row in rows}
            default = by_name.get(chosen[0]) if chosen else None
            snapshot = self._snapshot = ProfileSnapshot(version, by_name, default or (rows[0] if rows else None))
            self._saw_profiles(version)
        return snapshot
