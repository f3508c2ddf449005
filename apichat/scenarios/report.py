"""Scenario runs as text a person reads (a terminal, a CI log) and as JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from .nodes import ScenarioError
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


def junit_xml(cases: list[tuple[str, RunResult | ScenarioError]], path: str | Path) -> None:
    """JUnit XML with one test case per scenario file: failures, errors and the step log."""
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
        seconds = max(0.0, outcome.finished - outcome.started)
        total += seconds
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=outcome.scenario.name, file=file,
                             time=f"{seconds:.3f}")
        if outcome.status != "passed":
            tag = "error" if outcome.status == "error" else "failure"
            counts["errors" if tag == "error" else "failures"] += 1
            ET.SubElement(case, tag, message=first_problem(outcome)).text = text_report(outcome)
        ET.SubElement(case, "system-out").text = text_report(outcome, raw=False)
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("time", f"{total:.3f}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
