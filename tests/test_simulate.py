"""Simulated contacts without processes: goal files, the offline planner over a map, the LLM's actions checked,
the report's figures, the safety rule, and the command line's refusals before anything starts."""

from __future__ import annotations

import json

import pytest

from apichat.explore import START, Action, CrawlMap, Edge, State, signature
from apichat.scenarios import ScenarioError
from apichat.simulate import Planner, TurnRecord, Unreachable, Verdict, parse_action, parse_goal, summary
from apichat.simulate.__main__ import main
from apichat.simulate.simulation import Options, SimulateError, refusal

GOAL = """name: Order
goal: buy something
success:
  - text: {contains: "Order placed"}
say: [hi, "I want the big one"]
"""


def goal(text: str = GOAL):
    return parse_goal(text, "g.yaml")


# ---------------------------------------------------------------- goal files


def test_a_goal_file_is_parsed():
    g = parse_goal("name: Buy\npersona: {name: Sam Buyer, style: terse}\ngoal: get an order number\nsuccess:\n"
                   "  - text: {matches: 'order #\\d+'}\nmax_turns: 6\nsay: [hi, 'yes']\n", "buy.yaml")
    assert (g.name, g.goal, g.max_turns, g.say, g.contact_name) == ("Buy", "get an order number", 6, ["hi", "yes"],
                                                                    "Sam Buyer")
    assert g.success_line == 5 and len(g.success) == 1 and "matches" in g.describe_success()


@pytest.mark.parametrize(("text", "problem"), [
    ("goal: x\nsucess:\n  - text: a\n", "g.yaml:2: unknown key 'sucess' in the goal file (did you mean 'success'?)"),
    ("goal: x\n", "g.yaml:1: no success: add `success:`"),
    ("success:\n  - text: a\n", "g.yaml:1: no goal:"),
    ("goal: x\nsuccess:\n  - text: a\nsuccess_judge: it worked\n", "g.yaml:4: give success or success_judge, not both"),
    ("goal: x\nsuccess:\n  - text: a\nsay: hi\n", "g.yaml:4: say must be a list of texts"),
    ("goal: x\nsuccess:\n  - text: a\nmax_turns: 0\n", "g.yaml:4: max_turns must be a whole number from 1 to 100"),
    ("goal: x\nsuccess:\n  - not: {text: a}\n", "g.yaml:3: success holds what a reply must look like"),
    ("goal: x\nsuccess:\n  - txt: a\n", "g.yaml:3: unknown key 'txt'"),
    ("goal: x\npersona: {nam: Sam}\nsuccess:\n  - text: a\n", "g.yaml:2: unknown key 'nam' in persona"),
])
def test_a_bad_goal_file_says_where_and_what(text, problem):
    with pytest.raises(ScenarioError) as caught:
        parse_goal(text, "g.yaml")
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_success_judge_becomes_a_judge_expectation_on_its_line():
    g = parse_goal("goal: x\nsuccess_judge: The bot confirmed the order\n", "g.yaml")
    assert g.success_line == 2 and [j.criterion for j in g.success[0].matcher.judges()] == [
        "The bot confirmed the order"]


# ---------------------------------------------------------------- the planner


def reply(text: str, *buttons: tuple[str, str], cards: list | None = None) -> dict:
    data = {"kind": "buttons" if buttons else "text", "text": text,
            "buttons": [{"kind": "postback", "title": t, "payload": p} for t, p in buttons]}
    if cards:
        data["cards"] = [{"title": c, "buttons": [{"kind": "postback", "title": t, "payload": p} for t, p in bs]}
                         for c, bs in cards]
    return {"kind": data["kind"], "author": "bot", "data": data}


def shop_map() -> tuple[CrawlMap, dict[str, list[dict]]]:
    """hi → menu [Shop, Help]; Shop → items [Add]; Add → cart [Checkout, Menu]; Checkout → Order placed; Help → text."""
    turns = {
        "menu": [reply("Welcome", ("Shop", "SHOP"), ("Help", "HELP"))],
        "items": [reply("Items", cards=[("Kit", [("Add", "ADD_KIT")]), ("Mug", [("Add", "ADD_MUG")])])],
        "cart": [reply("In your cart", ("Checkout", "CHECKOUT"), ("Menu", "MENU"))],
        "done": [reply("Order placed, thanks!")],
        "help": [reply("Type anything")],
    }
    sid = {name: signature(rows) for name, rows in turns.items()}
    m = CrawlMap(starts=["hi"], status="finished")
    for name, rows in turns.items():
        m.states[sid[name]] = State(sid[name], sid[name], rows, [], 0)
    links = [(START, Action("send", text="hi"), "menu"), ("menu", Action("postback", "Shop", "SHOP"), "items"),
             ("menu", Action("postback", "Help", "HELP"), "help"),
             ("items", Action("postback", "Add", "ADD_KIT", card="Kit"), "cart"),
             ("items", Action("postback", "Add", "ADD_MUG", card="Mug"), "cart"),
             ("cart", Action("postback", "Checkout", "CHECKOUT"), "done"),
             ("cart", Action("postback", "Menu", "MENU"), "menu")]
    for source, action, target in links:
        m.edges.append(Edge(START if source == START else sid[source], action, sid[target]))
    return m, turns


def test_the_planner_finds_the_shortest_way_and_follows_it_live():
    m, turns = shop_map()
    planner = Planner(m, goal())
    assert [a.label for a in planner.check()] == ['send "hi"', "Shop", "Kit › Add", "Checkout"]
    first = planner.next_action([])
    assert first.action == Action("send", text="hi") and "typing say line 1" in first.why
    assert planner.next_action(turns["menu"], said=1).action.payload == "SHOP"
    assert planner.next_action(turns["items"], said=1).action.payload == "ADD_KIT"
    step = planner.next_action(turns["cart"], said=1)
    assert step.action.payload == "CHECKOUT" and step.why == "1 press to the goal on the map"


def test_off_the_map_it_replans_from_the_buttons_offered_by_their_payload():
    m, _ = shop_map()
    planner = Planner(m, goal())
    unknown = [reply("Something new today!", ("Go shopping", "SHOP"), ("Bye", "BYE"))]
    assert planner.state_of(unknown) is None
    assert planner.next_action(unknown, said=1).action.payload == "SHOP"  # SHOP led to the items anywhere


def test_where_no_press_fits_it_types_the_next_say_line_then_gives_up():
    m, turns = shop_map()
    planner = Planner(m, goal())
    typed = planner.next_action(turns["help"], said=1)
    assert typed.action == Action("send", text="I want the big one") and "typing say line 2" in typed.why
    stuck = planner.next_action(turns["help"], said=2)
    assert stuck.action is None and "no say line is left" in stuck.stop


def test_a_goal_no_state_meets_is_unreachable_with_the_reason():
    m, _ = shop_map()
    with pytest.raises(Unreachable, match="no state on the map meets success .*Refund.*5 states from 'hi'"):
        Planner(m, goal(GOAL.replace("Order placed", "Refund issued"))).check()


def test_a_path_that_starts_with_text_the_goal_does_not_give_is_unreachable():
    m, _ = shop_map()
    with pytest.raises(Unreachable, match='needs free text it was not given: .*starts with "hi"'):
        Planner(m, goal(GOAL.replace('say: [hi, "I want the big one"]', "say: []"))).check()


# ---------------------------------------------------------------- the LLM's actions


def test_an_llm_action_is_checked_against_what_the_bot_offered():
    cart = shop_map()[1]["items"]
    assert parse_action('{"press": "Add", "card": "Mug"}', cart) == Action("postback", "Add", "ADD_MUG", card="Mug")
    assert parse_action('```json\n{"say": "hello"}\n```', cart) == Action("send", text="hello")
    assert "several cards" in parse_action('{"press": "Add"}', cart)
    refused = parse_action('{"press": "Teleport"}', cart)
    assert refused.startswith('there is no button "Teleport"') and '"Kit › Add"' in refused
    assert parse_action("I'd press Add", cart) == "the answer is not one JSON object"
    assert "exactly one of" in parse_action('{"press": "Add", "say": "x"}', cart)
    assert parse_action('{"stop": "done"}', cart).type == "stop"


# ---------------------------------------------------------------- the report


def test_the_report_gives_the_success_rate_and_turns_p50_p95():
    def run(n: int, reached: bool, turns: int) -> Verdict:
        return Verdict("g", "offline", reached, turns, number=n,
                       records=[TurnRecord(i, {"type": "send"}, "x", first_reply=0.1 * i) for i in range(1, turns + 1)])
    s = summary([run(1, True, 4), run(2, True, 5), run(3, False, 8), run(4, True, 9)])
    assert (s["runs"], s["reached"], s["success_rate"], s["turns_p50"], s["turns_p95"]) == (4, 3, 0.75, 5, 9)
    assert s["first_reply_p95_ms"] == 800.0
    again = Verdict.from_dict(json.loads(json.dumps(run(1, True, 2).to_dict())))
    assert again.records[1].first_reply == 0.2


# ---------------------------------------------------------------- refusals before anything starts


def test_a_real_workspace_takes_at_most_five_simulated_contacts_without_allow_real():
    g = goal()
    assert "6 simulated contacts against a real workspace need --allow-real" in refusal(g, Options(runs=6),
                                                                                       {"name": "staging"})
    assert refusal(g, Options(runs=5), {"name": "staging"}) == ""
    assert refusal(g, Options(runs=6, allow_real=True), {"name": "staging"}) == ""
    assert refusal(g, Options(runs=50), {"name": "sandbox"}) == ""
    assert "APICHAT_SIMULATOR_URL" in refusal(g, Options(mode="llm"), {"name": "sandbox"}, env={})
    with pytest.raises(SimulateError, match="runs must be from 1"):
        Options(runs=0)


def test_the_command_line_refuses_or_reports_unreachable_before_starting_anything(tmp_path, capsys):
    m, _ = shop_map()
    (tmp_path / "map.json").write_text(m.to_json())
    (tmp_path / "ok.yaml").write_text(GOAL)
    (tmp_path / "refund.yaml").write_text(GOAL.replace("Order placed", "Refund issued"))
    (tmp_path / "bad.yaml").write_text("goal: x\n")
    assert main(["run", str(tmp_path / "bad.yaml")]) == 2
    assert "bad.yaml:1: no success" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "ok.yaml"), "--profile", "staging", "--runs", "6"]) == 2
    assert "need --allow-real" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "ok.yaml"), "--map", str(tmp_path / "nope.json")]) == 2
    junit = tmp_path / "junit.xml"
    assert main(["run", str(tmp_path / "refund.yaml"), "--map", str(tmp_path / "map.json"), "--junitxml",
                 str(junit)]) == 1
    assert "unreachable: no state on the map meets success" in capsys.readouterr().out
    assert 'failures="1"' in junit.read_text() and "unreachable" in junit.read_text()


# ---------------------------------------------------------------- the Autopilot's helpers


def test_a_typed_goal_is_a_goal_and_the_newest_saved_map_of_the_profile_is_found(tmp_path):
    from apichat.simulate.runs import Autopilots, newest_map, typed_goal

    g = typed_goal("get an order number", "Order #", "hi\n\n yes \n")
    assert (g.goal, g.say, g.describe_success()) == ("get an order number", ["hi", "yes"],
                                                      '{"text": {"contains": "Order #"}}')
    with pytest.raises(ScenarioError, match="<typed goal>:"):
        typed_goal("", "Order #", "hi")
    m, _ = shop_map()
    db = tmp_path / "console.db"
    assert newest_map(str(db), "sandbox") is None
    folder = tmp_path / "explore" / "20261203-120000-sandbox-ab12"
    folder.mkdir(parents=True)
    (folder / "map.json").write_text(m.to_json())
    (tmp_path / "explore" / "20261203-130000-staging-cd34").mkdir()
    (tmp_path / "explore" / "20261203-130000-staging-cd34" / "map.json").write_text("not json")
    found = newest_map(str(db), "sandbox")
    assert found is not None and set(found.states) == set(m.states)
    assert newest_map(str(db), "staging") is None  # unreadable: skipped
    refused = Autopilots().start(None, {"name": "staging"}, str(db), g, Options(runs=6))
    assert refused.status == "failed" and "need --allow-real" in refused.message and not refused.running


# ---------------------------------------------------------------- the engine, in-process against the demo bot


class Scripted:
    """A player that does the given actions in turn, then gives up."""

    mode = "scripted"

    def __init__(self, *actions: Action):
        self.actions = list(actions)

    def decide(self, replies, history):
        from apichat.simulate import Decision

        if len(history) < len(self.actions):
            return Decision(self.actions[len(history)], why="scripted")
        return Decision(stop="out of script")


def test_the_engine_judges_the_whole_conversation_and_keeps_it_as_a_run():
    from apichat.ai import Checks
    from apichat.simulate import play
    from tests.scenario_helpers import InstantBot, scenario_store

    store = next(scenario_store())
    profile = store.get_profile("p")
    g = parse_goal("name: Browse\npersona: {name: Sam Buyer}\ngoal: see the products\nsuccess:\n"
                   "  - text: {contains: bestsellers}\nmax_turns: 4\n", "browse.yaml")
    hi, products = Action("send", text="hi"), Action("postback", title="☕ Products", payload="MENU_PRODUCTS")
    v = play(g, store, profile, Scripted(hi, hi, products), checks=Checks(), settle=0.02, deliver=InstantBot())
    assert (v.reached, v.turns, [r.label for r in v.records]) == (True, 3, ['send "hi"', 'send "hi"', "☕ Products"])
    assert v.matched[0].startswith('line 5: {"text": {"contains": "bestsellers"}} — reply 1: Here are this week')
    assert v.notes == ["turn 2: loop — back to the answer of turn 1"] and v.records[0].first_reply is not None
    run = store.get_scenario_run(v.run_id)
    assert (run["status"], run["batch"], run["passed_steps"], run["contact_id"]) == ("passed", "simulate", 3,
                                                                                     v.contact_id)
    missed = play(g, store, profile, Scripted(Action("send", text="media")), checks=Checks(), settle=0.02,
                  deliver=InstantBot())
    assert (missed.reached, missed.turns, missed.reason) == (False, 1, "out of script")
    results = store.scenario_results(missed.run_id)
    assert [r["label"] for r in results] == ['send "media"', "success"] and results[-1]["status"] == "failed"
    assert store.get_scenario_run(missed.run_id)["status"] == "failed"
    store.close()
