"""Settings from the environment, with the defaults in docs/configuration.md."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from .redact import masked_url

UCHAT_BASE_URL = "https://www.uchat.com.au"
SANDBOX_PARTNER_KEY = "sandbox-partner-key"
SANDBOX_FLOW_KEY = "sandbox-flow-key"
MAX_BODY_BYTES = 1024 * 1024
# the contacts a load run (or a simulation) makes: their id starts with this (apichat.load makes them,
# `prune --what load` removes what they left; neither package imports the other)
LOAD_CONTACT_PREFIX = "load-"


def is_shared_store(db: str | None) -> bool:
    """True when APICHAT_DB names a database server others share (team mode), not a SQLite file here."""
    return (db or "").strip().lower().startswith(("postgresql://", "postgres://"))


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says which and why."""


def _int(env, name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not 0 < value < 65536 and name.endswith("PORT"):
        raise SettingsError(f"{name}={value} is not a TCP port (1-65535)")
    return value


def _float(env, name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0.1 <= value <= 60:
        raise SettingsError(f"{name}={value} must be between 0.1 and 60 seconds")
    return value


def _days(env, name: str, default: float | None) -> float | None:
    """A retention in days: a positive number, or `keep` (also 0, off, never) for none; empty is `default`."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("keep", "0", "off", "never", "forever"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a number of days above 0, or keep")
    return value


def _hours(env, name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 24 * 7:
        raise SettingsError(f"{name}={raw!r} must be a number of hours above 0 and at most 168")
    return value


@dataclass(frozen=True)
class Retention:
    """How long the store keeps each kind of row (days; None keeps it), and how often the receiver prunes."""

    deliveries_days: float | None = 30.0  # webhook deliveries and the requests the console sent
    messages_days: float | None = None  # conversations and their messages
    runs_days: float | None = None  # scenario runs and their results
    every_hours: float = 6.0

    def kept_for(self, table: str) -> str:
        """How long the store keeps the rows of `table`, as `check` and the Connect page show it."""
        days = {"deliveries": self.deliveries_days, "requests": self.deliveries_days,
                "conversations": self.messages_days, "messages": self.messages_days,
                "scenario_runs": self.runs_days, "scenario_results": self.runs_days}.get(table)
        return "kept" if days is None else f"{days:g} days"

    def describe(self) -> list[tuple[str, str]]:
        """(what, kept for) as the console and `check` show it."""
        def kept(days: float | None) -> str:
            return "kept" if days is None else f"{days:g} days"
        return [("deliveries and requests", kept(self.deliveries_days)),
                ("conversations and messages", kept(self.messages_days)),
                ("scenario runs", kept(self.runs_days))]


def retention_from(env) -> Retention:
    return Retention(deliveries_days=_days(env, "APICHAT_RETENTION_DAYS", 30.0),
                     messages_days=_days(env, "APICHAT_MESSAGES_RETENTION_DAYS", None),
                     runs_days=_days(env, "APICHAT_RUNS_RETENTION_DAYS", None),
                     every_hours=_hours(env, "APICHAT_PRUNE_EVERY_HOURS", 6.0))


@dataclass(frozen=True)
class EnvProfile:
    """The `env` connection profile described by `UCHAT_*` variables."""

    base_url: str = UCHAT_BASE_URL
    partner_key: str = ""
    workspace_id: str = ""
    flow_key: str = ""
    verify_key: str = ""
    bot_url: str = ""


@dataclass(frozen=True)
class Settings:
    db_path: str = "data/console.db"
    media_dir: str = "data/media"
    receiver_host: str = "127.0.0.1"
    receiver_port: int = 8502
    public_url: str = "http://127.0.0.1:8502"
    sandbox: bool = True
    sandbox_port: int = 8503
    poll_seconds: float = 1.0
    max_body_bytes: int = MAX_BODY_BYTES
    env_profile: EnvProfile | None = field(default=None)
    retention: Retention = field(default_factory=Retention)

    @property
    def store_shared(self) -> bool:
        """True when the store is a PostgreSQL database that receivers and consoles on several hosts share."""
        return is_shared_store(self.db_path)

    @property
    def db_label(self) -> str:
        """APICHAT_DB as it may be shown or logged: a database URL's password masked."""
        return masked_url(self.db_path)

    @property
    def data_dir(self) -> str:
        """The folder for the services' logs and the sandbox's state: the SQLite store's, or in team mode the
        media folder's parent (a database URL names no folder of this machine)."""
        return os.path.dirname(os.path.abspath(self.media_dir if self.store_shared else self.db_path))

    @property
    def receiver_url(self) -> str:
        host = "127.0.0.1" if self.receiver_host in ("0.0.0.0", "::", "") else self.receiver_host
        return f"http://{host}:{self.receiver_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def replace(self, **changes) -> Settings:
        """A copy with `changes` (TypeError for an unknown setting)."""
        return dataclasses.replace(self, **changes)


def _url(env, name: str, default: str = "") -> str:
    value = env.get(name, "").strip().rstrip("/") or default
    if value and not value.lower().startswith(("http://", "https://")):
        raise SettingsError(f"{name}={value!r} must start with http:// or https://")
    return value


def env_profile_from(env) -> EnvProfile | None:
    """The `env` profile when any `UCHAT_*` connection variable is set, else None."""
    names = ("UCHAT_PARTNER_KEY", "UCHAT_WORKSPACE_ID", "UCHAT_FLOW_KEY", "UCHAT_VERIFY_TOKEN", "UCHAT_BOT_URL")
    if not any(env.get(n, "").strip() for n in names):
        return None
    _url(env, "UCHAT_BOT_URL")
    return EnvProfile(
        base_url=_url(env, "UCHAT_BASE_URL", UCHAT_BASE_URL),
        partner_key=env.get("UCHAT_PARTNER_KEY", "").strip(),
        workspace_id=env.get("UCHAT_WORKSPACE_ID", "").strip(),
        flow_key=env.get("UCHAT_FLOW_KEY", "").strip(),
        verify_key=env.get("UCHAT_VERIFY_TOKEN", "").strip(),
        bot_url=env.get("UCHAT_BOT_URL", "").strip(),
    )


def load_settings(env=None) -> Settings:
    """Settings from `env` (default: the process environment); raises SettingsError on bad values."""
    env = os.environ if env is None else env
    port = _int(env, "APICHAT_RECEIVER_PORT", 8502)
    host = env.get("APICHAT_RECEIVER_HOST", "").strip() or "127.0.0.1"
    sandbox_flag = env.get("APICHAT_SANDBOX", "1").strip().lower()
    if sandbox_flag not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
        raise SettingsError(f"APICHAT_SANDBOX={sandbox_flag!r}: use 1 or 0")
    public = env.get("APICHAT_PUBLIC_URL", "").strip().rstrip("/") or f"http://127.0.0.1:{port}"
    if not public.startswith(("http://", "https://")):
        raise SettingsError(f"APICHAT_PUBLIC_URL={public!r} must start with http:// or https://")
    sandbox = sandbox_flag not in ("0", "false", "no", "off")
    sandbox_port = _int(env, "APICHAT_SANDBOX_PORT", 8503)
    if sandbox and sandbox_port == port:
        raise SettingsError(f"APICHAT_SANDBOX_PORT={sandbox_port} is the receiver's port too; give them "
                            "different ports (or APICHAT_SANDBOX=0)")
    return Settings(
        db_path=env.get("APICHAT_DB", "").strip() or "data/console.db",
        media_dir=env.get("APICHAT_MEDIA_DIR", "").strip() or "data/media",
        receiver_host=host,
        receiver_port=port,
        public_url=public,
        sandbox=sandbox,
        sandbox_port=sandbox_port,
        poll_seconds=_float(env, "APICHAT_POLL_SECONDS", 1.0),
        env_profile=env_profile_from(env),
        retention=retention_from(env),
    )
