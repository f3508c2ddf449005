"""Scenario files: the format, and every problem named with its file and line."""

from __future__ import annotations

import pytest

from apichat.scenarios import ScenarioError, load_scenario, parse_scenario, scenario_files
from tests.conftest import ROOT


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.yaml")
    return caught.value.problems


def test_every_example_scenario_loads_and_covers_every_message_kind():
    files = scenario_files([ROOT / "scenarios"])
    assert len(files) >= 5
    loaded = [load_scenario(f) for f in files]
    source = "\n".join(s.source for s in loaded)
    for needed in ("buttons:", "cards:", "image:", "audio:", "video:", "file:", "private: true", "unsupported",
                   "send_image:", "send_audio:", "send_video:", "send_file:", "click: {card:", "within:", "not:",
                   "any_order", "matches:"):
        assert needed in source, f"no example uses {needed}"


@pytest.mark.parametrize("text, line, message", [
    ("steps:\n  - send: hi\n    expct: {text: hi}\n", 3, "unknown key 'expct' in step 1 (did you mean 'expect'?)"),
    ("steps:\n  - send: hi\n    expect:\n      - txt: hi\n", 4, "unknown key 'txt' in expect (did you mean 'text'?)"),
    ("steps:\n  - send: hi\n    expect:\n      - text: {contain: x}\n", 4, "unknown key 'contain' in text"),
    ("steps:\n  - sned: hi\n", 2, "unknown key 'sned' in step 1 (did you mean 'send'?)"),
    ("name: x\nstep:\n  - send: hi\n", 2, "unknown key 'step' in the scenario (did you mean 'steps'?)"),
    ("steps:\n  - send: hi\n    click: Products\n", 3, "two actions (send and click)"),
    ("steps:\n  - send: hi\n    within: soon\n", 3, "within must be a duration like 3s"),
    ("steps:\n  - send: hi\n    expect: {text: {matches: '('}}\n", 3, "not a valid regular expression"),
    ("steps:\n  - send: hi\n    expect: {buttons: {exactly: Products}}\n", 3, "buttons.exactly must be a list"),
    ("steps:\n  - send: hi\n    expect: {private: maybe}\n", 3, "private must be true or false"),
    ("steps:\n  - send: hi\n    expect: {kind: carousel}\n", 3, "kind must be one of text, buttons, cards"),
    ("steps:\n  - send_image: file.png\n", 2, "send_image needs an http(s) URL"),
    ("steps:\n  - hi\n", 2, "write `- send: hi`"),
    ("steps:\n  - wait: 1s\n    expect: {text: x}\n", 2, "waits and checks at once"),
    ("steps:\n  - send: hi\n   expect: {}\n", 3, "not valid YAML"),
    ("steps:\n\t- send: hi\n", 2, "a tab indents this line"),
    ("", 1, "the file is empty"),
    ("name: x\n", 1, "no steps"),
    ("steps: []\n", 1, "at least one step"),
    ("contact: {name: A, role: x}\nsteps:\n  - send: hi\n", 1, "unknown key 'role' in contact"),
    ("steps:\n  - click: {title: X}\n", 2, "unknown key 'title' in click"),
    ("steps:\n  - send: hi\n    messages: {min: 3, max: 1}\n", 3, "messages.min (3) is larger than messages.max (1)"),
    ("steps:\n  - send: hi\n    send: again\n", 3, "'send' appears twice in step 1"),
])


def test_bad_files_name_the_line_and_the_problem(text, line, message):
    found = problems(text)
    assert found[0].startswith(f"bad.yaml:{line}: "), found
    assert message in found[0]
    assert all("\n" not in p and "Traceback" not in p for p in found)


def test_every_problem_of_a_file_is_listed_not_only_the_first():
    found = problems("steps:\n  - send: hi\n    expct: x\n  - click: A\n  - wiat: 1s\n")
    assert [p.split(": ", 1)[0] for p in found] == ["bad.yaml:3", "bad.yaml:5"]


def test_unreadable_files_are_errors_with_the_file_name(tmp_path):
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes("steps:\n  - send: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1.yaml:2: the file is not UTF-8"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match=r"missing.yaml:1: cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")


def test_alias_bombs_are_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    assert "too many values" in problems(bomb)[0]


def test_texts_stay_as_written_even_when_yaml_would_read_a_boolean_or_number():
    step = parse_scenario("steps:\n  - click: Yes\n    expect: {buttons: [No, On, 1.50], text: 007}\n", "x.yaml").steps[0]
    assert step.title == "Yes"
    assert [b.title.equals for b in step.expect[0].matcher.buttons.exactly] == ["No", "On", "1.50"]
    assert step.expect[0].matcher.text.equals == "007"


def test_durations_and_defaults():
    s = parse_scenario("settle: 500ms\nsteps:\n  - send: hi\n    within: 1.5s\n  - wait: 2\n", "x.yaml")
    assert s.settle == 0.5 and s.steps[0].within == 1.5 and s.steps[1].seconds == 2.0
    assert s.name == "x" and s.contact == {}


@pytest.mark.parametrize("load, what, limit", [
    ("apichat.scenarios:load_scenario", "a scenario", 512), ("apichat.simulate.goal:load_goal", "a goal", 256),
    ("apichat.monitor.config:load_monitors", "a monitors file", 256)], ids=["scenario", "goal", "monitors"])
def test_each_kind_of_file_is_refused_with_its_line_when_it_cannot_be_read(tmp_path, load, what, limit):
    import importlib

    module, name = load.split(":")
    loader = getattr(importlib.import_module(module), name)
    missing, big, latin = tmp_path / "missing.yaml", tmp_path / "big.yaml", tmp_path / "latin.yaml"
    big.write_bytes(b"#" * (limit * 1024 + 1))
    latin.write_bytes(b"name: a\n# caf\xe9\n")
    for path, problem in [(missing, f"{missing}:1: cannot read the file: No such file or directory"),
                          (big, f"{big}:1: the file is {limit} KiB; {what} may be at most {limit} KiB"),
                          (latin, f"{latin}:2: the file is not UTF-8 text")]:
        with pytest.raises(ScenarioError) as caught:
            loader(path)
        assert caught.value.problems == [problem]
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + b"#" * (limit * 1024 - 3))  # at the limit, a BOM read past
    with pytest.raises(ScenarioError) as caught:
        loader(tmp_path / "bom.yaml")
    assert "KiB" not in str(caught.value) and "UTF-8" not in str(caught.value)
