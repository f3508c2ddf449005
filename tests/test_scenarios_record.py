"""Recording a stored conversation as a scenario that replays and passes."""

from __future__ import annotations

import pytest

from apichat.scenarios import Runner, parse_scenario, record_conversation, text_report
from tests.scenario_helpers import InstantBot, run, scenario_store


@pytest.fixture
def store():
    yield from scenario_store()


def test_a_recorded_conversation_replays_and_passes(store):
    original = run(store, "steps:\n  - send: hi\n  - click: Products\n  - click: {card: Espresso, button: "
                          "Add to cart}\n  - send: image\n  - send: agent\n")
    assert original.passed
    text = record_conversation(store, original.conversation, name="Replay")
    scenario = parse_scenario(text, "rec.yaml")
    assert scenario.name == "Replay" and text.startswith("# Recorded")
    assert "click: {card: Espresso Blend · $12.90, button: Add to cart}" in text
    assert "image: {ends_with: /sandbox/media/latte.png}" in text
    assert "private: true" in text and "messages: 2" in text
    replay = Runner(store, store.get_profile("p"), settle=0.2, poll=0.01, deliver=InstantBot()).run(scenario)
    assert replay.passed, text_report(replay)


def test_recording_needs_a_contact_message(store):
    conv = store.ensure_conversation("p", "c", 5)
    with pytest.raises(ValueError, match="no message from the contact"):
        record_conversation(store, conv["id"])
    with pytest.raises(ValueError, match="no conversation with id 999"):
        record_conversation(store, 999)
