"""Load testing against the embedded sandbox: how many contacts it sustains, and what correlation costs.

    python -m bench.load [--levels 100,200,300,500,700] [--seconds 60] [--think 2s-5s]

For each level (concurrent contacts, each sending "hi" every 2-5 s and checking the greeting names it), a fresh
sandbox + receiver + store and one Locust process running the load users (apichat.load) for --seconds. Printed:
first-reply p50/p95, contact messages/s end to end, lost or misrouted replies (step failures), and the CPU each
process used (the one nearest 100 % of a core saturates first). The most contacts with p95 <= 1 s and no failure
is the figure the issue asks for. Then the baseline: plain Locust HTTP users posting to the sandbox's bot_url at
the same message rate (bench/load_http.py), and the harness's CPU per step against Locust's CPU per request.
Figures and ratios, not assertions: the machine's other work moves them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apichat.load import UserConfig, stats, think_range
from apichat.processes import ROOT, tree_cpu_seconds
from apichat.scenarios import sandbox_target

LOCUSTFILE = ROOT / "apichat" / "load" / "locustfile.py"
SCENARIO = "name: Greeting\nsteps:\n  - send: hi\n    messages: 1\n    expect:\n      - text: {contains: 'Hi load-'}\n"


def _children() -> dict[str, int]:
    """The receiver's and the sandbox's pids among this process's children (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if parent != os.getpid():
            continue
        for name in ("receiver", "sandbox"):
            if f"-m {name} " in line:
                found[name] = int(entry.name)
    return found


def _locust(argv: list[str], env: dict, pids: dict[str, int]) -> dict[str, float]:
    """Run Locust to its end; the CPU seconds it and each of `pids` used meanwhile, and the wall time."""
    before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)  # the child's own CPU, to its last instruction
    child.returncode = 0
    used = {name: tree_cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    used.update(locust=usage.ru_utime + usage.ru_stime, wall=time.monotonic() - started)
    return used


def harness(contacts: int, seconds: int, think: str, folder: Path) -> dict:
    scenario = folder / "greeting.yaml"
    scenario.write_text(SCENARIO)
    prefix = folder / f"harness-{contacts}"
    with sandbox_target(folder / f"target-{contacts}") as target:
        config = UserConfig(db=target.store.path, profile=target.profile["name"], scenarios=[str(scenario)],
                            think=think_range(think), timeout=10.0)
        env = dict(os.environ, APICHAT_LOAD_CONFIG=config.to_env(), PYTHONPATH=str(ROOT))
        spawn = max(1, contacts // 10)
        argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(contacts), "-r",
                str(spawn), "-t", f"{seconds + contacts // spawn}s", "--csv", str(prefix), "--csv-full-history"]
        cpu = _locust(argv, env, _children())
        bot = (target.profile["bot_url"], target.profile["flow_key"])
    total = stats.summary(prefix)
    steady = [p for p in stats.history(prefix) if p["users"] >= contacts]
    rate = sum(p["steps/s"] for p in steady) / len(steady) if steady else 0.0
    return {"contacts": contacts, "steps": total.get("steps", 0), "failures": total.get("failures", 0),
            "p50": total.get("p50 ms"), "p95": total.get("p95 ms"), "rate": rate, "cpu": cpu, "bot": bot,
            "problems": stats.failures(prefix)[:3]}


def baseline(rate: float, seconds: int, folder: Path) -> dict:
    """Plain Locust HTTP users at `rate` messages/s to a fresh sandbox's bot_url."""
    users = max(1, min(200, int(rate)))
    prefix = folder / "http"
    with sandbox_target(folder / "target-http") as target:
        env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_BOT_URL=target.profile["bot_url"],
                   BENCH_FLOW_KEY=target.profile["flow_key"], BENCH_RATE=f"{rate / users:.4f}")
        argv = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_http.py"), "--headless", "-u",
                str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(prefix)]
        cpu = _locust(argv, env, _children())
    return {"requests": stats.summary(prefix).get("steps", 0), "cpu": cpu}


def _ms(value) -> str:
    return "   –" if value is None else f"{value:5.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="100,200,300,500,700", help="contacts per run, ascending")
    parser.add_argument("--seconds", type=int, default=60, help="steady seconds per level (default 60)")
    parser.add_argument("--think", default="2s-5s", help="pause between a contact's messages (default 2s-5s)")
    parser.add_argument("--keep-going", action="store_true", help="run every level even after one fails")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    print(f"{os.cpu_count()} cores; {args.seconds} s per level; think {args.think}; results in {folder}")
    print("contacts  steps  lost/misrouted  p50 ms  p95 ms  msgs/s   CPU %: locust  receiver  sandbox")
    best, last = None, None
    for contacts in levels:
        run = harness(contacts, args.seconds, args.think, folder)
        cpu, wall = run["cpu"], run["cpu"]["wall"]
        print(f"{contacts:8d} {run['steps']:6d} {run['failures']:15d}  {_ms(run['p50'])}   {_ms(run['p95'])}  "
              f"{run['rate']:6.1f}          {100 * cpu['locust'] / wall:5.0f}     {100 * cpu.get('receiver', 0) / wall:5.0f}"
              f"    {100 * cpu.get('sandbox', 0) / wall:5.0f}", flush=True)
        for problem in run["problems"]:
            print(f"          {problem['occurrences']}× {problem['message'][:110]}")
        last = run
        ok = run["failures"] == 0 and run["p95"] is not None and run["p95"] <= 1000
        if ok:
            best = run
        elif not args.keep_going:
            break
    if best is None:
        print("no level sustained p95 <= 1 s with no failure")
        return 0
    print(f"\nmost contacts sustained with p95 first reply <= 1 s and 0 lost/misrouted: {best['contacts']} "
          f"({best['rate']:.1f} contact messages/s end to end)")
    busiest = max(("locust", "receiver", "sandbox"), key=lambda n: last["cpu"].get(n, 0))
    print(f"at {last['contacts']} contacts the busiest process is {busiest} "
          f"({100 * last['cpu'][busiest] / last['cpu']['wall']:.0f} % of one core)")
    plain = baseline(best["rate"], min(args.seconds, 30), folder)
    per_step = best["cpu"]["locust"] / max(1, best["steps"])
    per_request = plain["cpu"]["locust"] / max(1, plain["requests"])
    print(f"harness CPU per step {1000 * per_step:.2f} ms; plain Locust HTTP user CPU per request "
          f"{1000 * per_request:.2f} ms at the same rate ({plain['requests']} requests); "
          f"ratio {per_step / per_request if per_request else float('nan'):.1f}x (the cost of correlation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
