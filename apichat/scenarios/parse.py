"""Scenario files: found, read and parsed into a Scenario of Steps.

Every problem becomes one line `file:line: what is wrong` in a ScenarioError, and every problem of a
file is listed, not only the first. What a step expects is read by parse_expect; the YAML itself by nodes.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..payloads import MEDIA_KINDS
from . import nodes
from .match import DEFAULT_SIMILARITY
from .model import Scenario, Step
from .nodes import NodeError, ScenarioError, line_of, quote, read_text
from .parse_expect import expectations, message_count, threshold

SCENARIO_SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = ("recorded",)  # drafts saved from the chat, to be edited before they join a suite
ACTIONS = ("send", "click", "postback", *(f"send_{k}" for k in MEDIA_KINDS), "wait")
STEP_KEYS = (*ACTIONS, "expect", "messages", "expect_messages", "within", "timeout", "settle", "any_order", "name")
TOP_KEYS = ("name", "description", "contact", "settle", "timeout", "similarity", "repeat", "pass_rate", "steps")
CONTACT_KEYS = ("id", "name", "email", "phone")
MAX_FILE_BYTES = 512 * 1024


# ---------------------------------------------------------------- reading a file


def _step(node: yaml.Node, index: int, similarity: float = DEFAULT_SIMILARITY) -> Step:
    what = f"step {index}"
    if isinstance(node, yaml.ScalarNode) and isinstance(nodes.value_of(node), str):
        text = nodes.value_of(node)
        raise NodeError(node, f"{what} is the bare text {quote(text)}; write `- send: {text}`"
                              f" or another action ({', '.join(ACTIONS)})")
    fields = nodes.mapping(node, what, STEP_KEYS)
    actions = [k for k in fields if k in ACTIONS]
    if len(actions) > 1:
        raise NodeError(fields[actions[1]][0], f"{what} has two actions ({actions[0]} and {actions[1]}); "
                                               "put each in its own step")
    if not actions and not ({"expect", "messages", "expect_messages"} & set(fields)):
        raise NodeError(node, f"{what} does nothing: give an action ({', '.join(ACTIONS)}) or an expect")
    step = Step(index=index, line=line_of(node), action=actions[0] if actions else "check")
    if step.action.startswith("send_"):
        step.action = step.action[len("send_"):]
    for key, (key_node, value) in fields.items():
        if key == "send":
            step.text = nodes.string(value, "send")
        elif key == "click":
            _click(step, value)
        elif key == "postback":
            if isinstance(value, yaml.ScalarNode):
                step.payload = step.title = nodes.string(value, "postback")
            else:
                parts = nodes.mapping(value, "postback", ("title", "payload"))
                if "payload" not in parts:
                    raise NodeError(value, "postback needs a payload (and optionally a title)")
                step.payload = nodes.string(parts["payload"][1], "postback.payload")
                step.title = nodes.string(parts["title"][1], "postback.title") if "title" in parts else step.payload
        elif key.startswith("send_"):
            step.url = nodes.string(value, key)
            if not step.url.lower().startswith(("http://", "https://")):
                raise NodeError(value, f"{key} needs an http(s) URL; got {quote(step.url)}")
        elif key == "wait":
            step.seconds = nodes.duration(value, "wait")
        elif key == "expect":
            step.expect = expectations(value, similarity)
        elif key in ("messages", "expect_messages"):
            if step.messages is not None:
                raise NodeError(key_node, f"{what} has both messages and expect_messages; keep one")
            step.messages = message_count(value)
        elif key in ("within", "timeout", "settle"):
            setattr(step, key, nodes.duration(value, key))
        elif key == "any_order":
            step.any_order = nodes.boolean(value, "any_order")
        else:
            step.name = nodes.string(value, "name")
    if step.action == "wait" and (step.expect or step.messages or step.within):
        raise NodeError(node, f"{what} waits and checks at once; put the expect in the next step, on its own")
    if step.within is not None and not step.sends:
        raise NodeError(fields["within"][0], "within is a latency budget for a step that sends something")
    return step


def _click(step: Step, node: yaml.Node) -> None:
    if isinstance(node, yaml.ScalarNode):
        step.title = nodes.string(node, "click")
        return
    parts = nodes.mapping(node, "click", ("button", "card"))
    if "button" not in parts:
        raise NodeError(node, "click needs a button title: `click: Products` or `click: {card: …, button: …}`")
    step.title = nodes.string(parts["button"][1], "click.button")
    step.card = nodes.string(parts["card"][1], "click.card") if "card" in parts else ""


def _contact(node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode) and nodes.value_of(node) is None:
        return {}
    fields = nodes.mapping(node, "contact", CONTACT_KEYS)
    return {k: nodes.string(v, f"contact.{k}", empty=k != "id") for k, (_, v) in fields.items()}


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    """A Scenario from YAML `text`; raises ScenarioError listing every problem as `path:line: problem`."""
    problems: list[str] = []

    def bad(node: yaml.Node | None, problem: str) -> None:
        problems.append(f"{path}:{line_of(node)}: {problem}")

    root = nodes.compose(text, path)
    if root is None:
        raise ScenarioError([f"{path}:1: the file is empty; a scenario needs at least `steps:`"])
    try:
        top = nodes.mapping(root, "the scenario", TOP_KEYS)
    except NodeError as exc:
        raise ScenarioError([f"{path}:{line_of(exc.node)}: {exc.problem}"]) from None
    scenario = Scenario(name=Path(path).stem, path=path, steps=[], source=text)
    similarity = DEFAULT_SIMILARITY  # similar_to's at_least when it gives none
    for key, (_, value) in top.items():
        try:
            if key == "name":
                scenario.name = nodes.string(value, "name")
            elif key == "description":
                scenario.description = nodes.string(value, "description", empty=True)
            elif key == "contact":
                scenario.contact = _contact(value)
            elif key in ("settle", "timeout"):
                setattr(scenario, key, nodes.duration(value, key))
            elif key == "similarity":
                similarity = threshold(value, "similarity")
            elif key == "repeat":
                scenario.repeat = nodes.whole(value, "repeat", 1, nodes.MAX_REPEAT)
            elif key == "pass_rate":
                scenario.pass_rate = nodes.fraction(value, "pass_rate")
        except NodeError as exc:
            bad(exc.node, exc.problem)
    if "steps" not in top:
        bad(root, "no steps: add `steps:` with a list of actions (send, click, …)")
    else:
        steps = top["steps"][1]
        if not isinstance(steps, yaml.SequenceNode) or not steps.value:
            bad(steps, f"steps must be a list with at least one step; got {nodes.kind_of(steps)}")
        else:
            for number, node in enumerate(steps.value, start=1):
                try:
                    scenario.steps.append(_step(node, number, similarity))
                except NodeError as exc:
                    bad(exc.node, exc.problem)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path, display: str | None = None) -> Scenario:
    """Read and parse the file at `path`; problems (including unreadable files) raise ScenarioError."""
    shown = display or str(path)
    text = read_text(path, shown, "a scenario", MAX_FILE_BYTES)
    return parse_scenario(text, shown)


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
