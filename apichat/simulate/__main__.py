"""Simulated contacts, headless.

    python -m apichat.simulate run GOAL.yaml [--profile P] [--map map.json] [--runs N] [--workers W]
                                             [--out DIR] [--junitxml F] [--save-scenario FILE] [--mode M]

Without --profile it starts the embedded sandbox (a receiver and a sandbox on free ports, a temporary store), as
headless scenario runs do. Offline (the default without APICHAT_SIMULATOR_URL) it plans over --map, or crawls the
bot first (the map is written to DIR/map.json). Exit status: 0 every run reached the goal, 1 some did not (or the
goal is unreachable on the map), 2 nothing could run (a bad goal file or map, no target, a refusal).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..ai import AIError, Checks
from ..explore import load_map
from ..profiles import SANDBOX
from ..scenarios import ScenarioError, TargetError, parse_duration, target_for
from .goal import load_goal
from .plan import Planner, Unreachable
from .report import junit_xml, text_report, write_all
from .simulation import (
    MODES,
    Options,
    SimulateError,
    crawl_for,
    names_for,
    prepare,
    refusal,
    run_all,
    save_as_scenario,
    use_llm,
)


def _seconds(text: str) -> float:
    value = parse_duration(text)
    if value is None or not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration between 0 and 600 s (e.g. 1s, 500ms)")
    return value


def _run(args) -> int:
    try:
        goal = load_goal(args.goal)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    crawl_map = None
    if args.map:
        try:
            crawl_map = load_map(Path(args.map).read_bytes())
        except (OSError, ValueError) as exc:
            print(f"{args.map}: cannot use the map: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            return 2
    try:
        options = Options(runs=args.runs, workers=args.workers, settle=args.settle, timeout=args.timeout,
                          max_rate=args.max_rate, mode=args.mode, depth=args.depth, allow_real=args.allow_real)
    except SimulateError as exc:
        print(f"cannot simulate: {exc}", file=sys.stderr)
        return 2
    # what can be decided before anything starts: the contact count for a real workspace, a map with no way there
    problem = refusal(goal, options, {"name": args.profile or SANDBOX})
    if problem:
        print(f"cannot simulate: {problem}", file=sys.stderr)
        return 2
    if crawl_map is not None and not use_llm(options):
        try:
            Planner(crawl_map, goal, Checks.from_env(), names_for(goal)).check()
        except Unreachable as exc:
            return _unreachable(args, goal, exc)
        except AIError as exc:
            print(f"cannot simulate: success could not be checked on the map: {exc}", file=sys.stderr)
            return 2
    try:
        with target_for(args.profile) as target:
            return _simulate(args, goal, crawl_map, options, target)
    except TargetError as exc:
        print(f"cannot simulate: {exc}", file=sys.stderr)
        return 2


def _unreachable(args, goal, exc: Unreachable) -> int:
    print(f"unreachable: {exc}")
    if args.junitxml:
        junit_xml(goal, [], args.junitxml, problem=f"unreachable: {exc}")
    return 1


def _simulate(args, goal, crawl_map, options, target) -> int:
    print(f"simulating {goal.name!r} against {target.detail}", file=sys.stderr, flush=True)
    try:
        if crawl_map is None and not use_llm(options):
            print("no --map: crawling the bot first", file=sys.stderr, flush=True)
            crawl_map = crawl_for(goal, target.store, target.profile, options, target.detail)
            if args.out:
                Path(args.out).mkdir(parents=True, exist_ok=True)
                (Path(args.out) / "map.json").write_text(crawl_map.to_json(), encoding="utf-8")
        prepared = prepare(goal, target.store, options, crawl_map)
    except Unreachable as exc:
        return _unreachable(args, goal, exc)
    except SimulateError as exc:
        print(f"cannot simulate: {exc}", file=sys.stderr)
        return 2
    verdicts = run_all(goal, target.store, target.profile, prepared, options)
    print(text_report(goal, verdicts, prepared.plan))
    cost = getattr(prepared.player, "summary", None)
    if cost:
        print(cost())
    if args.out:
        print(f"transcripts and report in {write_all(target.store, goal, verdicts, args.out, prepared.plan)}")
    if args.junitxml:
        junit_xml(goal, verdicts, args.junitxml)
    if args.save_scenario:
        reached = next((v for v in verdicts if v.reached), None)
        if reached is None:
            print("nothing saved as a scenario: no run reached the goal", file=sys.stderr)
        else:
            save_as_scenario(target.store, goal, reached, args.save_scenario)
            print(f"saved run {reached.number} as scenario {args.save_scenario}")
    return 0 if all(v.reached for v in verdicts) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.simulate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="play a goal file against the bot")
    run.add_argument("goal", help="the goal file (YAML)")
    run.add_argument("--profile", help="a profile of the console's store (default: a fresh embedded sandbox)")
    run.add_argument("--map", help="the explorer's map.json (offline; default: crawl the bot first)")
    run.add_argument("--runs", type=int, default=1, help="simulated contacts, each a new contact (default 1)")
    run.add_argument("--workers", type=int, default=1, help="runs at once (default 1)")
    run.add_argument("--out", help="a folder for transcripts (JSON + Markdown), report.md and report.json")
    run.add_argument("--junitxml", help="write a JUnit XML report here")
    run.add_argument("--save-scenario", metavar="FILE", help="save the first run that reached the goal as a scenario")
    run.add_argument("--mode", choices=MODES, default="auto",
                     help="offline planner or LLM (auto: the LLM when APICHAT_SIMULATOR_URL is set)")
    run.add_argument("--settle", type=_seconds, default=1.0, help="quiet period that ends a turn (default 1s)")
    run.add_argument("--timeout", type=_seconds, default=10.0, help="wait for a turn's first reply (default 10s)")
    run.add_argument("--depth", type=int, default=4, help="presses a crawl on the fly follows (default 4)")
    run.add_argument("--max-rate", type=float, default=0.0, help="messages per second over all runs (0: no cap)")
    run.add_argument("--allow-real", action="store_true", help="let more than 5 contacts talk to a real workspace")
    args = parser.parse_args(argv)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
