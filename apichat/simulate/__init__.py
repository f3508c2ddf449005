"""Simulated contacts: a contact with a goal chats with the bot by itself, pressing buttons and typing, and the
whole conversation is judged (reached or not, in how many turns, what matched, reply times, loops, dead ends).

    goal        the goal file (YAML, strict: `file:line: problem`): persona, goal, success, max_turns, say
    plan        the offline planner: shortest presses over the explorer's map to a state meeting success
    simulator   the LLM plays the persona (APICHAT_SIMULATOR_URL/_MODEL/_KEY), every action checked, answers cached
    play        the engine: one contact a turn at a time through the scenario Runner's Session; the Verdict
    simulation  the safety rule, who plays, N runs on W workers, save as scenario
    report      success rate, turns p50/p95, transcripts (JSON + Markdown), report.md/json, JUnit XML
    runs        the console's Autopilot: a simulation in a background thread, and the past ones (History)
    __main__    `python -m apichat.simulate run GOAL.yaml …`
"""

from .goal import Goal, load_goal, parse_goal
from .plan import Decision, OfflinePlayer, Planner, Unreachable, meets
from .play import BATCH, TurnRecord, Verdict, play
from .report import junit_xml, summary, text_report, write_all
from .simulation import Options, Prepared, SimulateError, crawl_for, prepare, refusal, run_all, save_as_scenario
from .simulator import LLMPlayer, parse_action

__all__ = ["BATCH", "Decision", "Goal", "LLMPlayer", "OfflinePlayer", "Options", "Planner", "Prepared",
           "SimulateError", "TurnRecord", "Unreachable", "Verdict", "crawl_for", "junit_xml", "load_goal", "meets",
           "parse_action", "parse_goal", "play", "prepare", "refusal", "run_all", "save_as_scenario", "summary",
           "text_report", "write_all"]
