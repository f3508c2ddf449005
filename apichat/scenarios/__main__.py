"""Scenarios: scripted conversations with expectations, run in the console, from the command line or by pytest.

    python -m apichat.scenarios run FILES_OR_FOLDERS… [--profile NAME] [--junitxml out.xml]
                                   [--repeat N] [--min-pass-rate R]
    python -m apichat.scenarios check FILES_OR_FOLDERS…
    python -m apichat.scenarios record CONVERSATION_ID [--db PATH] [-o FILE]

`run` uses the embedded sandbox by default: it starts `python -m receiver` and `python -m sandbox`
on free ports with a temporary store and connects a `sandbox` profile, as the console does.
With --profile NAME (or `env` for the UCHAT_* variables) it uses that profile of the console's
store (APICHAT_DB) and the receiver that writes into it (started when none answers).
--repeat N runs each scenario N times (a new contact each time) and --min-pass-rate R (0 to 1) is the share of
runs that must pass; both override the file's `repeat:` and `pass_rate:` (default: 1 run, all must pass).
Exit status: 0 all passed, 1 a scenario failed (its pass rate under its threshold) or a file is invalid,
2 nothing could run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..ai import Checks
from ..config import SettingsError, load_settings
from ..store import open_store
from .model import Scenario
from .needs import judge_refusal
from .nodes import MAX_REPEAT, ScenarioError, parse_duration
from .parse import load_scenario, scenario_files
from .rates import Repeated, threshold_for, times_for
from .record import record_conversation
from .report import junit_xml, rates_report, step_line, text_report
from .run import Runner, RunResult
from .targets import TargetError, target_for


def _load_all(paths: list[str]) -> list[tuple[str, Scenario | ScenarioError]] | None:
    """Every scenario file under `paths`, loaded or with its problems; None (said on stderr) when there is none."""
    files = scenario_files(paths)
    if not files:
        print("no scenario files found in " + " ".join(paths), file=sys.stderr)
        return None
    loaded = []
    for file in files:
        shown = str(file)
        try:
            loaded.append((shown, load_scenario(file, shown)))
        except ScenarioError as exc:
            loaded.append((shown, exc))
    return loaded


def _run(args) -> int:
    loaded = _load_all(args.paths)
    if loaded is None:
        return 2
    cases: list[tuple[str, Repeated | ScenarioError]] = []
    for shown, item in loaded:
        if isinstance(item, ScenarioError):
            print(f"INVALID {item}", flush=True)
            cases.append((shown, item))
    runnable = [(s, item) for s, item in loaded if not isinstance(item, ScenarioError)]
    try:
        refusal = judge_refusal([scenario for _, scenario in runnable])
        if refusal:
            print(f"cannot run scenarios: {refusal}", file=sys.stderr)
            return 2
        with target_for(args.profile) as target:
            checks = Checks.from_env(cache=target.store)  # one judge for the command: its counts are the run's
            print(f"running {len(runnable)} scenario(s) against {target.detail}", flush=True)
            batch = f"cli-{int(time.time())}"
            for shown, scenario in runnable:
                times = times_for(scenario, args.repeat)
                if args.verbose:
                    print(f"▶ {scenario.name} ({shown})" + (f" × {times}" if times > 1 else ""), flush=True)
                live = (lambda _r, s: print("  " + step_line(s), flush=True)) if args.verbose else None
                runner = Runner(target.store, target.profile, settle=args.settle, timeout=args.timeout, batch=batch,
                                on_step=live, checks=checks)
                results = runner.repeat(scenario, times, on_run=_said(shown, times, args.verbose))
                outcome = Repeated(scenario, results, threshold_for(scenario, args.min_pass_rate))
                if times > 1:
                    print(rates_report(outcome.rates), flush=True)
                cases.append((shown, outcome))
    except TargetError as exc:
        print(f"cannot run scenarios: {exc}", file=sys.stderr)
        return 2
    if args.junitxml:
        junit_xml(cases, args.junitxml)
    bad = [c for c in cases if isinstance(c[1], ScenarioError) or not c[1].ok]
    cost = checks.cost()
    print(f"{len(cases) - len(bad)} passed, {len(bad)} failed" + (f"; {cost}" if cost else ""), flush=True)
    return 1 if bad else 0


def _said(shown: str, times: int, verbose: bool):
    """What the terminal is told as each run ends: a line when it passed, its report when it did not."""
    def said(number: int, outcome: RunResult) -> None:
        which = f"run {number} of {times}: " if times > 1 else ""
        if outcome.passed:
            print(f"{which}PASSED  {outcome.scenario.name} ({shown}) — {len(outcome.steps)} steps", flush=True)
        else:
            print(which + text_report(outcome, steps=not verbose), flush=True)
    return said


def _check(args) -> int:
    loaded = _load_all(args.paths)
    if loaded is None:
        return 2
    bad = 0
    for shown, item in loaded:
        if isinstance(item, ScenarioError):
            bad += 1
            print(str(item))
        else:
            print(f"ok  {shown}: {item.name} ({len(item.steps)} steps)")
    return 1 if bad else 0


def _record(args) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot record: {exc}", file=sys.stderr)
        return 2
    store = open_store(args.db or settings.db_path)
    try:
        text = record_conversation(store, args.conversation, args.name)
    except ValueError as exc:
        print(f"cannot record: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _seconds(text: str) -> float:
    value = parse_duration(text)
    if value is None or not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration between 0 and 600 s (e.g. 1s, 500ms)")
    return value


def _repeat(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_REPEAT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of runs from 1 to {MAX_REPEAT}")
    return int(text)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share of runs from 0 to 1 (e.g. 0.8)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.scenarios", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run scenario files (folders: every .yaml inside)")
    run.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    run.add_argument("--profile", default=os.environ.get("APICHAT_SCENARIO_PROFILE") or None,
                     help="a profile of the console's store, or env for UCHAT_* (default: a fresh sandbox)")
    run.add_argument("--junitxml", metavar="PATH", help="also write a JUnit XML report here")
    run.add_argument("--settle", type=_seconds, default=1.0,
                     help="quiet period that ends a turn (default 1s)")
    run.add_argument("--timeout", type=_seconds, default=10.0,
                     help="how long a step waits for a first reply (default 10s)")
    run.add_argument("--repeat", type=_repeat, metavar="N",
                     help="run each scenario N times, a new contact each time (default: the file's repeat, or 1)")
    run.add_argument("--min-pass-rate", type=_share, metavar="R",
                     help="the share of runs that must pass, 0 to 1 (default: the file's pass_rate, or 1)")
    run.add_argument("-v", "--verbose", action="store_true", help="print every step, also of passing scenarios")
    check = commands.add_parser("check", help="only validate scenario files")
    check.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    rec = commands.add_parser("record", help="turn a stored conversation into a scenario")
    rec.add_argument("conversation", type=int, help="the conversation's id in the store (the Inspector shows it)")
    rec.add_argument("--db", help="the store (default APICHAT_DB)")
    rec.add_argument("--name", help="the scenario's name")
    rec.add_argument("-o", "--output", help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    return {"run": _run, "check": _check, "record": _record}[args.command](args)

if __name__ == "__main__":
    sys.exit(main())
