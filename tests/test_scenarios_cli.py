"""Headless: `python -m apichat.scenarios` and `pytest scenarios/`, against real processes."""

from __future__ import annotations

import re
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


HOURS = """name: Opening hours
repeat: 2
steps:
  - send: hi
    messages: 1
{fault}  - send: When are you open?
    expect:
      - text: {{contains: "8 am to 6 pm"}}
    messages: 1
"""
HALLUCINATING = HOURS.format(fault="  - send: fault hallucinate\n    messages: 1\n")


def _scenarios(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", *args, "--settle", "0.3"], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=180)


def test_cli_repeat_runs_each_scenario_as_new_contacts_and_passes_when_every_run_does(tmp_path):
    (tmp_path / "hours.yaml").write_text(HOURS.format(fault=""))
    done = _scenarios(str(tmp_path / "hours.yaml"), "--repeat", "5")  # overrides the file's repeat: 2
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert [f"run {n} of 5" in out for n in range(1, 6)] == [True] * 5
    assert "run 5 of 5: PASSED  Opening hours" in out and "passed 5 of 5 (100 %) ≥ 100 % · pass^5 yes" in out
    assert 'step 2: send "When are you open?"  5/5 (100 %)' in out and "1 passed, 0 failed" in out


def test_cli_with_a_hallucinating_bot_gives_a_rate_under_one_and_exits_1_under_min_pass_rate(tmp_path):
    (tmp_path / "hours.yaml").write_text(HALLUCINATING)
    junit = tmp_path / "junit.xml"
    done = _scenarios(str(tmp_path / "hours.yaml"), "--repeat", "5", "--min-pass-rate", "0.9", "--junitxml",
                      str(junit))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out and "0 passed, 1 failed" in out
    # one answer in every three is made up: 1 of the first three runs, 0 or 1 of the last two
    [(passed, shown)] = re.findall(r"passed ([34]) of 5 \((60|80) %\) < 90 %", out)
    assert f'step 3: send "When are you open?"  {passed}/5 ({shown} %)' in out
    assert f"{tmp_path / 'hours.yaml'}:10: failed in {5 - int(passed)} of 5 runs, e.g. expected a reply like" in out
    [case] = ET.parse(junit).getroot().iter("testcase")
    assert case.find("failure").get("message") == f"passed {passed} of 5 ({shown} %) < 90 %"
    properties = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert properties["passed"] == passed and properties["threshold"] == "0.9" and properties["pass^5"] == "false"
    assert properties["step 1 pass_rate"] == "1" and float(properties["step 3 pass_rate"]) < 1


def test_pytest_scenario_repeat_fails_a_file_whose_rate_is_under_its_pass_rate(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "conftest.py").write_text((ROOT / "scenarios" / "conftest.py").read_text())
    (folder / "hours.yaml").write_text(HALLUCINATING.replace("repeat: 2", "repeat: 2\npass_rate: 0.9"))
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q",
                           f"--junitxml={junit}", "--scenario-settle=0.3", "--scenario-repeat=3"], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=180)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "passed 2 of 3 (66.7 %) < 90 %" in out and "pass^3 no" in out and "Traceback" not in out
    [case] = ET.parse(junit).getroot().iter("testcase")
    properties = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert properties["runs"] == "3" and properties["passed"] == "2"


MEANING = """name: Opening hours, by meaning
steps:
  - send: hi
    messages: 1
{fault}  - send: When are you open?
    expect:
      - text: {{similar_to: "We are open 8 am to 6 pm on weekdays and 9 am to 1 pm on Saturdays.", at_least: 0.7}}
    messages: 1
"""


def test_similar_to_passes_every_paraphrase_and_fails_a_made_up_answer_with_its_score(tmp_path):
    (tmp_path / "hours.yaml").write_text(MEANING.format(fault=""))
    done = _scenarios(str(tmp_path / "hours.yaml"), "--repeat", "10", "--min-pass-rate", "0.9")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "passed 10 of 10 (100 %) ≥ 90 %" in out
    (tmp_path / "hours.yaml").write_text(MEANING.format(fault="  - send: fault hallucinate\n    messages: 1\n"))
    done = _scenarios(str(tmp_path / "hours.yaml"), "--repeat", "10", "--min-pass-rate", "0.9")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    [(passed, shown)] = re.findall(r"passed (\d+) of 10 \((\d+) %\) < 90 %", out)
    assert 5 <= int(passed) <= 8  # one answer in three made up
    assert f'step 3: send "When are you open?"  {passed}/10 ({shown} %)' in out
    scores = [float(s) for s in re.findall(r"at least 0\.70 +(0\.\d\d) \(lexical\)", out)]
    assert scores and all(s < 0.7 for s in scores), out
