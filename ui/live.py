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


def wait_for_reply(store, conversation: int, after_id: int, pace: float) -> bool:
    """While a reply is expected (the fast pace) on a store that is told of commits (PostgreSQL's NOTIFY,
    team mode), wait up to most of one fast interval for a message after `after_id`, so a reply committed
    on any host is drawn at once rather than at the next tick. The script thread is held meanwhile, so never
    longer than that (a click waits at most as long as for a poll), and never on SQLite, where waiting
    would only be polling. True when something new is there."""
    if not getattr(store, "shared", False) or pace > FAST_SECONDS:
        return False
    return store.wait_for_messages(conversation, after_id, 0.8 * pace)


def set_pace(seconds: float) -> bool:
    """Change how often the fragment running now reruns, without a full run of the page.

    `st.fragment(run_every=...)` is read only where the fragment is defined (a full run), and a full run
    redraws the thread and closes an open dialog. Streamlit's browser side replaces a fragment's timer
    whenever it receives a new AutoRerun message for it, so this sends one, as the definition would.
    Uses Streamlit internals (pinned at 1.67.*): returns False when they are not there, and the caller
    falls back to a full run.
    """
    try:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState, get_script_run_ctx
        ctx, fragment_id = get_script_run_ctx(), ThreadState.get().fragment_id
    except (ImportError, AttributeError):
        return False
    if ctx is None or not fragment_id:
        return False
    msg = ForwardMsg()
    msg.auto_rerun.interval = seconds
    msg.auto_rerun.fragment_id = fragment_id
    ctx.enqueue(msg)
    return True
