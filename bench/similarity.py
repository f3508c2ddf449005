"""What similar_to and judge: cost a scenario run, offline and against a fake judge.

    python -m bench.similarity [--repeat 20000] [--questions 50]

1. Offline: one step's expectation checked against one reply (`apichat.scenarios.evaluate`), `--repeat` times,
   for `text: {equals: …}` (the baseline, measured in the same run), then `text: {similar_to: …}` that passes
   and one that fails (a failure also scores the text again for its row). Prints µs per expectation and the
   ratio to the baseline. Target: ≤ 1 ms per similar_to expectation.
2. The judge's cache: the fake OpenAI-compatible server (tests/fake_llm.py) started as a process, a temporary
   SQLite store as the cache, `--questions` judged expectations evaluated in a first run and again in a
   re-run (a new Judge, as a new command would have): calls, cache hits, the hit rate, ms per expectation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import requests

from apichat.ai import Checks, Endpoint, Judge
from apichat.processes import ChildProcess, clean_env, free_port
from apichat.scenarios import evaluate, parse_scenario
from apichat.store import open_store

REPLY = ("We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturdays. Orders placed before noon leave the "
         "roastery the same day; metro deliveries arrive the next morning by bike courier.")


def _step(expect: str):
    return parse_scenario(f"steps:\n  - send: hi\n    expect:\n      - {expect}\n").steps[0]


def _per_check_us(step, replies, checks, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        evaluate(step, replies, checks)
    return (time.perf_counter() - started) / repeat * 1e6


def offline(repeat: int) -> None:
    replies = [{"id": 1, "kind": "text", "data": {"text": REPLY}}]
    checks = Checks()
    cases = [
        ("equals (baseline)", _step(f"text: {{equals: {json.dumps(REPLY)}}}"), True),
        ("similar_to, passes", _step("text: {similar_to: 'Open weekdays 8 am to 6 pm, Saturdays 9 to 1; orders "
                                     "before noon ship the same day, metro next morning by bike', at_least: 0.6}"),
         True),
        ("similar_to, fails", _step("text: {similar_to: 'Shipping takes three to five working days.'}"), False),
    ]
    base = None
    for label, step, passes in cases:
        assert (not evaluate(step, replies, checks)) == passes, label
        us = _per_check_us(step, replies, checks, repeat)
        base = base or us
        verdict = "" if base == us else f" ({us / base:.1f}× the baseline); target ≤ 1000 µs: " + \
            ("met" if us <= 1000 else "NOT met")
        print(f"{label:20} {us:8.1f} µs per expectation{verdict}")


def judge_cache(questions: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    port = free_port()
    fake = ChildProcess(["-m", "tests.fake_llm", "--port", str(port)], clean_env(), folder / "fake_llm.log")
    try:
        fake.wait_healthy(f"http://127.0.0.1:{port}")
        requests.post(f"http://127.0.0.1:{port}/script", timeout=5,
                      json={"chat": [{"answer": '{"pass": true, "reason": "it answers the question"}'}]})
        store = open_store(str(folder / "console.db"))
        endpoint = Endpoint(f"http://127.0.0.1:{port}/v1", "fake-judge")
        steps = [_step(f"judge: 'answers question {n} politely'") for n in range(questions)]
        replies = [{"id": 1, "kind": "text", "data": {"text": REPLY}}]
        for run in ("first run", "re-run"):
            judge = Judge(endpoint, store)
            started = time.perf_counter()
            for step in steps:
                assert not evaluate(step, replies, Checks(judge=judge))
            ms = (time.perf_counter() - started) / questions * 1000
            rate = judge.cached / questions
            print(f"judge, {run:9}: {questions} judged expectations, {judge.summary()}, hit rate {rate:.0%}, "
                  f"{ms:.2f} ms per expectation")
        calls = requests.get(f"http://127.0.0.1:{port}/calls", timeout=5).json()["chat"]
        print(f"the fake server counted {calls} calls in all")
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similarity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20000, help="checks per offline case (default 20000)")
    parser.add_argument("--questions", type=int, default=50, help="judged expectations per run (default 50)")
    args = parser.parse_args()
    offline(args.repeat)
    judge_cache(args.questions)


if __name__ == "__main__":
    main()
