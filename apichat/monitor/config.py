"""monitors.yaml: what to run, against which profile, how often, and whom to tell.

Read with the scenarios' strict YAML (apichat.scenarios.nodes): every problem is one line `file:line: problem`
in a ScenarioError, every problem of the file listed; the scenario files it names are loaded and their own
problems listed too. Paths are relative to the monitors file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml
from apscheduler.triggers.cron import CronTrigger

from ..profiles import SANDBOX
from ..scenarios import Scenario, ScenarioError, load_scenario, nodes, scenario_files
from ..scenarios.nodes import NodeError, line_of, quote, read_text

TOP_KEYS = ("monitors",)
MONITOR_KEYS = ("name", "scenarios", "profile", "every", "cron", "within", "alert_after", "alert", "paused")
TARGET_KINDS = ("slack", "webhook")
NAME_RE = re.compile(r"^[\w .:-]{1,80}$")
HOURS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|hours?|d|days?)\s*$", re.IGNORECASE)
MIN_EVERY, MAX_EVERY = 1.0, 7 * 24 * 3600.0
MAX_ALERT_AFTER = 100
DEFAULT_ALERT_AFTER = 1
MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class AlertTarget:
    kind: str  # slack | webhook
    url: str


@dataclass
class Monitor:
    name: str
    line: int
    scenarios: list[Scenario]
    profile: str = SANDBOX
    every: float | None = None  # seconds between runs, or
    cron: str = ""  # a crontab line
    within: float | None = None  # latency budget of every step's first reply
    alert_after: int = DEFAULT_ALERT_AFTER
    alerts: list[AlertTarget] = field(default_factory=list)
    paused: bool = False

    @property
    def schedule(self) -> str:
        if self.cron:
            return f"cron {self.cron}"
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if self.every >= size and self.every % size == 0:
                return f"every {self.every / size:g}{unit}"
        return f"every {self.every:g}s"


def every_seconds(value) -> float | None:
    """Seconds from a duration as in scenarios (`10s`, `10m`), or in hours or days (`1h`, `1d`); None if unread."""
    found = HOURS_RE.match(str(value)) if isinstance(value, str) else None
    if found:
        return float(found.group(1)) * (86400 if found.group(2).lower().startswith("d") else 3600)
    return nodes.parse_duration(value)


def _every(node: yaml.Node) -> float:
    seconds = every_seconds(nodes.value_of(node)) if isinstance(node, yaml.ScalarNode) else None
    if seconds is None:
        raise NodeError(node, f"every must be a duration like 30s, 10m or 1h; got {nodes.kind_of(node)}")
    if not MIN_EVERY <= seconds <= MAX_EVERY:
        raise NodeError(node, f"every is {seconds:g} s; it must be from {MIN_EVERY:g} s to 7 days")
    return seconds


def _cron(node: yaml.Node) -> str:
    text = nodes.string(node, "cron")
    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise NodeError(node, f"cron {quote(text)} is not a crontab schedule (minute hour day month weekday, "
                              f"e.g. \"*/10 * * * *\"): {exc}") from None
    return text


def _targets(node: yaml.Node) -> list[AlertTarget]:
    if not isinstance(node, yaml.SequenceNode):
        raise NodeError(node, f"alert must be a list of targets (- slack: URL, - webhook: URL); got "
                              f"{nodes.kind_of(node)}")
    out = []
    for item in node.value:
        fields = nodes.mapping(item, "an alert target", TARGET_KINDS)
        if len(fields) != 1:
            raise NodeError(item, "an alert target is one of `slack: URL` or `webhook: URL`")
        kind, (_, value) = next(iter(fields.items()))
        url = nodes.string(value, kind)
        if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
            raise NodeError(value, f"{kind} needs an http(s) URL; got {quote(url)}")
        out.append(AlertTarget(kind, url))
    return out


def _scenarios(node: yaml.Node, base: Path, shown_base: str, problems: list[str]) -> list[Scenario]:
    paths = [nodes.string(n, "a scenario path") for n in nodes.items(node)]
    if not paths:
        raise NodeError(node, "scenarios must name at least one scenario file")
    loaded = []
    for item, text in zip(nodes.items(node), paths, strict=True):
        path = base / text
        if not path.exists():
            raise NodeError(item, f"no scenario file or folder {quote(text)} (looked for {path})")
        files = scenario_files([path])
        if not files:
            raise NodeError(item, f"no scenario files in {quote(text)}")
        for file in files:
            shown = str(Path(shown_base) / file.relative_to(base)) if file.is_relative_to(base) else str(file)
            try:
                loaded.append(load_scenario(file, shown))
            except ScenarioError as exc:
                problems += exc.problems
    return loaded


def _monitor(node: yaml.Node, index: int, base: Path, shown_base: str, problems: list[str]) -> Monitor:
    what = f"monitor {index}"
    fields = nodes.mapping(node, what, MONITOR_KEYS)
    for needed in ("name", "scenarios"):
        if needed not in fields:
            raise NodeError(node, f"{what} has no {needed}")
    if ("every" in fields) == ("cron" in fields):
        raise NodeError(node, f"{what} needs one schedule: every: 10m or cron: \"*/10 * * * *\"")
    name = nodes.string(fields["name"][1], "name")
    if not NAME_RE.match(name):
        raise NodeError(fields["name"][1], f"name {quote(name)} may hold letters, digits, spaces and . : _ - "
                                           "(at most 80)")
    monitor = Monitor(name=name, line=line_of(node), scenarios=[])
    for key, (_, value) in fields.items():
        if key == "scenarios":
            monitor.scenarios = _scenarios(value, base, shown_base, problems)
        elif key == "profile":
            monitor.profile = nodes.string(value, "profile")
        elif key == "every":
            monitor.every = _every(value)
        elif key == "cron":
            monitor.cron = _cron(value)
        elif key == "within":
            monitor.within = nodes.duration(value, "within")
        elif key == "alert_after":
            monitor.alert_after = nodes.whole(value, "alert_after", 1, MAX_ALERT_AFTER)
        elif key == "alert":
            monitor.alerts = _targets(value)
        elif key == "paused":
            monitor.paused = nodes.boolean(value, "paused")
    return monitor


def parse_monitors(text: str, path: str = "<monitors>", base: str | Path = ".") -> list[Monitor]:
    """The monitors of a monitors file's `text` (scenario paths relative to `base`); ScenarioError listing
    every problem as `path:line: problem`."""
    problems: list[str] = []
    root = nodes.compose(text, path)
    if root is None:
        raise ScenarioError([f"{path}:1: the file is empty; it needs `monitors:` with a list of monitors"])
    try:
        top = nodes.mapping(root, "the monitors file", TOP_KEYS)
        listed = top.get("monitors", (None, root))[1]
        if "monitors" not in top or not isinstance(listed, yaml.SequenceNode) or not listed.value:
            raise NodeError(listed, "monitors must be a list with at least one monitor")
    except NodeError as exc:
        raise ScenarioError([f"{path}:{line_of(exc.node)}: {exc.problem}"]) from None
    shown_base = str(Path(path).parent)
    monitors: list[Monitor] = []
    seen: set[str] = set()
    for index, node in enumerate(listed.value, start=1):
        try:
            monitor = _monitor(node, index, Path(base), shown_base, problems)
        except NodeError as exc:
            problems.append(f"{path}:{line_of(exc.node)}: {exc.problem}")
            continue
        if monitor.name in seen:
            problems.append(f"{path}:{monitor.line}: a second monitor named {quote(monitor.name)}; names must differ")
        seen.add(monitor.name)
        monitors.append(monitor)
    if problems:
        raise ScenarioError(problems)
    return monitors


def load_monitors(path: str | Path) -> list[Monitor]:
    """The monitors of the file at `path`; ScenarioError (unreadable files included)."""
    shown = str(path)
    text = read_text(path, shown, "a monitors file", MAX_FILE_BYTES)
    return parse_monitors(text, shown, Path(path).parent)


def due(monitor: Monitor, last_start: float | None, now: float) -> bool:
    """Whether `monitor` should run at `now`, its latest run having started at `last_start`: an interval has
    passed (less a little slack, so a scheduler's own tick is never early), or a cron time fell since. The same
    rule keeps two processes from running one monitor twice for one tick: the second finds the first's run."""
    if last_start is None:
        return True
    if monitor.cron:
        trigger = CronTrigger.from_crontab(monitor.cron, timezone=timezone.utc)
        after = datetime.fromtimestamp(last_start, tz=timezone.utc)
        upcoming = trigger.get_next_fire_time(None, after)
        return upcoming is not None and upcoming.timestamp() <= now + 1.0 and upcoming.timestamp() > last_start
    slack = min(monitor.every * 0.1, 5.0)
    return now - last_start >= monitor.every - slack


def save_monitors(path: str | Path, text: str) -> list[Monitor]:
    """Write `text` to the monitors file at `path` once it parses (ScenarioError, and the file untouched, when
    not); the monitors it holds. The running schedulers read it again when restarted."""
    target = Path(path)
    monitors = parse_monitors(text, str(target), target.parent)
    partial = target.with_name(f".{target.name}.saving")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return monitors
