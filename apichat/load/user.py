"""The Locust user: one contact running scenario files in a loop, each step reported as a Locust request.

Imported only inside Locust's processes (importing locust monkey-patches the standard library for gevent):
the console and the command line's parent process never import this module.

A step is a request of type STEP named `scenario › N. step`: its response time is the time to the step's
first reply (store timestamps: contact message written → reply written by the receiver), its length the
number of replies, its exception the runner's message for a failed expectation, a timeout, a send refused
by UChat (429, 5xx: counted, never retried) or a reply given to the wrong contact. The settle time (to the
turn's last reply) is a custom metric: gathered per step in every process, sent to the master with the
workers' reports, written next to Locust's CSV as PREFIX_settle.csv when the run ends, with the final
PREFIX_final_stats.csv and PREFIX_final_failures.csv (Locust's own CSVs lag up to a second behind).
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import secrets
import threading
import time
from functools import partial

import gevent
import requests
from locust import User, constant, events, task
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from .. import outbox
from ..client import BotClient
from ..scenarios import Runner, load_scenario, percentile
from ..store import open_store
from .feed import Dispatcher, RateLimit, ThreadedStore
from .options import CONFIG_ENV, CONTACT_PREFIX, UserConfig, misrouted

SEPARATOR = " › "
CONNECTIONS = 32  # to bot_url, per Locust process


class _Process:
    """What the users of one Locust process share: the store (threaded), the dispatcher, the rate cap."""

    def __init__(self, config: UserConfig):
        self.config = config
        self.store = ThreadedStore(open_store(config.db))
        self.profile = self.store.get_profile(config.profile)
        if self.profile is None:
            raise RuntimeError(f"no profile {config.profile!r} in {config.db}")
        self.scenarios = [load_scenario(path) for path in config.scenarios]
        self.dispatcher = Dispatcher(self.store, config.tick)
        self.limit = RateLimit(config.rate)
        # One session for every contact of the process: at most CONNECTIONS kept-alive connections, and a send
        # waits for a free one (hundreds of contacts must not open hundreds of connections: a server stops
        # accepting them, as the sandbox's waitress did past 100, and sends time out).
        session = requests.Session()
        for scheme in ("http://", "https://"):
            session.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=CONNECTIONS, pool_block=True))
        self.deliver = partial(outbox.deliver, client_factory=partial(_client, session=session))
        self.token = secrets.token_hex(3)
        self.numbers = itertools.count(1)

    def close(self) -> None:
        self.dispatcher.stop()
        self.store.close()


def _client(bot_url: str, flow_key: str, *, session, store=None, profile: str = "") -> BotClient:
    """The bot_url client of a load user: the process's session, and no row per send in the Inspector's log of
    requests (hundreds a second; a failed send is a Locust failure with UChat's reason instead)."""
    return BotClient(bot_url, flow_key, profile=profile, session=session)


_process: _Process | None = None
_making = threading.Lock()  # gevent's once locust is imported: the first user builds, the others wait
_settle: dict[str, list[float]] = {}


def shared() -> _Process:
    """The process's shared state, built once (building yields to the hub: other users must not build too)."""
    global _process
    with _making:
        if _process is None:
            _process = _Process(UserConfig.from_env(os.environ[CONFIG_ENV]))
    return _process


class ScenarioUser(User):
    """One contact (its own id and name; a new conversation_id each time round) running the scenarios."""

    wait_time = constant(0)  # the think time is taken after every step, inside the task

    def on_start(self) -> None:
        self.process = shared()
        number = next(self.process.numbers)
        self.contact_id = f"{CONTACT_PREFIX}{self.process.token}-{number}"
        self.order = itertools.cycle(range(len(self.process.scenarios)))
        for _ in range(number % len(self.process.scenarios)):
            next(self.order)
        self.mark = time.monotonic()
        self.first = True

    @task
    def run_scenario(self) -> None:
        process = self.process
        scenario = process.scenarios[next(self.order)]
        runner = Runner(process.store, process.profile, settle=process.config.settle,
                        timeout=process.config.timeout, keep=False, feed=process.dispatcher, on_step=self.on_step,
                        deliver=process.deliver)
        # The scenario's name, email and phone (its expectations may greet by name), this user's own id; with no
        # name in the file the name is the id, so a bot that greets by name puts the id in its reply.
        self.contact = {**scenario.contact, "id": self.contact_id, "name": scenario.contact.get("name") or
                        self.contact_id}
        if self.first:  # later sends take their turn under the cap at the end of think()
            process.limit.take()
            self.first = False
        self.mark = time.monotonic()
        try:
            runner.run(scenario, contact=self.contact)
        except Exception as exc:  # the store or the target failed outside a step: a failure, not a traceback
            self.fire(f"{scenario.name}{SEPARATOR}start", (time.monotonic() - self.mark) * 1000, 0,
                      f"{type(exc).__name__}: {exc}")
            self.think()

    def on_step(self, result, step) -> None:
        if step.status != "skipped" and step.step.action != "wait":
            elapsed = (time.monotonic() - self.mark) * 1000
            first = step.first_reply * 1000 if step.first_reply is not None else elapsed
            problem = step.error or "; ".join(f"line {f.line}: {f.problem}" for f in step.failures) or \
                misrouted(step.replies, self.contact["id"], result.conv_id)
            name = f"{result.scenario.name}{SEPARATOR}{step.step.index}. {step.step.label}"
            self.fire(name, first, len(step.replies), problem)
            if step.settle is not None:
                _settle.setdefault(name, []).append(step.settle * 1000)
        self.think()

    def think(self) -> None:
        low, high = self.process.config.think
        if high > 0:
            time.sleep(random.uniform(low, high))
        self.process.limit.take()
        self.mark = time.monotonic()

    def fire(self, name: str, milliseconds: float, replies: int, problem: str) -> None:
        self.environment.events.request.fire(request_type="STEP", name=name, response_time=milliseconds,
                                             response_length=replies, exception=problem or None, context={})


# ---------------------------------------------------------------- the end of a multi-process run


@events.test_start.add_listener
def _end_on_time(environment, **_):
    """A master given a run time stops the workers, waits for their last reports, then quits.

    Locust's own --run-time quits at once and waits 0.5 s for the workers' final stats, which a busy machine
    misses (they report every 3 s): the steps of the last seconds would be lost from the totals.
    """
    text = os.environ.get(CONFIG_ENV)
    run_time = UserConfig.from_env(text).run_time if text else 0.0
    if not run_time or not isinstance(environment.runner, MasterRunner):
        return

    def finish():
        environment.runner.stop()  # the workers' users stop; their reporters go on sending
        gevent.sleep(WORKER_REPORT_INTERVAL + 1)
        environment.runner.quit()

    gevent.spawn_later(run_time, finish)


# ---------------------------------------------------------------- the settle metric, across processes


@events.report_to_master.add_listener
def _send_settle(client_id, data, **_):
    data["apichat_settle"] = {name: list(values) for name, values in _settle.items()}
    _settle.clear()


@events.worker_report.add_listener
def _take_settle(client_id, data, **_):
    for name, values in (data.get("apichat_settle") or {}).items():
        _settle.setdefault(name, []).extend(values)


@events.quitting.add_listener
def _close_process(**_):
    """The store's threads end before the interpreter does (one still in a call at exit aborts the process)."""
    global _process
    if _process is not None:
        _process.close()
        _process = None


@events.quitting.add_listener
def _write_final(environment, **_):
    options = environment.parsed_options
    prefix = getattr(options, "csv_prefix", None) if options else None
    if not prefix or getattr(options, "worker", False):
        return
    # Locust rewrites PREFIX_stats.csv every second: the last second of the run would be missing from it.
    final = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(f"{prefix}_final_stats.csv", "w", newline="", encoding="utf-8") as handle:
        final.requests_csv(csv.writer(handle))
    with open(f"{prefix}_final_failures.csv", "w", newline="", encoding="utf-8") as handle:
        final.failures_csv(csv.writer(handle))
    with open(f"{prefix}_settle.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Count", "Settle p50 (ms)", "Settle p95 (ms)", "Settle max (ms)"])
        for name, values in sorted(_settle.items()):
            writer.writerow([name, len(values), round(percentile(values, 50)), round(percentile(values, 95)),
                             round(max(values))])
