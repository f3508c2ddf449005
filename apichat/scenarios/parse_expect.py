"""The `expect:` and `messages:` of a step, read from YAML nodes into expectation objects."""

from __future__ import annotations

import re

import yaml

from .. import lint
from ..payloads import MEDIA_KINDS, MESSAGE_KINDS
from . import nodes
from .match import DEFAULT_SIMILARITY, ButtonSpec, CardsMatch, CountMatch, LintMatch, ListMatch, TextMatch
from .model import Expectation, JudgeSpec, Matcher
from .nodes import NodeError, line_of, quote

MATCHER_KEYS = ("text", "kind", "author", "private", "buttons", "quick_replies", "cards", *MEDIA_KINDS, "lint", "not",
                "judge")
TEXT_KEYS = ("equals", "contains", "matches", "starts_with", "ends_with", "not")
SIMILAR_KEYS = ("similar_to", "at_least")  # a reply's text only, not a title or a URL
JUDGE_KEYS = ("criterion", "model")
LIST_KEYS = ("exactly", "any_order", "include", "exclude", "count")
BUTTON_KEYS = ("title", "payload", "url", "type")
CARDS_KEYS = ("count", "titles", "ratio")
LINT_KEYS = ("allow", "channels")


def threshold(node: yaml.Node, what: str) -> float:
    """A similarity threshold: a number from 0 to 1."""
    value = nodes.value_of(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise NodeError(node, f"{what} must be a number from 0 to 1 (e.g. 0.7); got {nodes.kind_of(node)}")
    return float(value)


def _text_match(node: yaml.Node, what: str, similarity: float | None = None) -> TextMatch:
    """A `text`-style mapping; `similarity` (the scenario's default at_least) allows similar_to, a reply's text."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":bool") and node.value.lower() == "true" and not node.style:
            return TextMatch(anything=True)
        return TextMatch(equals=nodes.string(node, what, empty=True))
    fields = nodes.mapping(node, what, TEXT_KEYS + (SIMILAR_KEYS if similarity is not None else ()))
    match = TextMatch()
    if "at_least" in fields and "similar_to" not in fields:
        raise NodeError(fields["at_least"][0], f"{what}.at_least is the threshold of similar_to; add "
                                               f"{what}.similar_to: \"the answer you expect\"")
    for key, (_, value) in fields.items():
        if key == "equals":
            match.equals = nodes.string(value, f"{what}.equals", empty=True)
        elif key == "contains":
            match.contains = [nodes.string(v, f"{what}.contains") for v in nodes.items(value)]
        elif key == "matches":
            pattern = nodes.string(value, f"{what}.matches")
            try:
                match.matches = re.compile(pattern)
            except re.error as exc:
                raise NodeError(value, f"{what}.matches is not a valid regular expression: {exc}") from None
        elif key == "starts_with":
            match.starts_with = nodes.string(value, f"{what}.starts_with")
        elif key == "ends_with":
            match.ends_with = nodes.string(value, f"{what}.ends_with")
        elif key == "similar_to":
            match.similar_to = nodes.string(value, f"{what}.similar_to")
            match.at_least = threshold(fields["at_least"][1], f"{what}.at_least") if "at_least" in fields \
                else similarity
        elif key == "at_least":
            pass  # read with similar_to
        else:
            match.negate = _text_match(value, f"{what}.not", similarity)
    if not fields:
        raise NodeError(node, f"{what} is an empty mapping; use one of {', '.join(TEXT_KEYS)}")
    return match


def _button_spec(node: yaml.Node, what: str) -> ButtonSpec:
    if isinstance(node, yaml.ScalarNode):
        return ButtonSpec(title=_text_match(node, what))
    if isinstance(node, yaml.MappingNode) and node.value and all(
            isinstance(k, yaml.ScalarNode) and k.value in TEXT_KEYS for k, _ in node.value):
        return ButtonSpec(title=_text_match(node, what))
    fields = nodes.mapping(node, what, BUTTON_KEYS)
    spec = ButtonSpec()
    for key, (_, value) in fields.items():
        if key == "type":
            kind = nodes.string(value, f"{what}.type")
            aliases = {"postback": "postback", "web_url": "url", "url": "url", "phone_number": "call", "call": "call"}
            if kind not in aliases:
                raise NodeError(value, f"{what}.type must be postback, web_url or phone_number; got {quote(kind)}")
            spec.kind = aliases[kind]
        else:
            setattr(spec, key, _text_match(value, f"{what}.{key}"))
    return spec


def _list_match(node: yaml.Node, what: str, item) -> ListMatch:
    if isinstance(node, yaml.SequenceNode):
        return ListMatch(exactly=[item(v, f"{what}[{i + 1}]") for i, v in enumerate(node.value)])
    fields = nodes.mapping(node, what, LIST_KEYS)
    if not fields:
        raise NodeError(node, f"{what} is an empty mapping; use one of {', '.join(LIST_KEYS)}")
    match = ListMatch()
    for key, (_, value) in fields.items():
        if key == "count":
            match.count = nodes.count(value, f"{what}.count")
        else:
            if not isinstance(value, yaml.SequenceNode):
                raise NodeError(value, f"{what}.{key} must be a list; got {nodes.kind_of(value)}")
            setattr(match, key, [item(v, f"{what}.{key}[{i + 1}]") for i, v in enumerate(value.value)])
    return match


def _card_title(node: yaml.Node, what: str) -> ButtonSpec:
    return ButtonSpec(title=_text_match(node, what))


def _cards(node: yaml.Node, what: str) -> CardsMatch:
    if isinstance(node, yaml.SequenceNode):
        return CardsMatch(titles=_list_match(node, f"{what}.titles", _card_title))
    number = nodes.value_of(node) if isinstance(node, yaml.ScalarNode) else None
    if isinstance(number, int) and not isinstance(number, bool):
        return CardsMatch(count=nodes.count(node, what))
    fields = nodes.mapping(node, what, CARDS_KEYS)
    match = CardsMatch()
    for key, (_, value) in fields.items():
        if key == "count":
            match.count = nodes.count(value, f"{what}.count")
        elif key == "titles":
            match.titles = _list_match(value, f"{what}.titles", _card_title)
        else:
            ratio = nodes.string(value, f"{what}.ratio")
            if ratio not in ("horizontal", "square"):
                raise NodeError(value, f"{what}.ratio must be horizontal or square; got {quote(ratio)}")
            match.ratio = ratio
    return match


def _names(node: yaml.Node, what: str, known) -> list[str]:
    names = [nodes.string(v, what) for v in nodes.items(node)]
    for name, item in zip(names, nodes.items(node), strict=True):
        if name not in known:
            raise NodeError(item, f"{what}: unknown {quote(name)}; use {', '.join(known)}")
    return names


def _lint(node: yaml.Node, what: str) -> LintMatch:
    """`lint: clean`, `lint: [rule or channel, …]` (allowed to fail), or `{allow: […], channels: […]}`."""
    known = (*lint.CHANNELS, *lint.RULES)
    if isinstance(node, yaml.ScalarNode):
        if nodes.string(node, what) != "clean":
            raise NodeError(node, f"{what} must be clean, a list of the rules allowed to fail, or a mapping with "
                                  f"{' and '.join(LINT_KEYS)}; got {quote(node.value)}")
        return LintMatch()
    if isinstance(node, yaml.SequenceNode):
        return LintMatch(allow=_names(node, what, known))
    fields = nodes.mapping(node, what, LINT_KEYS)
    match = LintMatch()
    if "allow" in fields:
        match.allow = _names(fields["allow"][1], f"{what}.allow", known)
    if "channels" in fields:
        match.channels = tuple(_names(fields["channels"][1], f"{what}.channels", lint.CHANNELS))
    return match


def _judge(node: yaml.Node, what: str) -> JudgeSpec:
    """`judge: "criterion"` or `judge: {criterion: …, model: …}`."""
    if isinstance(node, yaml.ScalarNode):
        return JudgeSpec(nodes.string(node, what))
    fields = nodes.mapping(node, what, JUDGE_KEYS)
    if "criterion" not in fields:
        raise NodeError(node, f"{what} needs a criterion: `judge: \"answers in English\"` or "
                              "`judge: {criterion: …, model: …}`")
    model = nodes.string(fields["model"][1], f"{what}.model") if "model" in fields else None
    return JudgeSpec(nodes.string(fields["criterion"][1], f"{what}.criterion"), model)


def _matcher(node: yaml.Node, what: str, similarity: float = DEFAULT_SIMILARITY) -> Matcher:
    fields = nodes.mapping(node, what, MATCHER_KEYS)
    if not fields:
        raise NodeError(node, f"{what} is empty; say what the reply must look like ({', '.join(MATCHER_KEYS)})")
    m = Matcher(line=line_of(node), source=nodes.value_of(node))
    for key, (_, value) in fields.items():
        label = f"{what}.{key}" if what != "expect" else key
        if key == "text":
            m.text = _text_match(value, label, similarity)
        elif key == "kind":
            m.kind = nodes.string(value, label)
            if m.kind not in MESSAGE_KINDS:
                raise NodeError(value, f"{label} must be one of {', '.join(MESSAGE_KINDS)}; got {quote(m.kind)}")
        elif key == "author":
            m.author = nodes.string(value, label)
            if m.author not in ("bot", "agent"):
                raise NodeError(value, f"{label} must be bot or agent; got {quote(m.author)}")
        elif key == "private":
            m.private = nodes.boolean(value, label)
        elif key in ("buttons", "quick_replies"):
            setattr(m, key, _list_match(value, label, _button_spec))
        elif key == "cards":
            m.cards = _cards(value, label)
        elif key in MEDIA_KINDS:
            m.media[key] = _text_match(value, label)
        elif key == "lint":
            m.lint = _lint(value, label)
        elif key == "judge":
            m.judge = _judge(value, label)
        else:
            m.negate = _matcher(value, label, similarity)
    return m


def expectations(node: yaml.Node, similarity: float = DEFAULT_SIMILARITY) -> list[Expectation]:
    """A step's `expect`: one mapping or a list of them; `{not: …}` alone is a reply that must not come.
    `similarity`: the at_least of a similar_to that gives none (the scenario's `similarity:`)."""
    out = []
    for item in nodes.items(node):
        if isinstance(item, yaml.MappingNode) and len(item.value) == 1 and item.value[0][0].value == "not":
            inner = _matcher(item.value[0][1], "not", similarity)
            inner.line = line_of(item)
            inner.source = nodes.value_of(item.value[0][1])  # "no reply like {private: true}", not "like {not: …}"
            out.append(Expectation(inner, absent=True))
        elif isinstance(item, yaml.MappingNode) and len(item.value) == 1 and item.value[0][0].value == "lint":
            out.append(Expectation(_matcher(item, "expect", similarity), each=True))  # every reply of the step
        else:
            out.append(Expectation(_matcher(item, "expect", similarity)))
    return out


def message_count(node: yaml.Node) -> CountMatch:
    """A step's `messages`: a number, or a mapping with min and/or max."""
    if isinstance(node, yaml.ScalarNode):
        return CountMatch(exactly=nodes.count(node, "messages"))
    fields = nodes.mapping(node, "messages", ("min", "max"))
    if not fields:
        raise NodeError(node, "messages must be a number or a mapping with min and/or max")
    count = CountMatch(**{k: nodes.count(v, f"messages.{k}") for k, (_, v) in fields.items()})
    if count.min is not None and count.max is not None and count.min > count.max:
        raise NodeError(node, f"messages.min ({count.min}) is larger than messages.max ({count.max})")
    return count
