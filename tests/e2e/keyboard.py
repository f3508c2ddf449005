"""A person at the keyboard: reach things with Tab, see where the focus is, never touch the mouse."""

from __future__ import annotations

import json

import requests
from playwright.sync_api import Locator, Page, expect

from apichat.signing import HEADER, sign
from tests.conftest import wait_until

COMPOSER = '[data-testid="stChatInputTextArea"]'

# How an element and its closest wrappers look: what changes when it takes the focus (a ring, a shadow, a
# border or background colour; Streamlit draws some focus rings on a wrapper rather than on the element).
_LOOK = """el => {
  const out = [];
  for (let n = el, i = 0; n && i < 4; n = n.parentElement, i++) {
    const c = getComputedStyle(n);
    out.push([c.outlineStyle, c.outlineWidth, c.outlineColor, c.boxShadow, c.borderColor, c.backgroundColor,
              c.color, c.textDecorationLine].join("|"));
  }
  return out.join(" / ");
}"""
_HAS_FOCUS = "el => el === document.activeElement || el.contains(document.activeElement)"


def focused(page: Page) -> str:
    """A short description of the focused element, for failure messages."""
    return page.evaluate("""() => { const e = document.activeElement;
      return `${e.tagName} ${e.getAttribute('aria-label') || (e.innerText || e.value || '').slice(0, 40)}`; }""")


def tab_to(page: Page, target: Locator, *, back: bool = False, limit: int = 80, visible: bool = True) -> None:
    """Press Tab (Shift+Tab with `back`) until `target` has the focus, as a person would; fail if it never does.
    With `visible`, the focus must show: the target looks different focused than it did before."""
    expect(target).to_be_visible(timeout=20_000)
    before = target.evaluate(_LOOK)
    key = "Shift+Tab" if back else "Tab"
    for _ in range(limit):
        if target.evaluate(_HAS_FOCUS):
            break
        page.keyboard.press(key)
    else:
        raise AssertionError(f"{target} was not reached with {limit} x {key}; the focus is on {focused(page)}")
    if visible:
        wait_until(lambda: target.evaluate(_LOOK) != before, 3,
                   message=f"a visible focus on {target} (it looks the same focused as before)")


def expect_focus(page: Page, target: Locator, timeout: float = 10) -> None:
    wait_until(lambda: target.evaluate(_HAS_FOCUS), timeout,
               message=f"the focus on {target}; it is on {focused(page)}")


def composer(page: Page) -> Locator:
    return page.locator(COMPOSER)


def type_and_send(page: Page, text: str) -> None:
    """Type in the message box (focused already) and press Enter; returns when the message is in the thread."""
    mine = page.get_by_test_id("stChatMessage").filter(has=page.locator(f'.acc-text:text-is("{text}")'))
    before = mine.count()
    expect_focus(page, composer(page))
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(mine).to_have_count(before + 1, timeout=15_000)


def post_signed(url: str, body: dict, key: str) -> requests.Response:
    """A webhook as UChat sends it: the JSON body, signed with `key` (a wrong key makes it a rejected one)."""
    raw = json.dumps(body).encode()
    return requests.post(url, data=raw, timeout=5, headers={"Content-Type": "application/json", HEADER: sign(raw, key)})
