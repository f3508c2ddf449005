"""The bot explorer: map every path of a bot, draw it, measure scenario coverage, compare two maps.

    model       actions, turns, states, edges, findings, and the map (map.json) that holds them
    signature   a turn's normalised signature (what makes two turns one state), its buttons, "looks final"
    crawl       the breadth-first crawler over a Transport (send as a fresh contact, collect the turn)
    transport   the real Transport: the scenario runner's outbox, store and quiet-period settle
    output      map.dot, report.md, and generated scenarios (the fewest paths that cover every edge)
    coverage    which states and edges scenario files (or recorded runs) exercise
    diff        two maps compared: states and edges added, removed, changed
    __main__    `python -m apichat.explore run|coverage|diff …`
"""

from .coverage import Coverage, Trace, coverage, coverage_text, trace_run, trace_scenario
from .crawl import Crawler, Limits, Transport, crawl
from .diff import MapDiff, diff_maps, diff_text
from .model import FINDING_KINDS, START, Action, CrawlMap, Edge, Finding, State, Turn, load_map
from .output import covering_paths, generated_scenarios, report_md, to_dot, write_all
from .signature import choices, looks_final, mask, signature
from .transport import RunnerTransport

__all__ = [
    "FINDING_KINDS", "START", "Action", "Coverage", "CrawlMap", "Crawler", "Edge", "Finding", "Limits", "MapDiff",
    "RunnerTransport", "State", "Trace", "Transport", "Turn", "choices", "coverage", "coverage_text", "covering_paths",
    "crawl", "diff_maps", "diff_text", "generated_scenarios", "load_map", "looks_final", "mask", "report_md",
    "signature", "to_dot", "trace_run", "trace_scenario", "write_all",
]
