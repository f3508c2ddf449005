"""A goal file: who the simulated contact is, what they want, and how to tell they got it.

    name: Place an order
    persona: {name: Sam Buyer, style: "short messages, a bit impatient"}
    goal: "Buy something and get an order number"
    success:                       # scenario expectation syntax, met by one bot turn's replies
      - text: {matches: "order #?\\\\w+-?\\\\d+"}
    # or success_judge: "The bot confirmed an order and gave an order number"
    max_turns: 12
    say: ["hi", "yes"]             # offline: what the contact may type when no button fits

Parsed strictly, as scenario files are (the same YAML nodes, the same `file:line: problem` errors, an unknown
key refused with a suggestion); `success` is parsed by the scenarios' own expectation parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..scenarios import Expectation, ScenarioError, nodes
from ..scenarios.nodes import NodeError, line_of, read_text
from ..scenarios.parse_expect import expectations

TOP_KEYS = ("name", "description", "persona", "goal", "success", "success_judge", "max_turns", "say", "seed",
            "settle", "timeout")
PERSONA_KEYS = ("name", "style", "email", "phone")
MAX_TURNS = 100
MAX_FILE_BYTES = 256 * 1024
GOAL_SUFFIXES = (".yaml", ".yml")


@dataclass
class Goal:
    name: str
    path: str
    goal: str = ""
    persona: dict = field(default_factory=dict)  # name, style, email, phone
    success: list[Expectation] = field(default_factory=list)
    success_line: int = 0
    success_judge: str = ""
    max_turns: int = 12
    say: list[str] = field(default_factory=list)
    seed: int = 0
    settle: float | None = None
    timeout: float | None = None
    source: str = ""
    description: str = ""

    @property
    def contact_name(self) -> str:
        return self.persona.get("name") or "Simulated Contact"

    def describe_success(self) -> str:
        if self.success_judge:
            return f"a judge finds: {self.success_judge}"
        return "; ".join(e.describe() for e in self.success)


def parse_goal(text: str, path: str = "<goal>") -> Goal:
    """A Goal from YAML `text`; ScenarioError listing every problem as `path:line: problem`."""
    problems: list[str] = []

    def bad(node, problem: str) -> None:
        problems.append(f"{path}:{line_of(node)}: {problem}")

    root = nodes.compose(text, path)
    if root is None:
        raise ScenarioError([f"{path}:1: the file is empty; a goal needs `goal:` and `success:` (or "
                             "`success_judge:`)"])
    try:
        top = nodes.mapping(root, "the goal file", TOP_KEYS)
    except NodeError as exc:
        raise ScenarioError([f"{path}:{line_of(exc.node)}: {exc.problem}"]) from None
    goal = Goal(name=Path(path).stem, path=path, source=text)
    for key, (_, value) in top.items():
        try:
            if key in ("name", "goal", "success_judge"):
                setattr(goal, key, nodes.string(value, key))
            elif key == "description":
                goal.description = nodes.string(value, key, empty=True)
            elif key == "persona":
                fields = nodes.mapping(value, "persona", PERSONA_KEYS)
                goal.persona = {k: nodes.string(v, f"persona.{k}", empty=k != "name") for k, (_, v) in fields.items()}
            elif key == "success":
                goal.success = expectations(value)
                goal.success_line = line_of(value)
                if not goal.success:
                    raise NodeError(value, "success must hold at least one expectation (e.g. - text: {contains: …})")
                if any(e.absent or e.each for e in goal.success):
                    raise NodeError(value, "success holds what a reply must look like; `not:` and `lint:` alone "
                                           "cannot be reached")
            elif key == "max_turns":
                goal.max_turns = nodes.whole(value, "max_turns", 1, MAX_TURNS)
            elif key == "seed":
                goal.seed = nodes.whole(value, "seed", 0, 2**31 - 1)
            elif key in ("settle", "timeout"):
                setattr(goal, key, nodes.duration(value, key))
            elif key == "say":
                goal.say = _say(value)
        except NodeError as exc:
            bad(exc.node, exc.problem)
    if "goal" not in top:
        bad(root, "no goal: say in a sentence what the contact wants (goal: \"…\")")
    if "success" in top and "success_judge" in top:
        bad(top["success_judge"][0], "give success or success_judge, not both")
    elif "success" not in top and "success_judge" not in top:
        bad(root, "no success: add `success:` (expectations a bot turn must meet) or `success_judge:` (a criterion "
                  "a judge decides)")
    if problems:
        raise ScenarioError(problems)
    if goal.success_judge:  # a judge's criterion is an expectation like any other: `- judge: "…"`
        goal.success = expectations(nodes.compose(yaml.safe_dump([{"judge": goal.success_judge}]), path))
        goal.success_line = line_of(top["success_judge"][1])
        for e in goal.success:
            e.matcher.line = goal.success_line
    return goal


def _say(node: yaml.Node) -> list[str]:
    if not isinstance(node, yaml.SequenceNode):
        raise NodeError(node, f"say must be a list of texts the contact may type; got {nodes.kind_of(node)}")
    return [nodes.string(item, f"say[{number}]") for number, item in enumerate(node.value, start=1)]


def load_goal(path: str | Path, display: str | None = None) -> Goal:
    """Read and parse the goal file at `path`; every problem (an unreadable file too) raises ScenarioError."""
    shown = display or str(path)
    text = read_text(path, shown, "a goal", MAX_FILE_BYTES)
    return parse_goal(text, shown)
