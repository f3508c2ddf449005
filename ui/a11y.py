"""What a screen reader hears: new messages announced once, with who said them.

Streamlit redraws the thread often (every poll draws its tail, a full run moves the tail into the settled
part), so its DOM nodes come and go: a live region around the thread itself would announce the same
message again each time. Instead each message carries a hidden marker with what to say, the page keeps
one live region of its own (`role="log"`, outside Streamlit's tree, so it survives every redraw), and a
small script adds a marker's words to it the first time that marker appears. Only messages that arrived
while the thread was open are marked to be announced; history is not read out again.
"""

from __future__ import annotations

import streamlit as st

from .html import esc

SAY_LIMIT = 300  # characters of a message read out; the thread has the rest


def file_name(url: str) -> str:
    """The last path segment of a media URL (what the person sees as the file's name)."""
    return (url or "").split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "file"


def who(row: dict, data: dict) -> str:
    if row["direction"] == "out":
        return "you"
    if data.get("private"):
        return "agent, private note"
    return "agent" if row.get("author") == "agent" else "bot"


def _titles(items: list[dict]) -> str:
    return ", ".join((b.get("title") or b.get("payload") or "untitled") for b in items)


def words(row: dict, data: dict) -> str:
    """The message as one line of speech: its text, then its buttons, cards and media by name."""
    parts = []
    if row["direction"] == "out" and data.get("postback"):
        parts.append(f"pressed {data['postback'].get('title') or ''}")
    elif data.get("text"):
        parts.append(str(data["text"]))
    if row.get("kind") == "unsupported":
        parts.insert(0, "unsupported message:")
    if data.get("buttons"):
        parts.append(f"Buttons: {_titles(data['buttons'])}.")
    if data.get("cards"):
        count = len(data["cards"])
        parts.append(f"Carousel of {count} card{'s' if count != 1 else ''}: "
                     + "; ".join(c.get("title") or "untitled" for c in data["cards"]) + ".")
    for item in data.get("media") or []:
        parts.append(f"{item.get('kind') or 'file'} {file_name(item.get('url', ''))}.")
    if data.get("quick_replies"):
        parts.append(f"Quick replies: {_titles(data['quick_replies'])}.")
    text = " ".join(p for p in parts if p).strip() or row.get("kind") or "message"
    return text if len(text) <= SAY_LIMIT else text[:SAY_LIMIT - 1] + "…"


def announcement(row: dict, data: dict, demo: bool = False) -> tuple[str, str] | None:
    """(key, words) for the live region; the key changes only when there is something new to say."""
    if row["direction"] == "out" and row.get("status") == "failed":
        if demo:
            return None
        return (f"{row['id']}:failed:{row.get('updated_at') or ''}",
                f"Your message was not sent: {row.get('error') or 'no reason given'}.")
    return f"{row['id']}:new", f"{who(row, data)}: {words(row, data)}"


def marker(row: dict, data: dict, demo: bool = False, announce: bool = False) -> str:
    """For a message that just arrived (or a send that just failed), a hidden marker the live region reads out
    once. Who said what in the thread itself is the chat message's label ("Chat message from bot")."""
    said = announcement(row, data, demo) if announce else None
    if not said:
        return ""
    key, text = said
    return f'<span hidden data-acc-key="{esc(key)}" data-acc-say="{esc(text)}"></span>'


PAGE_SCRIPT = """<script>
(() => {
  if (window.__accChat) return;   // once per browser tab: the region and its memory outlive page changes
  window.__accChat = true;
  const region = document.createElement("div");
  region.id = "acc-live";
  region.setAttribute("role", "log");
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-label", "New messages");
  region.style.cssText = "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;" +
                         "clip:rect(0 0 0 0);white-space:nowrap;border:0";
  document.body.appendChild(region);
  const said = new Set();
  let sends = null;
  const fresh = selector => [...document.querySelectorAll(selector)].filter(e => !e.closest('[data-stale="true"]'));
  const afterSending = () => {
    // the person sent something (text, a button, Retry, media): back to the message box, newest in view
    const composer = document.querySelector('[data-testid="stChatInputTextArea"]');
    if (composer && !document.querySelector('[role="dialog"]')) composer.focus({preventScroll: true});
    for (const wait of [60, 400, 1200]) setTimeout(() => {
      const box = document.querySelector('[data-testid="stAppScrollToBottomContainer"]')
               || document.querySelector('[data-testid="stMain"]');
      if (box) box.scrollTo({top: box.scrollHeight, behavior: "smooth"});
    }, wait);
  };
  const look = () => {
    for (const mark of fresh("[data-acc-say]")) {
      const key = mark.getAttribute("data-acc-key");
      if (said.has(key)) continue;
      said.add(key);
      const line = document.createElement("p");
      line.textContent = mark.getAttribute("data-acc-say");
      region.appendChild(line);
      while (region.childElementCount > 20) region.firstElementChild.remove();
    }
    const counter = fresh("[data-acc-sends]").pop();
    if (!counter) return;
    const now = counter.getAttribute("data-acc-sends");
    if (sends !== null && now !== sends) afterSending();
    sends = now;
  };
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                     attributeFilter: ["data-acc-sends", "data-stale"]});
  look();
})();
</script>"""


def page_script(sends: int) -> None:
    """The chat's script (installed once per browser tab) and the count of the person's sends in this session:
    when the count changes, the focus goes back to the message box and the newest message is brought into view.
    A count drawn at every run, rather than a one-off script, cannot be lost to a run that was cut short."""
    st.html(PAGE_SCRIPT + f'<span hidden data-acc-sends="{int(sends)}"></span>', unsafe_allow_javascript=True,
            width="content")
