"""The console's Autopilot: one simulated contact playing a goal in a background thread, watched live in the chat's
thread (its contact and conversation are the run's own), stopped at any time; and the past simulations (the
scenario runs of batch `simulate`). No Streamlit: the Chat page keeps one `Autopilots` per server.

Offline, the map is the newest one the Explorer saved for the profile (beside the store, under explore/), or a
crawl made first.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..explore import CrawlMap, load_map
from ..explore.runs import saved_maps
from ..store import Store
from .goal import Goal, parse_goal
from .plan import Unreachable
from .play import BATCH, Verdict
from .simulation import Options, SimulateError, crawl_for, prepare, refusal, run_all, use_llm


@dataclass
class Autopilot:
    id: str
    goal: Goal
    profile: str
    status: str = "starting"  # starting | crawling | running | reached | not reached | stopped | failed
    message: str = ""
    verdict: Verdict | None = None
    plan: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def typed_goal(goal: str, contains: str, say: str, name: str = "Typed goal", persona: str = "") -> Goal:
    """A goal typed on the page: what the contact wants, a text a bot reply must contain, the lines it may type
    (one per line); ScenarioError (`<typed goal>:line: problem`) as for a file."""
    doc = {"name": name, "goal": goal, "success": [{"text": {"contains": contains}}],
           "say": [s.strip() for s in (say or "").splitlines() if s.strip()]}
    if persona.strip():
        doc["persona"] = {"name": persona.strip()}
    return parse_goal(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "<typed goal>")


def newest_map(db_path: str, profile: str) -> CrawlMap | None:
    """The newest map the Explorer saved for `profile`, or None."""
    for name, path in saved_maps(db_path).items():
        if f"-{profile}-" in f"-{name}-":
            try:
                return load_map(Path(path).read_bytes())
            except (OSError, ValueError):
                continue
    return None


class Autopilots:
    """Simulations started from the console, by id."""

    def __init__(self) -> None:
        self._runs: dict[str, Autopilot] = {}
        self._lock = threading.Lock()

    def start(self, store: Store, profile: dict, db_path: str, goal: Goal, options: Options | None = None,
              crawl_map: CrawlMap | None = None) -> Autopilot:
        """One simulated contact plays `goal` against `profile` in a background thread."""
        options = options or Options()
        run = Autopilot(time.strftime("%H%M%S-") + uuid.uuid4().hex[:6], goal, profile["name"])
        problem = refusal(goal, options, profile)
        if problem:
            run.status, run.message = "failed", problem
            return self._keep(run)

        def started(verdict: Verdict) -> None:
            run.verdict = verdict

        def work() -> None:
            try:
                found = crawl_map
                if found is None and not use_llm(options):
                    found = newest_map(db_path, profile["name"])
                    if found is None:
                        run.status, run.message = "crawling", "no saved map of this bot: crawling it first"
                        found = crawl_for(goal, store, profile, options, f"profile {profile['name']}")
                prepared = prepare(goal, store, options, found)
                run.plan, run.status = prepared.plan, "running"
                verdicts = run_all(goal, store, profile, prepared, options, stop=run.stop, on_start=started)
                run.verdict = verdicts[0]
                run.status = "reached" if run.verdict.reached else \
                    "stopped" if run.stop.is_set() else "not reached"
                run.message = run.verdict.reason
            except (Unreachable, SimulateError) as exc:
                run.status, run.message = "failed", str(exc)
            except Exception as exc:  # the page shows it
                run.status, run.message = "failed", f"{type(exc).__name__}: {exc}"

        run.thread = threading.Thread(target=work, name=f"autopilot-{run.id}", daemon=True)
        self._keep(run)
        run.thread.start()
        return run

    def _keep(self, run: Autopilot) -> Autopilot:
        with self._lock:
            self._runs[run.id] = run
        return run

    def get(self, run_id: str | None) -> Autopilot | None:
        return self._runs.get(run_id or "")

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        run = self.get(run_id)
        if run is not None and run.thread is not None:
            run.thread.join(timeout)
        return run is None or not run.running


def past_simulations(store: Store, limit: int = 20) -> list[dict]:
    """The latest simulated conversations (scenario runs of batch `simulate`), newest first."""
    return store.list_scenario_runs(batch=BATCH, limit=limit, newest=True)
