"""Sends the bot's replies to a workspace's webhook: serialized as PHP would, signed, on time, or broken on purpose.

A few worker threads per sandbox app take replies from a schedule ordered by due time, so a slow
or late reply never holds back the others, and hundreds of contacts are answered in parallel as UChat
would. The replies of one conversation keep their order: only its next reply is scheduled, and each one
schedules the following one when it has been posted (a `late` reply is scheduled on its own, so it still
arrives after the ones that follow it).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import requests

from apichat import signing

from .bot import FAULTS, Reply
from .state import flow_ns

log = logging.getLogger("sandbox")
PER_MESSAGE_FAULTS = ("drop", "bad_signature", "duplicate", "late")


def php_json(value) -> bytes:
    """`value` as PHP's json_encode writes it by default: `/` as `\\/`, non-ASCII as \\uXXXX, no spaces."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    # "/" only ever occurs inside JSON strings, so escaping every one of them is exact.
    return text.replace("/", "\\/").encode("ascii")


class Faults:
    """Fault switches that apply to the next N replies, then turn themselves off."""

    def __init__(self):
        self._lock = threading.Lock()
        self._active: dict[str, dict] = {}

    def set(self, fault: str, count: int = 1, delay: float = 5.0) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._active[fault] = {"count": int(count), "delay": float(delay)}

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [{"fault": name, **params} for name, params in self._active.items()]

    def _take(self, name: str) -> dict | None:
        params = self._active.get(name)
        if params is None:
            return None
        params["count"] -= 1
        if params["count"] <= 0:
            del self._active[name]
        return dict(params)

    def take(self, name: str) -> bool:
        """Whether fault `name` is on, using up one of its count (`hallucinate`: one per answer about the shop)."""
        with self._lock:
            return self._take(name) is not None

    def take_batch(self, size: int) -> bool:
        """Whether an answer of `size` messages goes out in reverse (only answers of 2+ count)."""
        with self._lock:
            return size > 1 and self._take("out_of_order") is not None

    def take_message(self) -> dict[str, dict]:
        """The faults that apply to the next message; a dropped message uses up no other fault."""
        with self._lock:
            dropped = self._take("drop")
            if dropped is not None:
                return {"drop": dropped}
            return {name: params for name in PER_MESSAGE_FAULTS[1:]
                    if (params := self._take(name)) is not None}


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    workspace: str = field(compare=False)
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    headers: dict = field(compare=False)
    fault: str = field(compare=False, default="")
    copies: int = field(compare=False, default=1)
    conversation: tuple = field(compare=False, default=())  # (workspace, contact, conv_id)
    then: _Job | None = field(compare=False, default=None)  # the conversation's next reply, due once this one is posted


class Deliverer:
    """The schedule of replies and the worker thread that posts them."""

    def __init__(self, faults: Faults, *, timeout: float = 5.0, session: requests.Session | None = None,
                 keep: int = 1000, workers: int = 8):
        self.faults, self.timeout = faults, timeout
        self.session = session or requests.Session()
        self._heap: list[_Job] = []
        self._unsent = 0
        self._tails: dict[tuple, _Job] = {}  # each conversation's last reply not yet posted
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._sent: deque[dict] = deque(maxlen=keep)
        self._sent_count = itertools.count()
        self._threads = [threading.Thread(target=self._run, name=f"sandbox-delivery-{n}", daemon=True)
                         for n in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    def submit(self, workspace_id: str, hook: dict, replies: list[Reply], *, bypass_faults: bool = False) -> None:
        """Schedule `replies` (one answer) to the workspace's webhook, applying the faults that are on."""
        start = time.monotonic()
        offsets, elapsed = [], 0.0
        for reply in replies:
            elapsed += max(0.0, reply.delay)
            offsets.append(elapsed)
        bodies = [reply.body for reply in replies]
        reverse = not bypass_faults and self.faults.take_batch(len(bodies))
        if reverse:
            bodies.reverse()  # same moments, messages swapped: the receiver sees them out of order
        key = hook["webhook_verification_key"]
        late: list[_Job] = []
        chain: list[_Job] = []
        for offset, body in zip(offsets, bodies, strict=True):
            raw = php_json(body)
            applied = {} if bypass_faults else self.faults.take_message()
            labels = (["out_of_order"] if reverse else []) + list(applied)
            signing_key = "wrong-" + key if "bad_signature" in applied else key
            headers = {"Content-Type": "application/json", signing.HEADER: signing.sign(raw, signing_key),
                       "x-flow-ns": flow_ns(workspace_id), "x-action": "messages",
                       "User-Agent": "apichat-sandbox"}
            due = start + offset + (applied["late"]["delay"] if "late" in applied else 0.0)
            job = _Job(due, next(self._seq), workspace_id, hook["webhook_url"], raw, headers, "+".join(labels),
                       copies=2 if "duplicate" in applied else 1,
                       conversation=(workspace_id, str(body.get("sender_id")), str(body.get("conv_id"))))
            if "drop" in applied:
                self._record(job, None, "never sent: the drop fault was on")
            elif "late" in applied:
                late.append(job)  # on its own: it arrives after the replies that follow it
            else:
                if chain:
                    chain[-1].then = job  # scheduled when the reply before it has been posted
                chain.append(job)
        with self._cond:
            if chain:
                waiting = self._tails.get(chain[0].conversation)
                if waiting is not None:
                    waiting.then = chain[0]  # after the conversation's replies still to be posted
                else:
                    heapq.heappush(self._heap, chain[0])
                self._tails[chain[0].conversation] = chain[-1]
            for job in late:
                heapq.heappush(self._heap, job)
            self._unsent += len(chain) + len(late)
            self._cond.notify()

    def pending(self) -> int:
        """Replies scheduled and not yet posted (those waiting behind an earlier reply of their answer too)."""
        with self._cond:
            return self._unsent

    def sent(self, since: int = 0) -> list[dict]:
        return [dict(entry) for entry in list(self._sent) if entry["index"] >= since]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._tails.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)

    def _record(self, job: _Job, status: int | None, error: str = "", duration_ms: float | None = None) -> None:
        self._sent.append({"index": next(self._sent_count), "time": time.time(), "workspace": job.workspace,
                           "url": job.url, "status": status, "body": job.body.decode("ascii"),
                           "fault": job.fault or None, "error": error, "duration_ms": duration_ms})

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0].due > time.monotonic()):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                job = heapq.heappop(self._heap)
            for _ in range(job.copies):
                self._post(job)
            with self._cond:
                self._unsent -= 1
                if job.then is not None:
                    heapq.heappush(self._heap, job.then)
                    self._cond.notify()
                elif self._tails.get(job.conversation) is job:
                    del self._tails[job.conversation]

    def _post(self, job: _Job) -> None:
        started = time.monotonic()
        try:
            answer = self.session.post(job.url, data=job.body, headers=job.headers, timeout=self.timeout)
        except requests.RequestException as exc:
            self._record(job, None, f"{type(exc).__name__}: {exc}", (time.monotonic() - started) * 1000)
            log.warning("reply to %s failed: %s", job.url, exc)
            return
        except Exception as exc:  # the worker must outlive any single bad delivery
            self._record(job, None, f"{type(exc).__name__}: {exc}")
            log.exception("reply to %s crashed", job.url)
            return
        error = "" if answer.ok else answer.text[:300]
        self._record(job, answer.status_code, error, (time.monotonic() - started) * 1000)
        log.info("reply -> %s %s%s", job.url, answer.status_code, f" [{job.fault}]" if job.fault else "")
