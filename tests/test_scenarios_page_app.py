"""The Scenarios page with Streamlit's AppTest, on a temp store (no browser; runs go to a profile without a bot)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from apichat.payloads import parse_bot_message
from tests.conftest import app_page, wait_until


@pytest.fixture
def store(page_store):
    page_store.save_profile("p1", verify_key="k", flow_key="f")  # no bot_url: a run stops at its first send
    return page_store


def open_page() -> AppTest:
    return app_page("scenarios").run()


def run_button(at: AppTest):
    return at.button(key="sc-run")


def test_the_example_files_are_listed_and_nothing_runs_before_a_pick(store):
    at = open_page()
    assert not at.exception
    options = at.multiselect(key="sc-files").options
    assert "scenarios/greeting_and_menu.yaml" in options and "scenarios/agent_handover.yaml" in options
    assert run_button(at).label == "Run" and run_button(at).disabled
    at.multiselect(key="sc-files").select("scenarios/greeting_and_menu.yaml").run()
    assert run_button(at).label == "Run 1 scenario" and not run_button(at).disabled


def test_a_run_is_kept_and_its_failure_shown(store):
    at = open_page()
    at.multiselect(key="sc-files").select("scenarios/greeting_and_menu.yaml").run()
    run_button(at).click().run()
    batch = at.session_state["sc-batch"]
    runs = wait_until(lambda: [r for r in store.list_scenario_runs(batch=batch) if r["status"] != "running"], 30,
                      message="the run to finish")
    assert [(r["path"], r["profile"], r["status"]) for r in runs] == [
        ("scenarios/greeting_and_menu.yaml", "p1", "error")]
    wait_until(lambda: not any(e.value.startswith("Running") for e in at.run().info), 30,
               message="the page to see the batch finished")
    assert any(e.value == "0 of 1 scenario(s) passed, 1 did not." for e in at.error)
    assert any("no bot_url" in e.value for e in at.error), "the step's error is not shown"


def test_history_lists_every_run(store):
    run = store.start_scenario_run(scenario="Kept", path="scenarios/kept.yaml", profile="p1", total_steps=2)
    store.finish_scenario_run(run, status="passed", passed=2)
    at = open_page()
    table = at.dataframe[0].value
    assert table.to_dict("records")[0]["scenario"] == "Kept"
    assert table.to_dict("records")[0]["status"] == "✅ passed"


def test_a_conversation_is_offered_as_a_scenario(store):
    conv = store.ensure_conversation("p1", "ana", 5)
    store.add_contact_message(conv["id"], "text", "hi", {"text": "hi"}, {"content": "hi"})
    raw = json.dumps({"sender_id": "ana", "conv_id": 5, "text": "Hello there", "type": "text"}).encode()
    store.accept_webhook(profile="p1", route="/webhook/p1", method="POST", headers={}, body=raw,
                         message=parse_bot_message(raw))
    at = open_page()
    assert at.selectbox(key="sc-record-conv").value == conv["id"]
    recorded = next(c.value for c in at.code if "send: hi" in c.value)
    assert "Hello there" in recorded


def test_a_repeated_scenario_shows_its_rates_and_opens_any_of_its_runs(store):
    at = open_page()
    at.multiselect(key="sc-files").select("scenarios/shop_questions.yaml").run()
    run_button(at).click().run()
    batch = at.session_state["sc-batch"]
    wait_until(lambda: len([r for r in store.list_scenario_runs(batch=batch) if r["status"] != "running"]) == 3, 60,
               message="the three runs to finish")
    wait_until(lambda: not any(e.value.startswith("Running") for e in at.run().info), 30,
               message="the page to see the batch finished")
    assert not at.exception
    assert any(e.value == "passed 0 of 3 (0 %) < 100 % · pass^3 no" for e in at.error)
    assert any(e.value == "0 of 1 scenario(s) passed, 1 did not." for e in at.error)
    rates = [h.value for h in at.get("html") if "scn-rates" in str(h.value)]
    assert rates and "0 / 3" in rates[0] and "send &quot;When are you open?&quot;" in rates[0]
    kept = store.list_scenario_runs(batch=batch)
    assert len({r["contact_id"] for r in kept}) == 3
    [picker] = [w for w in at.get("button_group") if w.key.startswith("scn-pick-")]
    assert len(picker.options) == 3 and picker.value == 1
    picker.set_value(3).run()
    assert any(f"run {kept[2]['id']} ·" in c.value for c in at.caption)
