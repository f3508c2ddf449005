"""Scenarios in-process: the demo bot as a `deliver` that answers at once, a store, and a run helper."""

from __future__ import annotations

import json
from collections.abc import Iterator

from apichat.payloads import parse_bot_message
from apichat.scenarios import Runner, RunResult, parse_scenario
from apichat.store import Store, open_store
from sandbox import ai, bot
from sandbox.delivery import php_json

MEDIA_BASE = "http://127.0.0.1:9/sandbox/media"


# ---------------------------------------------------------------- a bot in-process: the demo bot, answering at once


class InstantBot:
    """A `deliver` for the runner: the demo bot answers, and its replies are stored as the receiver would."""

    def __init__(self, skip: tuple[str, ...] = (), hallucinate: bool = False):
        self.skip, self.calls, self.seen = skip, [], set()
        self.writer, self.hallucinate = ai.Writer(), hallucinate  # one sequence of wordings, as a sandbox has

    def __call__(self, store: Store, profile: dict, message_id: int) -> bool:
        body = json.loads(store.get_message(message_id)["raw"])
        self.calls.append(body)
        first = body["sender"]["id"] not in self.seen
        self.seen.add(body["sender"]["id"])
        answer = bot.respond(body, media_base=MEDIA_BASE, first_contact=first, writer=self.writer,
                             hallucinate=lambda: self.hallucinate)
        store.set_message_status(message_id, "sent")
        for reply in answer.replies:
            if reply.body.get("text", "").startswith(self.skip):
                continue
            raw = php_json(reply.body)
            store.accept_webhook(profile=profile["name"], route="/webhook/p", method="POST", headers={}, body=raw,
                                 message=parse_bot_message(raw))
        return True


def failing_deliver(store: Store, profile: dict, message_id: int) -> bool:
    store.set_message_status(message_id, "failed", "400 conversation_id must be an integer")
    return False


def run(store: Store, text: str, deliver=None, **options) -> RunResult:
    runner = Runner(store, store.get_profile("p"), settle=options.pop("settle", 0.2), poll=0.01,
                    deliver=deliver or InstantBot(), **options)
    return runner.run(parse_scenario(text, "t.yaml"))


def scenario_store() -> Iterator[Store]:
    """An in-memory store with a profile `p` (for a fixture)."""
    s = open_store(":memory:")
    s.save_profile("p", bot_url="http://bot.invalid/api/apichat/x", flow_key="k")
    yield s
    s.close()
