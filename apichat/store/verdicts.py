"""A judge's verdicts (apichat/ai/judge.py): kept so a re-run of unchanged replies asks the model nothing."""

from __future__ import annotations

import hashlib
import json

from . import core
from .core import TEXT_CAP_CHARS, Core, storable


def verdict_key(model: str, criterion: str, reply: str) -> str:
    """The cache key: a hash of the three, so a long reply makes no long index entry."""
    return hashlib.sha256(json.dumps([model, criterion, reply], ensure_ascii=False).encode("utf-8",
                                                                                          "surrogatepass")).hexdigest()


class Verdicts(Core):
    """The table judge_verdicts."""

    def get_verdict(self, model: str, criterion: str, reply: str) -> dict | None:
        """{passed, reason} of the verdict on `reply` against `criterion` by `model`, or None."""
        row = self._row("SELECT passed, reason FROM judge_verdicts WHERE key = ?",
                        (verdict_key(model, criterion, reply),))
        return None if row is None else {"passed": bool(row["passed"]), "reason": row["reason"]}

    def save_verdict(self, model: str, criterion: str, reply: str, passed: bool, reason: str) -> None:
        """Keep a verdict (the first one kept for a key stays)."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO judge_verdicts (key, model, criterion, reply, passed, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (verdict_key(model, criterion, reply), storable(model), storable(criterion[:TEXT_CAP_CHARS]),
                 storable(reply[:TEXT_CAP_CHARS]), int(bool(passed)), storable(reason[:TEXT_CAP_CHARS]), core.now()))

    def count_verdicts(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM judge_verdicts").fetchone()[0]
