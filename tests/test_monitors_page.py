"""The Monitors page with Streamlit's AppTest, on a temp store holding runs: state, uptime, failures, Pause."""

from __future__ import annotations

import pytest

from apichat.store import core
from tests.conftest import app_page


@pytest.fixture
def monitors_file(tmp_path, monkeypatch):
    (tmp_path / "hello.yaml").write_text("steps:\n  - send: hi\n")
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: hello\n    scenarios: [hello.yaml]\n    every: 1m\n    alert_after: 2\n"
                    "  - name: quiet\n    scenarios: [hello.yaml]\n    cron: \"0 3 * * *\"\n")
    monkeypatch.setenv("APICHAT_MONITORS", str(path))
    return path


def _run(db, status: str, at: float, first_ms: float | None = None, problem: str = "") -> int:
    run = db.start_monitor_run("hello", "h")
    db.finish_monitor_run(run, status=status, problem=problem, first_p50_ms=first_ms)
    db.conn.execute("UPDATE monitor_runs SET started_at = ? WHERE id = ?", (at, run))
    db.conn.commit()
    return run


def test_each_monitor_shows_its_state_uptime_and_failures(page_store, monitors_file):
    now = core.now()
    _run(page_store, "passed", now - 3 * 86400, 90)  # only in the 7 days
    _run(page_store, "passed", now - 600, 100)
    _run(page_store, "failed", now - 300, None, "hello.yaml:2: step 1 (send \"hi\"): expected 1 reply, 0 arrived")
    _run(page_store, "failed", now - 60, 120, "hello.yaml:2: again")
    page_store.add_monitor_alert("hello", run=4, kind="down", target="webhook http://127.0.0.1/••••••erts",
                                 status="failed", attempts=3, error="HTTP 500: nope")
    at = app_page("monitors").run()
    assert not at.exception
    heads = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert heads == ["#### hello :red-badge[🔴 down]", "#### quiet :gray-badge[⚪ never run]"]
    figures = {m.label: m.value for m in at.metric[:4]}
    assert figures == {"State": "down", "Last run": "failed", "Uptime 24 h": "33.3 %", "Uptime 7 days": "50.0 %"}
    assert any("expected 1 reply, 0 arrived" in c.value for c in at.code)
    alerts = at.dataframe[0].value.to_dict("records")
    assert [(a["alert"], a["status"], a["attempts"], a["error"]) for a in alerts] == [("down", "failed", 3, "HTTP 500: nope")]


def test_pause_is_kept_in_the_store_and_a_broken_file_named_with_its_line(page_store, monitors_file):
    at = app_page("monitors").run()
    at.button(key="mon-pause-quiet").click().run()
    assert page_store.get_setting("monitor.paused.quiet") == "1"
    assert "#### quiet :gray-badge[⏸️ paused]" in [m.value for m in at.markdown]
    at.button(key="mon-pause-quiet").click().run()
    assert page_store.get_setting("monitor.paused.quiet") is None

    (monitors_file.parent / "bad.yaml").write_text("monitors:\n  - name: x\n    scenarios: [nope.yaml]\n    every: 1s\n")
    at.text_input(key="mon-file").set_value(str(monitors_file.parent / "bad.yaml")).run()
    assert any("bad.yaml:3: no scenario file or folder" in e.value for e in at.error)


def test_the_file_is_edited_on_the_page_and_only_a_valid_one_saved(page_store, monitors_file):
    before = monitors_file.read_text()
    at = app_page("monitors").run()
    at.text_area(key="mon-edit").set_value(before.replace("every: 1m", "evry: 1m")).run()
    at.button(key="mon-save").click().run()
    assert any("monitors.yaml:4: unknown key 'evry' in monitor 1 (did you mean 'every'?)" in e.value for e in at.error)
    assert monitors_file.read_text() == before, "a file with a problem was written"
    at.text_area(key="mon-edit").set_value(before.replace("name: quiet", "name: nightly")).run()
    at.button(key="mon-save").click().run()
    assert "name: nightly" in monitors_file.read_text()
    assert "#### nightly :gray-badge[⚪ never run]" in [m.value for m in at.markdown]
