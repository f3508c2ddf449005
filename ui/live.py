"""How often the chat looks for replies: fast while one is expected, at APICHAT_POLL_SECONDS when idle.

Replies come right after the contact sends, so the poll runs every FAST_SECONDS for the first seconds
after a send, while "waiting for the bot" shows (up to WAIT_CAP_SECONDS, so a bot that never answers
does not keep the tab busy), and for a moment after each reply (a burst has more on its way).
Idle, it costs what it always did.
"""

from __future__ import annotations

FAST_SECONDS = 0.25
AFTER_SEND_SECONDS = 3.0
AFTER_REPLY_SECONDS = 2.0
WAIT_CAP_SECONDS = 30.0


def poll_interval(rows: list[dict], now: float, idle: float) -> float:
    """The poll interval for a thread whose latest rows (oldest first) are `rows`, at time `now`."""
    last_out = next((r for r in reversed(rows) if r["direction"] == "out"), None)
    if last_out is None:
        return idle
    since_send = now - last_out["created_at"]
    replies = [r for r in rows if r["direction"] == "in" and r["id"] > last_out["id"]]
    expected = (since_send < AFTER_SEND_SECONDS
                or (not replies and last_out["status"] in ("sending", "sent") and since_send < WAIT_CAP_SECONDS)
                or (replies and now - replies[-1]["created_at"] < AFTER_REPLY_SECONDS))
    return min(FAST_SECONDS, idle) if expected else idle
