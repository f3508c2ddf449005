"""`python -m apichat.explore` against the real embedded sandbox: the demo bot mapped completely from hi."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from apichat.explore import START, load_map
from apichat.explore.__main__ import main
from apichat.processes import clean_env
from tests.conftest import ROOT


def _explore(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apichat.explore", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=240, env=env or clean_env(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One crawl of the sandbox's demo bot from hi, shared by the tests of this module."""
    out = tmp_path_factory.mktemp("demo-map")
    done = _explore("run", "--out", str(out), "--settle", "0.5", "--fail-on", "lint,dead-end")
    return out, done


def test_the_demo_bot_is_mapped_completely_from_hi(demo):
    out, done = demo
    assert done.returncode == 1, done.stdout + done.stderr  # the demo bot's 4-button menu breaks both channels
    assert "failing: lint, dead-end found" in done.stderr
    m = load_map((out / "map.json").read_text())
    assert m.status == "finished" and not m.find("limit") and m.stats["unexplored"] == 0
    # every postback the demo bot offers was pressed, in every state that offers it
    for state in m.states.values():
        pressed = {e.action.key for e in m.out_edges(state.id)}
        assert {c.key for c in state.choices} == pressed, state.preview
    payloads = {e.action.payload for e in m.edges if e.source != START}
    from sandbox.bot import POSTBACKS, PRODUCTS
    offered = {"MENU_PRODUCTS", "MENU_MEDIA", "MENU_SUPPORT", "MENU_MORE", "SEND_IMAGE", "SEND_AUDIO", "SEND_VIDEO",
               "SEND_FILE", "DEMO_BURST", "DEMO_SLOW", "DEMO_UNKNOWN", "DEMO_LONG", "DEMO_EMOJI", "DEMO_RTL",
               "DEMO_SQUARE_CARDS", "DEMO_LINKS", "CHECKOUT", "PLACE_ORDER", "MENU",
               *(f"{a}_{p[0]}" for p in PRODUCTS for a in ("ADD", "INFO"))}
    assert offered <= set(POSTBACKS) | {f"{a}_{p[0]}" for p in PRODUCTS for a in ("ADD", "INFO")}
    assert payloads == offered
    # the square carousel is its own state; the links state keeps its url and call buttons as leaves
    assert len([s for s in m.states.values() if s.preview.startswith("Here are this week's bestsellers")]) == 2
    links = next(s for s in m.states.values() if s.preview.startswith("Prefer to browse"))
    assert sorted(x["kind"] for x in links.links) == ["call", "url"]
    # findings the demo bot really has
    assert {f.rule for f in m.find("lint")} == {"messenger.button_count", "whatsapp.reply_buttons"}
    assert [m.edges[f.edge].action.payload for f in m.find("broken")] == ["DEMO_UNKNOWN"]
    assert not m.find("send_error") and not m.find("rejected") and not m.find("endless")
    raw = json.loads((out / "map.json").read_text())
    assert raw["states"][0]["replies"][0]["raw"]["content_type"] == "button_template"  # raw payloads kept
    assert "digraph bot" in (out / "map.dot").read_text()
    assert "## Findings" in (out / "report.md").read_text()


def test_generated_scenarios_cover_every_edge_and_run_green(demo):
    out, _ = demo
    files = sorted((out / "scenarios").glob("*.yaml"))
    assert files
    assert main(["coverage", str(out / "map.json"), str(out / "scenarios")]) == 0
    m = load_map((out / "map.json").read_text())
    done = _explore("coverage", str(out / "map.json"), str(out / "scenarios"))
    answered = len([e for e in m.edges if e.target])
    assert f"edges: {answered}/{len(m.edges)}" in done.stdout and f"states: {len(m.states)}/{len(m.states)} (100 %)" \
        in done.stdout
    longest = max(files, key=lambda f: f.read_text().count("- click"))
    ran = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(longest)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120,
                         env=clean_env(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1"))
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_coverage_of_the_projects_scenarios_and_a_diff_with_itself(demo, capsys):
    out, _ = demo
    assert main(["coverage", str(out / "map.json"), str(ROOT / "scenarios")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("states: ") and "states no scenario reaches:" in text
    assert main(["diff", str(out / "map.json"), str(out / "map.json")]) == 0
    assert capsys.readouterr().out.startswith("no difference: ")


def test_coverage_by_replaying_a_scenario_against_the_sandbox(demo):
    out, _ = demo
    done = _explore("coverage", str(out / "map.json"), str(ROOT / "scenarios" / "products.yaml"), "--replay",
                    "--settle", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed  Products carousel" in done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("states: ") and not first.startswith("states: 0/")
    assert "Products carousel (run 1): " in done.stdout


def test_bad_input_exits_2_with_a_reason(tmp_path, capsys):
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["diff", str(tmp_path / "junk.json"), str(tmp_path / "junk.json")]) == 2
    assert "cannot compare" in capsys.readouterr().err
    assert main(["coverage", str(tmp_path / "missing.json"), str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    env = clean_env(PYTHONPATH=ROOT, APICHAT_DB=tmp_path / "console.db", APICHAT_RECEIVER_PORT="1")
    done = _explore("run", "--profile", "nope", "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 2 and "cannot crawl:" in done.stderr
    with pytest.raises(SystemExit):
        main(["run", "--out", str(tmp_path), "--fail-on", "typo"])
    assert "unknown finding kind(s) typo" in capsys.readouterr().err
