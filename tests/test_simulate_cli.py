"""`python -m apichat.simulate run` against the real embedded sandbox (and the fake OpenAI-compatible server for the
LLM mode), all real processes: a goal of one typed line and four presses reached, its transcript and report
written, the run saved as a scenario that passes; 20 runs' success rate and turns p50/p95; the LLM's press of a
button that is not there refused and asked again; a re-run replayed from the cache."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from apichat.processes import clean_env, free_port
from tests.conftest import ROOT

GOAL = ROOT / "goals" / "place-order.yaml"
KEY = "sk-simulator-0123456789abcdef"


def _run(*args: str, module: str = "apichat.simulate", **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", module, "run", *args], cwd=ROOT,
                          env=clean_env(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", **env), capture_output=True,
                          text=True, timeout=240)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert KEY not in done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def reached(tmp_path_factory):
    """One offline run of the demo goal with no map given (the bot crawled first), everything written."""
    out = tmp_path_factory.mktemp("sim")
    done = _run(str(GOAL), "--settle", "0.3", "--out", str(out / "out"), "--junitxml", str(out / "junit.xml"),
                "--save-scenario", str(out / "saved.yaml"))
    return out, done


def test_four_presses_and_one_typed_line_reach_the_goal_with_transcript_and_report(reached):
    out, done = reached
    assert done.returncode == 0, done.stdout + done.stderr
    assert ('plan on the map: send "hi" → ☕ Products → Espresso Blend · $12.90 › Add to cart → Checkout → Place '
            "order") in done.stdout
    assert "run 1: reached in 5 turns" in done.stdout and "✓ matched line 7:" in done.stdout
    assert "success rate: 1/1 (100%); turns to goal p50 5, p95 5" in done.stdout
    folder = out / "out"
    doc = json.loads((folder / "run-01.json").read_text())
    verdict = doc["verdict"]
    assert verdict["reached"] and verdict["turns"] == 5 and verdict["notes"] == []
    assert [r["action"]["type"] for r in verdict["records"]] == ["send", "postback", "postback", "postback",
                                                                 "postback"]
    assert all(r["first_reply"] is not None and r["last_reply"] >= r["first_reply"] for r in verdict["records"])
    assert [m["direction"] for m in doc["messages"]] == ["out", "in"] * 5
    assert "Order #NW-1042 placed" in json.dumps(doc["messages"][-1]["payload"], ensure_ascii=False)
    markdown = (folder / "run-01.md").read_text()
    assert "**Sam Buyer**" in markdown and "[clicked: Place order → payload PLACE_ORDER]" in markdown
    assert "| 1 | 1 | 100% | 5 | 5 |" in (folder / "report.md").read_text()
    assert json.loads((folder / "map.json").read_text())["status"] == "finished"  # the crawl is kept
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


def test_the_run_saved_as_a_scenario_passes(reached):
    out, done = reached
    assert f"saved run 1 as scenario {out / 'saved.yaml'}" in done.stdout
    saved = (out / "saved.yaml").read_text()
    assert "- click: {card: Espresso Blend · $12.90, button: Add to cart}" in saved and "Place order" in saved
    ran = _run(str(out / "saved.yaml"), "--settle", "0.3", module="apichat.scenarios")
    assert ran.returncode == 0 and "1 passed, 0 failed" in ran.stdout, ran.stdout + ran.stderr


def test_twenty_runs_report_a_success_rate_and_turns_p50_p95(reached, tmp_path):
    out, _ = reached
    done = _run(str(GOAL), "--map", str(out / "out" / "map.json"), "--runs", "20", "--workers", "10", "--settle",
                "0.2", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success rate: 20/20 (100%); turns to goal p50 5, p95 5" in done.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["summary"]["runs"] == 20 and report["summary"]["success_rate"] == 1.0
    assert len({r["contact_id"] for r in report["runs"]}) == 20  # a new contact each
    assert len(list((tmp_path / "out").glob("run-*.md"))) == 20


def _llm_goal(tmp_path) -> str:
    path = tmp_path / "llm-goal.yaml"
    path.write_text(GOAL.read_text().replace("max_turns: 8", "max_turns: 8\nseed: 7"))
    return str(path)


SCRIPT = [  # the first rule whose texts are all in the prompt answers: the latest stage first
    {"when": "latest messages:\nBot: This is a demo", "answer": '{"press": "Place order"}'},
    {"when": 'Refused: there is no button "Teleport"', "answer": '{"press": "Checkout"}'},
    {"when": "latest messages:\nBot: Added 1 × Cold Brew Kit", "answer": '{"press": "Teleport"}'},
    {"when": "latest messages:\nBot: Here are this week", "answer": '{"press": "Add to cart", "card": "Cold Brew Kit · $29.00"}'},
    {"when": "latest messages:\nBot: Hi Sam", "answer": '{"press": "☕ Products"}'},
    {"when": "has not said anything yet", "answer": '{"say": "hi"}'},
]


def test_the_llm_plays_the_goal_a_press_that_is_not_offered_is_refused_and_a_rerun_replays(tmp_path, fake_llm):
    fake_llm.script(chat=SCRIPT)
    env = {"APICHAT_SIMULATOR_URL": fake_llm.url, "APICHAT_SIMULATOR_MODEL": "fake-sim",
           "APICHAT_SIMULATOR_KEY": KEY, "APICHAT_DB": str(tmp_path / "console.db"),
           "APICHAT_MEDIA_DIR": str(tmp_path / "media"), "APICHAT_RECEIVER_PORT": str(free_port()),
           "APICHAT_SANDBOX_PORT": str(free_port())}
    goal = _llm_goal(tmp_path)
    first = _run(goal, "--profile", "sandbox", "--settle", "0.3", "--out", str(tmp_path / "one"), **env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "run 1: reached in 5 turns" in first.stdout and ", llm)" in first.stdout
    assert "Cold Brew Kit · $29.00 › Add to cart" in first.stdout  # the card's button it picked
    assert 'refused first: "{\\"press\\": \\"Teleport\\"}": there is no button "Teleport"' in first.stdout
    assert "simulator: 6 calls, 0 cache hits, 1 refused" in first.stdout
    requests = fake_llm.calls()["requests"]
    assert len(requests) == 6 and all(r["body"]["seed"] == 7 and r["body"]["model"] == "fake-sim" for r in requests)
    assert all(r["authorization"] == f"Bearer {KEY}" for r in requests)
    second = _run(goal, "--profile", "sandbox", "--settle", "0.3", "--out", str(tmp_path / "two"), **env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "simulator: 0 calls, 6 cache hits, 1 refused" in second.stdout
    assert fake_llm.calls()["chat"] == 6
    labels = [[r["label"] for r in json.loads((tmp_path / d / "run-01.json").read_text())["verdict"]["records"]]
              for d in ("one", "two")]
    assert labels[0] == labels[1] and labels[0][-1] == "Place order"
