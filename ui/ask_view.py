"""Ask N times, as the chat and the Side by side page draw it: the controls, and the N turns side by side (each
drawn by the chat's own renderer), their similarity to the most typical one, the words that differ and the timings."""

from __future__ import annotations

import math

import streamlit as st

from apichat import ask, profiles
from apichat.ask import Ask, Comparison

from . import context, render
from .html import esc

CSS = """
<style>
.acc-ask-head { display: flex; flex-wrap: wrap; gap: 0.2rem 0.6rem; align-items: baseline; }
.acc-ask-title { font-weight: 700; }
.acc-ask-sim { font-variant-numeric: tabular-nums; font-weight: 700; padding: 0 0.45rem; border-radius: 999px;
  background: #e0f2fe; color: #075985; }
.acc-ask-sim.low { background: #fee2e2; color: #991b1b; }
.acc-ask-typical { font-size: 0.75rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em;
  color: #166534; background: #dcfce7; border-radius: 4px; padding: 0 0.35rem; }
.acc-ask-time { color: #57534e; font-size: 0.8rem; font-variant-numeric: tabular-nums; }
.acc-ask-diff { font-size: 0.88rem; border-top: 1px dashed #d6d3d1; padding-top: 0.35rem; }
.acc-ask-diff-label { color: #57534e; font-size: 0.75rem; }
.acc-ask-matrix { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.88rem; }
.acc-ask-matrix th, .acc-ask-matrix td { padding: 0.2rem 0.6rem; text-align: right; border: 1px solid #e7e5e4; }
.acc-ask-matrix td { color: #0c0a09; }
mark.acc-diff { background: #fde68a; color: #1c1917; border-radius: 3px; padding: 0 0.1rem; }
.acc-ask-failed { color: #b91c1c; }
div[class*="st-key-ask-col-"] { min-width: 0; overflow-wrap: anywhere; padding: 0.6rem !important; }
/* a column is narrow: the chat's bubbles without their avatar and side padding, the same content */
div[class*="st-key-ask-col-"] [data-testid="stChatMessage"] { padding: 0.2rem 0 !important; gap: 0; }
div[class*="st-key-ask-col-"] [data-testid="stChatMessage"] > img,
div[class*="st-key-ask-col-"] [data-testid="stChatMessage"] > [data-testid^="stChatMessageAvatar"] { display: none; }
</style>
"""


@st.cache_resource(show_spinner=False)
def asks() -> ask.Asks:
    """The one Asks of this server: each ask's sends and waits run in its threads."""
    return ask.Asks()


def is_real(profile: dict) -> bool:
    """A real workspace (any profile but the embedded sandbox): more than 5 contacts need a confirmation."""
    return profile["name"] != profiles.SANDBOX


def prefill(key: str, text: str | None) -> None:
    """Put `text` in the message box of `controls(key, …)` (before it is drawn)."""
    if text:
        st.session_state[f"{key}-text"] = text


def controls(key: str, profile: dict, persona: dict) -> str | None:
    """Message, N and (for a real workspace, above 5) the confirmation, and the button; the id of a started ask."""
    text = st.text_area("Message", key=f"{key}-text", height=68,
                        placeholder="The same message is sent as N new contacts at once")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        n = int(st.number_input("Times", min_value=ask.MIN_ASKS, max_value=ask.MAX_ASKS, value=ask.DEFAULT_ASKS,
                                step=1, key=f"{key}-n", width=140,
                                help="2 to 10 new contacts, each in a new conversation."))
        confirmed = True
        if is_real(profile) and n > ask.SAFE_ASKS:
            confirmed = st.checkbox(f"Send {n} new contacts' messages to {profile['name']} (a real workspace)",
                                    key=f"{key}-confirm")
        clicked = st.button(f"Ask {n} times", key=f"{key}-go", type="primary", icon=":material/view_column:",
                            disabled=not confirmed or not (text or "").strip())
    if not clicked:
        return None
    try:
        return asks().start(context.store(), profile, persona, text.strip(), n, real=is_real(profile),
                            confirmed=confirmed)
    except ask.AskError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def _ignore_postback(title: str, payload: str) -> None:
    st.toast("These turns are for comparing: open the ask in the chat to click its buttons.",
             icon=":material/info:")


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _head(answer: ask.Answer, comparison: Comparison | None, lowest_ok: float) -> str:
    parts = [f'<span class="acc-ask-title">Ask {answer.index}</span>']
    if comparison is not None:
        value = comparison.similarity[answer.index - 1]
        low = " low" if value < lowest_ok else ""
        parts.append(f'<span class="acc-ask-sim{low}" title="similarity to the most typical answer">{value:.2f}</span>')
        if comparison.typical == answer.index - 1:
            parts.append('<span class="acc-ask-typical" title="the answer most like all the others">typical</span>')
    state = {"sending": "sending…", "waiting": "waiting for the bot…"}.get(answer.state, "")
    if answer.state in ("failed", "no reply"):
        state = f'<span class="acc-ask-failed">{esc(answer.state)}{": " + esc(answer.error) if answer.error else ""}</span>'
    timing = (f'<div class="acc-ask-time" title="time to the first reply, and to the last">first reply '
              f'{_seconds(answer.first_reply)} · last {_seconds(answer.last_reply)}{" · " + state if state else ""}'
              '</div>')
    return f'<div class="acc-ask-head">{"".join(parts)}</div>{timing}'


def _column(job: Ask, answer: ask.Answer, comparison: Comparison | None, demo: bool, channels) -> None:
    with st.container(border=True, key=f"ask-col-{answer.index}"):
        st.html(_head(answer, comparison, 0.8))
        sent = {"created_at": answer.sent_at} if answer.sent_at else None
        for row in answer.replies:  # exactly as the chat draws a reply: text, buttons, cards, media
            render.bot_message(row, sent, demo, _ignore_postback, False, channels)
        if comparison is not None and answer.replies and comparison.typical != answer.index - 1:
            typical = job.answers[comparison.typical].text
            marked = ask.diff_html(answer.text, typical)
            if "<mark" not in marked:
                st.html('<div class="acc-ask-diff"><div class="acc-ask-diff-label">Same words as the typical '
                        'answer</div></div>')
            else:
                st.html('<div class="acc-ask-diff"><div class="acc-ask-diff-label">Words not in the typical answer '
                        f'are marked</div><div class="acc-text" dir="auto">{marked}</div></div>')
        st.caption(f"contact `{answer.contact['id']}` · conversation `{answer.conversation['conv_id']}`")
        if st.button("Open in the chat", key=f"ask-open-{job.id}-{answer.index}", type="tertiary",
                     icon=":material/chat:"):
            st.session_state["persona"], st.session_state["conversation"] = (answer.contact["id"],
                                                                             answer.conversation["id"])
            st.switch_page("pages/chat.py")


def per_row(n: int) -> int:
    """Columns per row: all of them up to 5, else a grid of two rows."""
    return n if n <= 5 else math.ceil(n / 2)


def show(job: Ask, demo: bool, channels=()) -> None:
    """The N turns side by side, the figures, the pair matrix and Save as scenario."""
    comparison = job.comparison()
    done = sum(a.done for a in job.answers)
    with st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="distribute"):
        st.markdown(f"**Asked {len(job.answers)} times:** {esc(job.message)}", width="content")
        if comparison is not None:
            st.download_button("Save as scenario", job.scenario_yaml(), f"ask-{job.id}.scenario.yaml",
                               "application/x-yaml", on_click="ignore", icon=":material/checklist:", key="ask-save",
                               help="A scenario with this message, expecting an answer similar to the most "
                                    "typical one (at least just under the lowest similarity seen).")
    if comparison is None:
        st.caption(f"{done} of {len(job.answers)} answers settled…")
    else:
        st.caption(f"Similarity of each answer to the most typical one (ask {comparison.typical + 1}, "
                   f"{comparison.method}): lowest {comparison.lowest:.2f}.")
    width = per_row(len(job.answers))
    for start in range(0, len(job.answers), width):
        columns = st.columns(width, gap="small")
        for column, answer in zip(columns, job.answers[start:start + width], strict=False):
            with column:
                _column(job, answer, comparison, demo, channels)
    if comparison is not None:
        names = [f"Ask {a.index}" for a in job.answers]
        st.markdown("**Pair similarity**")
        st.html(matrix_html(names, comparison.matrix))


def matrix_html(names: list[str], matrix: list[list[float]]) -> str:
    """The pair matrix as a small table, each figure shaded by how alike the pair is."""
    head = "".join(f'<th scope="col">{esc(n)}</th>' for n in names)
    rows = "".join(f'<tr><th scope="row">{esc(name)}</th>'
                   + "".join(f'<td style="background: rgba(14, 116, 144, {0.08 + 0.3 * v:.2f})">{v:.2f}</td>'
                             for v in row) + "</tr>" for name, row in zip(names, matrix, strict=True))
    return f'<table class="acc-ask-matrix"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>'

