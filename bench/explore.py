"""The bot explorer's speed: the sandbox's demo bot crawled from `hi`, against one scenario run as the baseline.

    python -m bench.explore [--settle 1.0] [--workers 4] [--repeat 1]

Starts a fresh embedded sandbox (receiver + sandbox on free ports, temporary store), then in the same run:
1. the baseline: `scenarios/products.yaml` run once with the scenario runner (same settle): its wall time per
   step, i.e. what one turn costs when a person's scenario runs;
2. the crawl: the demo bot mapped from `hi` (depth 4), `--repeat` times: wall time, steps (actions sent, replays
   included), steps/s, wall time per step, and the mean turn (action → last reply) of new and replayed turns.
Target (docs/DESIGN.md): the demo bot mapped completely from `hi` in under 60 s.
"""

from __future__ import annotations

import argparse
import time

from apichat.explore import Limits, RunnerTransport, crawl
from apichat.processes import ROOT
from apichat.scenarios import Runner, load_scenario, sandbox_target


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=1.0, help="quiet period that ends a turn (default 1.0 s)")
    parser.add_argument("--workers", type=int, default=4, help="paths walked at once (default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="crawls to time (default 1)")
    args = parser.parse_args()
    with sandbox_target() as target:
        scenario = load_scenario(ROOT / "scenarios" / "products.yaml")
        started = time.monotonic()
        result = Runner(target.store, target.profile, settle=args.settle, keep=False).run(scenario)
        base_wall = time.monotonic() - started
        base_steps = sum(1 for s in result.steps if s.step.sends)
        per_base = base_wall / base_steps
        print(f"baseline: scenario {scenario.name!r} ({result.status}) — {base_steps} steps in {base_wall:.2f} s, "
              f"{per_base:.3f} s per step")
        for n in range(1, args.repeat + 1):
            transport = RunnerTransport(target.store, target.profile, settle=args.settle, detail=target.detail)
            started = time.monotonic()
            m = crawl(transport, ["hi"], Limits(depth=4, workers=args.workers))
            wall = time.monotonic() - started
            s = m.stats
            complete = m.status == "finished" and not m.find("limit") and all(
                {c.key for c in st.choices} == {e.action.key for e in m.out_edges(st.id)} for st in m.states.values())
            print(f"crawl {n}: {m.status}, {'complete' if complete else 'INCOMPLETE'} — {len(m.states)} states, "
                  f"{len(m.edges)} edges, {s['steps']} steps in {wall:.2f} s: {s['steps'] / wall:.2f} steps/s, "
                  f"{wall / s['steps']:.3f} s per step ({wall / s['steps'] / per_base:.2f}× the baseline's); mean turn "
                  f"{s['new_turn_mean_s']} s new, {s['replay_turn_mean_s']} s replayed; target < 60 s: "
                  f"{'met' if wall < 60 and complete else 'NOT met'}")


if __name__ == "__main__":
    main()
