"""Scenario runs as text a person reads (a terminal, a CI log) and as JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from .nodes import ScenarioError
from .rates import Rates, Repeated, percent
from .run import RunResult, StepResult


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def side_by_side(rows: list, width: int = 48) -> list[str]:
    """Rows of (what, expected, arrived) as aligned text columns."""
    if not rows:
        return []
    rows = [(r.what, r.expected, r.arrived) if hasattr(r, "what") else tuple(r) for r in rows]
    first = max(4, *(len(r[0]) for r in rows))
    lines = [f"{'':{first}}  {'expected':{width}}  arrived"]
    for what, expected, arrived in rows:
        lines.append(f"{what:{first}}  {_clip(expected, width):{width}}  {_clip(arrived, width * 2)}")
    return lines


def _seconds(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def step_line(result: StepResult) -> str:
    mark = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-"}[result.status]
    timing = ""
    if result.first_reply is not None:
        timing = f"  [{len(result.replies)} repl{'y' if len(result.replies) == 1 else 'ies'}, first " \
                 f"{_seconds(result.first_reply)}, settled {_seconds(result.settle)}]"
    elif result.step.sends and result.status in ("passed", "failed"):
        timing = "  [no reply]"
    return f"{mark} step {result.step.index}: {result.step.label}{timing}"


def text_report(result: RunResult, raw: bool = True, steps: bool = True) -> str:
    """A run as text a person reads in a terminal or a CI log: each step, and each failure side by side."""
    scenario = result.scenario
    t = result.timings()
    head = (f"{result.status.upper()}  {scenario.name} ({scenario.path}) — profile {result.profile}, contact "
            f"{result.contact.get('id')}, conversation_id {result.conv_id}")
    lines = [head]
    if result.error:
        lines.append(f"  ! {result.error}")
    for step in result.steps:
        if steps or step.status in ("failed", "error"):
            lines.append("  " + step_line(step))
        where = f"{scenario.path}:{step.step.line}"
        if step.error:
            lines.append(f"      {where}: {step.error}")
        for failure in step.failures:
            lines.append(f"      {scenario.path}:{failure.line}: {failure.problem}")
            lines += ["        " + line for line in side_by_side(failure.rows)]
            if raw and failure.reply_id is not None:
                reply = next((r for r in step.replies if r["id"] == failure.reply_id), None)
                if reply is not None:
                    lines.append(f"        raw payload: {_clip(reply.get('raw', ''), 400)}")
    if t["first_p50_ms"] is not None:
        lines.append(f"  first reply p50 {t['first_p50_ms']:.0f} ms, p95 {t['first_p95_ms']:.0f} ms · settled "
                     f"p50 {t['settle_p50_ms']:.0f} ms, p95 {t['settle_p95_ms']:.0f} ms")
    return "\n".join(lines)


def first_problem(result: RunResult) -> str:
    """The one line that says why a run did not pass."""
    for step in result.steps:
        if step.error:
            return f"{result.scenario.path}:{step.step.line}: step {step.step.index} ({step.step.label}): {step.error}"
        if step.failures:
            f = step.failures[0]
            return f"{result.scenario.path}:{f.line}: step {step.step.index} ({step.step.label}): {f.problem}"
    return result.error or "passed"


def rates_report(rates: Rates) -> str:
    """N runs of a scenario as text: the scenario's pass rate against its threshold, each step's, and which
    expectation (file:line) failed in how many runs."""
    mark = "PASSED" if rates.ok else "FAILED"
    lines = [f"{mark}  {rates.name} ({rates.path}) — {rates.summary()} · pass^{rates.runs} "
             f"{'yes' if rates.pass_k else 'no'}"]
    width = max((len(f"step {s.index}: {s.label}") for s in rates.steps), default=0)
    for step in rates.steps:
        lines.append(f"  {f'step {step.index}: {step.label}':{width}}  {step.passed}/{step.runs} ({percent(step.rate)})")
    for problem in rates.problems:
        lines.append(f"  {rates.path}:{problem.line}: failed in {problem.runs} of {rates.runs} runs, e.g. "
                     f"{_clip(problem.example, 160)}")
    return "\n".join(lines)


def repeated_problem(outcome: Repeated) -> str:
    """The one line that says why a scenario failed: its first problem (one run), its rate (several runs)."""
    if len(outcome.results) == 1:
        return first_problem(outcome.results[0])
    return outcome.rates.summary()


def repeated_report(outcome: Repeated, raw: bool = True, every_run: bool = False) -> str:
    """The runs of a scenario as text: the rates (several runs), then each run that did not pass (or each run)."""
    logs = [] if len(outcome.results) == 1 else [rates_report(outcome.rates)]
    shown = [r for r in outcome.results if every_run or not r.passed]
    return "\n\n".join(logs + [text_report(r, raw=raw) for r in shown])


def junit_xml(cases: list[tuple[str, Repeated | ScenarioError]], path: str | Path) -> None:
    """JUnit XML with one test case per scenario file: failures, errors, the step log, and the rates as
    <properties>. A scenario of one run fails with its first problem; of several, with `passed 3 of 5 (60 %) <
    80 %`, when its pass rate is under its threshold."""
    suite = ET.Element("testsuite", name="scenarios", tests=str(len(cases)),
                       timestamp=datetime.now().isoformat(timespec="seconds"))
    counts = {"failures": 0, "errors": 0}
    total = 0.0
    for file, outcome in cases:
        if isinstance(outcome, ScenarioError):
            case = ET.SubElement(suite, "testcase", classname="scenarios", name=Path(file).stem, file=file, time="0")
            ET.SubElement(case, "error", message=outcome.problems[0]).text = str(outcome)
            counts["errors"] += 1
            continue
        rates, results = outcome.rates, outcome.results
        total += outcome.seconds
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=outcome.scenario.name, file=file,
                             time=f"{outcome.seconds:.3f}")
        properties = ET.SubElement(case, "properties")
        for name, value in rates.properties().items():
            ET.SubElement(properties, "property", name=name, value=value)
        if not rates.ok:
            tag = "error" if len(results) == 1 and results[0].status == "error" else "failure"
            counts["errors" if tag == "error" else "failures"] += 1
            ET.SubElement(case, tag, message=repeated_problem(outcome)).text = repeated_report(outcome)
        ET.SubElement(case, "system-out").text = repeated_report(outcome, raw=False, every_run=True)
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("time", f"{total:.3f}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
