"""Inert HTML for untrusted text: everything the bot sends is escaped before it reaches the page."""

from __future__ import annotations

import html

from apichat.payloads import safe_url


def esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def bubble(text: str, css: str = "acc-text") -> str:
    """Text as typed, line breaks kept, direction from its script (right-to-left works)."""
    return f'<div class="{css}" dir="auto">{esc(text)}</div>'


def link(url: str, label: str, css: str = "acc-link", download: bool = False) -> str:
    """A link when `url` is safe to follow; otherwise the label, struck, with why."""
    href = safe_url(url)
    if not href:
        return (f'<span class="acc-blocked" title="blocked: not an http(s), tel or mailto link">'
                f'{esc(label)} <small>(blocked link: {esc(url)[:60]})</small></span>')
    target = "" if href.startswith(("tel:", "mailto:")) else ' target="_blank" rel="noopener noreferrer"'
    extra = " download" if download else ""
    return f'<a class="{css}" href="{esc(href)}"{target}{extra}>{esc(label)}</a>'


CSS = """
<style>
/* Streamlit draws captions at 60 % opacity: 3.8:1 on white, under WCAG AA's 4.5:1. The same grey, solid. */
[data-testid="stCaptionContainer"] { opacity: 1 !important; color: #5f5d5a; }
/* Streamlit's scrolling main area takes focus (for arrow-key scrolling) without showing it */
#stMain:focus-visible { outline: 2px solid #2563eb !important; outline-offset: -2px; }
.acc-text { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.45; }
.acc-meta { color: #57534e; font-size: 0.78rem; }
.acc-lint { color: #92400e; font-size: 0.78rem; } .acc-lint summary { cursor: pointer; }
.acc-lint ul { margin: 0.2rem 0 0 1rem; padding: 0; }
.acc-meta .acc-failed { color: #b91c1c; font-weight: 600; }
.acc-meta .acc-sending { color: #b45309; }
.acc-note { background: #fff8db; border: 1px dashed #d4a72c; border-radius: 8px; padding: 0.5rem 0.75rem; }
.acc-note-label { font-size: 0.72rem; font-weight: 700; color: #8a6500; text-transform: uppercase;
  letter-spacing: 0.04em; margin-bottom: 0.2rem; }
.acc-unsupported { border: 1px solid #f3c4c4; background: #fff5f5; border-radius: 8px; padding: 0.4rem 0.6rem; }
.acc-postback { display: inline-block; border: 1px solid #2563eb; color: #2563eb; border-radius: 999px;
  padding: 0.1rem 0.7rem; font-size: 0.9rem; }
.acc-link, .acc-btnlink { display: inline-block; border: 1px solid #d1d5db; border-radius: 8px; padding: 0.25rem 0.75rem;
  text-decoration: none; margin: 0.15rem 0.25rem 0.15rem 0; color: #1d4ed8; }
.acc-blocked { color: #4b5563; text-decoration: line-through; }
.acc-file { display: inline-flex; gap: 0.5rem; align-items: center; border: 1px solid #d1d5db; border-radius: 8px;
  padding: 0.4rem 0.75rem; }
.acc-card-img { width: 100%; aspect-ratio: 1.91 / 1; object-fit: cover; border-radius: 6px; background: #f3f4f6; }
.acc-card-img.square { aspect-ratio: 1 / 1; }
.acc-card-title { font-weight: 600; margin-top: 0.35rem; }
.acc-card-subtitle { color: #4b5563; font-size: 0.88rem; }
.acc-waiting { color: #6b7280; font-style: italic; }
div[class*="st-key-cards-"] { flex-wrap: nowrap !important; overflow-x: auto; padding-bottom: 0.4rem;
  scroll-snap-type: x proximity; }
div[class*="st-key-cards-"] > div { flex: 0 0 240px !important; width: 240px !important; scroll-snap-align: start; }
div[class*="st-key-cards-sq-"] > div { flex: 0 0 210px !important; width: 210px !important; }
</style>
"""
