"""A simulation from start to end, shared by the command line and the console's Autopilot: the safety rule, who
plays (the offline planner over a map, crawled when none is given, or the LLM), N runs on W workers, and
"save as scenario" (the presses and texts of a run that reached its goal, expectations as Record writes them)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from .. import lint
from ..ai import Checks
from ..explore import Crawler, CrawlMap, Limits, RunnerTransport
from ..profiles import SANDBOX, real_contacts_problem
from ..scenarios import record_conversation
from ..store import Store
from .goal import Goal
from .plan import OfflinePlayer, Planner, judge_problem
from .play import Pace, Player, Verdict, play, play_many
from .simulator import SIMULATOR_ENV, LLMPlayer, simulator_from_env

MODES = ("auto", "offline", "llm")
MAX_RUNS = 1000


class SimulateError(ValueError):
    """A simulation that cannot start; the one line says why (the command exits 2)."""


@dataclass
class Options:
    runs: int = 1
    workers: int = 1
    settle: float = 1.0
    timeout: float = 10.0
    max_rate: float = 0.0  # messages per second over all runs (0: no cap)
    mode: str = "auto"  # auto: the LLM when APICHAT_SIMULATOR_URL is set, else offline
    depth: int = 4  # presses a crawl made on the fly follows
    allow_real: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SimulateError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 1 <= self.runs <= MAX_RUNS:
            raise SimulateError(f"runs must be from 1 to {MAX_RUNS} (got {self.runs})")
        if self.workers < 1:
            raise SimulateError(f"workers must be at least 1 (got {self.workers})")
        if self.max_rate < 0:
            raise SimulateError(f"max rate must be 0 (no cap) or more messages per second (got {self.max_rate:g})")


def names_for(goal: Goal) -> tuple[str, ...]:
    """The contact's names as the explorer masks them in a state's signature ("Hi Sam!" is "Hi {name}!")."""
    name = goal.contact_name
    return tuple(p for p in name.split() if len(p) > 2) + (name,)


def use_llm(options: Options, env=None) -> bool:
    return options.mode == "llm" or (options.mode == "auto" and simulator_from_env(env) is not None)


def refusal(goal: Goal, options: Options, profile: dict, env=None) -> str:
    """Why this simulation must not start here ('' when it may): too many contacts for a real workspace, no
    simulator for the LLM mode, a judge asked for and none configured."""
    real = profile.get("name") != SANDBOX
    too_many = real_contacts_problem(options.runs, real=real, allow_real=options.allow_real)
    if too_many:
        return too_many.replace("contacts", "simulated contacts", 1)
    if use_llm(options, env):
        endpoint = simulator_from_env(env)
        if endpoint is None:
            return f"the LLM mode needs {SIMULATOR_ENV}_URL (an OpenAI-compatible endpoint) and {SIMULATOR_ENV}_MODEL"
        if endpoint.problem:
            return endpoint.problem
        if not endpoint.model:
            return f"{SIMULATOR_ENV}_MODEL is not set: name the model that plays the contact"
    return ""


def crawl_for(goal: Goal, store: Store, profile: dict, options: Options, detail: str = "") -> CrawlMap:
    """The bot's map, crawled now from the goal's first say line (or hi)."""
    transport = RunnerTransport(store, profile, settle=options.settle, timeout=options.timeout,
                                pace=0.0 if profile.get("name") == SANDBOX else 1.0, detail=detail)
    starts = goal.say[:1] or ["hi"]
    workers = 4 if profile.get("name") == SANDBOX else 1
    return Crawler(transport, starts, Limits(depth=options.depth, workers=workers), lint.channels_of(profile)).run()


@dataclass
class Prepared:
    """Who plays, and (offline) the plan on the map the runs start from."""

    player: Player
    checks: Checks
    plan: str = ""
    known_states: set[str] | None = None


def prepare(goal: Goal, store: Store, options: Options, crawl_map: CrawlMap | None, env=None,
            checks: Checks | None = None) -> Prepared:
    """The player for `goal`; Unreachable (offline) when the map has no way to success, SimulateError when the
    success check needs a judge that is not there."""
    checks = checks if checks is not None else Checks.from_env(cache=store, env=env)
    problem = judge_problem(goal, checks)
    if problem:
        raise SimulateError(problem)
    if use_llm(options, env):
        endpoint = simulator_from_env(env)
        if endpoint is None:
            raise SimulateError(f"the LLM mode needs {SIMULATOR_ENV}_URL and {SIMULATOR_ENV}_MODEL")
        return Prepared(LLMPlayer(goal, endpoint, store), checks,
                        known_states=set(crawl_map.states) if crawl_map else None)
    if crawl_map is None:
        raise SimulateError("the offline planner needs the bot's map (--map map.json, or let it crawl)")
    planner = Planner(crawl_map, goal, checks, names_for(goal))
    path = planner.check()  # Unreachable says why not
    plan = " → ".join(a.label for a in path) if path else "its say lines are not on the map: planned live"
    return Prepared(OfflinePlayer(planner), checks, plan, set(crawl_map.states))


def run_all(goal: Goal, store: Store, profile: dict, prepared: Prepared, options: Options,
            stop: threading.Event | None = None, on_turn=None, on_start=None, keep: bool = True) -> list[Verdict]:
    """`options.runs` simulated contacts, each a new contact and conversation, up to `options.workers` at once."""
    pace = Pace(options.max_rate)

    def one(number: int) -> Verdict:
        return play(goal, store, profile, prepared.player, checks=prepared.checks, names=names_for(goal),
                    settle=options.settle, timeout=options.timeout, keep=keep, stop=stop, pace=pace,
                    on_turn=on_turn, on_start=on_start, known_states=prepared.known_states, number=number)

    return play_many(options.runs, options.workers, one)


def save_as_scenario(store: Store, goal: Goal, verdict: Verdict, path: str | Path | None = None) -> str:
    """A run that reached its goal as a scenario (YAML text; written to `path` when given): the presses and texts
    it used, the bot's replies as Record writes them. ValueError for a run that did not reach it."""
    if not verdict.reached or verdict.conversation is None:
        raise ValueError(f"run {verdict.number} did not reach the goal ({verdict.reason}): nothing worth replaying")
    text = record_conversation(store, verdict.conversation, name=f"{goal.name} (simulated)")
    text = (f"# From simulation of goal {goal.path!r}, run {verdict.number}: reached in {verdict.turns} turns.\n"
            + text)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    return text
