"""Repeated runs: `repeat:` and `pass_rate:` as the parser reads them, each run a new contact, and the pass rates
of a scenario and of its steps, pass^k and the failing expectations, from the runner and from the store alike."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from apichat.scenarios import (
    Rates,
    Repeated,
    Runner,
    RunOutcome,
    ScenarioError,
    junit_xml,
    parse_scenario,
    rates_report,
    threshold_for,
    times_for,
)
from tests.scenario_helpers import InstantBot, scenario_store

HOURS = """name: Opening hours
repeat: 6
steps:
  - send: hi
    messages: 1
  - send: When are you open?
    expect:
      - text: {contains: "8 am to 6 pm"}
    messages: 1
"""


@pytest.fixture
def store():
    yield from scenario_store()


def repeated(store, text: str, bot: InstantBot | None = None, times: int | None = None,
             min_pass_rate: float | None = None) -> Repeated:
    scenario = parse_scenario(text, "hours.yaml")
    runner = Runner(store, store.get_profile("p"), settle=0.05, poll=0.01, deliver=bot or InstantBot(), batch="b1")
    results = runner.repeat(scenario, times_for(scenario, times))
    return Repeated(scenario, results, threshold_for(scenario, min_pass_rate))


@pytest.mark.parametrize("text, problem", [
    ("repeat: 0\n", "hours.yaml:1: repeat must be a whole number from 1 to 1000; got int 0"),
    ("repeat: 2.5\n", "hours.yaml:1: repeat must be a whole number from 1 to 1000; got float 2.5"),
    ("repeat: many\n", "hours.yaml:1: repeat must be a whole number from 1 to 1000; got str \"many\""),
    ("name: x\npass_rate: 80\n", "hours.yaml:2: pass_rate must be a number from 0 to 1, like 0.8; got int 80 "
                                 "(for 80 % write 0.8)"),
    ("pass_rate: high\n", "hours.yaml:1: pass_rate must be a number from 0 to 1, like 0.8; got str \"high\""),
    ("repeats: 3\n", "hours.yaml:1: unknown key 'repeats' in the scenario (did you mean 'repeat'?)"),
])
def test_repeat_and_pass_rate_are_checked_with_file_and_line(text, problem):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text + "steps:\n  - send: hi\n", "hours.yaml")
    assert caught.value.problems == [problem]


def test_the_command_line_overrides_the_file_and_the_default_is_one_run_that_must_pass():
    plain, tuned = parse_scenario("steps: [{send: hi}]", "a.yaml"), parse_scenario(HOURS + "pass_rate: 0.5\n", "b.yaml")
    assert (times_for(plain), threshold_for(plain)) == (1, 1.0)
    assert (times_for(tuned), threshold_for(tuned)) == (6, 0.5)
    assert (times_for(tuned, 2), threshold_for(tuned, 0.9)) == (2, 0.9)
    assert threshold_for(parse_scenario("repeat: 3\nsteps: [{send: hi}]", "c.yaml")) == 1.0


def test_every_run_is_a_new_contact_in_a_new_conversation(store):
    outcome = repeated(store, HOURS)
    assert len(outcome.results) == 6 and outcome.ok and outcome.rates.pass_k
    assert len({r.contact["id"] for r in outcome.results}) == 6
    assert len({r.conversation for r in outcome.results}) == 6
    named = repeated(store, HOURS.replace("repeat: 6", "repeat: 3\ncontact: {id: ana}"))
    assert [r.contact["id"] for r in named.results] == ["ana-1", "ana-2", "ana-3"]
    assert [r.contact["id"] for r in repeated(store, HOURS, times=1).results] != ["ana-1"]
    single = repeated(store, HOURS.replace("repeat: 6", "contact: {id: bob}"))
    assert [r.contact["id"] for r in single.results] == ["bob"]  # one run: the file's contact as it is


def test_a_made_up_answer_in_one_run_of_three_shows_in_the_rates_of_the_scenario_and_the_step(store):
    outcome = repeated(store, HOURS, InstantBot(hallucinate=True))
    rates = outcome.rates
    assert (rates.runs, rates.passed) == (6, 4)  # one made-up answer in every three
    assert not rates.ok and not rates.pass_k and rates.threshold == 1.0
    assert rates.summary() == "passed 4 of 6 (66.7 %) < 100 %"
    assert [(s.index, s.passed, s.runs) for s in rates.steps] == [(1, 6, 6), (2, 4, 6)]
    [problem] = rates.problems
    assert problem.line == 8 and problem.runs == 2 and "8 am to 6 pm" in problem.example
    report = rates_report(rates)
    assert "FAILED  Opening hours (hours.yaml) — passed 4 of 6 (66.7 %) < 100 % · pass^6 no" in report
    assert "step 2: send \"When are you open?\"  4/6 (66.7 %)" in report
    assert "hours.yaml:8: failed in 2 of 6 runs, e.g. expected a reply like" in report
    assert Repeated(outcome.scenario, outcome.results, 0.6).ok
    assert Rates.of_results(outcome.scenario, outcome.results, 0.6).summary() == "passed 4 of 6 (66.7 %) ≥ 60 %"


def test_the_rates_read_from_the_store_are_the_rates_of_the_runs(store):
    outcome = repeated(store, HOURS, InstantBot(hallucinate=True))
    kept = [RunOutcome.of_rows(store.get_scenario_run(r.run_id), store.scenario_results(r.run_id))
            for r in outcome.results]
    assert Rates.of("Opening hours", "hours.yaml", 1.0, kept) == outcome.rates


def test_junit_has_one_case_per_scenario_failing_with_its_rate_and_the_rates_as_properties(store, tmp_path):
    outcome = repeated(store, HOURS, InstantBot(hallucinate=True), min_pass_rate=0.8)
    path = tmp_path / "junit.xml"
    junit_xml([("hours.yaml", outcome)], path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    [case] = suite.findall("testcase")
    assert case.find("failure").get("message") == "passed 4 of 6 (66.7 %) < 80 %"
    properties = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert properties["runs"] == "6" and properties["passed"] == "4" and properties["pass^6"] == "false"
    assert properties["pass_rate"] == "0.6667" and properties["threshold"] == "0.8"
    assert properties["step 2 pass_rate"] == "0.6667" and properties["hours.yaml:8 failed"] == "2 of 6"
    assert "hours.yaml:8: failed in 2 of 6 runs" in case.find("failure").text


def test_a_single_run_is_repeat_one_and_fails_with_its_first_problem(store, tmp_path):
    bot = InstantBot(hallucinate=True)
    outcomes = [repeated(store, HOURS, bot, times=1) for _ in range(3)]
    assert sorted(o.ok for o in outcomes) == [False, True, True]
    failed = next(o for o in outcomes if not o.ok)
    junit_xml([("hours.yaml", failed)], tmp_path / "j.xml")
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    assert case.find("failure").get("message").startswith("hours.yaml:8: step 2 (send \"When are you open?\")")


@pytest.mark.parametrize("flags, problem", [
    (["--repeat", "0"], "argument --repeat: '0' is not a whole number of runs from 1 to 1000"),
    (["--repeat", "2.5"], "argument --repeat: '2.5' is not a whole number of runs from 1 to 1000"),
    (["--min-pass-rate", "80"], "argument --min-pass-rate: '80' is not a share of runs from 0 to 1 (e.g. 0.8)"),
    (["--min-pass-rate", "most"], "argument --min-pass-rate: 'most' is not a share of runs from 0 to 1 (e.g. 0.8)"),
])
def test_the_command_line_refuses_a_repeat_or_rate_out_of_range(flags, problem, capsys):
    from apichat.scenarios.__main__ import main

    with pytest.raises(SystemExit) as caught:
        main(["run", "scenarios/", *flags])
    assert caught.value.code == 2 and problem in capsys.readouterr().err


def test_a_run_read_back_from_the_store_counts_a_steps_error_and_its_failures_but_not_a_skipped_steps_note():
    import json

    from apichat.scenarios.rates import ProblemCount, StepOutcome, StepRate

    def row(position, line, status, detail=None):
        return {"position": position, "line": line, "label": f"step {position}", "status": status,
                "detail": json.dumps(detail) if detail is not None else None}

    first = RunOutcome.of_rows({"status": "error"}, [
        row(1, 4, "failed", {"failures": [{"line": 5, "problem": "expected A"}, {"line": 6, "problem": "expected B"}]}),
        row(2, 8, "error", {"error": "no reply within 5 s"}),
        row(3, 11, "skipped", {"error": "an earlier step failed"})])
    assert first == RunOutcome("error", (
        StepOutcome(1, 4, "step 1", "failed", ((5, "expected A"), (6, "expected B"))),
        StepOutcome(2, 8, "step 2", "error", ((8, "no reply within 5 s"),)),
        StepOutcome(3, 11, "step 3", "skipped", ())))
    second = RunOutcome.of_rows({"status": "failed"}, [
        row(1, 4, "failed", {"failures": [{"line": 6, "problem": "expected B, again"}]}), row(2, 8, "passed"),
        row(3, 11, "passed", {})])
    rates = Rates.of("S", "s.yaml", 1.0, [first, second])
    assert rates.steps == [StepRate(1, 4, "step 1", 0, 2), StepRate(2, 8, "step 2", 1, 2),
                           StepRate(3, 11, "step 3", 1, 2)]
    assert rates.problems == [ProblemCount(6, 2, "expected B"), ProblemCount(5, 1, "expected A"),  # most often first,
                              ProblemCount(8, 1, "no reply within 5 s")]  # then by line
