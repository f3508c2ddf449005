"""The HTML transcript of a real scenario run against the sandbox, opened in Chromium with no network: it draws
the chat's bubbles, buttons, cards and verdicts, asks for nothing outside the file, and the bot's XSS demo stays
text (no dialog, no script, no javascript: link)."""

from __future__ import annotations

from apichat import transcript
from apichat.scenarios import Runner, parse_scenario, sandbox_target
from tests.conftest import ROOT

SCENARIO = """\
name: Transcript demo
contact: {name: Ana <b>Tester</b>}
settle: 0.5s
steps:
  - send: hi
    expect:
      - kind: buttons
  - send: xss
    expect:
      - text: {contains: "Security check"}
      - text: {contains: "this text never comes"}
  - send: products
    expect:
      - kind: cards
"""


def test_a_run_transcript_opens_offline_and_keeps_the_bot_inert(browser, tmp_path):
    with sandbox_target(tmp_path / "target") as target:
        result = Runner(target.store, target.profile).run(parse_scenario(SCENARIO, "demo.yaml"))
        page_html = transcript.scenario_run_html(target.store, result.run_id)
    assert result.status == "failed"
    path = tmp_path / "run.html"
    path.write_text(page_html, encoding="utf-8")

    context = browser.new_context(viewport={"width": 900, "height": 1200}, offline=True)
    tab = context.new_page()
    asked, dialogs = [], []
    tab.on("request", lambda request: asked.append(request.url))
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(path.as_uri())
    tab.wait_for_load_state("load")
    try:
        assert tab.title() == "Transcript demo · run 1"
        assert tab.locator("text=<script>alert(1)</script>").count() == 1, "the XSS text is not shown as text"
        assert tab.locator("script").count() == 0 and tab.locator("img[onerror]").count() == 0
        assert tab.locator('a[href^="javascript"]').count() == 0
        blocked = tab.locator("span.blocked", has_text="Open (javascript: link)")
        assert blocked.count() == 1, "the javascript: button is not shown as blocked"
        assert tab.locator(".btn", has_text="<img src=x onerror=alert(1)>").count() == 1
        assert tab.locator(".who", has_text="Ana <b>Tester</b>").count() == 3
        assert tab.locator(".card").count() >= 3, "the carousel's cards are missing"
        assert tab.locator(".verdict.passed").count() == 2 and tab.locator(".verdict.failed").count() == 1
        failed = tab.locator(".verdict.failed")
        assert "this text never comes" in failed.inner_text()
        tab.screenshot(path=str(ROOT / "test-results" / "transcript.png"), full_page=True)
    finally:
        context.close()
    assert dialogs == [], "a script ran in the transcript"
    assert asked == [path.as_uri()], f"the transcript asked for something outside itself: {asked}"
