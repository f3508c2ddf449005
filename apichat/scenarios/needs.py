"""What scenario files need before they run: a judge, when one of them says `judge:`.

A file that asks a judge cannot pass without one, so it is refused before anything starts (the command line
exits 2, pytest's collection fails) with one line that says which variable to set.
"""

from __future__ import annotations

import os

from ..ai import judge
from .model import Scenario


def judge_refusal(scenarios: list[Scenario], env=None) -> str | None:
    """Why these scenarios cannot run here (one line), or None: a `judge:` with no judge (or no model) configured."""
    env = os.environ if env is None else env
    asked = [(s.path, line, spec) for s in scenarios for line, spec in s.judged()]
    if not asked:
        return None
    path, line, _ = asked[0]
    found = judge.judge_from_env(env=env)
    if found is None:
        return f"{path}:{line} uses judge: but {judge.NOT_CONFIGURED}"
    if found.endpoint.problem:
        return f"{path}:{line} uses judge: but {found.endpoint.problem}"
    for path, line, spec in asked:
        if not spec.model and not found.endpoint.model:
            return f"{path}:{line}: judge names no model and APICHAT_JUDGE_MODEL is not set"
    return None
