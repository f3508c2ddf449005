"""Load tests on Locust: many contacts at once, running scenario files, with latency per step.

    python -m apichat.load run SCENARIO… --users 200 --spawn-rate 20 --run-time 2m [--profile NAME]
        [--processes N] [--think 1s | 2s-5s] [--csv PREFIX] [--html report.html] [--max-rate N]
        [--allow-real] [--master [--expect-workers N] | --worker --master-host H] [--master-port P]
    python -m apichat.load ui SCENARIO… [--profile NAME] [--web-port 8089]

Without --profile it starts the embedded sandbox and a receiver with a temporary store, as headless
scenario runs do; with --profile NAME it uses that profile of the console's store (APICHAT_DB). Locust does
the load (its stats table, percentiles, CSV and HTML report); each user is one contact.
Across machines (--master / --worker) every process needs the same shared store (APICHAT_DB=postgresql://…)
and --profile: the replies reach the one receiver UChat calls, and each worker reads its contacts' replies from
the database. Exit status: 0 no step failed, 1 a step failed, 2 nothing could run (the reason on one line).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..config import SettingsError, load_settings
from ..processes import free_port
from ..profiles import SANDBOX
from ..scenarios import ScenarioError, TargetError, load_scenario, scenario_files, target_for
from ..store import open_store
from .options import CONFIG_ENV, LoadError, UserConfig, check_safety, seconds, store_is_shared, think_range

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ROOT = Path(__file__).resolve().parents[2]


def _scenarios(paths: list[str]) -> list[str]:
    files = scenario_files(paths)
    if not files:
        raise LoadError("no scenario files found in " + " ".join(paths))
    for file in files:
        try:
            load_scenario(file, str(file))
        except ScenarioError as exc:
            raise LoadError(f"invalid scenario: {exc}") from None
    return [str(Path(f).resolve()) for f in files]


def _known_profile(name: str | None, db: str) -> None:
    """LoadError for a profile the store does not hold (before any process starts); env and sandbox are made."""
    if name in (None, "env", SANDBOX) or store_is_shared(db):
        return
    if not Path(db).is_file():
        raise LoadError(f"no profile named {name!r}: there is no store at {db} (set APICHAT_DB)")
    store = open_store(db)
    try:
        known = {p["name"]: p for p in store.list_profiles()}
    finally:
        store.close()
    if name not in known:
        raise LoadError(f"no profile named {name!r} in {db} (profiles: {', '.join(known) or 'none'})")
    if not known[name]["bot_url"] or not known[name]["flow_key"]:
        raise LoadError(f"profile {name!r} has no bot_url or flow key yet: connect it on the Connect page")


def _locust_args(args, web: bool) -> list[str]:
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--exit-code-on-error", "1"]
    if args.worker:
        argv += ["--worker", "--master-host", args.master_host]
    else:
        argv += ["-u", str(args.users), "-r", str(args.spawn_rate)]
        if web:
            argv += ["--web-host", "127.0.0.1", "--web-port", str(args.web_port)]
        elif args.processes or args.master:
            argv += ["--headless"]  # the master ends the run itself, once the workers' last stats are in
        else:
            argv += ["--headless", "-t", f"{max(1, round(seconds(args.run_time, '--run-time')))}s"]
        if args.master:
            argv += ["--master", "--expect-workers", str(args.expect_workers)]
    port = args.master_port
    if port is None and args.processes and not (args.master or args.worker):
        port = free_port()  # its own master and workers: two runs at once must not meet on Locust's 5557
    if port is not None:
        argv += ["--master-port", str(port)] if args.worker else ["--master-bind-port", str(port), "--master-port",
                                                                   str(port)]
    if args.processes:
        argv += ["--processes", str(args.processes)]
    if getattr(args, "csv", None):
        argv += ["--csv", args.csv, "--csv-full-history"]
    if getattr(args, "html", None):
        argv += ["--html", args.html]
    return argv


def _start(args, web: bool = False) -> int:
    try:
        files = _scenarios(args.paths)
        if args.spawn_rate <= 0:
            raise LoadError(f"--spawn-rate must be above 0 (got {args.spawn_rate})")
        if args.processes is not None and args.processes < 1:
            raise LoadError(f"--processes must be at least 1 (got {args.processes})")
        if not web and seconds(args.run_time, "--run-time") <= 0:
            raise LoadError("--run-time must be above 0")
        think = think_range(args.think)
        db = load_settings().db_path
        _known_profile(args.profile, db)
        check_safety(users=args.users, real=args.profile not in (None, SANDBOX), allow_real=args.allow_real,
                     master_host=args.master_host if args.worker else None, worker=args.worker, db=db)
    except (LoadError, SettingsError) as exc:
        print(f"cannot run the load test: {exc}", file=sys.stderr)
        return 2
    try:
        with target_for(args.profile) as target:
            rate = args.max_rate / (args.processes or 1) if args.max_rate else 0.0
            run_time = seconds(args.run_time, "--run-time") if not web and (args.processes or args.master) else 0.0
            config = UserConfig(db=target.store.path, profile=target.profile["name"], scenarios=files, think=think,
                                rate=rate, settle=args.settle, timeout=args.timeout, run_time=run_time)
            env = dict(os.environ, **{CONFIG_ENV: config.to_env()})
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
            print(f"load: {args.users} contact(s) on {target.detail}", flush=True)
            child = subprocess.Popen(_locust_args(args, web), env=env)
            previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
            try:
                code = child.wait()
            except KeyboardInterrupt:
                child.terminate()
                code = child.wait()
            finally:
                signal.signal(signal.SIGTERM, previous)
    except TargetError as exc:
        print(f"cannot run the load test: {exc}", file=sys.stderr)
        return 2
    return code if code in (0, 1) else 2


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _port(text: str) -> int:
    value = _positive_int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1-65535)")
    return value


def _duration(text: str) -> float:
    try:
        return seconds(text, "duration")
    except LoadError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("paths", nargs="+", metavar="SCENARIO", help="scenario files or folders")
    command.add_argument("--profile", help="a profile of the console's store, or env (default: a fresh sandbox)")
    command.add_argument("-u", "--users", type=_positive_int, default=10, help="concurrent contacts (default 10)")
    command.add_argument("-r", "--spawn-rate", type=_number, default=10.0, help="contacts started per second")
    command.add_argument("--processes", type=_positive_int, help="Locust processes on this machine (one master "
                         "and N workers)")
    command.add_argument("--think", default="1s", help="pause after each step: 1s, or a range 2s-5s (default 1s)")
    command.add_argument("--max-rate", type=_number, default=0.0, help="cap on contact messages per second")
    command.add_argument("--allow-real", action="store_true",
                         help="allow more than a handful of contacts against a non-sandbox profile")
    command.add_argument("--settle", type=_duration, default=1.0, help="quiet period that ends a turn (1s)")
    command.add_argument("--timeout", type=_duration, default=10.0, help="wait for a first reply (10s)")
    command.add_argument("--master", action="store_true", help="be Locust's master for workers")
    command.add_argument("--expect-workers", type=_positive_int, default=1, help="workers the master waits for")
    command.add_argument("--worker", action="store_true", help="be a Locust worker of --master-host")
    command.add_argument("--master-host", default="127.0.0.1", help="the master's address (with --worker)")
    command.add_argument("--master-port", type=_port, help="the port the master listens on and workers dial "
                         "(default 5557; with --processes alone, a free one)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="a headless load run")
    _common(run)
    run.add_argument("-t", "--run-time", default="1m", help="how long (e.g. 30s, 2m; default 1m)")
    run.add_argument("--csv", metavar="PREFIX", help="write Locust's CSV files (with the stats history) here")
    run.add_argument("--html", metavar="PATH", help="write Locust's HTML report here")
    ui = commands.add_parser("ui", help="Locust's web UI with the same users")
    _common(ui)
    ui.add_argument("--web-port", type=_positive_int, default=8089, help="Locust's web UI port (default 8089)")
    args = parser.parse_args(argv)
    return _start(args, web=args.command == "ui")


if __name__ == "__main__":
    sys.exit(main())
