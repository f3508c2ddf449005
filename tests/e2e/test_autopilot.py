"""The chat's Autopilot in Chromium: a simulated contact (played by the fake OpenAI-compatible server, a real
process) chats with the sandbox's demo bot in the normal thread, the verdict is shown, Stop stops it, and the
past simulations list it."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from apichat.processes import ChildProcess
from tests.conftest import ROOT, free_port, process_env
from tests.e2e.chat_helpers import MESSAGE
from tests.e2e.conftest import Console, idle

REACH = [
    {"when": "latest messages:\nBot: This is a demo", "answer": '{"press": "Place order"}'},
    {"when": "latest messages:\nBot: Added 1 ×", "answer": '{"press": "Checkout"}'},
    {"when": "latest messages:\nBot: Here are this week", "answer": '{"press": "Add to cart", "card": "Cold Brew Kit · $29.00"}'},
    {"when": "latest messages:\nBot: Hi Sam", "answer": '{"press": "☕ Products"}'},
    {"when": "has not said anything yet", "answer": '{"say": "hi"}'},
]


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fake-llm")
    port = free_port()
    child = ChildProcess(["-m", "tests.fake_llm", "--port", str(port)], process_env(tmp), tmp / "fake_llm.log",
                         name="fake_llm")
    url = f"http://127.0.0.1:{port}"
    child.wait_ready(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 20)
    yield url
    child.stop()


@pytest.fixture(scope="module")
def pilot_console(tmp_path_factory, llm):
    running = Console(tmp_path_factory.mktemp("pilot"), APICHAT_SIMULATOR_URL=f"{llm}/v1",
                      APICHAT_SIMULATOR_MODEL="fake-sim")
    yield running
    running.stop()


@pytest.fixture
def tab(browser, pilot_console):
    """A tab on this module's console (its simulator is the fake LLM)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(pilot_console.url)
    page.wait_for_selector('[data-testid="stChatInputTextArea"]', timeout=60_000)
    yield page
    context.close()


def start(page) -> None:
    page.get_by_role("button", name=re.compile("Autopilot")).click()
    popover = page.get_by_role("dialog", name="Autopilot")
    expect(popover.get_by_role("combobox", name="Goal file (goals/)")).to_have_value("place-order.yaml")
    expect(popover.get_by_text("Place an order", exact=True)).to_be_visible()  # the goal file's name, read
    popover.get_by_role("button", name=re.compile("Start")).click()
    expect(page.locator(".st-key-autopilot-status")).to_be_visible(timeout=15_000)
    page.keyboard.press("Escape")  # a popover stays open after its button's run: close it, as a person would
    expect(popover).to_be_hidden()


def test_the_autopilot_chats_in_the_thread_and_shows_its_verdict(tab, llm):
    requests.post(f"{llm}/script", json={"chat": REACH}, timeout=5)
    start(tab)
    status = tab.locator(".st-key-autopilot-status")
    expect(status.get_by_text(re.compile("Autopilot reached .*Place an order.* in 5 turns"))).to_be_visible(
        timeout=60_000)
    thread = tab.locator(MESSAGE)
    # the simulated contact's messages are in the thread as a person's: its text, its presses, the bot's answers
    expect(tab.locator(".acc-text", has_text=re.compile(r"^hi$"))).to_be_visible()
    expect(tab.locator(".acc-postback", has_text="Place order")).to_be_visible()
    expect(thread.filter(has_text="Order #NW-1042 placed")).to_have_count(1)
    expect(tab.get_by_text(re.compile(r"Chat as Sam Buyer"))).to_be_visible()
    expect(status.get_by_text(re.compile(r"matched line 7"))).to_be_visible()
    expect(status.get_by_role("button", name=re.compile("Save as scenario"))).to_be_visible()
    status.scroll_into_view_if_needed()
    tab.screenshot(path=str(pilot_shot("autopilot-reached")))


def test_stop_stops_the_autopilot_and_it_is_listed_with_past_simulations(tab, llm):
    slow = [dict(r, delay=8) if "Hi Sam" in r["when"] else r for r in REACH]  # time to press Stop
    requests.post(f"{llm}/script", json={"chat": slow}, timeout=5)
    start(tab)
    status = tab.locator(".st-key-autopilot-status")
    stop = status.get_by_role("button", name=re.compile("Stop"))
    expect(stop).to_be_visible(timeout=30_000)
    expect(tab.locator(".acc-text", has_text=re.compile(r"^hi$"))).to_be_visible(timeout=30_000)
    idle(tab)  # the switch to the simulated contact's conversation is a full run: click once it is drawn
    stop.click()
    expect(status.get_by_text(re.compile("did not reach .*stopped on request"))).to_be_visible(timeout=30_000)
    expect(tab.locator(MESSAGE).filter(has_text="Order #NW-1042 placed")).to_have_count(0)
    tab.get_by_role("button", name=re.compile("Autopilot")).click()
    popover = tab.get_by_role("dialog", name="Autopilot")
    popover.get_by_text("Past simulations").click()
    contact = re.search(r"sim-[0-9a-f]{8}", tab.get_by_text(re.compile(r"contact\s+sim-")).first.inner_text()).group()
    past = popover.get_by_role("button", name=re.compile(rf"Place an order · ✗ not reached · [12] turns? · {contact}"))
    expect(past).to_have_count(1)
    tab.screenshot(path=str(pilot_shot("autopilot-past")))


def pilot_shot(name: str):
    out = ROOT / "test-results"
    out.mkdir(exist_ok=True)
    return out / f"{name}.png"
