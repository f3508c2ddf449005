"""What a load run is asked to do, checked before anything starts: durations, think time, safety, the store.

Pure (no Locust, no gevent), so the command line, the console page and the tests share one set of rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from ..config import LOAD_CONTACT_PREFIX, is_shared_store
from ..profiles import SAFE_CONTACTS, real_contacts_problem
from ..scenarios import parse_duration

SAFE_USERS = SAFE_CONTACTS  # a real workspace gets at most this many contacts without --allow-real (profiles' rule)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CONFIG_ENV = "APICHAT_LOAD_CONFIG"
CONTACT_PREFIX = LOAD_CONTACT_PREFIX


class LoadError(ValueError):
    """A load run that must not start: the one line says why (the command exits 2)."""


def seconds(text: str, what: str) -> float:
    """`text` (1s, 500ms, 2m, or plain seconds) as seconds; LoadError when it is not a duration."""
    value = parse_duration(str(text).strip())
    if value is None or value < 0:
        raise LoadError(f"{what}: {text!r} is not a duration (e.g. 1s, 500ms, 2m)")
    return value


def think_range(text: str) -> tuple[float, float]:
    """`1s` (exactly) or `2s-5s` (uniformly between) as (low, high) seconds."""
    parts = [p for p in re.split(r"\s*(?:-|\.\.)\s*", str(text).strip()) if p]
    if len(parts) not in (1, 2):
        raise LoadError(f"--think: {text!r} is not a duration or a range such as 2s-5s")
    low, high = seconds(parts[0], "--think"), seconds(parts[-1], "--think")
    if high < low:
        raise LoadError(f"--think: {text!r} ends before it starts")
    return low, high


def store_is_shared(db: str) -> bool:
    """Whether processes on other machines can read this store: only a PostgreSQL store (team mode) can.

    The console's one rule (apichat.config.is_shared_store): a `postgresql://` APICHAT_DB is shared; a SQLite
    file is local to this machine, so a worker elsewhere could not read the replies.
    """
    return is_shared_store(str(db))


def check_safety(*, users: int, real: bool, allow_real: bool, master_host: str | None, worker: bool,
                 db: str) -> None:
    """LoadError when the run would harm or mislead: zero users, a real workspace flooded without
    --allow-real, or a worker on another machine while the store is a local file."""
    if users < 1:
        raise LoadError(f"--users must be at least 1 (got {users})")
    too_many = real_contacts_problem(users, real=real, allow_real=allow_real)
    if too_many:
        raise LoadError(too_many)
    if worker and master_host and master_host not in LOOPBACK and not store_is_shared(db):
        raise LoadError(f"a worker of a master on another machine ({master_host}) cannot see the replies: the "
                        f"store is a local SQLite file ({db}); remote workers need the shared PostgreSQL store "
                        "(APICHAT_DB=postgresql://…)")


@dataclass
class UserConfig:
    """What every load user of a run needs, passed to Locust's processes as JSON in APICHAT_LOAD_CONFIG."""

    db: str
    profile: str
    scenarios: list[str]
    think: tuple[float, float] = (1.0, 1.0)
    rate: float = 0.0  # messages per second for this process (0: no cap)
    settle: float = 1.0
    timeout: float = 10.0
    tick: float = 0.02
    run_time: float = 0.0  # seconds; set when a master ends the run itself (see apichat.load.user)
    extra: dict = field(default_factory=dict)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> UserConfig:
        data = json.loads(text)
        data["think"] = tuple(data["think"])
        return cls(**data)


def misrouted(replies: list[dict], contact_id: str, conv_id: int) -> str:
    """Why a reply handed to this contact is not its own ('' when every one is): the webhook's raw body names
    the contact (sender_id) and conversation (conv_id) it was sent to, and a load contact's id never appears in
    another contact's reply."""
    for reply in replies:
        try:
            raw = json.loads(reply.get("raw") or "{}")
        except ValueError:
            raw = {}
        sender, conv = raw.get("sender_id"), raw.get("conv_id")
        if sender is not None and str(sender) != contact_id:
            return f"misrouted reply {reply.get('id')}: sent to contact {sender}, given to {contact_id}"
        if conv is not None and str(conv) != str(conv_id):
            return f"misrouted reply {reply.get('id')}: sent to conversation {conv}, given to {conv_id}"
        for other in re.findall(re.escape(CONTACT_PREFIX) + r"[0-9a-f]+-\d+", reply.get("text") or ""):
            if other != contact_id:
                return f"misrouted reply {reply.get('id')}: it names {other}, given to {contact_id}"
    return ""
