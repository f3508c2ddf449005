"""`pytest scenarios/`: every scenario file is one test case, run against a fresh sandbox by default.

The sandbox (with its own receiver and a temporary store) starts once per session, on free ports,
the first time a scenario runs. `--scenario-profile NAME` (or APICHAT_SCENARIO_PROFILE) runs against
a profile of the console's store instead; `env` means the UCHAT_* variables. Drafts saved under
`recorded/` are not collected. A file that says `judge:` is a collection error when no judge is configured
(APICHAT_JUDGE_URL). `--scenario-repeat N` (or APICHAT_SCENARIO_REPEAT) runs each file N times
instead of its own `repeat:`; a file passes when its pass rate reaches its `pass_rate:` (all runs by default).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from apichat import scenarios

HERE = Path(__file__).resolve().parent
collect_ignore = list(scenarios.SKIPPED_FOLDERS)
_TARGET = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("scenarios", "API Chat scenarios")
    group.addoption("--scenario-profile", default=None, metavar="NAME",
                    help="run scenarios against this profile of the console's store (env: the UCHAT_* "
                         "variables); default: a fresh embedded sandbox")
    group.addoption("--scenario-repeat", default=None, metavar="N",
                    help="run each scenario N times, a new contact each time (default: the file's repeat, or 1)")
    group.addoption("--scenario-settle", type=float, default=None, metavar="SECONDS",
                    help="quiet period that ends a turn (default 1.0)")


def _option(config, name: str, env: str):
    try:
        value = config.getoption(name)
    except ValueError:  # this conftest was not loaded at startup, so its options do not exist
        value = None
    return value if value is not None else (os.environ.get(env) or None)


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix in scenarios.SCENARIO_SUFFIXES and HERE in file_path.resolve().parents:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            scenario = scenarios.load_scenario(self.path, os.path.relpath(self.path, self.config.rootpath))
        except scenarios.ScenarioError:
            scenario = None  # its problems are the test's failure
        refusal = scenarios.judge_refusal([scenario]) if scenario is not None else None
        if refusal:  # a file that asks a judge cannot pass without one: refused before anything runs
            raise self.CollectError(f"cannot run scenarios: {refusal}")
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioFailed(Exception):
    def __init__(self, outcome: scenarios.Repeated):
        super().__init__(scenarios.repeated_problem(outcome))
        self.outcome = outcome


def _repeat(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= scenarios.MAX_REPEAT:
        raise pytest.UsageError(f"--scenario-repeat must be a whole number from 1 to {scenarios.MAX_REPEAT}; "
                                f"got {text!r}")
    return int(text)


def _target(config) -> scenarios.Target:
    """The session's target, started on first use; a failure to start is remembered for every scenario."""
    state = config.stash.get(_TARGET, None)
    if state is None:
        state = config.stash[_TARGET] = {"stack": contextlib.ExitStack(), "target": None, "error": None,
                                         "batch": f"pytest-{int(time.time())}"}
        config.add_cleanup(state["stack"].close)
        profile = _option(config, "--scenario-profile", "APICHAT_SCENARIO_PROFILE")
        try:
            state["target"] = state["stack"].enter_context(scenarios.target_for(profile))
        except scenarios.TargetError as exc:
            state["error"] = exc
    if state["error"] is not None:
        raise state["error"]
    return state["target"], state["batch"]


class ScenarioItem(pytest.Item):
    def runtest(self):
        shown = os.path.relpath(self.path, self.config.rootpath)
        scenario = scenarios.load_scenario(self.path, shown)
        target, batch = _target(self.config)
        settle = _option(self.config, "--scenario-settle", "APICHAT_SCENARIO_SETTLE")
        runner = scenarios.Runner(target.store, target.profile, settle=float(settle or 1.0), batch=batch)
        repeat = _option(self.config, "--scenario-repeat", "APICHAT_SCENARIO_REPEAT")
        results = runner.repeat(scenario, scenarios.times_for(scenario, _repeat(repeat) if repeat else None))
        outcome = scenarios.Repeated(scenario, results, scenarios.threshold_for(scenario))
        for name, value in outcome.rates.properties().items():
            self.user_properties.append((name, value))
        cost = runner.checks.cost()  # what judging cost: `judge: 1 call, 3 cache hits`
        if cost:
            self.user_properties.append(("judge", cost))
        if not outcome.ok:
            raise ScenarioFailed(outcome)
        self.add_report_section("call", "scenario", scenarios.repeated_report(outcome, raw=False, every_run=True)
                                + (f"\n  {cost}" if cost else ""))

    def repr_failure(self, excinfo, style=None):
        error = excinfo.value
        if isinstance(error, scenarios.ScenarioError):
            return str(error)
        if isinstance(error, ScenarioFailed):
            return f"{scenarios.repeated_problem(error.outcome)}\n{scenarios.repeated_report(error.outcome)}"
        if isinstance(error, scenarios.TargetError):
            return f"cannot run scenarios: {error}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"scenario {self.name}"
