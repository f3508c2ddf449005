"""Retention: deleting what is older than a cutoff, in small batches that never hold the write lock long.

What each `--what` removes (docs/retention.md):

- `deliveries`: webhook deliveries received before the cutoff;
- `requests`: requests the console sent before the cutoff;
- `messages`: whole conversations whose last message (or, without one, whose start) is older than the cutoff,
  with their messages, the deliveries that became those messages and the requests that sent them;
- `load`: the same, for the conversations of load-test contacts only (their id starts with
  `LOAD_CONTACT_PREFIX`), and those contacts once they have no conversation left;
- `runs`: finished scenario runs started before the cutoff, with their steps' results.

Each batch is its own short write transaction: the ids are read first (a read never blocks the writer), then
at most `batch` rows of one table are deleted by id, the predicate checked again, so a row that changed since
is kept. A webhook waits for one batch at most. Only one process prunes at a time: a claim row in `settings`
(`CLAIM_KEY`), renewed by each batch and taken over when older than `CLAIM_SECONDS`.

A dry run counts with the same predicates, so it and the real prune agree when nothing is written meanwhile.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterable

from ..config import LOAD_CONTACT_PREFIX
from . import core
from .core import Core

WHATS = ("deliveries", "requests", "messages", "runs", "load")
TABLES = ("conversations", "messages", "deliveries", "requests", "contacts", "scenario_runs", "scenario_results")
BATCH_ROWS = 500
RUNS_PER_BATCH = 50  # a run has a result per step: 50 runs stay near BATCH_ROWS rows
PAUSE_SECONDS = 0.02  # between batches, so a waiting webhook takes the write lock first
CLAIM_KEY = "prune_claim"
CLAIM_SECONDS = 600
VACUUM_PAGES = 2000
FUTURE = 10 * 365 * 86400.0  # a cutoff past every row: "all of it"  # pages an incremental vacuum step gives back (8 MB of 4 KiB pages)

# a conversation's last activity: its newest message's time (messages_by_conversation), or its start
LAST_ACTIVITY = ("COALESCE((SELECT m.created_at FROM messages m WHERE m.conversation = c.id ORDER BY m.id DESC "
                 "LIMIT 1), c.created_at)")


class PruneBusy(RuntimeError):
    """Another process is pruning this store (its claim is fresh); the message names it."""


class Stopped(Exception):
    """Raised by an `on_batch` callback to end a prune between two batches (what was deleted stays deleted)."""


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def claim_owner() -> str:
    """Who prunes, as the claim names it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Retention(Core):
    """prune() and what it needs: the claim, the predicates, an incremental vacuum."""

    # ------------------------------------------------------------ the predicates, written once

    @staticmethod
    def _old(table: str, before: float, profile: str | None) -> tuple[str, list]:
        """WHERE of the rows of `table` pruned by time (deliveries, requests, scenario_runs), and its parameters."""
        column = {"deliveries": "received_at", "requests": "created_at", "scenario_runs": "started_at"}[table]
        where, params = f"{column} < ?", [before]
        if table == "scenario_runs":
            where += " AND status <> 'running'"
        if profile:
            where += " AND profile = ?"
            params.append(profile)
        return where, params

    def _stale_conversations(self, before: float, profile: str | None, load_only: bool) -> list[int]:
        where, params = f"{LAST_ACTIVITY} < ?", [before]
        if profile:
            where += " AND c.profile = ?"
            params.append(profile)
        if load_only:
            where += " AND substr(c.contact_id, 1, ?) = ?"
            params += [len(LOAD_CONTACT_PREFIX), LOAD_CONTACT_PREFIX]
        return [row[0] for row in self.conn.execute(f"SELECT c.id FROM conversations c WHERE {where} ORDER BY c.id",
                                                    params)]

    @staticmethod
    def _load_contacts_where(before: float, profile: str | None = None, counting: bool = False) -> tuple[str, list]:
        """Load contacts made before `before` with no conversation left (`counting`: none but stale ones)."""
        where = "substr(id, 1, ?) = ? AND created_at < ? AND NOT EXISTS (SELECT 1 FROM conversations c WHERE " \
                "c.contact_id = contacts.id"
        params: list = [len(LOAD_CONTACT_PREFIX), LOAD_CONTACT_PREFIX, before]
        if counting:
            where += f" AND NOT ({LAST_ACTIVITY} < ?" + (" AND c.profile = ?" if profile else "") + ")"
            params += [before, profile] if profile else [before]
        return where + ")", params

    # ------------------------------------------------------------ prune

    def prune(self, before: float, what: Iterable[str] = WHATS, *, profile: str | None = None,
              dry_run: bool = False, batch: int = BATCH_ROWS, pause: float = PAUSE_SECONDS,
              on_batch: Callable[[dict[str, int]], None] | None = None) -> dict[str, int]:
        """Delete (or, with `dry_run`, count) what `what` names older than `before` (a time); rows per table.

        `on_batch(counts so far)` is called after each batch; it may raise Stopped to end the prune there.
        Raises PruneBusy when another process holds a fresh claim; ValueError for an unknown `what`.
        """
        what = set(what)
        unknown = what - set(WHATS)
        if unknown:
            raise ValueError(f"unknown --what {', '.join(sorted(unknown))}: choose among {', '.join(WHATS)}")
        counts = dict.fromkeys(TABLES, 0)
        if dry_run:
            return self._count(before, what, profile, counts)
        owner = claim_owner()
        self._claim(owner)
        try:
            for table in ("deliveries", "requests"):
                if table in what:
                    self._prune_old(table, before, profile, batch, pause, owner, counts, on_batch)
            if "messages" in what or "load" in what:
                conversations = self._stale_conversations(before, profile, load_only="messages" not in what)
                self._prune_conversations(conversations, before, batch, pause, owner, counts, on_batch)
            if "load" in what:
                self._prune_load_contacts(before, batch, pause, owner, counts, on_batch)
            if "runs" in what:
                self._prune_runs(before, profile, pause, owner, counts, on_batch)
        except Stopped:
            pass
        finally:
            self._release(owner)
        return counts

    def _count(self, before: float, what: set[str], profile: str | None, counts: dict[str, int]) -> dict[str, int]:
        one = self._one
        for table in ("deliveries", "requests"):
            if table in what:
                where, params = self._old(table, before, profile)
                counts[table] = one(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
        if "messages" in what or "load" in what:
            conversations = self._stale_conversations(before, profile, load_only="messages" not in what)
            counts["conversations"] = len(conversations)
            for start in range(0, len(conversations), BATCH_ROWS):
                chunk = conversations[start:start + BATCH_ROWS]
                mine = f"SELECT {{}} FROM messages WHERE conversation IN ({_marks(chunk)}) AND created_at < ?"
                params = [*chunk, before]
                counts["messages"] += one(mine.format("COUNT(*)"), params)
                for table, link in (("deliveries", f"id IN ({mine.format('delivery')})"),
                                    ("requests", f"message_id IN ({mine.format('id')})")):
                    where, extra = link, list(params)
                    if table in what:  # not counted twice: those old enough went by time already
                        old, old_params = self._old(table, before, profile)
                        where, extra = f"{link} AND NOT ({old})", [*params, *old_params]
                    counts[table] += one(f"SELECT COUNT(*) FROM {table} WHERE {where}", extra)
        if "load" in what:  # those whose every conversation is stale lose them, then go too
            where, params = self._load_contacts_where(before, profile, counting=True)
            counts["contacts"] = one(f"SELECT COUNT(*) FROM contacts WHERE {where}", params)
        if "runs" in what:
            where, params = self._old("scenario_runs", before, profile)
            counts["scenario_runs"] = one(f"SELECT COUNT(*) FROM scenario_runs WHERE {where}", params)
            counts["scenario_results"] = one(f"SELECT COUNT(*) FROM scenario_results WHERE run IN "
                                             f"(SELECT id FROM scenario_runs WHERE {where})", params)
        return counts

    def _one(self, sql: str, params: list) -> int:
        return self.conn.execute(sql, params).fetchone()[0]

    def _renew(self, conn, owner: str) -> None:
        """In each batch's transaction: the claim renewed (a pruner that died leaves a claim that goes stale)."""
        conn.execute("UPDATE settings SET value = ? WHERE key = ?", (self._claim_value(owner), CLAIM_KEY))

    def _after_batch(self, counts, on_batch, pause: float) -> None:
        if on_batch is not None:
            on_batch(dict(counts))
        if pause:
            time.sleep(pause)

    def _prune_old(self, table, before, profile, batch, pause, owner, counts, on_batch) -> None:
        where, params = self._old(table, before, profile)
        while True:
            ids = [row[0] for row in self.conn.execute(
                f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT ?", (*params, batch))]
            if not ids:
                return
            with self.write() as conn:
                counts[table] += conn.execute(f"DELETE FROM {table} WHERE id IN ({_marks(ids)}) AND {where}",
                                              (*ids, *params)).rowcount
                self._renew(conn, owner)
            self._after_batch(counts, on_batch, pause)

    def _prune_conversations(self, conversations, before, batch, pause, owner, counts, on_batch) -> None:
        for start in range(0, len(conversations), batch):
            chunk = conversations[start:start + batch]
            while True:
                rows = self.conn.execute(
                    f"SELECT id, delivery FROM messages WHERE conversation IN ({_marks(chunk)}) AND created_at < ? "
                    "ORDER BY id LIMIT ?", (*chunk, before, batch)).fetchall()
                if not rows:
                    break
                ids = [row[0] for row in rows]
                deliveries = [row[1] for row in rows if row[1] is not None]
                with self.write() as conn:
                    if deliveries:
                        counts["deliveries"] += conn.execute(
                            f"DELETE FROM deliveries WHERE id IN ({_marks(deliveries)})", deliveries).rowcount
                    counts["requests"] += conn.execute(
                        f"DELETE FROM requests WHERE message_id IN ({_marks(ids)})", ids).rowcount
                    counts["messages"] += conn.execute(
                        f"DELETE FROM messages WHERE id IN ({_marks(ids)}) AND created_at < ?", (*ids, before)).rowcount
                    self._renew(conn, owner)
                self._after_batch(counts, on_batch, pause)
            with self.write() as conn:  # a conversation that received a message meanwhile is kept
                counts["conversations"] += conn.execute(
                    f"DELETE FROM conversations WHERE id IN (SELECT c.id FROM conversations c WHERE c.id IN "
                    f"({_marks(chunk)}) AND {LAST_ACTIVITY} < ?)", (*chunk, before)).rowcount
                self._renew(conn, owner)
            self._after_batch(counts, on_batch, pause)

    def _prune_load_contacts(self, before, batch, pause, owner, counts, on_batch) -> None:
        where, params = self._load_contacts_where(before)
        while True:
            ids = [row[0] for row in self.conn.execute(f"SELECT id FROM contacts WHERE {where} ORDER BY id LIMIT ?",
                                                       (*params, batch))]
            if not ids:
                return
            with self.write() as conn:
                counts["contacts"] += conn.execute(f"DELETE FROM contacts WHERE id IN ({_marks(ids)}) AND {where}",
                                                   (*ids, *params)).rowcount
                self._renew(conn, owner)
            self._after_batch(counts, on_batch, pause)

    def _prune_runs(self, before, profile, pause, owner, counts, on_batch) -> None:
        where, params = self._old("scenario_runs", before, profile)
        while True:
            ids = [row[0] for row in self.conn.execute(
                f"SELECT id FROM scenario_runs WHERE {where} ORDER BY id LIMIT ?", (*params, RUNS_PER_BATCH))]
            if not ids:
                return
            with self.write() as conn:
                counts["scenario_results"] += conn.execute(
                    f"DELETE FROM scenario_results WHERE run IN ({_marks(ids)})", ids).rowcount
                counts["scenario_runs"] += conn.execute(
                    f"DELETE FROM scenario_runs WHERE id IN ({_marks(ids)})", ids).rowcount
                self._renew(conn, owner)
            self._after_batch(counts, on_batch, pause)

    # ------------------------------------------------------------ by hand: the chat's "Delete" and "Clear"

    def delete_conversation(self, conversation: int) -> dict[str, int]:
        """Delete one conversation as a prune would (its messages, the deliveries they were made from, the
        requests that sent them), in the same short batches; rows per table. No claim: rows go by id."""
        counts = dict.fromkeys(TABLES, 0)
        self._prune_conversations([conversation], core.now() + FUTURE, BATCH_ROWS, PAUSE_SECONDS, claim_owner(),
                                  counts, None)
        return counts

    def clear_profile(self, profile: str) -> dict[str, int]:
        """Delete everything the store holds for `profile` but the profile itself: its conversations, deliveries,
        requests and scenario runs (PruneBusy while another process prunes); rows per table."""
        return self.prune(core.now() + FUTURE, ["deliveries", "requests", "messages", "runs"], profile=profile)

    # ------------------------------------------------------------ one pruner at a time

    @staticmethod
    def _claim_value(owner: str) -> str:
        return json.dumps({"owner": owner, "at": core.now()})

    def prune_claim(self) -> dict | None:
        """The claim of the process pruning now ({"owner", "at"}), or None; a claim older than CLAIM_SECONDS
        is stale (its process died) and is not reported."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (CLAIM_KEY,)).fetchone()
        raw = row[0] if row else None
        try:
            claim = json.loads(raw) if raw else None
        except ValueError:
            return None
        if not isinstance(claim, dict) or core.now() - float(claim.get("at", 0)) > CLAIM_SECONDS:
            return None
        return claim

    def _claim(self, owner: str) -> None:
        with self.write() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (CLAIM_KEY,)).fetchone()
            if row is not None:
                try:
                    held = json.loads(row[0])
                    fresh = core.now() - float(held["at"]) <= CLAIM_SECONDS
                except (ValueError, KeyError, TypeError):
                    held, fresh = {}, False
                if fresh and held.get("owner") != owner:
                    raise PruneBusy(f"another process is pruning this store ({held.get('owner')}, since "
                                    f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(float(held['at'])))}); "
                                    "try again when it is done")
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                         "value = excluded.value", (CLAIM_KEY, self._claim_value(owner)))

    def _release(self, owner: str) -> None:
        with self.write() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (CLAIM_KEY,)).fetchone()
            if row is not None and json.loads(row[0]).get("owner") == owner:
                conn.execute("DELETE FROM settings WHERE key = ?", (CLAIM_KEY,))

    # ------------------------------------------------------------ space

    def give_space_back(self, full: bool = False) -> None:
        """Return freed space to the file system where the backend keeps it (SQLite; PostgreSQL's autovacuum
        reuses it). Base: nothing to do."""

    # ------------------------------------------------------------ what the store holds

    def holdings(self, sizes: bool = False) -> list[dict]:
        """Per table: rows, the time of its oldest row (None when empty) and, with `sizes`, its bytes with its
        indexes (and on SQLite its search index) where the backend tells, else None. The oldest row is the
        first by id (ids grow with time): one look-up, however large the table."""
        measured = self._table_bytes() if sizes else {}
        held = []
        for table, column in HELD:
            rows = self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            key = "key" if table == "judge_verdicts" else "id"
            oldest = self.conn.execute(f"SELECT MIN({column}) FROM {table}" if key == "key" else
                                       f"SELECT {column} FROM {table} ORDER BY id LIMIT 1").fetchone()
            held.append({"table": table, "rows": rows, "bytes": measured.get(table),
                         "oldest": oldest[0] if oldest else None})
        return held

    def _table_bytes(self) -> dict[str, int]:
        """Bytes per table, its indexes included, where the backend can tell (base: it cannot)."""
        return {}


# the tables `holdings` reports, with the column that dates their rows
HELD = (("conversations", "created_at"), ("messages", "created_at"), ("deliveries", "received_at"),
        ("requests", "created_at"), ("contacts", "created_at"), ("scenario_runs", "started_at"),
        ("scenario_results", "created_at"), ("judge_verdicts", "created_at"))
