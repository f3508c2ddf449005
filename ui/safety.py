"""What the console says before it lets anyone in: who can reach it, and whether its store is still there.

Plain functions (no Streamlit): they take what Streamlit reports and return the Markdown a page shows,
or None when there is nothing to say. ui/context.py shows it and stops the page.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache

from apichat.store import StoreUnavailable

ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]", "*")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$:-])")


def md(text: object) -> str:
    """`text` shown literally in Streamlit Markdown (a path's `_` must not start italics)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def _is_loopback_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=32)
def is_loopback(address: str | None) -> bool:
    """True when a server bound to `address` can be reached from this machine only.

    Unset or empty means every interface (Streamlit's own default), so it is not loopback. A host name
    counts only if every address it resolves to is loopback; one that does not resolve is not trusted.
    """
    host = (address or "").strip().lower()
    if host in ALL_INTERFACES:
        return False
    if host in ("localhost", "localhost.") or host.endswith(".localhost"):
        return True
    if _is_loopback_ip(host):
        return True
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        return False  # an address literal that is not loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(_is_loopback_ip(ip) for ip in found)


def code(text: object) -> str:
    """`text` as inline code (no escapes there: a backslash would show)."""
    return "`" + str(text).replace("`", "'") + "`"


def _who(address: str | None, port: int, lan_ip: str | None) -> str:
    host = (address or "").strip()
    if host.lower() in ALL_INTERFACES:
        where = "every network interface of this machine" + (" (IPv4 and IPv6)" if host in ("", "::", "[::]") else "")
        example = f" (for example at http://{md(lan_ip)}:{port})" if lan_ip and not _is_loopback_ip(lan_ip) else ""
        return (f"Streamlit listens on {where}, port {port}. Anyone who can reach this machine — people on the "
                f"same office or café Wi-Fi, on your VPN, or anyone on the internet if this machine has a public "
                f"address — can open the console without a password{example}")
    return (f"Streamlit listens on {code(host)}, port {port}, which is not loopback. Anyone who can reach "
            f"{md(host)} — typically everyone on that network — can open the console without a password (at "
            f"http://{md(host)}:{port})")


def exposure_warning(address: str | None, port: int, *, password_set: bool, lan_ip: str | None = None,
                     shared_store: bool = False) -> str | None:
    """The blocking warning when the UI listens beyond this machine with no login; None when it may run.

    With a password (APICHAT_UI_PASSWORD or its hash) every page asks for it first, so any address is
    allowed; without one, only loopback.
    """
    if password_set or is_loopback(address):
        return None
    shared = ("The store is a shared database (team mode): everything your team recorded there would be open "
              "too.\n\n" if shared_store else "")
    return (
        "**This console can be reached from other machines, so it refuses to run.**\n\n"
        f"{_who(address, port, lan_ip)}, read every conversation and webhook delivery, copy the "
        "partner, flow and verification keys of every profile (**Show keys** on Connect), and send messages as any "
        f"contact.\n\n{shared}"
        "**To share it**, set a password and restart: `APICHAT_UI_PASSWORD=… streamlit run app.py …` (or "
        "`APICHAT_UI_PASSWORD_HASH`, from `python -m apichat.auth hash`). Every page then asks for it, sessions "
        "expire after `APICHAT_UI_SESSION_MINUTES`, and wrong guesses are slowed.\n\n"
        "**Or restart it on this machine only:** `streamlit run app.py`, without `--server.address` or "
        "`STREAMLIT_SERVER_ADDRESS` (the project's `.streamlit/config.toml` listens on 127.0.0.1).\n\n"
        f"**To use it from another computer** without a password, keep it on 127.0.0.1 and forward the port over "
        f"SSH from that computer: `ssh -L {port}:127.0.0.1:{port} you@this-machine`, then open "
        f"http://127.0.0.1:{port} there.\n\n"
        "Nothing else was started: the receiver and the sandbox start once the console listens on loopback or "
        "has a password.")


def ui_host_notice(declared: str | None, address: str | None) -> str | None:
    """A note when APICHAT_UI_HOST names another address than the one Streamlit listens on (it reads only its own
    options); None when it is unset or agrees."""
    declared = (declared or "").strip()
    if not declared or declared == (address or "").strip():
        return None
    return (f"`APICHAT_UI_HOST` is {code(declared)}, but Streamlit listens on {code(address or '*')}: Streamlit "
            f"takes its address only from its own options, so start it with "
            f"`streamlit run app.py --server.address \"$APICHAT_UI_HOST\"` — and note that an address other "
            f"than loopback is refused unless `APICHAT_UI_PASSWORD` is set (docs/security.md).")


def store_problem(exc: StoreUnavailable) -> str:
    """The one message every page shows when the store is gone or unreadable."""
    if exc.path.startswith(("postgresql://", "postgres://")):  # team mode: comes back with the server
        return (f"**The team store cannot be used:** {md(str(exc))}. The console uses it again by itself as soon "
                "as the database answers; check `APICHAT_DB` and the server.")
    return (f"**The store at {code(exc.path)} is missing or unreadable:** {md(exc.why)}; restart the "
            "console or point `APICHAT_DB` at a store.")
