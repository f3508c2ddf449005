"""Repeated runs of a scenario and their pass rates: how many runs, and which threshold, and what the runs add up to.

A bot that answers with AI says something a little different each time, so one green run proves little. A
scenario runs `repeat` times (each a new contact in a new conversation) and passes when the share of runs that
passed reaches its threshold: `pass_rate`, or all of them when none is given. A single run is repeat 1 with
threshold 1, so the same rule decides every scenario. The tally is made from the runner's results (the command
line, pytest) or from the runs kept in the store (the console), through one `Rates.of`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from .model import Scenario
from .run import RunResult

ALL = 1.0  # the threshold when a scenario names none


def times_for(scenario: Scenario, repeat: int | None = None) -> int:
    """How many runs: `repeat` (from the command line or pytest) when given, else the file's own."""
    return repeat if repeat is not None else scenario.repeat


def threshold_for(scenario: Scenario, min_pass_rate: float | None = None) -> float:
    """The share of runs that must pass: `min_pass_rate` when given, else the file's `pass_rate`, else all."""
    if min_pass_rate is not None:
        return min_pass_rate
    return scenario.pass_rate if scenario.pass_rate is not None else ALL


def percent(share: float) -> str:
    return f"{round(share * 100, 1):g} %"


@dataclass(frozen=True)
class StepOutcome:
    """What one step did in one run, as the runner returns it or the store keeps it."""

    index: int
    line: int
    label: str
    status: str  # passed | failed | error | skipped
    problems: tuple[tuple[int, str], ...] = ()  # (line, problem): each failed expectation, or the step's error


@dataclass(frozen=True)
class RunOutcome:
    status: str
    steps: tuple[StepOutcome, ...]

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @classmethod
    def of_result(cls, result: RunResult) -> RunOutcome:
        return cls(result.status, tuple(StepOutcome(
            s.step.index, s.step.line, s.step.label, s.status,
            tuple((f.line, f.problem) for f in s.failures) + (((s.step.line, s.error),) if s.error else ()))
            for s in result.steps))

    @classmethod
    def of_rows(cls, run: dict, results: list[dict]) -> RunOutcome:
        """A run kept in the store (`Store.get_scenario_run`) and its steps (`Store.scenario_results`)."""
        steps = []
        for row in results:
            detail = json.loads(row.get("detail") or "{}")
            problems = tuple((f["line"], f["problem"]) for f in detail.get("failures") or [])
            if detail.get("error") and row["status"] != "skipped":
                problems += ((row["line"], detail["error"]),)
            steps.append(StepOutcome(row["position"], row["line"], row["label"], row["status"], problems))
        return cls(run["status"], tuple(steps))


@dataclass(frozen=True)
class StepRate:
    index: int
    line: int
    label: str
    passed: int
    runs: int

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


@dataclass(frozen=True)
class ProblemCount:
    """An expectation (or a step that could not run) at `line`, that failed in `runs` of the runs."""

    line: int
    runs: int
    example: str  # the problem as the first run that had it said it


@dataclass
class Rates:
    """What N runs of one scenario add up to."""

    name: str
    path: str
    threshold: float
    runs: int
    passed: int
    steps: list[StepRate] = field(default_factory=list)
    problems: list[ProblemCount] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, path: str, threshold: float, outcomes: list[RunOutcome]) -> Rates:
        rates = cls(name, path, threshold, len(outcomes), sum(o.passed for o in outcomes))
        by_step: dict[int, StepOutcome] = {}
        passed: Counter[int] = Counter()
        counted: Counter[int] = Counter()
        example: dict[int, str] = {}
        for outcome in outcomes:
            lines = set()
            for step in outcome.steps:
                by_step.setdefault(step.index, step)
                passed[step.index] += step.status == "passed"
                for line, problem in step.problems:
                    example.setdefault(line, problem)
                    lines.add(line)
            counted.update(lines)  # a line failing twice in one run counts once for that run
        rates.steps = [StepRate(i, s.line, s.label, passed[i], len(outcomes)) for i, s in sorted(by_step.items())]
        rates.problems = sorted((ProblemCount(line, n, example[line]) for line, n in counted.items()),
                                key=lambda p: (-p.runs, p.line))
        return rates

    @classmethod
    def of_results(cls, scenario: Scenario, results: list[RunResult], threshold: float) -> Rates:
        return cls.of(scenario.name, scenario.path, threshold, [RunOutcome.of_result(r) for r in results])

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def pass_k(self) -> bool:
        """pass^k: all k of the k runs passed."""
        return self.runs > 0 and self.passed == self.runs

    @property
    def ok(self) -> bool:
        return self.runs > 0 and self.rate >= self.threshold - 1e-9

    def summary(self) -> str:
        """`passed 3 of 5 (60 %) < 80 %`, the line that says whether the scenario met its threshold."""
        sign = "≥" if self.ok else "<"
        return f"passed {self.passed} of {self.runs} ({percent(self.rate)}) {sign} {percent(self.threshold)}"

    def properties(self) -> dict[str, str]:
        """The figures as name → text, for JUnit's <properties>."""
        out = {"runs": str(self.runs), "passed": str(self.passed), "pass_rate": f"{self.rate:.4g}",
               "threshold": f"{self.threshold:.4g}", f"pass^{self.runs}": str(self.pass_k).lower()}
        for step in self.steps:
            out[f"step {step.index} pass_rate"] = f"{step.rate:.4g}"
        for problem in self.problems:
            out[f"{self.path}:{problem.line} failed"] = f"{problem.runs} of {self.runs}"
        return out


@dataclass
class Repeated:
    """The runs of one scenario (from the runner) and the threshold they are held to."""

    scenario: Scenario
    results: list[RunResult]
    threshold: float

    @property
    def rates(self) -> Rates:
        return Rates.of_results(self.scenario, self.results, self.threshold)

    @property
    def ok(self) -> bool:
        return self.rates.ok

    @property
    def seconds(self) -> float:
        return sum(max(0.0, r.finished - r.started) for r in self.results)
