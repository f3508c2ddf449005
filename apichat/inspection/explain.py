"""Why a delivery was refused, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from .. import signing
from ..rows import headers_of
from .bodies import body_bytes, header


@dataclass(frozen=True)
class Explanation:
    cause: str  # short: what went wrong
    detail: str  # what it means
    fix: str  # what to do about it
    recheck: str = ""  # what checking again with today's keys says, when that adds something


SIGNATURE_CAUSES = (
    # (part of the receiver's reason, cause, detail, fix)
    ("no X-Hub-Signature-256", "No signature header",
     "The request carried no X-Hub-Signature-256 header. UChat signs every API Chat webhook, so this came "
     "from something else (a person or script calling the URL, a health checker), or a proxy in between "
     "dropped the header.",
     "If it came through a tunnel or reverse proxy, make it forward all headers unchanged."),
    ("no verification key", "This profile has no verification key",
     "The receiver cannot check a signature without the profile's verification key.",
     "On Connect, generate a verification key and press Set webhook (the key is stored, then sent to UChat)."),
    ("verification key of profile", "Signed with another profile's key",
     "The signature verifies with a different profile's verification key: the workspace's webhook was set "
     "from that profile, or UChat calls this profile's URL for a workspace that belongs to another one.",
     "Set the webhook again from the profile that should receive these messages, or compare the webhook URLs "
     "of the two profiles on Connect (Get webhook)."),
    ("altered in transit", "Body altered after signing",
     "The signature matches a slightly different body: something between UChat and the receiver rewrote the "
     "bytes (re-serialized JSON, changed escaping or whitespace). Signatures are checked over the exact bytes.",
     "Make the tunnel or proxy pass the body through untouched (no JSON re-formatting, no compression rewrite)."),
    ("sha1=", "Wrong signature prefix (sha1=)",
     "The header uses sha1=; API Chat signs with HMAC-SHA256 as sha256=<64 hex digits>.",
     "The sender is not UChat's API Chat, or it is configured for another kind of webhook."),
    ("base64", "Signature encoding wrong (base64)",
     "The signature looks base64-encoded; UChat sends sha256= followed by 64 hexadecimal digits.",
     "The sender is not UChat's API Chat, or something rewrote the header."),
    ("malformed", "Signature header malformed",
     "The header is not sha256=<64 hex digits>, so no key can verify it.",
     "Check what sends to this URL: UChat's header is exactly 'sha256=' plus a hex HMAC-SHA256."),
    ("wrong key or body altered", "Wrong verification key",
     "The HMAC matches neither this profile's verification key nor any other profile's. Most often the "
     "workspace's webhook was set with a different key (from another console or tool, or the key was changed "
     "here without pressing Set webhook again).",
     "On Connect, press Get webhook to see what UChat has, then Set webhook: the console stores its key and "
     "sends the same one to UChat."),
)

OTHER_CAUSES = (
    # (status, part of the reason, cause, detail, fix)
    (404, "no profile named", "Unknown profile in the URL",
     "The webhook URL names a profile that does not exist in this console (deleted, renamed or misspelled). "
     "Conversations of a deleted profile stay readable, but nothing new can be verified for it.",
     "Set the webhook again from an existing profile on Connect (its URL ends in /webhook/<profile>)."),
    (404, "no connection profile", "No profile yet",
     "The plain /webhook URL goes to the default profile, and there is none yet.",
     "Create a profile on Connect and set its webhook."),
    (413, "", "Body too large",
     "The body was larger than the receiver's limit (1 MiB by default) and was refused before it was read.",
     "UChat's messages are small; a body this size is not an API Chat message."),
    (400, "not JSON", "Signed, but not JSON",
     "The signature was right, but the body is not JSON. UChat always sends JSON.",
     "Look at the body below: a proxy may have replaced it (an error page), or the sender is not UChat."),
    (400, "GET is only for", "A plain GET",
     "A GET without hub_* parameters: someone opened the webhook URL in a browser, or a monitor probed it.",
     "Nothing to fix. To test the tunnel, use Check public URL on Connect."),
    (403, "hub_verify_token", "Handshake: verification key mismatch",
     "UChat sent a hub_verify_token that differs from this profile's verification key, so the receiver "
     "refused to confirm the webhook (403).",
     "Press Set webhook on Connect again: it stores the key first and sends UChat the same one."),
    (403, "no verification key", "Handshake: profile has no key",
     "The profile has no verification key, so no handshake can be confirmed.",
     "Generate a verification key on Connect, then Set webhook."),
    (400, "hub_mode", "Handshake: wrong hub_mode",
     "The handshake's hub_mode was not 'subscribe'.",
     "The caller is not UChat's API Chat verification, or it sent another kind of request."),
    (400, "hub_challenge", "Handshake without a challenge",
     "The handshake had no hub_challenge to echo back.",
     "The caller is not UChat's API Chat verification."),
)


def explain(delivery: dict, keys: dict[str, str] | None = None) -> Explanation | None:
    """Why a delivery was rejected and what to do; None when it was not rejected.

    `keys` are the profiles' current verification keys: the signature is checked again with them,
    since a key changed after the delivery arrived tells a different story.
    """
    if delivery.get("outcome") not in ("rejected", "error"):
        return None
    reason = delivery.get("reason") or ""
    status = delivery.get("status_code")
    if status == 401:
        for needle, cause, detail, fix in SIGNATURE_CAUSES:
            if needle.lower() in reason.lower():
                return Explanation(cause, detail, fix, recheck(delivery, keys or {}))
        return Explanation("Signature not accepted", reason or "The signature did not verify.",
                           "Set the webhook again from Connect so UChat and the console share one key.",
                           recheck(delivery, keys or {}))
    for code, needle, cause, detail, fix in OTHER_CAUSES:
        if status == code and needle.lower() in reason.lower():
            return Explanation(cause, detail, fix)
    return Explanation(f"Refused with {status}", reason or "The receiver gave no reason.",
                       "See the receiver's log (data/receiver.log) for more.")


def recheck(delivery: dict, keys: dict[str, str]) -> str:
    """The signature checked again with today's keys, when that says something the stored reason does not."""
    body = body_bytes(delivery.get("body"))
    value = header(headers_of(delivery), signing.HEADER)
    if value is None or "•" in value or not body:
        return ""
    profile = delivery.get("profile") or ""
    key = keys.get(profile, "")
    others = {name: k for name, k in keys.items() if name != profile}
    now = signing.diagnose(body, value, key, others)
    if now == "signature is valid":
        return ("Checked again now: the signature verifies with this profile's current key, so the key was "
                "changed after this delivery arrived. Replay would be accepted.")
    if now != (delivery.get("reason") or ""):
        return f"Checked again now with the current keys: {now}."
    return ""
