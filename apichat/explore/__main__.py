"""The bot explorer, headless.

    python -m apichat.explore run  [--profile NAME] [--start hi ...] [--depth 4] [--max-steps 300] --out DIR
    python -m apichat.explore coverage DIR/map.json scenarios/ [--replay [--profile NAME]]
    python -m apichat.explore diff OLD/map.json NEW/map.json

`run` writes map.json, map.dot, report.md and scenarios/*.yaml under DIR. Without --profile it starts the
embedded sandbox (a receiver and a sandbox on free ports, a temporary store), as headless scenarios do.
Exit status of run: 0 the crawl finished (or stopped at a limit), 1 --fail-on names a finding that occurred,
2 nothing could run. coverage and diff: 0, or 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import lint
from ..scenarios import Runner, ScenarioError, TargetError, load_scenario, parse_duration, scenario_files, target_for
from .coverage import coverage, coverage_text, trace_run, trace_scenario
from .crawl import Limits, crawl
from .diff import diff_maps, diff_text
from .model import FINDING_KINDS, load_map
from .output import write_all
from .transport import RunnerTransport


def _seconds(text: str) -> float:
    value = parse_duration(text)
    if value is None or not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration between 0 and 600 s (e.g. 1s, 500ms)")
    return value


def _kinds(text: str) -> list[str]:
    kinds = [k.strip().replace("-", "_") for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FINDING_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown finding kind(s) {', '.join(unknown)}; use "
                                         f"{', '.join(k.replace('_', '-') for k in FINDING_KINDS)}")
    return kinds


def _channels(text: str) -> tuple[str, ...]:
    try:
        return lint.parse_channels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _progress(m) -> None:
    s = m.stats
    print(f"\r  {len(m.states)} states, {len(m.edges)} edges, {s['steps']} steps, {s['seconds']:.1f} s", end="",
          file=sys.stderr, flush=True)


def _run(args) -> int:
    sandbox = not args.profile
    try:
        with target_for(args.profile) as target:
            channels = args.channels if args.channels is not None else lint.channels_of(target.profile)
            transport = RunnerTransport(target.store, target.profile, settle=args.settle, timeout=args.timeout,
                                        pace=args.pace if args.pace is not None else (0.0 if sandbox else 1.0),
                                        turn_limit=args.turn_limit, detail=target.detail)
            limits = Limits(depth=args.depth, max_steps=args.max_steps, max_states=args.max_states,
                            workers=args.workers or (4 if sandbox else 1), similarity=args.similarity)
            print(f"crawling {target.detail} from {', '.join(args.start)}", file=sys.stderr, flush=True)
            live = not args.quiet and sys.stderr.isatty()
            m = crawl(transport, args.start, limits, channels, on_progress=_progress if live else None)
    except TargetError as exc:
        print(f"cannot crawl: {exc}", file=sys.stderr)
        return 2
    if live:
        print(file=sys.stderr)
    written = write_all(m, args.out, transport.contact_name)
    print(f"{m.status}: {m.message}")
    counts = {}
    for f in m.findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    print("findings: " + (", ".join(f"{k.replace('_', '-')} {n}" for k, n in counts.items()) or "none"))
    print(f"wrote {len(written)} files under {args.out} (map.json, map.dot, report.md, "
          f"{len(written) - 3} scenarios)")
    if m.status == "failed":
        return 2
    hit = [k for k in args.fail_on or [] if counts.get(k)]
    if hit:
        print(f"failing: {', '.join(k.replace('_', '-') for k in hit)} found", file=sys.stderr)
        return 1
    return 0


def _read_map(path: str):
    try:
        return load_map(Path(path).read_bytes())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _coverage(args) -> int:
    try:
        m = _read_map(args.map)
    except ValueError as exc:
        print(f"cannot measure coverage: {exc}", file=sys.stderr)
        return 2
    files = scenario_files(args.paths)
    if not files:
        print("no scenario files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    loaded = []
    for file in files:
        try:
            loaded.append(load_scenario(file, str(file)))
        except ScenarioError as exc:
            print(f"INVALID {exc}", file=sys.stderr)
    if not args.replay:
        traces = [trace_scenario(m, s) for s in loaded]
    else:  # run them for real, then walk each run (as kept in History) on the map
        try:
            with target_for(args.profile) as target:
                traces = []
                for scenario in loaded:
                    result = Runner(target.store, target.profile, settle=args.settle).run(scenario)
                    print(f"{result.status:7} {scenario.name}", file=sys.stderr, flush=True)
                    traces.append(trace_run(m, target.store, target.store.get_scenario_run(result.run_id)))
        except TargetError as exc:
            print(f"cannot replay: {exc}", file=sys.stderr)
            return 2
    print(coverage_text(m, coverage(m, traces)))
    return 0


def _diff(args) -> int:
    try:
        old, new = _read_map(args.old), _read_map(args.new)
    except ValueError as exc:
        print(f"cannot compare: {exc}", file=sys.stderr)
        return 2
    print(diff_text(old, new, diff_maps(old, new)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.explore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="crawl a bot and write its map")
    run.add_argument("--profile", help="a profile of the console's store, or env (default: a fresh sandbox)")
    run.add_argument("--start", nargs="+", default=["hi"], metavar="TEXT", help="start message(s) (default hi)")
    run.add_argument("--depth", type=int, default=4, help="button presses after the start message (default 4)")
    run.add_argument("--max-steps", type=int, default=300, help="actions sent, replays included (default 300)")
    run.add_argument("--max-states", type=int, default=100, help="states mapped at most (default 100)")
    run.add_argument("--timeout", type=_seconds, default=10.0, help="wait for a turn's first reply (default 10s)")
    run.add_argument("--settle", type=_seconds, default=1.0, help="quiet period that ends a turn (default 1s)")
    run.add_argument("--turn-limit", type=_seconds, default=30.0,
                     help="a turn that is still talking after this is cut (default 30s)")
    run.add_argument("--pace", type=_seconds, help="pause between paths (default 1s with --profile, else 0)")
    run.add_argument("--workers", type=int, help="paths walked at once (default 4 on the sandbox, 1 with --profile)")
    run.add_argument("--similarity", type=float, metavar="0-1",
                     help="merge turns with the same buttons whose text is at least this similar (as similar_to "
                          "scores it) into one state: for a bot that paraphrases (default: text must be equal)")
    run.add_argument("--channels", type=_channels, help="lint for these channels, comma-separated "
                                                        "(default: the profile's setting)")
    run.add_argument("--fail-on", type=_kinds, metavar="KINDS",
                     help="exit 1 when one of these findings occurred, e.g. dead-end,broken,lint")
    run.add_argument("--out", required=True, metavar="DIR", help="where map.json, map.dot, report.md and "
                                                                 "scenarios/ go")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    cov = commands.add_parser("coverage", help="which states and edges scenario files exercise")
    cov.add_argument("map", metavar="MAP_JSON")
    cov.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    cov.add_argument("--replay", action="store_true", help="run the scenarios (kept in History) and walk what they "
                                                           "did, instead of walking the files on the map")
    cov.add_argument("--profile", help="with --replay: a profile of the console's store (default: a fresh sandbox)")
    cov.add_argument("--settle", type=_seconds, default=1.0, help="with --replay: quiet period (default 1s)")
    dif = commands.add_parser("diff", help="compare two maps")
    dif.add_argument("old", metavar="OLD_MAP_JSON")
    dif.add_argument("new", metavar="NEW_MAP_JSON")
    args = parser.parse_args(argv)
    if args.command == "run":
        try:
            Limits(depth=args.depth, max_steps=args.max_steps, max_states=args.max_states, workers=args.workers or 1,
                   similarity=args.similarity)
        except ValueError as exc:
            parser.error(str(exc))
    return {"run": _run, "coverage": _coverage, "diff": _diff}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
