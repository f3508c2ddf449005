"""What a run sends to: a fresh embedded sandbox, or a profile of the console's store.

A fresh sandbox starts its own receiver and sandbox on free ports with a temporary store. A profile
uses the console's receiver (and sandbox), reused or started by the console's own rule
(services.ensure_service). Whatever a target started is stopped when the run ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .. import profiles
from ..config import SettingsError, load_settings
from ..processes import ChildError, ChildProcess, clean_env, free_port
from ..services import ensure_service
from ..store import Store, open_store


class TargetError(RuntimeError):
    """Nothing to run against: a process did not start, or the profile is not connected."""


@dataclass
class Target:
    """A store to read replies from, and the profile whose bot the scenarios talk to."""

    store: Store
    profile: dict
    detail: str = ""


@contextmanager
def sandbox_target(workdir: str | Path | None = None) -> Iterator[Target]:
    """The embedded sandbox with its own receiver and temporary store, on free ports; all stopped afterwards."""
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="apichat-scenarios-") if own else workdir)
    folder.mkdir(parents=True, exist_ok=True)
    receiver_port, sandbox_port = free_port(), free_port()
    while sandbox_port == receiver_port:
        sandbox_port = free_port()
    env = clean_env(APICHAT_DB=folder / "console.db", APICHAT_MEDIA_DIR=folder / "media",
                    APICHAT_RECEIVER_PORT=receiver_port, APICHAT_SANDBOX_PORT=sandbox_port)
    settings = load_settings(env)
    children: list[ChildProcess] = []
    store = None
    try:
        children.append(ChildProcess(["-m", "receiver", "--host", "127.0.0.1", "--port", str(receiver_port)], env,
                                     folder / "receiver.log"))
        children.append(ChildProcess(["-m", "sandbox", "--port", str(sandbox_port), "--state",
                                      str(folder / "sandbox.json")], env, folder / "sandbox.log"))
        try:
            children[0].wait_healthy(settings.receiver_url, "apichat-receiver")
            children[1].wait_healthy(settings.sandbox_url, "apichat-sandbox")
        except ChildError as exc:
            raise TargetError(str(exc)) from None
        store = open_store(settings.db_path)
        try:
            profile = profiles.connect_sandbox(store, settings)
        except Exception as exc:
            raise TargetError(f"could not set the sandbox's webhook: {exc}") from None
        yield Target(store, profile, f"sandbox on {settings.sandbox_url}, receiver on {settings.receiver_url}, "
                                     f"store {settings.db_label}")
    finally:
        for child in children:
            child.stop()
        if store is not None:
            store.close()
        if own:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def profile_target(name: str, env=None) -> Iterator[Target]:
    """Profile `name` of the console's store (`env`: the UCHAT_* variables), with a receiver writing into it."""
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        raise TargetError(str(exc)) from None
    store = open_store(settings.db_path)
    if name == "env" and not profiles.ensure_env_profile(store, settings):
        raise TargetError("--profile env needs UCHAT_BOT_URL and UCHAT_FLOW_KEY (or the partner variables)")
    children: list[ChildProcess] = []
    child_env = dict(os.environ if env is None else env)
    try:
        wanted = [("receiver", settings.receiver_url, "apichat-receiver",
                   ["--host", settings.receiver_host, "--port", str(settings.receiver_port)], store.store_id)]
        if name == profiles.SANDBOX:
            wanted.append(("sandbox", settings.sandbox_url, "apichat-sandbox", ["--port", str(settings.sandbox_port)],
                           None))
        log_dir = Path(settings.data_dir)
        for module, url, service, args, store_id in wanted:
            status = ensure_service(module, module, url, service, args, child_env, str(log_dir / f"{module}.log"),
                                    wait_seconds=30.0, store_id=store_id)
            if status.child is not None:
                children.append(status.child)
            if not status.ok:
                raise TargetError(status.detail)
        if name == profiles.SANDBOX:
            profiles.connect_sandbox(store, settings)
        profile = store.get_profile(name)
        if profile is None:
            known = ", ".join(p["name"] for p in store.list_profiles()) or "none"
            raise TargetError(f"no profile named {name!r} in {settings.db_label} (profiles: {known})")
        if not profile["bot_url"] or not profile["flow_key"]:
            raise TargetError(f"profile {name!r} has no bot_url or flow key yet: connect it on the Connect page")
        yield Target(store, profile, f"profile {name} ({urlparse(profile['bot_url']).netloc}), store "
                                     f"{settings.db_label}")
    finally:
        for child in children:
            child.stop()
        store.close()


def target_for(profile: str | None):
    """The profile named, or a fresh sandbox when none is."""
    return profile_target(profile) if profile else sandbox_target()
