"""Sending as the contact: a message is stored as 'sending', posted to bot_url, then 'sent' or 'failed'."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor

from . import payloads
from .client import BotClient, UChatError
from .store import Store


class NotConnected(RuntimeError):
    """The profile has no bot_url or flow key to send with."""


def contact_sender(contact: dict) -> dict:
    return {"id": contact["id"], "name": contact.get("name", ""), "email": contact.get("email", ""),
            "phone_number": contact.get("phone", "")}


def prepare(store: Store, conversation: dict, contact: dict, kind: str, *, text: str = "",
            title: str = "", payload: str = "", url: str = "") -> int:
    """Store the contact's message as 'sending' and return its id; `kind` is text|postback|image|audio|video|file."""
    sender, conv_id = contact_sender(contact), conversation["conv_id"]
    if kind == "text":
        if not text.strip():
            raise ValueError("an empty message cannot be sent")
        body, data = payloads.text_payload(sender, conv_id, text), {"text": text}
    elif kind == "postback":
        body = payloads.postback_payload(sender, conv_id, title, payload)
        data, text = {"postback": {"title": title, "payload": payload}}, title
    elif kind in payloads.MEDIA_KINDS:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} is sent by its http(s) URL; "
                             f"{url!r} is not one")
        body, data = payloads.media_payload(sender, conv_id, kind, url), {"media": [{"kind": kind, "url": url}]}
    else:
        raise ValueError(f"unknown message kind {kind!r}")
    return store.add_contact_message(conversation["id"], kind, text, data, body)


def deliver(store: Store, profile: dict | None, message_id: int, client_factory=None) -> bool:
    """Post a stored contact message to the profile's bot_url; records 'sent' or 'failed' with the reason."""
    message = store.get_message(message_id)
    try:
        if not profile or not profile.get("bot_url"):
            raise NotConnected("this profile has no bot_url yet: set its webhook on the Connect page")
        if not profile.get("flow_key"):
            raise NotConnected("this profile has no flow API key: add it on the Connect page")
        client = (client_factory or BotClient)(profile["bot_url"], profile["flow_key"], store=store,
                                               profile=profile["name"])
        client.send(json.loads(message["raw"]), message_id=message_id)
    except (NotConnected, UChatError) as exc:
        store.set_message_status(message_id, "failed", str(exc))
        return False
    except Exception as exc:  # never leave a message stuck in 'sending'
        store.set_message_status(message_id, "failed", f"{type(exc).__name__}: {exc}")
        return False
    store.set_message_status(message_id, "sent")
    return True


class Sender:
    """Posts to bot_url in background threads, so the page shows 'sending' and stays responsive."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bot-send")

    def deliver(self, store: Store, profile: dict | None, message_id: int) -> Future[bool]:
        """deliver() in one of the threads; its result when it is done."""
        return self._pool.submit(deliver, store, profile, message_id)
