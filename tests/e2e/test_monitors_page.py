"""The Monitors page in Chromium: a monitor's state, uptime and latency chart, and Run now against the console's
sandbox, whose run then shows up (and a failure's transcript downloads as one file)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from apichat.store import core, open_store
from tests.conftest import ROOT

SCENARIO = "name: Hello\nsettle: 0.3s\nsteps:\n  - send: hi\n    expect:\n      - text: {contains: Northwind}\n"


def test_status_uptime_chart_and_run_now(page, console, tmp_path):
    (tmp_path / "hello.yaml").write_text(SCENARIO)
    (tmp_path / "monitors.yaml").write_text("monitors:\n  - name: e2e-hello\n    scenarios: [hello.yaml]\n"
                                            "    every: 1h\n    alert_after: 2\n")
    db = open_store(console.db_path)
    now = core.now()
    for ago, status, ms in ((900, "passed", 80.0), (600, "failed", 140.0), (300, "failed", 120.0)):
        run = db.start_monitor_run("e2e-hello", "earlier")
        db.finish_monitor_run(run, status=status, first_p50_ms=ms,
                              problem="" if status == "passed" else "hello.yaml:4: step 1 (send \"hi\"): no reply")
        with db.write() as conn:
            conn.execute("UPDATE monitor_runs SET started_at = ? WHERE id = ?", (now - ago, run))
    db.add_monitor_alert("e2e-hello", run=run, kind="down", target="", status="none", attempts=0)

    page.get_by_role("link", name="Monitors").click()
    field = page.get_by_role("textbox", name="Monitors file")
    field.fill(str(tmp_path / "monitors.yaml"))
    field.press("Enter")
    card = page.locator(".st-key-mon-e2e-hello")
    expect(card.get_by_text("down", exact=True).first).to_be_visible(timeout=30_000)
    expect(card.locator('[data-testid="stMetric"]').filter(has_text="Uptime 24 h")).to_contain_text("33.3 %")
    expect(card.locator('[data-testid="stVegaLiteChart"]')).to_be_visible()
    page.screenshot(path=str(ROOT / "test-results" / "monitors.png"), full_page=True)

    card.get_by_role("button", name="Run now").click()
    expect(card.locator('[data-testid="stMetric"]').filter(has_text="State")).to_contain_text("up", timeout=60_000)
    runs = db.list_monitor_runs("e2e-hello")
    assert runs[0]["status"] == "passed" and runs[0]["first_p50_ms"] is not None
    assert [a["kind"] for a in db.list_monitor_alerts("e2e-hello")] == ["recovery", "down"], "no recovery noted"

    failures = card.get_by_text(re.compile(r"^Failures \(2 in 7 days\)"))
    expect(failures).to_have_count(1)  # a run in flight keeps the previous run's copy for a moment
    failures.click()
    with page.expect_download() as download:
        card.get_by_role("button", name="Transcript").first.click()
    assert re.fullmatch(r"monitor-e2e-hello-run-\d+\.html", download.value.suggested_filename)
