"""`pytest scenarios/`: every scenario file is one test case, run against a fresh sandbox by default.

The sandbox (with its own receiver and a temporary store) starts once per session, on free ports,
the first time a scenario runs. `--scenario-profile NAME` (or APICHAT_SCENARIO_PROFILE) runs against
a profile of the console's store instead; `env` means the UCHAT_* variables. Drafts saved under
`recorded/` are not collected. A file that says `judge:` is a collection error when no judge is configured
(APICHAT_JUDGE_URL).
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
    def __init__(self, result):
        super().__init__(scenarios.first_problem(result))
        self.result = result


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
        result = runner.run(scenario)
        cost = runner.checks.cost()  # what judging cost: `judge: 1 call, 3 cache hits`
        if cost:
            self.user_properties.append(("judge", cost))
        if not result.passed:
            raise ScenarioFailed(result)
        self.add_report_section("call", "scenario", scenarios.text_report(result, raw=False)
                                + (f"\n  {cost}" if cost else ""))

    def repr_failure(self, excinfo, style=None):
        error = excinfo.value
        if isinstance(error, scenarios.ScenarioError):
            return str(error)
        if isinstance(error, ScenarioFailed):
            return f"{scenarios.first_problem(error.result)}\n{scenarios.text_report(error.result)}"
        if isinstance(error, scenarios.TargetError):
            return f"cannot run scenarios: {error}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"scenario {self.name}"
