"""Is the receiver reachable through a URL (the tunnel), and is it this console's?"""

from __future__ import annotations

from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Probe:
    ok: bool
    message: str
    warning: str = ""


def probe_receiver(url: str, local_url: str | None = None, session: requests.Session | None = None,
                   timeout: float = 6.0) -> Probe:
    """GET <url>/healthz and say whether this console's receiver answers there (a tunnel's first test)."""
    http = session or requests
    target = url.rstrip("/") + "/healthz"
    try:
        answer = http.get(target, timeout=timeout)
    except requests.exceptions.SSLError as exc:
        return Probe(False, f"{target}: TLS/certificate problem — {exc}")
    except requests.Timeout:
        return Probe(False, f"{target} did not answer within {timeout:g} s: is the tunnel running?")
    except requests.ConnectionError as exc:
        text = str(exc)
        why = ("connection refused: nothing listens there" if "refused" in text.lower()
               else "the host could not be reached (DNS or network)")
        return Probe(False, f"{target}: {why}. Start the tunnel and check APICHAT_PUBLIC_URL.")
    except requests.RequestException as exc:
        return Probe(False, f"{target}: {type(exc).__name__}: {exc}")
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("service") != "apichat-receiver":
        snippet = " ".join(answer.text.split())[:160] or "(empty)"
        return Probe(False, f"{target} answered {answer.status_code}, but not as this console's receiver: "
                            f"{snippet}. The tunnel may point at another port or program.")
    if answer.status_code != 200 or data.get("status") != "ok":
        return Probe(False, f"{target}: the receiver answers but is not healthy ({answer.status_code}): "
                            f"{data.get('reason') or data.get('status')}")
    warning = ""
    if local_url and local_url.rstrip("/") != url.rstrip("/"):
        try:
            local = http.get(local_url.rstrip("/") + "/healthz", timeout=timeout).json()
        except (requests.RequestException, ValueError):
            local = None
        if isinstance(local, dict) and local.get("pid") and data.get("pid") and local["pid"] != data["pid"]:
            warning = (f"A receiver answers, but it is process {data['pid']}, while this console's receiver is "
                       f"process {local['pid']}: the tunnel may lead to another console.")
    return Probe(True, f"{target} answers: the receiver is reachable at this URL.", warning)
