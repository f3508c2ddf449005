"""Scenarios: scripted conversations with expectations, run in the console, from the command line or by pytest.

    model      the dataclasses: Scenario, Step, Expectation, Matcher, Failure, Mismatch (match: one value at a time)
    parse      scenario files into a Scenario of Steps (nodes: the strict YAML under it; parse_expect: `expect:`)
    expect     evaluate(): a step's replies against what it expects
    run        the Runner: sends as the contact, collects the replies, keeps every run in the store
    needs      what files need before they run: a judge when one says `judge:` (else refused)
    rates      repeated runs: how many, the threshold, each scenario's and step's pass rate, pass^k
    report     runs (and their rates) as text and as JUnit XML
    record     a stored conversation as a scenario file
    targets    what a run sends to: a fresh sandbox, or a profile of the console's store
    batches    the console's picks, uploads and batches run in background threads (not imported here)
    __main__   `python -m apichat.scenarios run|check|record …`

Imports go one way: nodes < match < model < parse_expect < parse, and model < expect < run < rates < report
(a contract); scenarios use apichat.ai (similar_to's measure, the judge), which imports nothing of them.
"""

from .expect import evaluate
from .match import CountMatch
from .model import Expectation, Failure, Mismatch, Scenario, Step
from .needs import judge_refusal
from .nodes import MAX_REPEAT, ScenarioError, parse_duration
from .parse import SCENARIO_SUFFIXES, SKIPPED_FOLDERS, load_scenario, parse_scenario, scenario_files
from .rates import Rates, Repeated, RunOutcome, threshold_for, times_for
from .record import expectation_for, record_conversation, recorded_step
from .report import (
    first_problem,
    junit_xml,
    rates_report,
    repeated_problem,
    repeated_report,
    side_by_side,
    step_line,
    text_report,
)
from .run import Runner, RunResult, Session, StepError, StepResult, StoreFeed, find_button, percentile
from .targets import Target, TargetError, profile_target, sandbox_target, target_for

__all__ = [
    "CountMatch", "MAX_REPEAT", "find_button", "SCENARIO_SUFFIXES", "SKIPPED_FOLDERS", "Expectation", "Failure", "Mismatch",
    "Rates", "Repeated", "RunOutcome", "RunResult", "Runner", "Session", "rates_report", "repeated_problem", "repeated_report", "threshold_for", "times_for", "Scenario", "expectation_for", "recorded_step", "StoreFeed",
    "ScenarioError", "Step", "StepError", "StepResult", "Target", "TargetError", "evaluate", "first_problem",
    "judge_refusal", "junit_xml", "load_scenario", "parse_duration", "parse_scenario", "percentile", "profile_target",
    "record_conversation", "sandbox_target", "scenario_files", "side_by_side", "step_line",
    "target_for", "text_report",
]
