"""The Scenarios page in a browser: run files live, see failures side by side, and replay a chat saved as a scenario."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import expect

from apichat.scenarios import parse_scenario
from tests.e2e.chat_helpers import new_conversation, send
from tests.e2e.conftest import idle

FAILING = """name: Menu regression
contact: {name: Quinn QA}
steps:
  - send: hi
    expect:
      - buttons: [Products, Media]
    messages: 1
  - click: Nope
"""
INVALID = "name: Broken\nsteps:\n  - send: hi\n    expcet: {text: hi}\n"


def open_scenarios(page):
    page.get_by_role("link", name="Scenarios").click()
    page.wait_for_selector('[data-testid="stFileUploader"]', timeout=30_000)


def upload(page, files: list[tuple[str, str]]):
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(
        [{"name": name, "mimeType": "application/x-yaml", "buffer": text.encode()} for name, text in files])


def pick_file(page, shown: str):
    box = page.locator('[data-testid="stMultiSelect"] input')
    box.click()
    box.fill(shown)
    page.get_by_role("option", name=shown).first.wait_for()
    page.keyboard.press("Enter")
    expect(page.locator('[data-testid="stMultiSelect"]')).to_contain_text(shown)
    page.keyboard.press("Escape")


def runs(db_path: str) -> list[dict]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT id, scenario, path, status, passed_steps, total_steps, "
                                                  "first_p50_ms FROM scenario_runs ORDER BY id")]


def cell(page, text: str, column: str = ""):
    """A table cell whose whole text is `text` (the grid keeps an accessible copy of what it draws)."""
    where = f'[aria-colindex="{column}"]' if column else ""
    return page.locator(f'[role="gridcell"]{where}').filter(has_text=re.compile(f"^{re.escape(text)}$"))


def history_row(page, run: int):
    """The History table's row for run `run` (its first column; a latency can be the same number)."""
    return page.get_by_test_id("stDataFrame").locator('[role="row"]').filter(has=cell(page, str(run), column="1"))


def test_runs_files_live_and_shows_failures_beside_what_arrived(page, console):
    before = len(runs(console.db_path))
    open_scenarios(page)
    pick_file(page, "scenarios/agent_handover.yaml")
    upload(page, [("failing.yaml", FAILING)])
    page.get_by_role("button", name="Run 2 scenarios").click()
    expect(page.get_by_text("1 of 2 scenario(s) passed, 1 did not.")).to_be_visible(timeout=60_000)

    passed = page.locator('[class*="st-key-scn-run-"]').filter(has_text="Agent handover with a private note")
    expect(passed).to_contain_text("✅")
    expect(passed).to_contain_text("2 / 2")
    failed = page.locator('[class*="st-key-scn-run-"]').filter(has_text="Menu regression")
    expect(failed).to_contain_text("upload:failing.yaml:6")
    diff = failed.locator("table.scn-diff").first
    expect(diff.locator("td.expected")).to_have_text('["Products", "Media"]')
    expect(diff.locator("td.arrived")).to_contain_text('"☕ Products" (MENU_PRODUCTS)')
    expect(failed).to_contain_text('upload:failing.yaml:8 no button "Nope" in the replies')
    failed.get_by_text("Raw payload of the reply it was compared with").click()
    expect(failed.locator('[data-testid="stJson"]').first).to_contain_text("button_template")

    kept = runs(console.db_path)[before:]
    assert [(r["scenario"], r["status"], r["total_steps"]) for r in kept] == [
        ("Agent handover with a private note", "passed", 2), ("Menu regression", "error", 2)]
    assert all(r["first_p50_ms"] is not None for r in kept)

    page.get_by_role("tab", name="History").click()
    for run, status in zip(kept, ("✅ passed", "⚠️ error"), strict=True):
        row = history_row(page, run["id"])
        expect(row).to_have_count(1, timeout=30_000)
        for shown in (run["scenario"], run["path"], status, f"{run['passed_steps']}/{run['total_steps']}"):
            expect(row.locator(cell(page, shown))).to_have_count(1)


def test_a_broken_file_is_named_with_its_line_and_cannot_run(page):
    open_scenarios(page)
    upload(page, [("broken.yaml", INVALID)])
    expect(page.get_by_text("upload:broken.yaml:4: unknown key 'expcet' in step 1 (did you mean 'expect'?)")) \
        .to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_disabled()


def test_a_chat_saved_as_a_scenario_replays_green(page, console, tmp_path):
    conv_id = str(new_conversation(page))
    send(page, "hi")
    expect(page.locator('[data-testid="stChatMessage"]').filter(has_text="I'm Bean")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="☕ Products").last.click()
    expect(page.locator('[data-testid="stChatMessage"]').filter(has_text="this week's bestsellers")) \
        .to_be_visible(timeout=30_000)

    # "Save as scenario" generates the file when clicked, under an id each full run of the chat replaces (the
    # click on Products was one): a click that still holds the id of the run before downloads Streamlit's
    # "not found" as <id>.txt. The run ends once the browser has the new id.
    idle(page)
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Save as scenario").click()
    filename = f"conversation-sandbox-{conv_id}.scenario.yaml"
    assert download.value.suggested_filename == filename
    download.value.save_as(tmp_path / filename)
    saved = (tmp_path / filename).read_text(encoding="utf-8")
    scenario = parse_scenario(saved, filename)
    assert [s.action for s in scenario.steps] == ["send", "click"]
    assert "click: ☕ Products" in saved and "count: 3" in saved and "messages: 1" in saved
    with page.expect_download() as download:  # the same conversation as one file anyone can open
        page.get_by_role("button", name="HTML (anyone can open it)").click()
    assert download.value.suggested_filename == f"conversation-sandbox-{conv_id}.html"
    download.value.save_as(tmp_path / "chat.html")
    exported = (tmp_path / "chat.html").read_text(encoding="utf-8")
    assert "this week&#x27;s bestsellers" in exported and "<script" not in exported
    page.keyboard.press("Escape")

    # the same recorder, shown on the Scenarios page, says the same
    open_scenarios(page)
    page.get_by_role("tab", name="Record from a conversation").click()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Conversation").click()
    # by keyboard, as a person can: the open list can be redrawn while the pointer aims (seen under load)
    page.keyboard.type(f"#{conv_id} ")
    expect(page.get_by_role("option", name=re.compile(f"^#{conv_id} "))).to_be_visible()
    page.keyboard.press("Enter")
    code = page.locator('[data-testid="stCode"]').filter(has_text=f"conversation {conv_id}")
    expect(code).to_contain_text("click: ☕ Products", timeout=30_000)
    assert code.inner_text().strip() == saved.strip()

    # the downloaded file, run as it is, replays green
    before = len(runs(console.db_path))
    page.get_by_role("tab", name="Run").click()
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(tmp_path / filename))
    page.get_by_role("button", name="Run 1 scenario").click()
    expect(page.get_by_text("1 of 1 scenario(s) passed.")).to_be_visible(timeout=60_000)
    assert [(r["path"], r["status"], r["passed_steps"], r["total_steps"]) for r in runs(console.db_path)[before:]] == [
        (f"upload:{filename}", "passed", 2, 2)]


REPEATED = """name: Opening hours, three times
repeat: 3
steps:
  - send: hi
    messages: 1
  - send: fault hallucinate
    messages: 1
  - send: When are you open?
    expect:
      - text: {contains: "8 am to 6 pm"}
    messages: 1
"""


def test_a_repeated_scenario_shows_each_steps_rate_and_opens_any_run(page, console):
    before = len(runs(console.db_path))
    open_scenarios(page)
    upload(page, [("hours.yaml", REPEATED)])
    page.get_by_role("button", name="Run 1 scenario").click()
    box = page.locator('[class*="st-key-scn-rates-"]')
    verdict = box.get_by_text(re.compile(r"^passed \d of 3 \(.*%\) [<≥] 100 % · pass\^3 (yes|no)$"))
    expect(verdict).to_be_visible(timeout=90_000)
    kept = runs(console.db_path)[before:]
    assert len(kept) == 3 and all(r["path"] == "upload:hours.yaml" for r in kept)
    passed = sum(r["status"] == "passed" for r in kept)
    assert passed < 3  # one answer in three is made up
    rate = {0: "0 %", 1: "33.3 %", 2: "66.7 %"}[passed]
    expect(verdict).to_have_text(f"passed {passed} of 3 ({rate}) < 100 % · pass^3 no")
    table = box.locator("table.scn-rates")
    expect(table.locator("tr").filter(has_text="When are you open?")).to_contain_text(f"{passed} / 3{rate}")
    expect(table.locator("tr").filter(has_text="fault hallucinate")).to_contain_text("3 / 3100 %")
    expect(box).to_contain_text(f"upload:hours.yaml:10 failed in {3 - passed} of 3 runs")

    # the first failing run is open; any other opens in its place, drawn as a single run is
    first_failing = next(n for n, r in enumerate(kept, start=1) if r["status"] != "passed")
    expect(box.locator(f'[class*="st-key-scn-run-{kept[first_failing - 1]["id"]}"]')).to_be_visible()
    other = next(n for n in (1, 2, 3) if n != first_failing)
    idle(page)
    box.get_by_role("radio", name=re.compile(f"Run {other}$")).click()
    shown = box.locator(f'[class*="st-key-scn-run-{kept[other - 1]["id"]}"]')
    expect(shown).to_be_visible(timeout=30_000)
    expect(shown).to_contain_text(f"run {kept[other - 1]['id']} ·")
    expect(box.locator(f'[class*="st-key-scn-run-{kept[first_failing - 1]["id"]}"]')).to_have_count(0)
    page.screenshot(path=str(console.tmp / "repeated.png"), full_page=True)
