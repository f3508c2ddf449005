"""similar_to, at_least, similarity: and judge: in scenario files: how they are read, where a similarity passes,
what a failure shows, and (against the fake OpenAI-compatible server) when the judge is asked."""

from __future__ import annotations

import pytest

from apichat.ai import Checks, Endpoint, Judge, Verdict, similarity
from apichat.payloads import parse_bot_message
from apichat.scenarios import ScenarioError, evaluate, judge_refusal, parse_scenario
from apichat.scenarios.match import TextMatch, shown_score
from tests.scenario_helpers import run, scenario_store

store = pytest.fixture(scenario_store)

HOURS = "We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturdays."


def matcher(expect: str, top: str = ""):
    return parse_scenario(f"{top}steps:\n  - send: hi\n    expect:\n      - {expect}\n").steps[0].expect[0].matcher


def reply(text: str) -> dict:
    return {"id": 1, "kind": "text", "data": {"text": text}}


# ---------------------------------------------------------------- reading

def test_the_threshold_is_at_least_else_the_scenarios_similarity_else_0_7():
    assert matcher(f"text: {{similar_to: '{HOURS}'}}").text.at_least == 0.7
    assert matcher(f"text: {{similar_to: '{HOURS}'}}", "similarity: 0.75\n").text.at_least == 0.75
    assert matcher("text: {similar_to: x, at_least: 0.6}", "similarity: 0.75\n").text.at_least == 0.6
    assert matcher("text: {at_least: 1, similar_to: x}").text.at_least == 1.0  # either order, an int
    inner = matcher("text: {contains: open, not: {similar_to: closed}}", "similarity: 0.8\n").text
    assert inner.contains == ["open"] and inner.negate.similar_to == "closed" and inner.negate.at_least == 0.8


@pytest.mark.parametrize(("text", "problem"), [
    ("similarity: 1.5\nsteps:\n  - send: hi\n", "t.yaml:1: similarity must be a number from 0 to 1 (e.g. 0.7); got float 1.5"),
    ("similarity: high\nsteps:\n  - send: hi\n", "t.yaml:1: similarity must be a number from 0 to 1"),
    ("steps:\n  - send: hi\n    expect:\n      text: {similar_to: x, at_least: -0.1}\n",
     "t.yaml:4: text.at_least must be a number from 0 to 1 (e.g. 0.7); got float -0.1"),
    ("steps:\n  - send: hi\n    expect:\n      text: {similar_to: x, at_least: '0.5'}\n",
     "t.yaml:4: text.at_least must be a number from 0 to 1 (e.g. 0.7); got str \"0.5\""),
    ("steps:\n  - send: hi\n    expect:\n      text: {similar_to: x, at_least: true}\n", "got bool True"),
    ("steps:\n  - send: hi\n    expect:\n      text: {similar_to: '  '}\n", "t.yaml:4: text.similar_to must not be empty"),
    ("steps:\n  - send: hi\n    expect:\n      text: {similar_to: [a, b]}\n", "t.yaml:4: text.similar_to must be a text; got a list"),
    ("steps:\n  - send: hi\n    expect:\n      text: {contains: a,\n             at_least: 0.5}\n",
     "t.yaml:5: text.at_least is the threshold of similar_to; add text.similar_to"),
    ("steps:\n  - send: hi\n    expect:\n      buttons: [{title: {similar_to: Menu}}]\n",
     "t.yaml:4: unknown key 'similar_to' in buttons[1].title"),
    ("steps:\n  - send: hi\n    expect:\n      judge: {model: llama3.1}\n", "t.yaml:4: judge needs a criterion"),
    ("steps:\n  - send: hi\n    expect:\n      judge: {criterion: polite, modle: x}\n",
     "t.yaml:4: unknown key 'modle' in judge (did you mean 'model'?)"),
    ("steps:\n  - send: hi\n    expect:\n      judge: ''\n", "t.yaml:4: judge must not be empty"),
    ("steps:\n  - send: hi\n    expect:\n      judge: [a]\n", "t.yaml:4: judge must be a mapping of criterion, model"),
])
def test_bad_values_are_one_line_each_with_file_and_line(text, problem):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "t.yaml")
    assert any(p.startswith(problem) or problem in p for p in caught.value.problems), caught.value.problems


def test_judge_takes_a_criterion_or_a_criterion_and_a_model_also_under_not():
    scenario = parse_scenario("steps:\n  - send: hi\n    expect:\n      - judge: is polite\n"
                              "      - {kind: text, judge: {criterion: in English, model: llama3.1}}\n"
                              "      - not: {judge: is rude}\n")
    assert [(line, j.criterion, j.model) for line, j in scenario.judged()] == [
        (4, "is polite", None), (5, "in English", "llama3.1"), (6, "is rude", None)]


def test_a_file_that_asks_a_judge_needs_one_configured():
    judged = parse_scenario("steps:\n  - send: hi\n    expect: {judge: is polite}\n", "j.yaml")
    plain = parse_scenario("steps:\n  - send: hi\n", "p.yaml")
    assert judge_refusal([plain], env={}) is None
    refusal = judge_refusal([plain, judged], env={})
    assert refusal.startswith("j.yaml:3 uses judge: but no judge is configured: set APICHAT_JUDGE_URL")
    assert "\n" not in refusal
    assert judge_refusal([judged], env={"APICHAT_JUDGE_URL": "http://x/v1"}) == \
        "j.yaml:3: judge names no model and APICHAT_JUDGE_MODEL is not set"
    assert judge_refusal([judged], env={"APICHAT_JUDGE_URL": "http://x/v1", "APICHAT_JUDGE_MODEL": "m"}) is None
    assert judge_refusal([judged], env={"APICHAT_JUDGE_URL": "http://x/v1", "APICHAT_JUDGE_MODEL": "m",
                                        "APICHAT_JUDGE_TIMEOUT": "0"}) == \
        "j.yaml:3 uses judge: but APICHAT_JUDGE_TIMEOUT must be a number of seconds between 0 and 600; got '0'"


# ---------------------------------------------------------------- matching

def test_a_score_exactly_at_at_least_passes_and_just_below_fails():
    other = "We're open from 8 am to 6 pm on weekdays, and from 9 to 1 on Saturdays."
    score = similarity.score(HOURS, other).value
    assert 0 < score < 1
    assert TextMatch(similar_to=HOURS, at_least=score).ok(other)
    assert not TextMatch(similar_to=HOURS, at_least=score + 0.0001).ok(other)
    assert TextMatch(similar_to=HOURS, at_least=1.0).ok(HOURS)
    assert TextMatch(similar_to=HOURS, at_least=0.0).ok("something else entirely")


def test_similar_to_composes_with_the_other_text_keys():
    m = TextMatch(similar_to=HOURS, at_least=0.8, contains=["Saturdays"],
                  negate=TextMatch(contains=["Sunday"]))
    assert m.ok("We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturdays!")
    assert not m.ok("We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturdays and Sundays")  # not
    assert not m.ok("We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturday")  # contains
    assert not TextMatch(negate=TextMatch(similar_to=HOURS, at_least=0.9)).ok(HOURS)  # not similar to


def test_a_failure_shows_both_texts_the_threshold_the_score_and_the_method():
    rows = matcher("text: {similar_to: 'Shipping takes 3 to 5 working days.', at_least: 0.6}").mismatches(reply(HOURS))
    score = similarity.score("Shipping takes 3 to 5 working days.", HOURS).value
    assert [(r.what, r.expected, r.arrived) for r in rows] == [
        ("text", 'similar to "Shipping takes 3 to 5 working days." (at least 0.60)', f'"{HOURS}"'),
        ("text.similarity", "at least 0.60", f"{score:.2f} (lexical)")]


@pytest.mark.parametrize(("score", "at_least", "shown"), [
    (0.5996, 0.6, "0.5996"),  # "0.60" would look like a pass
    (0.5996, 0.5, "0.60"),
    (0.604, 0.6, "0.60"),
    (0.6, 0.6, "0.60"),  # exactly at the threshold: a pass, and shown as one
    (0.6951, 0.7, "0.6951"),  # rounds up onto 0.70 with two decimals, not with three
    (0.4, 0.3, "0.40"),  # far from the threshold on either side: two decimals
    (0.42, 0.7, "0.42"),
    (0.0, 0.7, "0.00"),
])
def test_a_score_is_shown_with_four_decimals_when_two_would_round_it_past_the_threshold(score, at_least, shown):
    assert shown_score(similarity.Score(score, "lexical"), at_least) == f"{shown} (lexical)"


def test_a_threshold_is_shown_as_written():
    assert str(TextMatch(similar_to="x", at_least=0.755)) == 'similar to "x" (at least 0.755)'


def test_another_measure_is_used_when_the_checks_give_one():
    def halves(a, b):
        return similarity.Score(0.5, "halves")
    m = matcher("text: {similar_to: anything, at_least: 0.5}")
    assert m.ok(reply("x"), Checks(similarity=halves))
    rows = matcher("text: {similar_to: anything, at_least: 0.51}").mismatches(reply("x"), Checks(similarity=halves))
    assert rows[-1].arrived == "0.50 (halves)"


def halves(a: str, b: str) -> similarity.Score:
    """A measure that finds every two texts half alike, whatever the lexical score would be."""
    return similarity.Score(0.5, "halves")


@pytest.mark.parametrize(("text", "rows"), [
    # under `not:` the score must stay below the threshold, and the row says so
    ("{not: {similar_to: anything, at_least: 0.5}}",
     [("text", 'not (similar to "anything" (at least 0.50))', '"x"'), ("text.not.similarity", "below 0.50", "0.50 (halves)")]),
    # both: each score beside its own threshold, the one under not: after
    ("{similar_to: open, at_least: 0.6, not: {similar_to: closed, at_least: 0.6}}",
     [("text", 'similar to "open" (at least 0.60) and not (similar to "closed" (at least 0.60))', '"x"'),
      ("text.similarity", "at least 0.60", "0.50 (halves)"), ("text.not.similarity", "below 0.60", "0.50 (halves)")]),
    # not: not: is at least again
    ("{not: {not: {similar_to: anything, at_least: 0.6}}}",
     [("text", 'not (not (similar to "anything" (at least 0.60)))', '"x"'),
      ("text.not.not.similarity", "at least 0.60", "0.50 (halves)")]),
])
def test_a_similar_to_under_not_is_scored_by_the_runs_measure_and_shown_below_its_threshold(text, rows):
    found = matcher(f"text: {text}").mismatches(reply("x"), Checks(similarity=halves))
    assert [(r.what, r.expected, r.arrived) for r in found] == rows


def test_a_score_under_not_is_the_score_of_the_reply():
    rows = matcher(f"text: {{not: {{similar_to: '{HOURS}'}}}}").mismatches(reply(HOURS))
    assert [(r.what, r.expected, r.arrived) for r in rows][-1] == ("text.not.similarity", "below 0.70", "1.00 (lexical)")


def test_not_similar_to_passes_below_the_threshold_by_the_runs_measure():
    assert matcher("text: {not: {similar_to: anything, at_least: 0.51}}").ok(reply("x"), Checks(similarity=halves))
    assert not matcher("text: {not: {similar_to: anything, at_least: 0.5}}").ok(reply("x"), Checks(similarity=halves))


HALF = "{text: {similar_to: far off, at_least: 0.5}}"  # passes by halves (0.5), fails by the lexical score
OVER = "{text: {similar_to: far off, at_least: 0.6}}"  # fails by either
OVER_ROWS = [("text", 'similar to "far off" (at least 0.60)', '"x"'), ("text.similarity", "at least 0.60", "0.50 (halves)")]


@pytest.mark.parametrize(("step", "problems"), [
    (f"    expect: {HALF}\n", []),
    (f"    expect: {OVER}\n", [("expected a reply like", OVER_ROWS)]),
    (f"    expect: [{{text: x}}, {HALF}]\n", []),
    (f"    any_order: true\n    expect: [{HALF}, {HALF}]\n", []),  # each takes its own reply by halves
    (f"    any_order: true\n    expect: [{OVER}]\n", [("expected a reply like", OVER_ROWS)]),
    (f"    expect: [{{not: {HALF}}}]\n", [("reply 1 of 2 is like", None)]),
    (f"    expect: [{{not: {OVER}}}]\n", []),
])
def test_the_runs_measure_decides_every_expectation_and_its_score_is_the_one_shown(step, problems):
    parsed = parse_scenario(f"steps:\n  - send: hi\n{step}").steps[0]
    replies = [{"id": i, "kind": "text", "data": {"text": "x"}} for i in (1, 2)]
    found = evaluate(parsed, replies, Checks(similarity=halves))
    assert len(found) == len(problems), [f.problem for f in found]
    assert [(f.problem[:len(p)], rows and [(r.what, r.expected, r.arrived) for r in f.rows])
            for f, (p, rows) in zip(found, problems, strict=True)] == problems


def test_a_reply_without_text_scores_as_an_empty_text():
    image = {"id": 1, "kind": "image", "data": {"text": "", "media": [{"kind": "image", "url": "https://x.test/a.png"}]}}
    rows = matcher("text: {similar_to: 'Here is the next box'}").mismatches(image)
    assert [(r.what, r.expected, r.arrived) for r in rows] == [
        ("text", 'similar to "Here is the next box" (at least 0.70)', '""'),
        ("text.similarity", "at least 0.70", "0.00 (lexical)")]


def test_a_judge_with_none_configured_is_an_error_not_a_pass_or_a_fail():
    from apichat.ai import AIError

    with pytest.raises(AIError, match="no judge is configured: set APICHAT_JUDGE_URL"):
        matcher("judge: is polite").mismatches(reply("Hi"))
    assert matcher("{text: Bye, judge: is polite}").mismatches(reply("Hi"))[0].what == "text"  # not asked


# ---------------------------------------------------------------- the judge's verdict in a failure (in-process)

class ScriptedJudge:
    """A judge answering each criterion as scripted (a pass when not), remembering what it was asked."""

    def __init__(self, **verdicts: Verdict):
        self.verdicts, self.asked = verdicts, []

    def verdict(self, criterion: str, reply: str, model: str | None = None) -> Verdict:
        self.asked.append((criterion, reply, model))
        return self.verdicts.get(criterion.replace(" ", "_"), Verdict(True, "fine"))


def bot_reply(body: dict) -> dict:
    return {"id": 1, "kind": parse_bot_message(body).kind, "author": "bot",
            "data": parse_bot_message(body).to_dict(raw=False)}


HI = {"type": "text", "text": "Hi Ana!"}
MENU = {"content_type": "button_template", "content_attributes": {"text": "Pick one", "buttons": [
    {"type": "postback", "title": "Products", "payload": "P"}, {"type": "web_url", "title": "Site", "url": "https://s.test"}]},
    "quick_replies": [{"title": "Yes"}, {"title": "No"}]}
CARDS = {"content_type": "generic_template", "content_attributes": {"items": [{"title": "Tea"}, {"title": "Cake"}]}}
PHOTO = {"type": "image", "url": "https://x.test/a.png"}


@pytest.mark.parametrize(("body", "seen"), [
    (HI, "Hi Ana!"),
    (MENU, "Pick one\nbuttons: Products, Site\nquick replies: Yes, No"),
    (CARDS, "cards: Tea, Cake"),
    (PHOTO, ""),
])
def test_the_judge_reads_the_text_then_the_titles_of_buttons_quick_replies_and_cards(body, seen):
    judge = ScriptedJudge()
    assert matcher("judge: {criterion: is polite, model: m1}").mismatches(bot_reply(body), Checks(judge=judge)) == []
    assert judge.asked == [("is polite", seen, "m1")]


@pytest.mark.parametrize(("expect", "verdicts", "rows"), [
    ("judge: greets by name", {}, []),
    ("judge: greets by name", {"greets_by_name": Verdict(False, "it does not greet")},
     [("judge", '"greets by name"', 'it does not greet — "Hi Ana!"')]),
    ("judge: {criterion: greets by name, model: m1}", {"greets_by_name": Verdict(False, "no name")},
     [("judge", '"greets by name" (judged by m1)', 'no name — "Hi Ana!"')]),
    ("judge: greets by name", {"greets_by_name": Verdict(False, "")},
     [("judge", '"greets by name"', 'no reason given — "Hi Ana!"')]),
    ("{text: Hi Ana!, not: {judge: is rude}}", {}, [("not", 'not {"judge": "is rude"}', "it does")]),
    ("{text: Hi Ana!, not: {judge: is rude}}", {"is_rude": Verdict(False, "it is kind")}, []),
])
def test_a_failed_verdict_shows_the_criterion_its_model_and_the_reason_before_the_reply(expect, verdicts, rows):
    found = matcher(expect).mismatches(bot_reply(HI), Checks(judge=ScriptedJudge(**verdicts)))
    assert [(r.what, r.expected, r.arrived) for r in found] == rows


def test_the_judges_of_a_file_are_listed_with_their_lines_also_those_under_a_nested_not():
    scenario = parse_scenario("steps:\n  - send: hi\n    expect:\n      - text: Hi\n"
                              "      - {text: Hi, not: {judge: is rude}}\n      - judge: is polite\n")
    assert [(line, j.criterion) for line, j in scenario.judged()] == [(5, "is rude"), (6, "is polite")]


# ---------------------------------------------------------------- runs with the judge (the fake server)

PASS = '{"pass": true, "reason": "it greets by name"}'
FAIL = '{"pass": false, "reason": "it does not mention opening hours"}'


def judged(fake_llm, store) -> Checks:
    return Checks(judge=Judge(Endpoint(fake_llm.url, "fake-judge"), store))


def test_the_judge_is_asked_only_when_the_other_keys_hold_and_its_reason_is_the_failure(fake_llm, store):
    fake_llm.script(chat=[{"when": "greets", "answer": PASS}, {"when": "hours", "answer": FAIL}])
    checks = judged(fake_llm, store)
    result = run(store, "steps:\n  - send: hi\n    expect:\n"
                        "      - {text: {contains: NOT IN THE REPLY}, judge: never asked}\n"
                        "  - send: hi\n    expect: {text: {starts_with: Hi}, judge: greets the contact}\n"
                        "  - send: hi\n    expect: {kind: buttons, judge: gives the opening hours}\n", checks=checks)
    assert [s.status for s in result.steps] == ["failed", "passed", "failed"]
    assert [r.what for r in result.steps[0].failures[0].rows] == ["text"]
    (row,) = result.steps[2].failures[0].rows
    assert (row.what, row.expected) == ("judge", '"gives the opening hours"')
    assert row.arrived.startswith('it does not mention opening hours — "Hi QA! 👋')
    assert "buttons: ☕ Products, 🎬 Media" in fake_llm.calls()["requests"][-1]["body"]["messages"][1]["content"]
    assert fake_llm.calls()["chat"] == 2 and checks.judge.calls == 2  # the first step's judge was never asked


def test_a_judge_that_gives_no_verdict_makes_the_step_an_error_and_stops_the_run(fake_llm, store):
    fake_llm.script(chat=[{"answer": "Looks fine to me!"}])
    result = run(store, "steps:\n  - send: hi\n    expect: {judge: greets the contact}\n  - send: hi\n",
                 checks=judged(fake_llm, store))
    assert [s.status for s in result.steps] == ["error", "skipped"] and result.status == "error"
    assert 'it answered "Looks fine to me!"' in result.steps[0].error and result.steps[0].replies
    assert store.count_verdicts() == 0


def test_not_judge_fails_when_the_judge_passes_the_reply(fake_llm, store):
    fake_llm.script(chat=[{"when": "rude", "answer": PASS}])
    result = run(store, "steps:\n  - send: hi\n    expect:\n      - not: {judge: is rude}\n",
                 checks=judged(fake_llm, store))
    assert result.status == "failed" and "which it must not be" in result.steps[0].failures[0].problem


def test_any_order_asks_the_judge_for_the_reply_each_expectation_takes(fake_llm, store):
    fake_llm.script(chat=[{"when": ["LAST update", "5/5 Delivered"], "answer": PASS},
                          {"when": ["FIRST update", "1/5 Order"], "answer": PASS},
                          {"answer": '{"pass": false, "reason": "not this one"}'}])
    burst = "steps:\n  - send: hi\n  - send: burst\n    any_order: true\n    expect:\n"
    result = run(store, burst + "      - judge: is the LAST update\n      - {text: {starts_with: 1/}, judge: is the "
                                "FIRST update}\n", checks=judged(fake_llm, store))
    assert result.status == "passed", [f.problem for s in result.steps for f in s.failures]
    result = run(store, burst + "      - judge: is the LAST update\n      - {text: {contains: /5}, judge: is the LAST "
                                "update}\n", checks=judged(fake_llm, store))
    assert result.status == "failed"  # one reply is the last update: two expectations cannot both take it
    assert "need as many different replies" in result.steps[1].failures[0].problem
