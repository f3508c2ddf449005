"""Scenario runs started from the console: which files can be picked, loading what was picked or uploaded, and
the background threads that run a batch. No Streamlit: the Scenarios page keeps one `Batches` per server.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from .model import Scenario
from .nodes import ScenarioError
from .parse import load_scenario, parse_scenario, scenario_files
from .rates import ALL, Rates, RunOutcome, threshold_for, times_for
from .run import Runner

RECORDED = "recorded"  # drafts saved from a conversation: left out of suites, offered here to run and edit


def available_files(root: Path) -> dict[str, str]:
    """The scenario files under root/scenarios (the scenarios package's rules) and its recorded/ drafts, by their
    path relative to `root`."""
    folder = Path(root) / "scenarios"
    found = scenario_files([folder]) if folder.is_dir() else []
    if (folder / RECORDED).is_dir():
        found += scenario_files([folder / RECORDED])
    return {str(p.relative_to(root)): str(p) for p in sorted(found)}


def load_chosen(picked: list[str], files: dict[str, str],
                uploads: list[tuple[str, bytes]]) -> tuple[list[Scenario], list[str]]:
    """The picked files (names among `files`; others are passed over) and the uploads ((name, bytes)) that load,
    and one line per problem of those that do not."""
    loaded, problems = [], []
    for shown in picked:
        if shown not in files:
            continue
        try:
            loaded.append(load_scenario(files[shown], shown))
        except ScenarioError as exc:
            problems += exc.problems
    for name, data in uploads:
        shown = f"upload:{name}"
        try:
            loaded.append(parse_scenario(data.decode("utf-8-sig"), shown))
        except UnicodeDecodeError:
            problems.append(f"{shown}:1: the file is not UTF-8 text")
        except ScenarioError as exc:
            problems += exc.problems
    return loaded, problems


def pending_steps(run: dict, done: int) -> list[str]:
    """The labels of a running run's steps after the first `done` (from the source it was started with)."""
    try:
        steps = parse_scenario(run["source"], run["path"]).steps
    except ScenarioError:
        return []
    return [f"Step {s.index} · {s.label}" for s in steps[done:]]


@dataclass
class Repeats:
    """The runs of one scenario in a batch: as many as its file's `repeat:`, and their rates so far."""

    name: str
    path: str
    times: int  # the runs the file asks for
    runs: list[dict]  # the store's rows, in the order they started
    rates: Rates  # over the runs that have finished

    @property
    def done(self) -> bool:
        return len(self.runs) == self.times and all(r["status"] != "running" for r in self.runs)


def repeats_of(store, found: list[dict]) -> list[Repeats]:
    """A batch's runs (`Store.list_scenario_runs(batch=…)`) grouped by scenario: the runs of one file follow each
    other, as many as its `repeat:` (read from the source each run keeps)."""
    groups: list[Repeats] = []
    for run in found:
        group = groups[-1] if groups else None
        if group is None or group.path != run["path"] or len(group.runs) >= group.times:
            try:
                scenario = parse_scenario(run["source"], run["path"])
                times, threshold = times_for(scenario), threshold_for(scenario)
            except ScenarioError:
                times, threshold = 1, ALL
            group = Repeats(run["scenario"], run["path"], times, [], Rates(run["scenario"], run["path"], threshold, 0, 0))
            groups.append(group)
        group.runs.append(run)
    for group in groups:
        finished = [r for r in group.runs if r["status"] != "running"]
        group.rates = Rates.of(group.name, group.path, group.rates.threshold,
                               [RunOutcome.of_rows(r, store.scenario_results(r["id"])) for r in finished])
    return groups


class Batches:
    """Batches of scenarios running in background threads, by batch id (the runs are kept under that id)."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}

    def start(self, store, profile: dict, items: list[Scenario], settle: float) -> str:
        """Run `items` one after the other against `profile`, each as many times as its file's `repeat:`; the
        batch's id at once."""
        batch = f"ui-{uuid.uuid4().hex[:12]}"

        def work() -> None:
            for scenario in items:
                Runner(store, profile, settle=settle, batch=batch).repeat(scenario, times_for(scenario))

        thread = threading.Thread(target=work, name=f"scenarios-{batch}", daemon=True)
        self._threads[batch] = thread
        thread.start()
        return batch

    def running(self, batch: str | None) -> bool:
        thread = self._threads.get(batch or "")
        return thread is not None and thread.is_alive()

    def wait(self, batch: str, timeout: float | None = None) -> bool:
        """Wait for a batch to finish; whether it has."""
        thread = self._threads.get(batch)
        if thread is not None:
            thread.join(timeout)
        return not self.running(batch)
