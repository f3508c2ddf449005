"""Scenarios: scripted conversations with expectations, run in the console, from the command line or by pytest.

    python -m apichat.scenarios run FILES_OR_FOLDERS… [--profile NAME] [--junitxml out.xml]
    python -m apichat.scenarios check FILES_OR_FOLDERS…
    python -m apichat.scenarios record CONVERSATION_ID [--db PATH] [-o FILE]

`run` uses the embedded sandbox by default: it starts `python -m receiver` and `python -m sandbox`
on free ports with a temporary store and connects a `sandbox` profile, as the console does.
With --profile NAME (or `env` for the UCHAT_* variables) it uses that profile of the console's
store (APICHAT_DB) and the receiver that writes into it (started when none answers).
Exit status: 0 all passed, 1 a scenario failed or a file is invalid, 2 nothing could run.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import yaml

from . import profiles
from .config import SettingsError, load_settings
from .scenario_format import (  # noqa: F401  (the public names of scenarios live here)
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    reply_data,
)
from .scenario_runner import Runner, RunResult, StepResult, percentile  # noqa: F401
from .services import ChildError, ChildProcess, free_port, probe
from .store import Store

SCENARIO_SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = ("recorded",)  # drafts saved from the chat, to be edited before they join a suite


class TargetError(RuntimeError):
    """Nothing to run against: a process did not start, or the profile is not connected."""


# ---------------------------------------------------------------- finding files


def scenario_files(paths: list[str | Path]) -> list[Path]:
    """The scenario files named, and those under named folders (sorted; `recorded/` drafts left out)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                parts = candidate.relative_to(path).parts
                if candidate.suffix in SCENARIO_SUFFIXES and candidate.is_file() and not any(
                        p in SKIPPED_FOLDERS or p.startswith(".") for p in parts):
                    found.append(candidate)
        else:
            found.append(path)
    return found


# ---------------------------------------------------------------- reports


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def side_by_side(rows: list, width: int = 48) -> list[str]:
    """Rows of (what, expected, arrived) as aligned text columns."""
    if not rows:
        return []
    rows = [(r.what, r.expected, r.arrived) if hasattr(r, "what") else tuple(r) for r in rows]
    first = max(4, *(len(r[0]) for r in rows))
    lines = [f"{'':{first}}  {'expected':{width}}  arrived"]
    for what, expected, arrived in rows:
        lines.append(f"{what:{first}}  {_clip(expected, width):{width}}  {_clip(arrived, width * 2)}")
    return lines


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def step_line(result: StepResult) -> str:
    mark = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-"}[result.status]
    timing = ""
    if result.first_reply is not None:
        timing = f"  [{len(result.replies)} repl{'y' if len(result.replies) == 1 else 'ies'}, first " \
                 f"{_ms(result.first_reply)}, settled {_ms(result.settle)}]"
    elif result.step.sends and result.status in ("passed", "failed"):
        timing = "  [no reply]"
    return f"{mark} step {result.step.index}: {result.step.label}{timing}"


def report(result: RunResult, raw: bool = True, steps: bool = True) -> str:
    """A run as text a person reads in a terminal or a CI log: each step, and each failure side by side."""
    scenario = result.scenario
    t = result.timings()
    head = (f"{result.status.upper()}  {scenario.name} ({scenario.path}) — profile {result.profile}, contact "
            f"{result.contact.get('id')}, conversation_id {result.conv_id}")
    lines = [head]
    if result.error:
        lines.append(f"  ! {result.error}")
    for step in result.steps:
        if steps or step.status in ("failed", "error"):
            lines.append("  " + step_line(step))
        where = f"{scenario.path}:{step.step.line}"
        if step.error:
            lines.append(f"      {where}: {step.error}")
        for failure in step.failures:
            lines.append(f"      {scenario.path}:{failure.line}: {failure.problem}")
            lines += ["        " + line for line in side_by_side(failure.rows)]
            if raw and failure.reply_id is not None:
                reply = next((r for r in step.replies if r["id"] == failure.reply_id), None)
                if reply is not None:
                    lines.append(f"        raw payload: {_clip(reply.get('raw', ''), 400)}")
    if t["first_p50_ms"] is not None:
        lines.append(f"  first reply p50 {t['first_p50_ms']:.0f} ms, p95 {t['first_p95_ms']:.0f} ms · settled "
                     f"p50 {t['settle_p50_ms']:.0f} ms, p95 {t['settle_p95_ms']:.0f} ms")
    return "\n".join(lines)


def first_problem(result: RunResult) -> str:
    """The one line that says why a run did not pass."""
    for step in result.steps:
        if step.error:
            return f"{result.scenario.path}:{step.step.line}: step {step.step.index} ({step.step.label}): {step.error}"
        if step.failures:
            f = step.failures[0]
            return f"{result.scenario.path}:{f.line}: step {step.step.index} ({step.step.label}): {f.problem}"
    return result.error or "passed"


def junit_xml(cases: list[tuple[str, RunResult | ScenarioError]], path: str | Path) -> None:
    """JUnit XML with one test case per scenario file: failures, errors and the step log."""
    suite = ET.Element("testsuite", name="scenarios", tests=str(len(cases)),
                       timestamp=datetime.now().isoformat(timespec="seconds"))
    counts = {"failures": 0, "errors": 0}
    total = 0.0
    for file, outcome in cases:
        if isinstance(outcome, ScenarioError):
            case = ET.SubElement(suite, "testcase", classname="scenarios", name=Path(file).stem, file=file, time="0")
            ET.SubElement(case, "error", message=outcome.problems[0]).text = str(outcome)
            counts["errors"] += 1
            continue
        seconds = max(0.0, outcome.finished - outcome.started)
        total += seconds
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=outcome.scenario.name, file=file,
                             time=f"{seconds:.3f}")
        if outcome.status != "passed":
            tag = "error" if outcome.status == "error" else "failure"
            counts["errors" if tag == "error" else "failures"] += 1
            ET.SubElement(case, tag, message=first_problem(outcome)).text = report(outcome)
        ET.SubElement(case, "system-out").text = report(outcome, raw=False)
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("time", f"{total:.3f}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- what to run against


@dataclass
class Target:
    store: Store
    profile: dict
    detail: str = ""


class _Child(ChildProcess):
    """`python -m module`, as the console starts it; its failures are TargetErrors."""

    def __init__(self, module: str, args: list[str], env: dict, log_path: Path):
        super().__init__(["-m", module, *args], env, log_path, name=f"python -m {module}")

    def wait_ready(self, url: str, service: str, seconds: float = 30.0) -> None:
        try:
            super().wait_ready(lambda: probe(url, service, timeout=0.5) == "ours", seconds)
        except ChildError as exc:
            raise TargetError(str(exc)) from None


@contextmanager
def sandbox_target(workdir: str | Path | None = None) -> Iterator[Target]:
    """The embedded sandbox with its own receiver and temporary store, on free ports; all stopped afterwards."""
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="apichat-scenarios-") if own else workdir)
    folder.mkdir(parents=True, exist_ok=True)
    receiver_port, sandbox_port = free_port(), free_port()
    while sandbox_port == receiver_port:
        sandbox_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UCHAT_", "APICHAT_"))}
    env.update(APICHAT_DB=str(folder / "console.db"), APICHAT_MEDIA_DIR=str(folder / "media"),
               APICHAT_RECEIVER_PORT=str(receiver_port), APICHAT_SANDBOX_PORT=str(sandbox_port),
               PYTHONUNBUFFERED="1")
    settings = load_settings(env)
    children: list[_Child] = []
    store = None
    try:
        receiver = _Child("receiver", ["--host", "127.0.0.1", "--port", str(receiver_port)], env,
                          folder / "receiver.log")
        children.append(receiver)
        sandbox = _Child("sandbox", ["--port", str(sandbox_port), "--state", str(folder / "sandbox.json")], env,
                         folder / "sandbox.log")
        children.append(sandbox)
        receiver.wait_ready(settings.receiver_url, "apichat-receiver")
        sandbox.wait_ready(settings.sandbox_url, "apichat-sandbox")
        store = Store(settings.db_path)
        try:
            profile = profiles.connect_sandbox(store, settings)
        except Exception as exc:
            raise TargetError(f"could not set the sandbox's webhook: {exc}") from None
        yield Target(store, profile, f"sandbox on {settings.sandbox_url}, receiver on {settings.receiver_url}, "
                                     f"store {settings.db_path}")
    finally:
        for child in children:
            child.stop()
        if store is not None:
            store.close()
        if own:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def profile_target(name: str, env=None) -> Iterator[Target]:
    """Profile `name` of the console's store (`env`: the UCHAT_* variables), with a receiver writing into it."""
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        raise TargetError(str(exc)) from None
    store = Store(settings.db_path)
    if name == "env" and not profiles.ensure_env_profile(store, settings):
        raise TargetError("--profile env needs UCHAT_BOT_URL and UCHAT_FLOW_KEY (or the partner variables)")
    children: list[_Child] = []
    child_env = dict(os.environ if env is None else env)
    try:
        wanted = [("receiver", settings.receiver_url, "apichat-receiver",
                   ["--host", settings.receiver_host, "--port", str(settings.receiver_port)])]
        if name == profiles.SANDBOX:
            wanted.append(("sandbox", settings.sandbox_url, "apichat-sandbox", ["--port", str(settings.sandbox_port)]))
        log_dir = Path(settings.db_path).resolve().parent
        for module, url, service, args in wanted:
            state = probe(url, service, store_id=store.store_id if module == "receiver" else None)
            if state == "other-store":
                raise TargetError(f"the receiver on {url} writes to another store than {settings.db_path}; "
                                  "set APICHAT_DB to the console's store, or stop that receiver")
            if state == "foreign":
                raise TargetError(f"{url} answers, but it is not the {module}; free the port or set "
                                  f"APICHAT_{module.upper()}_PORT")
            if state == "down":
                child = _Child(module, args, child_env, log_dir / f"{module}.log")
                children.append(child)
                child.wait_ready(url, service)
        if name == profiles.SANDBOX:
            profiles.connect_sandbox(store, settings)
        profile = store.get_profile(name)
        if profile is None:
            known = ", ".join(p["name"] for p in store.list_profiles()) or "none"
            raise TargetError(f"no profile named {name!r} in {settings.db_path} (profiles: {known})")
        if not profile["bot_url"] or not profile["flow_key"]:
            raise TargetError(f"profile {name!r} has no bot_url or flow key yet: connect it on the Connect page")
        yield Target(store, profile, f"profile {name} ({urlparse(profile['bot_url']).netloc}), store "
                                     f"{settings.db_path}")
    finally:
        for child in children:
            child.stop()
        store.close()


def target_for(profile: str | None):
    return profile_target(profile) if profile else sandbox_target()


# ---------------------------------------------------------------- recording a conversation


def _local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def _url_expectation(url: str):
    """A URL as an expectation: local addresses change port between runs, so only their path is kept."""
    if _local(url):
        return {"ends_with": urlparse(url).path}
    return url


def _expectation_for(row: dict) -> dict:
    data = reply_data(row)
    out: dict = {}
    if data.get("private"):
        out["private"] = True
    if row["author"] == "agent":
        out["author"] = "agent"
    if row["kind"] == "unsupported":
        out["kind"] = "unsupported"
    text = data.get("text") or ""
    if text:
        out["text"] = text if len(text) <= 160 else {"starts_with": text[:80]}
    if data.get("buttons"):
        out["buttons"] = [b.get("title", "") for b in data["buttons"]]
    if data.get("quick_replies"):
        out["quick_replies"] = [b.get("title", "") for b in data["quick_replies"]]
    if data.get("cards"):
        out["cards"] = {"count": len(data["cards"]), "titles": [c.get("title", "") for c in data["cards"]]}
        if data.get("ratio") == "square":
            out["cards"]["ratio"] = "square"
    for media in data.get("media") or []:
        if media.get("kind") in ("image", "audio", "video", "file") and media.get("kind") not in out:
            out[media["kind"]] = _url_expectation(media.get("url", ""))
    return out or {"kind": row["kind"]}


def _action_for(row: dict, earlier: list[dict]) -> dict | None:
    data = reply_data(row)
    if data.get("postback"):
        title, payload = data["postback"].get("title", ""), data["postback"].get("payload", "")
        for reply in reversed(earlier):
            shown = reply_data(reply)
            if any(b.get("title") == title and b.get("payload") == payload
                   for b in (shown.get("buttons") or []) + (shown.get("quick_replies") or [])):
                return {"click": title}
            for card in shown.get("cards") or []:
                if any(b.get("title") == title and b.get("payload") == payload for b in card.get("buttons") or []):
                    return {"click": {"card": card.get("title", ""), "button": title}}
        return {"postback": {"title": title, "payload": payload}}
    if data.get("media"):
        media = data["media"][0]
        return {f"send_{media.get('kind', 'file')}": media.get("url", "")}
    if data.get("text"):
        return {"send": data["text"]}
    return None


def record(store: Store, conversation: int, name: str | None = None) -> str:
    """A conversation as a scenario (YAML text) whose expectations are what the bot actually said."""
    conv = store.get_conversation(conversation)
    if conv is None:
        raise ValueError(f"no conversation with id {conversation}")
    contact = store.get_contact(conv["contact_id"]) or {}
    rows = store.messages_before(conversation, None, 100_000)
    steps: list[dict] = []
    seen: list[dict] = []
    skipped = 0
    i = 0
    while i < len(rows):
        row = rows[i]
        i += 1
        if row["direction"] == "in":
            seen.append(row)
            continue
        action = _action_for(row, seen)
        if action is None or row["status"] == "failed":
            skipped += 1
            continue
        replies = []
        while i < len(rows) and rows[i]["direction"] == "in":
            replies.append(rows[i])
            i += 1
        seen += replies
        step = dict(action)
        if replies:
            step["expect"] = [_expectation_for(r) for r in replies]
            step["messages"] = len(replies)
            last = replies[-1]["created_at"] - row["created_at"]
            step["within"] = f"{max(3, math.ceil(last * 2))}s"
        steps.append(step)
    if not steps:
        raise ValueError("this conversation has no message from the contact to replay")
    doc: dict = {"name": name or f"Recorded conversation {conv['conv_id']}"}
    person = {k: contact.get(k) for k in ("name", "email", "phone") if contact.get(k)}
    if person:
        doc["contact"] = person
    doc["steps"] = steps
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    header = (f"# Recorded {when} from conversation {conv['conv_id']} (profile {conv['profile']}, contact "
              f"{conv['contact_id']}).\n"
              "# The expectations are what the bot said then: loosen or tighten them before adding this to a suite.\n"
              "# Each run is a new contact; a bot that greets new contacts first may add a greeting before the "
              "first reply.\n")
    if skipped:
        header += f"# {skipped} message(s) that failed to send or had nothing to replay were left out.\n"
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
    text = header + body
    parse_scenario(text, "<recorded>")  # what we write must load
    return text


# ---------------------------------------------------------------- command line


def _load_all(files: list[Path]) -> list[tuple[str, Scenario | ScenarioError]]:
    loaded = []
    for file in files:
        shown = str(file)
        try:
            loaded.append((shown, load_scenario(file, shown)))
        except ScenarioError as exc:
            loaded.append((shown, exc))
    return loaded


def _run(args) -> int:
    files = scenario_files(args.paths)
    if not files:
        print("no scenario files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    loaded = _load_all(files)
    cases: list[tuple[str, RunResult | ScenarioError]] = []
    for shown, item in loaded:
        if isinstance(item, ScenarioError):
            print(f"INVALID {item}", flush=True)
            cases.append((shown, item))
    runnable = [(s, item) for s, item in loaded if not isinstance(item, ScenarioError)]
    try:
        with target_for(args.profile) as target:
            print(f"running {len(runnable)} scenario(s) against {target.detail}", flush=True)
            batch = f"cli-{int(time.time())}"
            for shown, scenario in runnable:
                if args.verbose:
                    print(f"▶ {scenario.name} ({shown})", flush=True)
                live = (lambda _r, s: print("  " + step_line(s), flush=True)) if args.verbose else None
                runner = Runner(target.store, target.profile, settle=args.settle, timeout=args.timeout, batch=batch,
                                on_step=live)
                outcome = runner.run(scenario)
                if outcome.passed:
                    print(f"PASSED  {scenario.name} ({shown}) — {len(outcome.steps)} steps", flush=True)
                else:
                    print(report(outcome, steps=not args.verbose), flush=True)
                cases.append((shown, outcome))
    except TargetError as exc:
        print(f"cannot run scenarios: {exc}", file=sys.stderr)
        return 2
    if args.junitxml:
        junit_xml(cases, args.junitxml)
    bad = [c for c in cases if isinstance(c[1], ScenarioError) or not c[1].passed]
    print(f"{len(cases) - len(bad)} passed, {len(bad)} failed", flush=True)
    return 1 if bad else 0


def _check(args) -> int:
    files = scenario_files(args.paths)
    if not files:
        print("no scenario files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    bad = 0
    for shown, item in _load_all(files):
        if isinstance(item, ScenarioError):
            bad += 1
            print(str(item))
        else:
            print(f"ok  {shown}: {item.name} ({len(item.steps)} steps)")
    return 1 if bad else 0


def _record(args) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot record: {exc}", file=sys.stderr)
        return 2
    store = Store(args.db or settings.db_path)
    try:
        text = record(store, args.conversation, args.name)
    except ValueError as exc:
        print(f"cannot record: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _seconds(text: str) -> float:
    from .scenario_format import parse_duration

    value = parse_duration(text)
    if value is None or not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration between 0 and 600 s (e.g. 1s, 500ms)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apichat.scenarios", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run scenario files (folders: every .yaml inside)")
    run.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    run.add_argument("--profile", default=os.environ.get("APICHAT_SCENARIO_PROFILE") or None,
                     help="a profile of the console's store, or env for UCHAT_* (default: a fresh sandbox)")
    run.add_argument("--junitxml", metavar="PATH", help="also write a JUnit XML report here")
    run.add_argument("--settle", type=_seconds, default=1.0,
                     help="quiet period that ends a turn (default 1s)")
    run.add_argument("--timeout", type=_seconds, default=10.0,
                     help="how long a step waits for a first reply (default 10s)")
    run.add_argument("-v", "--verbose", action="store_true", help="print every step, also of passing scenarios")
    check = commands.add_parser("check", help="only validate scenario files")
    check.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    rec = commands.add_parser("record", help="turn a stored conversation into a scenario")
    rec.add_argument("conversation", type=int, help="the conversation's id in the store (the Inspector shows it)")
    rec.add_argument("--db", help="the store (default APICHAT_DB)")
    rec.add_argument("--name", help="the scenario's name")
    rec.add_argument("-o", "--output", help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    return {"run": _run, "check": _check, "record": _record}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
