"""Scenario files as strict YAML: nodes with line numbers, typed values, and one error type.

A problem with a node is a NodeError (the node, a sentence); the parsers turn it into a ScenarioError
line `file:line: problem`. An unknown key is an error with a suggestion, never ignored; a document whose
aliases expand to too many values, or that nests too deep, is refused before anything walks it.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml

MAX_VALUES = 50_000  # once aliases are expanded
MAX_REPEAT = 1000  # runs of one scenario (`repeat:`, --repeat)
MAX_DEPTH = 64  # a real scenario nests about 8 deep; PyYAML and the checks below recurse per level
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|minutes?)?\s*$", re.IGNORECASE)
LINE_BREAKS_RE = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class ScenarioError(ValueError):
    """Problems with a scenario file, each one line `file:line: problem`."""

    def __init__(self, problems: list[str]):
        # a key or value quoted from the file may hold a line break: shown escaped, one problem stays one line
        self.problems = [LINE_BREAKS_RE.sub(lambda m: repr(m.group())[1:-1], p) for p in problems]
        super().__init__("\n".join(self.problems))


def read_text(path: str | Path, shown: str, what: str, limit: int) -> str:
    """The text of the file at `path` (a BOM dropped), or a ScenarioError `shown:line: problem` when it cannot be
    read, is over `limit` bytes (`what` names the kind of file in that sentence) or is not UTF-8."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError([f"{shown}:1: cannot read the file: {exc.strerror or exc}"]) from None
    if len(raw) > limit:
        raise ScenarioError([f"{shown}:1: the file is {len(raw) // 1024} KiB; {what} may be at most "
                             f"{limit // 1024} KiB"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError([f"{shown}:{line}: the file is not UTF-8 text"]) from None


class NodeError(Exception):
    """What is wrong with one node of the file."""

    def __init__(self, node: yaml.Node | None, problem: str):
        self.node, self.problem = node, problem


def line_of(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def quote(value: Any) -> str:
    """A value as a person reads it in a problem: texts quoted, anything else as is."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


# ---------------------------------------------------------------- reading a document


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose values nested deeper than MAX_DEPTH (it recurses per level)."""

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"values are nested more than {MAX_DEPTH} deep",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _expanded_size(root: yaml.Node, limit: int = MAX_VALUES) -> tuple[int, int]:
    """(nodes, depth) of the document once aliases are expanded, counted without recursion (aliases of
    aliases nest deeper than the text shows); a cycle counts as `limit` nodes."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    entered: set[int] = set()  # the nodes whose children are being counted: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            sizes[key] = min(limit, 1 + sum(sizes[id(c)] for c in children))
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            entered.discard(key)
            continue
        if key in sizes:
            continue
        if key in entered:
            return limit, depths.get(id(root), 0)
        entered.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)], depths[id(root)]


def compose(text: str, path: str) -> yaml.Node | None:
    """The document's root node (None when empty); ScenarioError when it is not YAML a scenario may be."""
    for number, line in enumerate(text.splitlines(), start=1):
        if "\t" in line[:len(line) - len(line.lstrip())]:
            raise ScenarioError([f"{path}:{number}: a tab indents this line; YAML needs spaces"])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark else 1
        raise ScenarioError([f"{path}:{where}: not valid YAML: {exc.problem or exc.context}"]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL or U+001F
        where = text[:exc.position].count("\n") + 1
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise ScenarioError([f"{path}:{where}: not valid YAML: the character {what} is not allowed in a YAML "
                             "file"]) from None
    except yaml.YAMLError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ScenarioError([f"{path}:1: not valid YAML: {first}"]) from None
    if root is None:
        return None
    size, depth = _expanded_size(root)
    if size >= MAX_VALUES:
        raise ScenarioError([f"{path}:1: the file expands to too many values (aliases of aliases?)"])
    if depth > MAX_DEPTH:
        raise ScenarioError([f"{path}:1: the file nests values more than {MAX_DEPTH} deep (aliases of aliases?)"])
    return root


# ---------------------------------------------------------------- typed values of nodes


def value_of(node: yaml.Node) -> Any:
    """The Python value of a node, as YAML's safe loader reads it; a NodeError when it cannot be read."""
    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise NodeError(node, f"cannot read this value: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. `!!int abc`, 5,000 digits
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise NodeError(node, f"cannot read this value: {why}") from None


def mapping(node: yaml.Node, what: str, keys: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """{key: (key node, value node)} of a mapping whose keys are all in `keys`, each at most once."""
    if not isinstance(node, yaml.MappingNode):
        raise NodeError(node, f"{what} must be a mapping of {', '.join(keys)}; got {kind_of(node)}")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = str(value_of(key_node)) if isinstance(key_node, yaml.ScalarNode) else "?"
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(keys)}"
            raise NodeError(key_node, f"unknown key '{key}' in {what}{hint}")
        if key in out:
            raise NodeError(key_node, f"'{key}' appears twice in {what}")
        out[key] = (key_node, value_node)
    return out


def kind_of(node: yaml.Node) -> str:
    """What a node holds, for a problem's `got …`."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = value_of(node)
    return "nothing" if value is None else f"{type(value).__name__} {quote(value)}"


def string(node: yaml.Node, what: str, *, empty: bool = False) -> str:
    """A text as written: `Yes`, `On` or `1.50` stay the words typed, not YAML's true or 1.5."""
    if not isinstance(node, yaml.ScalarNode) or (node.tag.endswith(":null") and not node.style):
        raise NodeError(node, f"{what} must be a text; got {kind_of(node)}")
    text = str(node.value)
    if not empty and not text.strip():
        raise NodeError(node, f"{what} must not be empty")
    return text


def boolean(node: yaml.Node, what: str) -> bool:
    value = value_of(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, bool):
        raise NodeError(node, f"{what} must be true or false; got {kind_of(node)}")
    return value


def count(node: yaml.Node, what: str) -> int:
    value = value_of(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise NodeError(node, f"{what} must be a whole number (0 or more); got {kind_of(node)}")
    return value


def whole(node: yaml.Node, what: str, least: int, most: int) -> int:
    value = value_of(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
        raise NodeError(node, f"{what} must be a whole number from {least} to {most}; got {kind_of(node)}")
    return value


def fraction(node: yaml.Node, what: str) -> float:
    """A number from 0 to 1 (a share, a rate); a percentage is refused with the number it meant."""
    value = value_of(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        hint = f" (for {value:g} % write {value / 100:g})" if isinstance(value, (int, float)) and \
            not isinstance(value, bool) and 1 < value <= 100 else ""
        raise NodeError(node, f"{what} must be a number from 0 to 1, like 0.8; got {kind_of(node)}{hint}")
    return float(value)


def parse_duration(value: Any) -> float | None:
    """Seconds from `3s`, `1.5 s`, `500ms`, `2m` or a plain number of seconds; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    found = DURATION_RE.match(str(value))
    if not found:
        return None
    number, unit = float(found.group(1)), (found.group(2) or "s").lower()
    return number / 1000 if unit == "ms" else number * 60 if unit.startswith("m") else number


def duration(node: yaml.Node, what: str, *, most: float = 600) -> float:
    seconds = parse_duration(value_of(node)) if isinstance(node, yaml.ScalarNode) else None
    if seconds is None:
        raise NodeError(node, f"{what} must be a duration like 3s, 1.5s or 500ms; got {kind_of(node)}")
    if seconds > most:
        raise NodeError(node, f"{what} is {seconds:g} s; at most {most:g} s is allowed")
    return seconds


def items(node: yaml.Node) -> list[yaml.Node]:
    """A list's items; anything else as a list of one."""
    return node.value if isinstance(node, yaml.SequenceNode) else [node]
