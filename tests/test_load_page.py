"""The Load page with Streamlit's AppTest, on a temp store: a real run on a fresh sandbox, History, the
confirmation a real workspace needs, and a run that could not start."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import app_page, wait_until

SCENARIO = "scenarios/greeting_and_menu.yaml"


def open_page() -> AppTest:
    at = app_page("load").run()
    assert not at.exception, at.exception
    return at


def finished(at: AppTest) -> AppTest:
    """Rerun the page until its run is over (the page polls while it runs)."""
    from ui.load_view import runs

    run_id = at.session_state["ld-run"]
    wait_until(lambda: not runs().running(run_id) and runs().meta(run_id).get("state") != "running", 90,
               message="the load run to end")
    return at.run()


def test_a_run_on_a_fresh_sandbox_shows_steps_and_is_kept_in_history(page_store):
    at = open_page()
    start = at.button(key="ld-start")
    assert start.disabled, "nothing picked: nothing to start"
    at.multiselect(key="ld-files").select(SCENARIO)
    at.number_input(key="ld-users").set_value(3)
    at.number_input(key="ld-spawn").set_value(3.0)
    at.number_input(key="ld-seconds").set_value(5)
    at.text_input(key="ld-think").set_value("0.2s")
    at.run()
    assert at.button(key="ld-start").label == "Start 3 contacts" and not at.button(key="ld-start").disabled
    at.button(key="ld-start").click().run()
    assert at.button(key="ld-stop"), "a running run can be stopped"
    at = finished(at)
    assert not at.exception, at.exception
    steps = at.dataframe[0].value
    names = list(steps["step"])
    assert names[-1] == "All steps" and any(n.startswith("Greeting and main menu › 1.") for n in names), names
    assert steps.iloc[-1]["count"] > 0 and steps.iloc[-1]["failures"] == 0, steps
    labels = [b.label for b in at.get("download_button")]
    assert "report.html" in labels and "run_final_stats.csv" in labels, labels
    history = at.dataframe[1].value.to_dict("records")
    assert len(history) == 1 and history[0]["state"] == "no failure" and history[0]["contacts"] == 3


def test_a_real_workspace_needs_a_confirmation_above_a_handful_of_contacts(page_store):
    page_store.save_profile("prod", bot_url="https://bot.example/api/apichat/x", flow_key="f")
    at = open_page()
    at.multiselect(key="ld-files").select(SCENARIO)
    at.selectbox(key="ld-target").set_value("prod").run()
    assert any("prod is a real workspace" in w.value for w in at.warning)
    assert at.button(key="ld-start").disabled, "20 contacts against prod without the confirmation"
    at.checkbox(key="ld-confirm").check().run()
    assert not at.button(key="ld-start").disabled
    at.number_input(key="ld-users").set_value(5).run()
    assert not [c for c in at.checkbox if c.key == "ld-confirm"] and not at.button(key="ld-start").disabled


def test_a_bad_think_time_is_said_and_blocks_the_start(page_store):
    at = open_page()
    at.multiselect(key="ld-files").select(SCENARIO)
    at.text_input(key="ld-think").set_value("soon").run()
    assert any("--think: 'soon' is not a duration" in e.value for e in at.error)
    assert at.button(key="ld-start").disabled


def test_a_run_that_cannot_start_says_why(page_store):
    at = open_page()
    at.multiselect(key="ld-files").select(SCENARIO)
    at.number_input(key="ld-users").set_value(2)
    at.selectbox(key="ld-target").set_value("p1").run()  # p1: a profile without a bot_url
    at.button(key="ld-start").click().run()
    at = finished(at)
    assert any("cannot run the load test:" in e.value and "p1" in e.value for e in at.error), \
        [e.value for e in at.error]


def test_stop_ends_a_run_early_and_it_is_kept_as_stopped(page_store):
    from ui.load_view import runs

    at = open_page()
    at.multiselect(key="ld-files").select(SCENARIO)
    at.number_input(key="ld-users").set_value(2)
    at.number_input(key="ld-seconds").set_value(600)
    at.run()
    at.button(key="ld-start").click().run()
    run_id = at.session_state["ld-run"]
    wait_until(lambda: runs().files(run_id).get("run_stats_history.csv"), 60, message="Locust to be running")
    at.button(key="ld-stop").click().run()
    at = finished(at)
    assert runs().meta(run_id)["state"] == "stopped"
    assert at.dataframe[-1].value.to_dict("records")[0]["state"] == "stopped"
