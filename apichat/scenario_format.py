"""Scenario files: YAML read with line numbers, checked strictly, turned into steps and expectations.

Every problem becomes one line `file:line: what is wrong`; an unknown key is an error, never ignored.
The expectation objects also check a reply (the store's message row) and say what differs.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MEDIA_KINDS = ("image", "audio", "video", "file")
MESSAGE_KINDS = ("text", "buttons", "cards", *MEDIA_KINDS, "media", "unsupported")
ACTIONS = ("send", "click", "postback", *(f"send_{k}" for k in MEDIA_KINDS), "wait")
STEP_KEYS = (*ACTIONS, "expect", "messages", "expect_messages", "within", "timeout", "settle", "any_order", "name")
TOP_KEYS = ("name", "description", "contact", "settle", "timeout", "steps")
CONTACT_KEYS = ("id", "name", "email", "phone")
MATCHER_KEYS = ("text", "kind", "author", "private", "buttons", "quick_replies", "cards", *MEDIA_KINDS, "not")
TEXT_KEYS = ("equals", "contains", "matches", "starts_with", "ends_with", "not")
LIST_KEYS = ("exactly", "any_order", "include", "exclude", "count")
BUTTON_KEYS = ("title", "payload", "url", "type")
CARDS_KEYS = ("count", "titles", "ratio")
MAX_FILE_BYTES = 512 * 1024
MAX_VALUES = 50_000  # once aliases are expanded
MAX_DEPTH = 64  # a real scenario nests about 8 deep; PyYAML and the checks below recurse per level
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|minutes?)?\s*$", re.IGNORECASE)


LINE_BREAKS_RE = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class ScenarioError(ValueError):
    """Problems with a scenario file, each one line `file:line: problem`."""

    def __init__(self, problems: list[str]):
        # a key or value quoted from the file may hold a line break: shown escaped, one problem stays one line
        self.problems = [LINE_BREAKS_RE.sub(lambda m: repr(m.group())[1:-1], p) for p in problems]
        super().__init__("\n".join(self.problems))


class _Bad(Exception):
    def __init__(self, node: yaml.Node | None, problem: str):
        self.node, self.problem = node, problem


def line_of(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


@dataclass
class Mismatch:
    """One difference between what a step expected and what arrived."""

    what: str
    expected: str
    arrived: str


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


# ---------------------------------------------------------------- expectations


@dataclass
class TextMatch:
    """A string expectation: equals, contains (all of), matches (regex search), starts/ends with, or not."""

    equals: str | None = None
    contains: list[str] = field(default_factory=list)
    matches: re.Pattern | None = None
    starts_with: str | None = None
    ends_with: str | None = None
    negate: TextMatch | None = None
    anything: bool = False  # `image: true`: any value that is not empty

    def ok(self, value: str) -> bool:
        value = value or ""
        if self.anything and not value:
            return False
        if self.equals is not None and value != self.equals:
            return False
        if any(part not in value for part in self.contains):
            return False
        if self.matches is not None and not self.matches.search(value):
            return False
        if self.starts_with is not None and not value.startswith(self.starts_with):
            return False
        if self.ends_with is not None and not value.endswith(self.ends_with):
            return False
        return not (self.negate is not None and self.negate.ok(value))

    def __str__(self) -> str:
        parts = ["any value"] if self.anything else []
        if self.equals is not None:
            parts.append(_q(self.equals))
        parts += [f"contains {_q(c)}" for c in self.contains]
        if self.matches is not None:
            parts.append(f"matches /{self.matches.pattern}/")
        if self.starts_with is not None:
            parts.append(f"starts with {_q(self.starts_with)}")
        if self.ends_with is not None:
            parts.append(f"ends with {_q(self.ends_with)}")
        if self.negate is not None:
            parts.append(f"not ({self.negate})")
        return " and ".join(parts) or "anything"


@dataclass
class ButtonSpec:
    """A button by its title, payload, url and type; a card is matched by its title the same way."""

    title: TextMatch | None = None
    payload: TextMatch | None = None
    url: TextMatch | None = None
    kind: str | None = None

    def ok(self, button: dict) -> bool:
        checks = ((self.title, button.get("title", "")), (self.payload, button.get("payload", "")),
                  (self.url, button.get("url", "")))
        if self.kind is not None and button.get("kind") != self.kind:
            return False
        return all(m is None or m.ok(v) for m, v in checks)

    def __str__(self) -> str:
        if self.payload is None and self.url is None and self.kind is None and self.title is not None:
            return str(self.title)
        parts = [f"{name} {m}" for name, m in (("title", self.title), ("payload", self.payload), ("url", self.url))
                 if m is not None]
        return "{" + ", ".join(parts + ([f"type {self.kind}"] if self.kind else [])) + "}"


def _assign(specs: list, items: list) -> bool:
    """Whether each spec can take a distinct item it accepts (bipartite matching, small lists)."""
    owner: dict[int, int] = {}

    def place(s: int, seen: set[int]) -> bool:
        for i, item in enumerate(items):
            if i not in seen and specs[s].ok(item):
                seen.add(i)
                if i not in owner or place(owner[i], seen):
                    owner[i] = s
                    return True
        return False

    return all(place(s, set()) for s in range(len(specs)))


@dataclass
class ListMatch:
    """Buttons or card titles: exactly (in order), any_order (same set), include, exclude, count."""

    exactly: list | None = None
    any_order: list | None = None
    include: list | None = None
    exclude: list | None = None
    count: int | None = None

    def ok(self, items: list) -> bool:
        if self.exactly is not None and (len(items) != len(self.exactly)
                                         or not all(s.ok(i) for s, i in zip(self.exactly, items, strict=True))):
            return False
        if self.any_order is not None and (len(items) != len(self.any_order) or not _assign(self.any_order, items)):
            return False
        if self.include is not None and not _assign(self.include, items):
            return False
        if self.exclude is not None and any(s.ok(i) for s in self.exclude for i in items):
            return False
        return self.count is None or len(items) == self.count

    def __str__(self) -> str:
        parts = []
        for name in ("exactly", "any_order", "include", "exclude"):
            specs = getattr(self, name)
            if specs is not None:
                listed = "[" + ", ".join(str(s) for s in specs) + "]"
                parts.append(listed if name == "exactly" else f"{name.replace('_', ' ')} {listed}")
        if self.count is not None:
            parts.append(f"count {self.count}")
        return "; ".join(parts)


@dataclass
class CardsMatch:
    count: int | None = None
    titles: ListMatch | None = None
    ratio: str | None = None


def _shown_buttons(items: list[dict]) -> str:
    def one(b: dict) -> str:
        extra = b.get("payload") if b.get("kind") == "postback" else b.get("url")
        return _q(b.get("title", "")) + (f" ({extra})" if extra and extra != b.get("title") else "")
    return "[" + ", ".join(one(b) for b in items) + "]" if items else "none"


@dataclass
class Matcher:
    """What one reply must look like; every key given must hold."""

    line: int
    text: TextMatch | None = None
    kind: str | None = None
    author: str | None = None
    private: bool | None = None
    buttons: ListMatch | None = None
    quick_replies: ListMatch | None = None
    cards: CardsMatch | None = None
    media: dict[str, TextMatch] = field(default_factory=dict)
    negate: Matcher | None = None
    source: Any = None  # the YAML value, to show as "expected"

    def mismatches(self, reply: dict) -> list[Mismatch]:
        """What differs between this expectation and `reply` (a message row with its decoded data)."""
        data = reply_data(reply)
        out: list[Mismatch] = []
        if self.kind is not None and reply.get("kind") != self.kind:
            out.append(Mismatch("kind", self.kind, reply.get("kind", "")))
        if self.author is not None and reply.get("author") != self.author:
            out.append(Mismatch("author", self.author, reply.get("author", "")))
        if self.private is not None and bool(data.get("private")) != self.private:
            out.append(Mismatch("private", str(self.private).lower(), str(bool(data.get("private"))).lower()))
        if self.text is not None and not self.text.ok(data.get("text", "")):
            out.append(Mismatch("text", str(self.text), _q(data.get("text", ""))))
        for name, matcher in (("buttons", self.buttons), ("quick_replies", self.quick_replies)):
            items = data.get(name) or []
            if matcher is not None and not matcher.ok(items):
                out.append(Mismatch(name, str(matcher), _shown_buttons(items)))
        if self.cards is not None:
            cards = data.get("cards") or []
            if self.cards.count is not None and len(cards) != self.cards.count:
                out.append(Mismatch("cards.count", str(self.cards.count), str(len(cards))))
            if self.cards.titles is not None and not self.cards.titles.ok(cards):
                out.append(Mismatch("cards.titles", str(self.cards.titles),
                                    "[" + ", ".join(_q(c.get("title", "")) for c in cards) + "]" if cards else "none"))
            if self.cards.ratio is not None and (data.get("ratio") if cards else None) != self.cards.ratio:
                out.append(Mismatch("cards.ratio", self.cards.ratio, data.get("ratio", "") if cards else "no cards"))
        media = data.get("media") or []
        for kind, matcher in self.media.items():
            urls = [m.get("url", "") for m in media if m.get("kind") == kind]
            if not any(matcher.ok(u) for u in urls):
                shown = ", ".join(f"{m.get('kind')} {m.get('url')}" for m in media) or "no media"
                out.append(Mismatch(kind, str(matcher), shown))
        if self.negate is not None and not self.negate.mismatches(reply):
            out.append(Mismatch("not", f"not {self.negate.describe()}", "it does"))
        return out

    def ok(self, reply: dict) -> bool:
        return not self.mismatches(reply)

    def describe(self) -> str:
        return _compact(self.source)


def _compact(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


@dataclass
class Expectation:
    """One item of `expect`: a reply like `matcher` must arrive, or (absent) no reply like it may."""

    matcher: Matcher
    absent: bool = False

    @property
    def line(self) -> int:
        return self.matcher.line

    def describe(self) -> str:
        return ("no reply like " if self.absent else "") + self.matcher.describe()


@dataclass
class CountMatch:
    exactly: int | None = None
    min: int | None = None
    max: int | None = None

    def ok(self, n: int) -> bool:
        return ((self.exactly is None or n == self.exactly) and (self.min is None or n >= self.min)
                and (self.max is None or n <= self.max))

    def __str__(self) -> str:
        if self.exactly is not None:
            return str(self.exactly)
        return " and ".join(p for p in (f"at least {self.min}" if self.min is not None else "",
                                        f"at most {self.max}" if self.max is not None else "") if p)


def reply_data(reply: dict) -> dict:
    data = reply.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data or "{}")
        except ValueError:
            data = {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- scenario


@dataclass
class Step:
    index: int
    line: int
    action: str  # send | click | postback | image | audio | video | file | wait | check
    text: str = ""
    title: str = ""
    payload: str = ""
    card: str = ""
    url: str = ""
    seconds: float = 0.0
    expect: list[Expectation] = field(default_factory=list)
    messages: CountMatch | None = None
    any_order: bool = False
    within: float | None = None
    timeout: float | None = None
    settle: float | None = None
    name: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.action == "send":
            return f"send {_q(self.text)}"
        if self.action == "click":
            return f"click {_q(self.title)}" + (f" on card {_q(self.card)}" if self.card else "")
        if self.action == "postback":
            return f"postback {_q(self.title)} ({self.payload})"
        if self.action in MEDIA_KINDS:
            return f"send {self.action} {self.url}"
        if self.action == "wait":
            return f"wait {self.seconds:g} s"
        return "check the replies"

    @property
    def sends(self) -> bool:
        return self.action not in ("wait", "check")


@dataclass
class Scenario:
    name: str
    path: str
    steps: list[Step]
    contact: dict = field(default_factory=dict)
    description: str = ""
    settle: float | None = None
    timeout: float | None = None
    source: str = ""


# ---------------------------------------------------------------- reading YAML nodes

def _value(node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _Bad(node, f"cannot read this value: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. `!!int abc`, 5,000 digits
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise _Bad(node, f"cannot read this value: {why}") from None


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


def _mapping(node: yaml.Node, what: str, keys: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _Bad(node, f"{what} must be a mapping of {', '.join(keys)}; got {_kind(node)}")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = str(_value(key_node)) if isinstance(key_node, yaml.ScalarNode) else "?"
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(keys)}"
            raise _Bad(key_node, f"unknown key '{key}' in {what}{hint}")
        if key in out:
            raise _Bad(key_node, f"'{key}' appears twice in {what}")
        out[key] = (key_node, value_node)
    return out


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = _value(node)
    return "nothing" if value is None else f"{type(value).__name__} {_q(value)}"


def _string(node: yaml.Node, what: str, *, empty: bool = False) -> str:
    """A text as written: `Yes`, `On` or `1.50` stay the words typed, not YAML's true or 1.5."""
    if not isinstance(node, yaml.ScalarNode) or (node.tag.endswith(":null") and not node.style):
        raise _Bad(node, f"{what} must be a text; got {_kind(node)}")
    text = str(node.value)
    if not empty and not text.strip():
        raise _Bad(node, f"{what} must not be empty")
    return text


def _bool(node: yaml.Node, what: str) -> bool:
    value = _value(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, bool):
        raise _Bad(node, f"{what} must be true or false; got {_kind(node)}")
    return value


def _count(node: yaml.Node, what: str) -> int:
    value = _value(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Bad(node, f"{what} must be a whole number (0 or more); got {_kind(node)}")
    return value


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


def _duration(node: yaml.Node, what: str, *, most: float = 600) -> float:
    seconds = parse_duration(_value(node)) if isinstance(node, yaml.ScalarNode) else None
    if seconds is None:
        raise _Bad(node, f"{what} must be a duration like 3s, 1.5s or 500ms; got {_kind(node)}")
    if seconds > most:
        raise _Bad(node, f"{what} is {seconds:g} s; at most {most:g} s is allowed")
    return seconds


def _list(node: yaml.Node) -> list[yaml.Node]:
    return node.value if isinstance(node, yaml.SequenceNode) else [node]


# ---------------------------------------------------------------- expectations from nodes


def _text_match(node: yaml.Node, what: str) -> TextMatch:
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":bool") and node.value.lower() == "true" and not node.style:
            return TextMatch(anything=True)
        return TextMatch(equals=_string(node, what, empty=True))
    fields = _mapping(node, what, TEXT_KEYS)
    match = TextMatch()
    for key, (_, value) in fields.items():
        if key == "equals":
            match.equals = _string(value, f"{what}.equals", empty=True)
        elif key == "contains":
            match.contains = [_string(v, f"{what}.contains") for v in _list(value)]
        elif key == "matches":
            pattern = _string(value, f"{what}.matches")
            try:
                match.matches = re.compile(pattern)
            except re.error as exc:
                raise _Bad(value, f"{what}.matches is not a valid regular expression: {exc}") from None
        elif key == "starts_with":
            match.starts_with = _string(value, f"{what}.starts_with")
        elif key == "ends_with":
            match.ends_with = _string(value, f"{what}.ends_with")
        else:
            match.negate = _text_match(value, f"{what}.not")
    if not fields:
        raise _Bad(node, f"{what} is an empty mapping; use one of {', '.join(TEXT_KEYS)}")
    return match


def _button_spec(node: yaml.Node, what: str) -> ButtonSpec:
    if isinstance(node, yaml.ScalarNode):
        return ButtonSpec(title=_text_match(node, what))
    if isinstance(node, yaml.MappingNode) and node.value and all(
            isinstance(k, yaml.ScalarNode) and k.value in TEXT_KEYS for k, _ in node.value):
        return ButtonSpec(title=_text_match(node, what))
    fields = _mapping(node, what, BUTTON_KEYS)
    spec = ButtonSpec()
    for key, (_, value) in fields.items():
        if key == "type":
            kind = _string(value, f"{what}.type")
            aliases = {"postback": "postback", "web_url": "url", "url": "url", "phone_number": "call", "call": "call"}
            if kind not in aliases:
                raise _Bad(value, f"{what}.type must be postback, web_url or phone_number; got {_q(kind)}")
            spec.kind = aliases[kind]
        else:
            setattr(spec, key, _text_match(value, f"{what}.{key}"))
    return spec


def _list_match(node: yaml.Node, what: str, item) -> ListMatch:
    if isinstance(node, yaml.SequenceNode):
        return ListMatch(exactly=[item(v, f"{what}[{i + 1}]") for i, v in enumerate(node.value)])
    fields = _mapping(node, what, LIST_KEYS)
    if not fields:
        raise _Bad(node, f"{what} is an empty mapping; use one of {', '.join(LIST_KEYS)}")
    match = ListMatch()
    for key, (_, value) in fields.items():
        if key == "count":
            match.count = _count(value, f"{what}.count")
        else:
            if not isinstance(value, yaml.SequenceNode):
                raise _Bad(value, f"{what}.{key} must be a list; got {_kind(value)}")
            setattr(match, key, [item(v, f"{what}.{key}[{i + 1}]") for i, v in enumerate(value.value)])
    return match


def _card_title(node: yaml.Node, what: str) -> ButtonSpec:
    return ButtonSpec(title=_text_match(node, what))


def _cards(node: yaml.Node, what: str) -> CardsMatch:
    if isinstance(node, yaml.SequenceNode):
        return CardsMatch(titles=_list_match(node, f"{what}.titles", _card_title))
    if isinstance(node, yaml.ScalarNode) and isinstance(_value(node), int) and not isinstance(_value(node), bool):
        return CardsMatch(count=_count(node, what))
    fields = _mapping(node, what, CARDS_KEYS)
    match = CardsMatch()
    for key, (_, value) in fields.items():
        if key == "count":
            match.count = _count(value, f"{what}.count")
        elif key == "titles":
            match.titles = _list_match(value, f"{what}.titles", _card_title)
        else:
            ratio = _string(value, f"{what}.ratio")
            if ratio not in ("horizontal", "square"):
                raise _Bad(value, f"{what}.ratio must be horizontal or square; got {_q(ratio)}")
            match.ratio = ratio
    return match


def _matcher(node: yaml.Node, what: str) -> Matcher:
    fields = _mapping(node, what, MATCHER_KEYS)
    if not fields:
        raise _Bad(node, f"{what} is empty; say what the reply must look like ({', '.join(MATCHER_KEYS)})")
    m = Matcher(line=line_of(node), source=_value(node))
    for key, (_, value) in fields.items():
        label = f"{what}.{key}" if what != "expect" else key
        if key == "text":
            m.text = _text_match(value, label)
        elif key == "kind":
            m.kind = _string(value, label)
            if m.kind not in MESSAGE_KINDS:
                raise _Bad(value, f"{label} must be one of {', '.join(MESSAGE_KINDS)}; got {_q(m.kind)}")
        elif key == "author":
            m.author = _string(value, label)
            if m.author not in ("bot", "agent"):
                raise _Bad(value, f"{label} must be bot or agent; got {_q(m.author)}")
        elif key == "private":
            m.private = _bool(value, label)
        elif key in ("buttons", "quick_replies"):
            setattr(m, key, _list_match(value, label, _button_spec))
        elif key == "cards":
            m.cards = _cards(value, label)
        elif key in MEDIA_KINDS:
            m.media[key] = _text_match(value, label)
        else:
            m.negate = _matcher(value, label)
    return m


def _expectations(node: yaml.Node) -> list[Expectation]:
    out = []
    for item in _list(node):
        if isinstance(item, yaml.MappingNode) and len(item.value) == 1 and item.value[0][0].value == "not":
            inner = _matcher(item.value[0][1], "not")
            inner.line = line_of(item)
            inner.source = _value(item)
            out.append(Expectation(inner, absent=True))
        else:
            out.append(Expectation(_matcher(item, "expect")))
    return out


def _messages(node: yaml.Node) -> CountMatch:
    if isinstance(node, yaml.ScalarNode):
        return CountMatch(exactly=_count(node, "messages"))
    fields = _mapping(node, "messages", ("min", "max"))
    if not fields:
        raise _Bad(node, "messages must be a number or a mapping with min and/or max")
    count = CountMatch(**{k: _count(v, f"messages.{k}") for k, (_, v) in fields.items()})
    if count.min is not None and count.max is not None and count.min > count.max:
        raise _Bad(node, f"messages.min ({count.min}) is larger than messages.max ({count.max})")
    return count


# ---------------------------------------------------------------- steps and files


def _step(node: yaml.Node, index: int) -> Step:
    what = f"step {index}"
    if isinstance(node, yaml.ScalarNode) and isinstance(_value(node), str):
        raise _Bad(node, f"{what} is the bare text {_q(_value(node))}; write `- send: {_value(node)}`"
                         f" or another action ({', '.join(ACTIONS)})")
    fields = _mapping(node, what, STEP_KEYS)
    actions = [k for k in fields if k in ACTIONS]
    if len(actions) > 1:
        raise _Bad(fields[actions[1]][0], f"{what} has two actions ({actions[0]} and {actions[1]}); "
                                          "put each in its own step")
    if not actions and not ({"expect", "messages", "expect_messages"} & set(fields)):
        raise _Bad(node, f"{what} does nothing: give an action ({', '.join(ACTIONS)}) or an expect")
    step = Step(index=index, line=line_of(node), action=actions[0] if actions else "check")
    if step.action.startswith("send_"):
        step.action = step.action[len("send_"):]
    for key, (key_node, value) in fields.items():
        if key == "send":
            step.text = _string(value, "send")
        elif key == "click":
            _click(step, value)
        elif key == "postback":
            if isinstance(value, yaml.ScalarNode):
                step.payload = step.title = _string(value, "postback")
            else:
                parts = _mapping(value, "postback", ("title", "payload"))
                if "payload" not in parts:
                    raise _Bad(value, "postback needs a payload (and optionally a title)")
                step.payload = _string(parts["payload"][1], "postback.payload")
                step.title = _string(parts["title"][1], "postback.title") if "title" in parts else step.payload
        elif key.startswith("send_"):
            step.url = _string(value, key)
            if not step.url.lower().startswith(("http://", "https://")):
                raise _Bad(value, f"{key} needs an http(s) URL; got {_q(step.url)}")
        elif key == "wait":
            step.seconds = _duration(value, "wait")
        elif key == "expect":
            step.expect = _expectations(value)
        elif key in ("messages", "expect_messages"):
            if step.messages is not None:
                raise _Bad(key_node, f"{what} has both messages and expect_messages; keep one")
            step.messages = _messages(value)
        elif key in ("within", "timeout", "settle"):
            setattr(step, key, _duration(value, key))
        elif key == "any_order":
            step.any_order = _bool(value, "any_order")
        else:
            step.name = _string(value, "name")
    if step.action == "wait" and (step.expect or step.messages or step.within):
        raise _Bad(node, f"{what} waits and checks at once; put the expect in the next step, on its own")
    if step.within is not None and not step.sends:
        raise _Bad(fields["within"][0], "within is a latency budget for a step that sends something")
    return step


def _click(step: Step, node: yaml.Node) -> None:
    if isinstance(node, yaml.ScalarNode):
        step.title = _string(node, "click")
        return
    parts = _mapping(node, "click", ("button", "card"))
    if "button" not in parts:
        raise _Bad(node, "click needs a button title: `click: Products` or `click: {card: …, button: …}`")
    step.title = _string(parts["button"][1], "click.button")
    step.card = _string(parts["card"][1], "click.card") if "card" in parts else ""


def _contact(node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode) and _value(node) is None:
        return {}
    fields = _mapping(node, "contact", CONTACT_KEYS)
    return {k: _string(v, f"contact.{k}", empty=k != "id") for k, (_, v) in fields.items()}


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    """A Scenario from YAML `text`; raises ScenarioError listing every problem as `path:line: problem`."""
    problems: list[str] = []

    def bad(node: yaml.Node | None, problem: str) -> None:
        problems.append(f"{path}:{line_of(node)}: {problem}")

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
        raise ScenarioError([f"{path}:1: the file is empty; a scenario needs at least `steps:`"])
    size, depth = _expanded_size(root)
    if size >= MAX_VALUES:
        raise ScenarioError([f"{path}:1: the file expands to too many values (aliases of aliases?)"])
    if depth > MAX_DEPTH:
        raise ScenarioError([f"{path}:1: the file nests values more than {MAX_DEPTH} deep (aliases of aliases?)"])
    try:
        top = _mapping(root, "the scenario", TOP_KEYS)
    except _Bad as exc:
        raise ScenarioError([f"{path}:{line_of(exc.node)}: {exc.problem}"]) from None
    scenario = Scenario(name=Path(path).stem, path=path, steps=[], source=text)
    for key, (_, value) in top.items():
        try:
            if key == "name":
                scenario.name = _string(value, "name")
            elif key == "description":
                scenario.description = _string(value, "description", empty=True)
            elif key == "contact":
                scenario.contact = _contact(value)
            elif key in ("settle", "timeout"):
                setattr(scenario, key, _duration(value, key))
        except _Bad as exc:
            bad(exc.node, exc.problem)
    if "steps" not in top:
        bad(root, "no steps: add `steps:` with a list of actions (send, click, …)")
    else:
        steps = top["steps"][1]
        if not isinstance(steps, yaml.SequenceNode) or not steps.value:
            bad(steps, f"steps must be a list with at least one step; got {_kind(steps)}")
        else:
            for number, node in enumerate(steps.value, start=1):
                try:
                    scenario.steps.append(_step(node, number))
                except _Bad as exc:
                    bad(exc.node, exc.problem)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path, display: str | None = None) -> Scenario:
    """Read and parse the file at `path`; problems (including unreadable files) raise ScenarioError."""
    shown = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError([f"{shown}:1: cannot read the file: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([f"{shown}:1: the file is {len(raw) // 1024} KiB; a scenario may be at most "
                             f"{MAX_FILE_BYTES // 1024} KiB"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError([f"{shown}:{line}: the file is not UTF-8 text"]) from None
    return parse_scenario(text, shown)
