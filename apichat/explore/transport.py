"""The real transport: each walk is a scenario run of postbacks, through the scenario runner's outbox, store and
quiet-period settle (nothing of it kept in History), against a fresh sandbox or a profile (scenarios.targets)."""

from __future__ import annotations

import threading
import time

from ..rows import data_of, raw_of
from ..scenarios import CountMatch, Runner, Scenario, Step
from ..store import Store
from .model import Action, Turn

CONTACT_NAME = "Explorer Bot-Tester"


class RunnerTransport:
    """Walks as scenario runs against `profile`, whose replies the receiver writes into `store`."""

    def __init__(self, store: Store, profile: dict, *, settle: float = 1.0, timeout: float = 10.0,
                 pace: float = 0.0, turn_limit: float = 30.0, detail: str = "", contact_name: str = CONTACT_NAME):
        self.store, self.profile = store, profile
        self.settle, self.timeout, self.pace, self.turn_limit = settle, timeout, pace, turn_limit
        self.detail = detail or f"profile {profile['name']}"
        self.contact_name = contact_name
        self.names = tuple(p for p in contact_name.split() if len(p) > 2) + (contact_name,)
        self._pace_lock = threading.Lock()
        self._last_walk = 0.0

    def _wait_for_pace(self) -> None:
        """A polite pace against a real workspace: at least `pace` seconds between the starts of two walks."""
        if self.pace <= 0:
            return
        with self._pace_lock:
            wait = self._last_walk + self.pace - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_walk = time.monotonic()

    def walk(self, actions: list[Action], expected: list[int | None]) -> list[Turn]:
        self._wait_for_pace()
        steps = []
        for i, action in enumerate(actions):
            count = expected[i] if i < len(expected) else None
            steps.append(Step(index=i + 1, line=0, action="send" if action.type == "send" else "postback",
                              text=action.text, title=action.title or action.payload, payload=action.payload,
                              messages=CountMatch(exactly=count) if count else None))
        scenario = Scenario(name="explore", path="<explore>", steps=steps, contact={"name": self.contact_name},
                            settle=self.settle, timeout=self.timeout)
        since = time.time()
        runner = Runner(self.store, self.profile, settle=self.settle, timeout=self.timeout, keep=False,
                        turn_limit=self.turn_limit)
        result = runner.run(scenario)
        refused = self.store.refused_since(self.profile["name"], since - 0.001, 50)
        turns = []
        for outcome in result.steps:
            if outcome.status == "skipped":
                break
            replies = [{"id": r["id"], "kind": r["kind"], "author": r["author"], "data": data_of(r), "raw": raw_of(r),
                        "created_at": r["created_at"]} for r in outcome.replies]
            cut = bool(replies) and outcome.settle is not None and outcome.settle >= self.turn_limit - self.settle
            turns.append(Turn(replies, error=outcome.error if outcome.status == "error" else "",
                              seconds=outcome.settle, first=outcome.first_reply, cut=cut,
                              rejected=[dict(r) for r in refused]))
            if outcome.status == "error":
                break
        return turns
