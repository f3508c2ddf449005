"""The receiver and sandbox a console (or a scenario run on the console's store) needs: reused or started.

The rule, in one place: a healthy service of ours at the address is reused; one of another store, or
another program on the port, is refused with what to do about it; nothing there: it is started as a
child tied to this process (processes.py) and waited for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .processes import ChildError, ChildProcess, probe


@dataclass
class ServiceStatus:
    name: str
    url: str
    state: str  # started | reused | foreign | failed | disabled
    detail: str = ""
    problem: str = ""  # running, but something a person must know (e.g. its webhook could not be set)
    child: ChildProcess | None = field(default=None, repr=False)  # when this call started it

    @property
    def ok(self) -> bool:
        return self.state in ("started", "reused")


def ensure_service(name: str, module: str, url: str, service: str, args: list[str], env: dict,
                   log_path: str, wait_seconds: float = 20.0, store_id: str | None = None) -> ServiceStatus:
    """Reuse a healthy `service` at `url`, or start `python -m module args` and wait for it."""
    state = probe(url, service, store_id=store_id)
    if state == "ours":
        return ServiceStatus(name, url, "reused", "already running")
    if state == "other-store":
        return ServiceStatus(name, url, "foreign", f"a {name} for another store (another APICHAT_DB) is running "
                             f"at {url}; stop it, or give this console another port")
    if state == "foreign":
        return ServiceStatus(name, url, "foreign", f"{url} is taken by another program; "
                             f"free the port or choose another one (see docs/configuration.md)")
    child = ChildProcess(["-m", module, *args], env, log_path, tied=True)
    try:
        child.wait_healthy(url, service, wait_seconds, store_id=store_id)
    except ChildError as exc:
        child.stop()
        return ServiceStatus(name, url, "failed", str(exc))
    return ServiceStatus(name, url, "started", f"pid {child.proc.pid}, log {log_path}", child=child)
