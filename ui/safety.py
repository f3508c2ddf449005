"""What the console says when it cannot go on: its store is gone.

Plain functions (no Streamlit): they return the Markdown a page shows; ui/context.py shows it and stops the page.
"""

from __future__ import annotations

import re

from apichat.store import StoreUnavailable

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$:-])")


def md(text: object) -> str:
    """`text` shown literally in Streamlit Markdown (a path's `_` must not start italics)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def code(text: object) -> str:
    """`text` as inline code (no escapes there: a backslash would show)."""
    return "`" + str(text).replace("`", "'") + "`"


def store_problem(exc: StoreUnavailable) -> str:
    """The one message every page shows when the store is gone or unreadable."""
    return (f"**The store at {code(exc.path)} is missing or unreadable:** {md(exc.why)}; restart the "
            "console or point `APICHAT_DB` at a store.")
