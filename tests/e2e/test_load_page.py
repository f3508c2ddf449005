"""The Load page in a browser: a short run on a fresh sandbox, live, then kept with its reports."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_scenarios_page import pick_file


def set_field(page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def test_a_load_run_is_live_then_kept_with_its_reports(page, console):
    page.get_by_role("link", name="Load").click()
    start = page.get_by_role("button", name="Start 20 contacts")
    expect(start).to_be_disabled(timeout=30_000)  # nothing picked yet
    pick_file(page, "scenarios/greeting_and_menu.yaml")
    set_field(page, "Contacts", "10")
    set_field(page, "Duration (s)", "5")
    set_field(page, "Think time", "0.5s")
    start = page.get_by_role("button", name="Start 10 contacts")
    expect(start).to_be_enabled()
    start.click()

    expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("running ·")).to_be_visible()
    expect(page.get_by_text("First reply, p50 and p95 (ms)")).to_be_visible(timeout=30_000)  # the live charts
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()

    expect(page.get_by_text("no failure ·").first).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    expect(page.get_by_role("button", name="Start 10 contacts")).to_be_enabled()
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_contain_text("All steps")
    expect(page.get_by_role("button", name="report.html")).to_be_visible()

    page.get_by_role("tab", name="History").click()
    expect(page.get_by_test_id("stDataFrame").last).to_contain_text("fresh sandbox")
