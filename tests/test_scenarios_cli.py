"""Headless: `python -m apichat.scenarios` and `pytest scenarios/`, against real processes."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from apichat.processes import clean_env
from apichat.scenarios.__main__ import main
from tests.conftest import ROOT


def _env() -> dict:
    return clean_env(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")


PASSING = "name: Passing\nsteps:\n  - send: hi\n    expect: {buttons: {include: ['🎬 Media']}}\n    messages: 1\n"


FAILING = ("name: Failing\nsteps:\n  - send: hi\n    messages: 1\n  - click: Media\n    expect:\n"
           "      - buttons: [Image, Audio]\n    messages: 1\n")


INVALID = "name: Invalid\nsteps:\n  - send: hi\n    expext: {text: x}\n"


def test_cli_checks_files_without_running_them(tmp_path, capsys):
    (tmp_path / "ok.yaml").write_text(PASSING)
    (tmp_path / "bad.yaml").write_text(INVALID)
    (tmp_path / "recorded").mkdir()
    (tmp_path / "recorded" / "draft.yaml").write_text(INVALID)
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'bad.yaml'}:4: unknown key 'expext' in step 1 (did you mean 'expect'?)" in out
    assert "ok  " in out and "draft" not in out


def test_cli_runs_against_a_fresh_sandbox_with_junit_and_exit_status(tmp_path):
    for name, text in (("passing", PASSING), ("failing", FAILING), ("invalid", INVALID)):
        (tmp_path / f"{name}.yaml").write_text(text)
    junit = tmp_path / "out" / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(tmp_path), "--junitxml", str(junit),
                           "--settle", "0.5"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "PASSED  Passing" in done.stdout and "1 passed, 2 failed" in done.stdout
    assert f"{tmp_path / 'failing.yaml'}:7: expected a reply like" in done.stdout
    assert '"🖼️ Image" (SEND_IMAGE)' in done.stdout  # what arrived, beside what was expected
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='Failing']/failure")
    assert failure.get("message").startswith(f"{tmp_path / 'failing.yaml'}:7: step 2 (click \"Media\")")
    assert "unknown key 'expext'" in suite.find("testcase[@name='invalid']/error").get("message")


def test_cli_exit_status_is_zero_when_all_pass_and_two_when_nothing_runs(tmp_path):
    (tmp_path / "passing.yaml").write_text(PASSING)
    done = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(tmp_path / "passing.yaml")],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", str(tmp_path / "none"),
                              "--profile", "nobody"], cwd=ROOT, env={**_env(), "APICHAT_DB": str(tmp_path / "c.db")},
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_pytest_collects_each_scenario_file_as_a_test_case(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "conftest.py").write_text((ROOT / "scenarios" / "conftest.py").read_text())
    for name, text in (("passing", PASSING), ("failing", FAILING), ("invalid", INVALID)):
        (folder / f"{name}.yaml").write_text(text)
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q",
                           f"--junitxml={junit}", "--scenario-settle=0.5"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=180)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 passed" in out and "2 failed" in out and "Traceback" not in out
    assert "invalid.yaml:4: unknown key 'expext' in step 1" in out
    assert "failing.yaml:7: step 2 (click \"Media\"): expected a reply like" in out
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"passing", "failing", "invalid"}
    assert cases["passing"].find("failure") is None and cases["failing"].find("failure") is not None


def test_the_example_scenarios_are_collected_by_the_default_test_run():
    config = (ROOT / "pyproject.toml").read_text()
    assert 'testpaths = ["tests", "scenarios"]' in config
    assert Path(ROOT / "scenarios" / "conftest.py").exists()
