"""The Explorer page in a browser: a crawl of the sandbox's demo bot grows into a map; a state shows its messages as
the chat does; findings are listed."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.axe import audit, explain


def open_explorer(page):
    page.get_by_role("link", name="Explorer").click()
    page.get_by_role("button", name="Start crawl").wait_for(timeout=30_000)


def test_a_crawl_draws_the_map_shows_a_state_and_its_findings(page):
    open_explorer(page)
    depth = page.get_by_role("spinbutton", name="Depth")
    depth.fill("1")
    depth.press("Enter")
    page.get_by_role("button", name="Start crawl").click()
    expect(page.get_by_text("finished —")).to_be_visible(timeout=60_000)
    chart = page.locator('[data-testid="stGraphVizChart"] svg').first
    expect(chart).to_contain_text("Which kind of media", timeout=20_000)
    expect(chart).to_contain_text("A few more things")
    # the greeting is the first state: its message drawn as the chat draws it, with its lint warning
    detail = page.locator(".st-key-ex-detail")
    expect(detail.get_by_test_id("stChatMessage").first).to_contain_text("I'm Bean, the assistant of Northwind Coffee")
    expect(detail.locator(".acc-lint")).to_contain_text("messenger.button_count")
    # pressing a button in the detail goes to the state it leads to
    detail.get_by_role("button", name="🎬 Media").click()
    expect(detail.get_by_test_id("stChatMessage").first).to_contain_text("Which kind of media should I send you?")
    page.set_viewport_size({"width": 1400, "height": 3000})  # everything on screen: contrast is measured
    ours = audit(page, "explorer: a finished crawl, its map and a state's detail")
    assert not ours, explain(ours)
    page.get_by_role("tab", name="Findings").click()
    expect(page.get_by_text("lint 6 · limit 1")).to_be_visible()  # the menus of 4 and 8 buttons, on both channels
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
