"""The Scenarios page's rules (apichat/scenarios/batches.py): which files are offered, loading picks and uploads, and
running a batch in the background against a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from apichat.scenarios import batches as runs
from apichat.store import open_store
from tests.conftest import ROOT

GOOD = "name: Hello\nsteps:\n  - send: hi\n  - send: bye\n"
BROKEN = "name: Broken\nsteps:\n  - send: hi\n    expcet: {text: hi}\n"


@pytest.fixture
def tree(tmp_path) -> Path:
    for path, text in (("scenarios/a.yaml", GOOD), ("scenarios/sub/b.yml", GOOD), ("scenarios/notes.txt", "x"),
                       ("scenarios/recorded/draft.yaml", GOOD), ("scenarios/.hidden/x.yaml", GOOD),
                       ("scenarios/broken.yaml", BROKEN)):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def test_the_files_offered_follow_the_scenarios_package_and_add_the_drafts(tree):
    files = runs.available_files(tree)
    assert list(files) == ["scenarios/a.yaml", "scenarios/broken.yaml", "scenarios/recorded/draft.yaml",
                           "scenarios/sub/b.yml"]
    assert files["scenarios/a.yaml"] == str(tree / "scenarios" / "a.yaml")
    assert runs.available_files(tree / "nowhere") == {}


def test_the_repositorys_examples_are_offered():
    files = runs.available_files(ROOT)
    assert "scenarios/greeting_and_menu.yaml" in files and "scenarios/agent_handover.yaml" in files
    assert all(name.endswith((".yaml", ".yml")) for name in files)


def test_picks_and_uploads_load_or_say_where_they_are_wrong(tree):
    files = runs.available_files(tree)
    loaded, problems = runs.load_chosen(
        ["scenarios/a.yaml", "scenarios/gone.yaml", "scenarios/broken.yaml"], files,
        [("up.yaml", GOOD.encode("utf-8-sig")), ("latin.yaml", "name: Café".encode("latin-1")),
         ("bad.yaml", BROKEN.encode())])
    assert [(s.name, s.path) for s in loaded] == [("Hello", "scenarios/a.yaml"), ("Hello", "upload:up.yaml")]
    assert problems[0].startswith("scenarios/broken.yaml:4: unknown key 'expcet'")
    assert problems[1] == "upload:latin.yaml:1: the file is not UTF-8 text"
    assert problems[2].startswith("upload:bad.yaml:4: unknown key 'expcet'") and len(problems) == 3


def test_pending_steps_are_those_not_yet_run():
    run = {"source": GOOD, "path": "scenarios/a.yaml"}
    assert runs.pending_steps(run, 0) == ["Step 1 · send \"hi\"", "Step 2 · send \"bye\""]
    assert runs.pending_steps(run, 1) == ["Step 2 · send \"bye\""]
    assert runs.pending_steps({"source": BROKEN, "path": "x.yaml"}, 0) == []


def test_a_batch_runs_in_the_background_and_keeps_its_runs(tree, tmp_path):
    store = open_store(str(tmp_path / "console.db"))
    profile = store.save_profile("p1", verify_key="k", flow_key="f")  # no bot_url: the run cannot send
    loaded, _ = runs.load_chosen(["scenarios/a.yaml", "scenarios/sub/b.yml"], runs.available_files(tree), [])
    batches = runs.Batches()
    batch = batches.start(store, profile, loaded, settle=0.2)
    assert batches.wait(batch, timeout=60) and not batches.running(batch)
    kept = store.list_scenario_runs(batch=batch)
    assert sorted(r["path"] for r in kept) == ["scenarios/a.yaml", "scenarios/sub/b.yml"]
    assert all(r["status"] == "error" and r["profile"] == "p1" for r in kept)
    assert not batches.running("another") and not batches.running(None)
