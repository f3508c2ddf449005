"""What a simulation tells a person: the verdict of each conversation, the success rate and turns-to-goal
p50/p95 over the runs, transcripts (JSON + Markdown, apichat.transcript), report.md/report.json and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .. import transcript
from ..scenarios import percentile
from ..store import Store
from .goal import Goal
from .play import Verdict


def summary(verdicts: list[Verdict]) -> dict:
    """Runs, reached, the success rate, turns-to-goal p50/p95 (reached runs), and reply times over every turn."""
    reached = [v for v in verdicts if v.reached]
    turns = [float(v.turns) for v in reached]
    first = [r.first_reply * 1000 for v in verdicts for r in v.records if r.first_reply is not None]
    last = [r.last_reply * 1000 for v in verdicts for r in v.records if r.last_reply is not None]
    return {"runs": len(verdicts), "reached": len(reached),
            "success_rate": round(len(reached) / len(verdicts), 4) if verdicts else 0.0,
            "turns_p50": percentile(turns, 50), "turns_p95": percentile(turns, 95),
            "first_reply_p50_ms": _ms(percentile(first, 50)), "first_reply_p95_ms": _ms(percentile(first, 95)),
            "last_reply_p50_ms": _ms(percentile(last, 50)), "last_reply_p95_ms": _ms(percentile(last, 95))}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def verdict_lines(v: Verdict) -> list[str]:
    """One conversation: reached or not, each turn with its reply times, what matched, what was noticed."""
    head = (f"run {v.number}: reached in {v.turns} turn{'s' if v.turns != 1 else ''}" if v.reached
            else f"run {v.number}: NOT reached after {v.turns} turn{'s' if v.turns != 1 else ''}: {v.reason}")
    lines = [f"{head}  (contact {v.contact_id}, conversation {v.conv_id}, {v.mode})"]
    for r in v.records:
        refused = f"  [refused first: {'; '.join(r.refused)}]" if r.refused else ""
        lines.append(f"  {r.number:>2}. {r.label}  → {r.replies} repl{'y' if r.replies == 1 else 'ies'}, first "
                     f"{_s(r.first_reply)}, last {_s(r.last_reply)}: {r.error or r.text}{refused}")
    lines += [f"  ✓ matched {m}" for m in v.matched]
    lines += [f"  · {n}" for n in v.notes]
    return lines


def text_report(goal: Goal, verdicts: list[Verdict], plan: str = "") -> str:
    s = summary(verdicts)
    lines = [f"goal: {goal.name} — {goal.goal}", f"success: {goal.describe_success()}"]
    if plan:
        lines.append(f"plan on the map: {plan}")
    for v in verdicts if len(verdicts) <= 5 else [v for v in verdicts if not v.reached][:5] or verdicts[:1]:
        lines += verdict_lines(v)
    lines.append(f"success rate: {s['reached']}/{s['runs']} ({s['success_rate']:.0%}); turns to goal p50 "
                 f"{_n(s['turns_p50'])}, p95 {_n(s['turns_p95'])}; first reply p50 {_n(s['first_reply_p50_ms'])} ms, "
                 f"p95 {_n(s['first_reply_p95_ms'])} ms")
    return "\n".join(lines)


def _n(value) -> str:
    return "—" if value is None else f"{value:g}"


def markdown_report(goal: Goal, verdicts: list[Verdict], plan: str = "") -> str:
    s = summary(verdicts)
    out = [f"# Simulation: {goal.name}", "", f"**Goal:** {goal.goal}", "", f"**Success:** `{goal.describe_success()}`",
           ""]
    if plan:
        out += [f"**Plan on the map:** {plan}", ""]
    out += ["| runs | reached | success rate | turns p50 | turns p95 | first reply p50 | first reply p95 |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {s['runs']} | {s['reached']} | {s['success_rate']:.0%} | {_n(s['turns_p50'])} | {_n(s['turns_p95'])} "
            f"| {_n(s['first_reply_p50_ms'])} ms | {_n(s['first_reply_p95_ms'])} ms |", ""]
    for v in verdicts:
        out += ["```", *verdict_lines(v), "```", f"Transcript: [run-{v.number:02d}.md](run-{v.number:02d}.md)", ""]
    return "\n".join(out)


def write_transcripts(store: Store, verdict: Verdict, folder: Path) -> list[Path]:
    """run-NN.json (the verdict and every message with its raw payload) and run-NN.md (readable)."""
    if verdict.conversation is None:
        return []
    conv = store.get_conversation(verdict.conversation)
    if conv is None:
        return []
    contact = store.get_contact(conv["contact_id"])
    messages = store.messages_before(verdict.conversation, None, 100_000)
    stem = folder / f"run-{verdict.number:02d}"
    doc = json.loads(transcript.to_json(conv, contact, messages))
    doc["verdict"] = verdict.to_dict()
    stem.with_suffix(".json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    md = transcript.to_markdown(conv, contact, messages)
    md += "\n## Verdict\n\n```\n" + "\n".join(verdict_lines(verdict)) + "\n```\n"
    stem.with_suffix(".md").write_text(md, encoding="utf-8")
    return [stem.with_suffix(".json"), stem.with_suffix(".md")]


def write_all(store: Store, goal: Goal, verdicts: list[Verdict], out: str | Path, plan: str = "") -> Path:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for v in verdicts:
        write_transcripts(store, v, folder)
    (folder / "report.md").write_text(markdown_report(goal, verdicts, plan), encoding="utf-8")
    (folder / "report.json").write_text(json.dumps({"goal": goal.name, "path": goal.path, "plan": plan,
                                                    "summary": summary(verdicts),
                                                    "runs": [v.to_dict() for v in verdicts]},
                                                   ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def junit_xml(goal: Goal, verdicts: list[Verdict], path: str | Path, problem: str = "") -> None:
    """One test case per simulated conversation (a failure when the goal was not reached); `problem`: why none
    ran (unreachable on the map), one failing case."""
    suite = ET.Element("testsuite", name="simulate", tests=str(len(verdicts) or 1))
    failures = 1 if problem else 0
    if problem:
        case = ET.SubElement(suite, "testcase", classname="simulate", name=goal.name)
        ET.SubElement(case, "failure", message=problem).text = problem
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"simulate.{goal.name}", name=f"run {v.number}",
                             time=f"{v.seconds:.3f}")
        if not v.reached:
            failures += 1
            ET.SubElement(case, "failure", message=v.reason).text = "\n".join(verdict_lines(v))
        ET.SubElement(case, "system-out").text = "\n".join(verdict_lines(v))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    root = ET.Element("testsuites")
    root.append(suite)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)
