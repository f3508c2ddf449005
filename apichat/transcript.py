"""A conversation as files a person can keep: JSON with raw payloads, readable Markdown, and one HTML file
anyone can open (a conversation, a scenario run or a monitor run), drawn as the chat draws it.

The HTML is self-contained and inert: inline CSS, no script, a Content-Security-Policy that allows nothing
but inline styles and inline images, every text of the bot escaped, links only for http(s), tel and mailto.
Media are links; small images the console holds itself (uploads in the media folder, data: URLs) are inline.

    python -m apichat.transcript CONVERSATION_ID | --run SCENARIO_RUN | --monitor-run MONITOR_RUN [-o FILE]
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from .config import SettingsError, load_settings
from .media import guess_type, media_path
from .payloads import safe_url
from .rows import data_of, raw_of
from .store import StoreUnavailable, open_store

INLINE_IMAGE_BYTES = 64 * 1024  # an image up to this size is put in the file; a bigger one is a link


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def to_json(conversation: dict, contact: dict | None, messages: list[dict]) -> str:
    """Every message with its direction, time, state and the raw payload as sent or received."""
    doc = {
        "profile": conversation["profile"],
        "conversation_id": conversation["conv_id"],
        "contact": contact or {"id": conversation["contact_id"]},
        "messages": [{
            "id": m["id"], "time": _time(m["created_at"]), "direction": m["direction"], "author": m["author"],
            "kind": m["kind"], "status": m["status"], "error": m["error"] or None, "payload": raw_of(m),
        } for m in messages],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def describe(m: dict) -> str:
    """One message as a line of plain text."""
    data = data_of(m)
    parts = [m["text"]] if m["text"] else []
    if data.get("postback"):
        postback = data["postback"]
        parts = [f"[clicked: {postback.get('title', '')} → payload {postback.get('payload', '')}]"]
    for b in data.get("buttons") or []:
        parts.append(f"[{b.get('title', '')}]")
    for c in data.get("cards") or []:
        buttons = " ".join(f"[{b.get('title', '')}]" for b in c.get("buttons") or [])
        parts.append(f"card: {c.get('title', '')} — {c.get('subtitle', '')} {buttons}".strip())
    for media in data.get("media") or []:
        parts.append(f"{media.get('kind')}: {media.get('url')}")
    if data.get("private"):
        parts.insert(0, "(private note)")
    return " / ".join(p for p in parts if p) or f"({m['kind']})"


def to_markdown(conversation: dict, contact: dict | None, messages: list[dict]) -> str:
    name = (contact or {}).get("name") or conversation["contact_id"]
    lines = [f"# Conversation {conversation['conv_id']} with {name}", "",
             f"Profile `{conversation['profile']}`, contact `{conversation['contact_id']}`.", ""]
    for m in messages:
        who = {"contact": name, "bot": "Bot", "agent": "Agent"}.get(m["author"], m["author"])
        state = f" _({m['status']}: {m['error']})_" if m["status"] == "failed" else ""
        text = html.escape(describe(m), quote=False).replace("\n", "\n  ")  # inert, and inside its list item
        lines.append(f"- **{who}** · {_time(m['created_at'])}: {text}{state}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML


def _esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937; background: #f9fafb;
  margin: 0; padding: 1.5rem; }
main { max-width: 46rem; margin: 0 auto; }
h1 { font-size: 1.3rem; margin: 0 0 0.25rem; } h2 { font-size: 1.1rem; margin: 2rem 0 0.25rem; }
.meta, .time { color: #57534e; font-size: 0.8rem; }
.run { display: inline-block; border-radius: 999px; padding: 0 0.6rem; font-weight: 600; font-size: 0.85rem; }
.run.passed { background: #dcfce7; color: #166534; } .run.failed, .run.error { background: #fee2e2; color: #991b1b; }
.msg { display: flex; margin: 0.6rem 0; } .msg.out { justify-content: flex-end; }
.bubble { max-width: 80%; border-radius: 14px; padding: 0.5rem 0.8rem; background: #fff; border: 1px solid #e5e7eb; }
.out .bubble { background: #2563eb; color: #fff; border-color: #2563eb; }
.out .bubble .time { color: #dbeafe; } .out .bubble a { color: #fff; }
.who { font-size: 0.75rem; font-weight: 700; color: #6b7280; margin-bottom: 0.15rem; } .out .who { color: #dbeafe; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.note { background: #fff8db; border: 1px dashed #d4a72c; }
.note .who { color: #8a6500; text-transform: uppercase; letter-spacing: 0.04em; }
.agent .bubble { border-color: #a78bfa; }
.buttons { margin-top: 0.35rem; display: flex; flex-wrap: wrap; gap: 0.3rem; }
.btn { display: inline-block; border: 1px solid #2563eb; color: #2563eb; border-radius: 999px; padding: 0.05rem 0.7rem;
  font-size: 0.88rem; text-decoration: none; background: #fff; }
.blocked { color: #4b5563; text-decoration: line-through; }
.cards { display: flex; gap: 0.5rem; overflow-x: auto; margin-top: 0.35rem; }
.card { flex: 0 0 13rem; border: 1px solid #e5e7eb; border-radius: 10px; padding: 0.5rem; background: #fff; }
.card img, .image img { max-width: 100%; border-radius: 6px; }
.card-title { font-weight: 600; } .card-subtitle { color: #4b5563; font-size: 0.88rem; }
.media { margin-top: 0.3rem; }
.failed-send { color: #fecaca; font-weight: 600; }
.verdict { font-size: 0.8rem; margin-top: 0.3rem; padding: 0.3rem 0.5rem; border-radius: 6px; }
.verdict.passed { background: #dcfce7; color: #166534; } .verdict.failed, .verdict.error { background: #fee2e2;
  color: #991b1b; }
.verdict table { border-collapse: collapse; margin-top: 0.2rem; } .verdict td, .verdict th { padding: 0.1rem 0.4rem;
  text-align: left; vertical-align: top; border-top: 1px solid rgba(0,0,0,0.08); }
"""
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass
class Section:
    """One conversation to draw, and (for a run) what each step judged."""

    title: str
    conversation: dict
    contact: dict | None
    messages: list[dict]
    results: list[dict] = field(default_factory=list)  # Store.scenario_results rows
    status: str = ""  # the run's, when it is one
    note: str = ""  # one line under the title (e.g. the run's first problem)


def _link(url: str, label: str, css: str = "btn") -> str:
    href = safe_url(url)
    if not href:
        return f'<span class="{css} blocked" title="blocked: not an http(s), tel or mailto link">{_esc(label)}</span>'
    return f'<a class="{css}" href="{_esc(href)}" rel="noopener noreferrer">{_esc(label)}</a>'


def media_image(media_dir: str | None) -> Callable[[str], bytes | None]:
    """The bytes of an image the console holds itself: a data: URL's, or an upload in `media_dir` (the receiver's
    /media/<token>/<name>); None for anything else (a remote image stays a link: nothing is fetched)."""
    def image(url: str) -> bytes | None:
        if url.startswith("data:image/") and ";base64," in url[:80]:
            try:
                return base64.b64decode(url.split(",", 1)[1], validate=True)
            except ValueError:
                return None
        parts = urlsplit(url).path.split("/")
        if media_dir and len(parts) == 4 and parts[1] == "media":
            path = media_path(media_dir, parts[2], parts[3])
            if path and Path(path).stat().st_size <= INLINE_IMAGE_BYTES:
                return Path(path).read_bytes()
        return None
    return image


def _inline(url: str, image, alt: str) -> str:
    data = image(url) if image else None
    kind = guess_type(urlsplit(url).path) if not url.startswith("data:") else url[5:].split(";", 1)[0]
    if data is None or len(data) > INLINE_IMAGE_BYTES or kind not in ("image/png", "image/jpeg", "image/gif",
                                                                        "image/webp"):
        return ""
    return f'<img src="data:{kind};base64,{base64.b64encode(data).decode()}" alt="{_esc(alt)}">'


def _buttons(items: list[dict]) -> str:
    if not items:
        return ""
    out = []
    for b in items:
        title = b.get("title") or b.get("payload") or "(untitled)"
        if b.get("kind") == "postback":
            out.append(f'<span class="btn" title="postback payload: {_esc(b.get("payload", ""))}">{_esc(title)}</span>')
        else:
            out.append(_link(b.get("url", ""), ("📞 " if b.get("kind") == "call" else "🔗 ") + title))
    return f'<div class="buttons">{"".join(out)}</div>'


def _media(items: list[dict], image) -> str:
    out = []
    for m in items:
        url, kind = m.get("url", ""), m.get("kind", "file")
        name = urlsplit(url).path.rsplit("/", 1)[-1] or kind
        shown = _inline(url, image, f"{kind} {name}") if kind == "image" else ""
        if url.startswith("data:"):
            label = _link("", f"{kind} (inline data)") if not shown else ""
        else:
            label = _link(url, f"{ {'image': '🖼', 'audio': '🔊', 'video': '🎬'}.get(kind, '📎')} {kind}: {name}")
        out.append(f'<div class="media image">{shown}{label}</div>')
    return "".join(out)


def _cards(items: list[dict], image) -> str:
    out = []
    for card in items:
        picture = _inline(card.get("image_url") or "", image, card.get("title") or "")
        if not picture and card.get("image_url"):
            picture = _link(card["image_url"], "🖼 image")
        parts = [picture, f'<div class="card-title" dir="auto">{_esc(card.get("title"))}</div>']
        if card.get("subtitle"):
            parts.append(f'<div class="card-subtitle" dir="auto">{_esc(card.get("subtitle"))}</div>')
        if card.get("item_url"):
            parts.append(_link(card["item_url"], "Open ↗"))
        parts.append(_buttons(card.get("buttons") or []))
        out.append(f'<div class="card">{"".join(parts)}</div>')
    return f'<div class="cards">{"".join(out)}</div>'


def _verdict(result: dict) -> str:
    """What a step judged, beside the reply it judged: passed, or each failure with expected against arrived."""
    detail = data_of({"data": result.get("detail")})
    mark = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–"}.get(result["status"], "?")
    lines = [f"{mark} step {result['position']}: {_esc(result['label'])} — {_esc(result['status'])}"]
    if result.get("first_reply_ms") is not None:
        lines[0] += f" · first reply {result['first_reply_ms'] / 1000:.2f} s"
    if detail.get("error"):
        lines.append(_esc(detail["error"]))
    for failure in detail.get("failures") or []:
        rows = "".join(f"<tr><td>{_esc(w)}</td><td>{_esc(e)}</td><td>{_esc(a)}</td></tr>"
                       for w, e, a in failure.get("rows") or [])
        lines.append(f"line {_esc(failure.get('line'))}: {_esc(failure.get('problem'))}" +
                     (f"<table><tr><th></th><th>expected</th><th>arrived</th></tr>{rows}</table>" if rows else ""))
    return f'<div class="verdict {_esc(result["status"])}">{"<br>".join(lines)}</div>'


def _message(m: dict, name: str, reply_to: dict | None, image, verdict: str) -> str:
    data = data_of(m)
    who = {"contact": name, "bot": "Bot", "agent": "Agent"}.get(m["author"], m["author"])
    private = bool(data.get("private"))
    if private:
        who = "Private note · not seen by the contact"
    parts = [f'<div class="who">{_esc(who)}</div>']
    if data.get("postback"):
        parts.append(f'<span class="btn">{_esc(data["postback"].get("title"))}</span>')
    elif data.get("text"):
        parts.append(f'<div class="text" dir="auto">{_esc(data["text"])}</div>')
    elif m.get("text"):
        parts.append(f'<div class="text" dir="auto">{_esc(m["text"])}</div>')
    if not private:
        if data.get("cards"):
            parts.append(_cards(data["cards"], image))
        parts.append(_buttons((data.get("buttons") or []) + (data.get("quick_replies") or [])))
        parts.append(_media(data.get("media") or [], image))
    when = [_time(m["created_at"])[11:19]]
    if m["direction"] == "in" and reply_to is not None:
        when.append(f"+{m['created_at'] - reply_to['created_at']:.2f} s")
    if m["status"] == "failed":
        when.append(f'<span class="failed-send">failed: {_esc(m["error"])}</span>')
    when.append(_esc(m["kind"]))
    parts.append(f'<div class="time">{" · ".join(when)}</div>')
    parts.append(verdict)
    side = "out" if m["direction"] == "out" else "in"
    extra = " note" if private else ""
    return (f'<div class="msg {side} {_esc(m["author"])}"><div class="bubble{extra}">{"".join(parts)}</div></div>')


def _section(section: Section, image, level: int = 2) -> str:
    name = (section.contact or {}).get("name") or section.conversation["contact_id"]
    by_id = {m["id"]: m for m in section.messages}
    verdicts: dict[int, list[str]] = {}
    for result in section.results:  # under the last reply of the step, or under what was sent when none came
        detail = data_of({"data": result.get("detail")})
        replies = [i for i in detail.get("reply_ids") or [] if i in by_id]
        anchor = replies[-1] if replies else detail.get("sent_id")
        if anchor in by_id:
            verdicts.setdefault(anchor, []).append(_verdict(result))
    status = f' <span class="run {_esc(section.status)}">{_esc(section.status)}</span>' if section.status else ""
    head = [f"<h{level}>{_esc(section.title)}{status}</h{level}>",
            f'<div class="meta">profile {_esc(section.conversation["profile"])} · contact '
            f'{_esc(section.conversation["contact_id"])} · conversation_id {_esc(section.conversation["conv_id"])}'
            + (f" · {_time(section.messages[0]['created_at'])}" if section.messages else "") + "</div>"]
    if section.note:
        head.append(f'<div class="meta">{_esc(section.note)}</div>')
    body = [_message(m, name, by_id.get(m.get("reply_to")), image, "".join(verdicts.get(m["id"], [])))
            for m in section.messages]
    return "\n".join(head + body)


def to_html(title: str, sections: list[Section], media_dir: str | None = None, note: str = "") -> str:
    """One self-contained, script-free HTML page of `sections`."""
    image = media_image(media_dir)
    alone = len(sections) == 1 and sections[0].title == title  # its own heading is the page's
    parts = "\n".join(_section(s, image, 1 if alone else 2) for s in sections)
    lead = ("" if alone else f"<h1>{_esc(title)}</h1>") + (f'<div class="meta">{_esc(note)}</div>' if note else "")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{CSS}</style></head>\n<body><main>{lead}\n"
            f"{parts}\n<p class=\"meta\">Exported by the API Chat console, {_time(datetime.now(timezone.utc).timestamp())}"
            "</p></main></body></html>\n")


def file_stem(name: str) -> str:
    """`name` as a part of a file name: letters, digits, dots, dashes and underscores."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "transcript"


def conversation_section(store, conversation: int, title: str = "") -> Section:
    conv = store.get_conversation(conversation)
    if conv is None:
        raise ValueError(f"no conversation {conversation} in {store.label}")
    contact = store.get_contact(conv["contact_id"])
    name = (contact or {}).get("name") or conv["contact_id"]
    return Section(title or f"Conversation {conv['conv_id']} with {name}", conv, contact,
                   store.messages_before(conversation, None, 1_000_000))


def scenario_run_section(store, run: int) -> Section:
    row = store.get_scenario_run(run)
    if row is None or row.get("conversation") is None:
        raise ValueError(f"no scenario run {run} with a conversation in {store.label}")
    section = conversation_section(store, row["conversation"], f"{row['scenario']} · run {run}")
    section.results, section.status = store.scenario_results(run), row["status"]
    section.note = f"{row['path']} · started {_time(row['started_at'])}" + (f" · {row['error']}" if row["error"] else "")
    return section


def conversation_file(store, conversation: int, fmt: str) -> str:
    """A stored conversation, every message of it, as JSON (`fmt` "json") or Markdown ("md")."""
    conv = store.get_conversation(conversation)
    rows = store.messages_before(conversation, None, 1_000_000)
    contact = store.get_contact(conv["contact_id"])
    return (to_json if fmt == "json" else to_markdown)(conv, contact, rows)


def conversation_html(store, conversation: int, media_dir: str | None = None) -> str:
    section = conversation_section(store, conversation)
    return to_html(section.title, [section], media_dir)


def scenario_run_html(store, run: int, media_dir: str | None = None) -> str:
    section = scenario_run_section(store, run)
    return to_html(section.title, [section], media_dir)


def monitor_run_html(store, run: int, media_dir: str | None = None) -> str:
    row = store.get_monitor_run(run)
    if row is None:
        raise ValueError(f"no monitor run {run} in {store.label}")
    scenario_runs = data_of({"data": row["detail"]}).get("scenario_runs") or []
    sections = [scenario_run_section(store, r) for r in scenario_runs if r is not None]
    note = f"{row['status']} · started {_time(row['started_at'])}" + (f" · {row['problem']}" if row["problem"] else "")
    return to_html(f"Monitor {row['monitor']} · run {run}", sections, media_dir, note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.transcript",
                                     description="Write a conversation, a scenario run or a monitor run as one "
                                                 "self-contained HTML file (or JSON, Markdown for a conversation).")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("conversation", nargs="?", type=int, help="a conversation's id in the store")
    which.add_argument("--run", type=int, metavar="ID", help="a scenario run (Scenarios › History)")
    which.add_argument("--monitor-run", type=int, metavar="ID", help="a monitor run (Monitors page)")
    parser.add_argument("--format", choices=("html", "md", "json"), default="html")
    parser.add_argument("--db", help="the store (default APICHAT_DB)")
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        store = open_store(args.db or settings.db_path)
    except (SettingsError, StoreUnavailable) as exc:
        print(f"cannot export: {exc}", file=sys.stderr)
        return 2
    try:
        if args.format != "html" and args.conversation is None:
            raise ValueError("--format md and json are for a conversation; a run is exported as html")
        if args.monitor_run is not None:
            text = monitor_run_html(store, args.monitor_run, settings.media_dir)
        elif args.run is not None:
            text = scenario_run_html(store, args.run, settings.media_dir)
        elif args.format == "html":
            text = conversation_html(store, args.conversation, settings.media_dir)
        else:
            section = conversation_section(store, args.conversation)
            text = (to_json if args.format == "json" else to_markdown)(section.conversation, section.contact,
                                                                      section.messages)
    except ValueError as exc:
        print(f"cannot export: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
