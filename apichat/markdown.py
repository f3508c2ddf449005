"""Text shown verbatim inside Markdown (a bot's or UChat's words in the console's messages)."""

from __future__ import annotations

_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:=")


def literal(text: str) -> str:
    """`text` escaped so Markdown shows it verbatim (UChat's messages: no italics, no LaTeX from `$`)."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in str(text))
