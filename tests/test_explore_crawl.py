"""The crawler against a scripted in-process bot: states, edges, findings, limits, bad input."""

from __future__ import annotations

import threading

import pytest

from apichat.explore import START, Action, Limits, crawl, mask, signature
from tests.explore_fakes import ENDLESS, FakeBot, FakeTransport, SendFailed, carousel, link_menu, menu, row, text

SHOP = {
    "send:hi": [menu("Hi Tess! Pick one", ("Products", "PRODUCTS"), ("Help", "HELP"), ("Contact", "CONTACT"))],
    "postback:PRODUCTS": [carousel(12)],
    **{f"postback:PICK_{i}": [menu(f"Picked {i}. Anything else?", ("Main menu", "MENU"))] for i in range(1, 13)},
    "postback:MENU": [menu("Hi Tess! Pick one", ("Products", "PRODUCTS"), ("Help", "HELP"), ("Contact", "CONTACT"))],
    "postback:HELP": [text("Type anything and a person will read it")],  # a dead end
    "postback:CONTACT": [link_menu("Reach us", "https://example.com")],  # url/call: leaves
}


def run(script, **kw):
    transport = FakeTransport(FakeBot(script), **{k: kw.pop(k) for k in ("cut_after", "rejected") if k in kw})
    return crawl(transport, limits=Limits(**kw.pop("limits", {})), **kw), transport


def kinds(m):
    return sorted({f.kind for f in m.findings})


def test_the_shop_is_mapped_with_numbers_and_names_masked_into_one_state():
    m, transport = run(SHOP)
    assert m.status == "finished", m.message
    # greeting, carousel, "Picked N" (12 presses, one state), help, contact
    assert len(m.states) == 5
    picked = [s for s in m.states.values() if s.preview.startswith("Picked")]
    assert len(picked) == 1 and picked[0].visits == 12
    start = [e for e in m.edges if e.source == START]
    assert [e.action.text for e in start] == ["hi"]
    greeting = m.states[start[0].target]
    assert [c.payload for c in greeting.choices] == ["PRODUCTS", "HELP", "CONTACT"]
    # every postback offered was pressed: 3 + 12 + 1 (the one Picked state's Main menu)
    assert sorted(e.action.payload for e in m.edges if e.source != START) == sorted(
        ["PRODUCTS", "HELP", "CONTACT", "MENU", *[f"PICK_{i}" for i in range(1, 13)]])
    contact = next(s for s in m.states.values() if s.preview == "Reach us")
    assert [(x["kind"], x["title"]) for x in contact.links] == [("url", "Website"), ("call", "Call us")]
    assert not any(e.action.title in ("Website", "Call us") for e in m.edges)  # leaves, never followed
    # each path in a fresh contact: the walk to Main menu replays hi → Products → Pick 1
    assert [a.payload or a.text for a in transport.walks[-1]] == ["hi", "PRODUCTS", "PICK_1", "MENU"]
    assert len({c for c, _ in transport.bot.received}) == len(transport.walks)


def test_findings_dead_end_loop_and_the_12_card_carousel_broken_on_both_channels():
    m, _ = run(SHOP)
    dead = m.find("dead_end")
    assert [m.states[f.state].preview for f in dead] == ["Type anything and a person will read it"]
    loops = m.find("loop")
    assert loops and all(m.edges[f.edge].action.payload == "MENU" for f in loops)
    rules = {f.rule for f in m.find("lint")}
    assert {"messenger.elements", "whatsapp.list_rows"} <= rules
    carousel_state = next(s for s in m.states.values() if s.preview == "Our range")
    assert all(f.state == carousel_state.id for f in m.find("lint") if f.rule == "messenger.elements")
    assert "dead_end" in kinds(m) and "broken" not in kinds(m)


def test_channels_chosen_limit_the_lint():
    m, _ = run(SHOP, channels=("whatsapp",))
    assert {f.rule for f in m.find("lint")} and all(f.rule.startswith("whatsapp.") for f in m.find("lint"))


def test_a_broken_postback_and_an_unsupported_reply_are_broken_buttons():
    script = {"send:hi": [menu("Hi", ("Works", "OK"), ("Silent", "SILENT"), ("Odd", "ODD"), ("Fails", "FAIL"))],
              "postback:OK": [text("Thank you, all set")],
              "postback:ODD": [{"type": "text", "content_type": "rating_template", "text": "Rate us"}],
              "postback:FAIL": SendFailed}
    m, _ = run(script)
    assert m.status == "finished"
    by_payload = {e.action.payload: e for e in m.edges if e.source != START}
    assert by_payload["SILENT"].status == "no_reply" and by_payload["SILENT"].target is None
    assert by_payload["ODD"].status == "unsupported" and by_payload["ODD"].target
    assert by_payload["FAIL"].status == "send_error" and "400" in by_payload["FAIL"].error
    broken = [f.message for f in m.find("broken")]
    assert any('"Silent" got no reply' in b for b in broken)
    assert any("rating_template" in b for b in broken)
    assert [f.kind for f in m.findings if f.edge == m.edges.index(by_payload["FAIL"])] == ["send_error"]
    assert [m.states[f.state].preview for f in m.find("dead_end")] == ["Rate us"]  # "Thank you, all set" is an end


def test_depth_steps_and_states_limits_stop_with_a_reason_and_keep_the_map():
    chain = {"send:hi": [menu("Step 0", ("Next", "N1"))],
             **{f"postback:N{i}": [menu(f"Room {'abcdefghij'[i]}", ("Next", f"N{i + 1}"))] for i in range(1, 10)}}
    m, _ = run(chain, limits={"depth": 2})
    assert m.status == "finished" and len(m.states) == 3
    assert any("depth limit 2" in f.message for f in m.find("limit")) and m.stats["unexplored"] == 1
    m, _ = run(chain, limits={"depth": 9, "max_steps": 6})
    assert m.status == "stopped" and "max steps (6)" in m.message
    assert m.stats["steps"] <= 6 and len(m.states) == 3  # paths of 1, 2 and 3 actions
    m, _ = run(chain, limits={"depth": 9, "max_states": 2})
    assert len(m.states) == 2 and any("max states (2)" in f.message for f in m.find("limit"))
    with pytest.raises(ValueError, match="depth must be a whole number"):
        Limits(depth=-1)


def test_a_bot_that_never_answers_or_ignores_the_start_fails_with_a_clear_message():
    m, _ = run({})
    assert m.status == "failed" and 'did not answer the start message "hi"' in m.message
    assert [f.kind for f in m.findings] == ["ignored"] and m.edges[0].status == "no_reply"
    m, _ = run({"send:hi": SendFailed})
    assert m.status == "failed" and "nothing could be mapped" in m.message and "400" in m.message


def test_a_start_message_ignored_beside_one_answered_keeps_the_partial_map():
    m, _ = run(SHOP, starts=["hi", "hola"])
    assert m.status == "finished" and len(m.states) == 5
    assert [f.message for f in m.find("ignored")] == ['the bot did not answer the start message "hola"']


def test_a_bot_that_answers_forever_is_cut_and_flagged_endless():
    m, _ = run({"send:hi": [menu("Hi", ("Spam", "SPAM"))], "postback:SPAM": ENDLESS}, cut_after=30)
    assert m.status == "finished"
    [finding] = m.find("endless")
    assert "30 replies" in finding.message and m.edges[finding.edge].status == "cut"


def test_rejected_webhooks_during_the_crawl_are_findings_once_each():
    m, _ = run(SHOP, rejected=[{"id": 7, "status_code": 401, "reason": "signature mismatch"}])
    assert [f.message for f in m.find("rejected")] == ["webhook d-7 was refused (401): signature mismatch"]


def test_state_never_leaks_between_paths():
    def greet(seen):  # a bot that remembers the contact says "welcome back" to one it has met
        return [menu("Welcome back" if seen.count("send:hi") > 1 else "Hi", ("A", "A"), ("B", "B"))]

    m, transport = run({"send:hi": greet, "postback:A": [text("thanks")], "postback:B": [text("bye")]})
    assert not [s for s in m.states.values() if "Welcome back" in s.preview]
    assert len(transport.walks) == 3 and not m.find("unstable")


def test_a_bot_that_answers_a_replay_differently_is_reported_unstable():
    calls = []

    def moody(seen):
        calls.append(1)
        return [menu("Hi" if len(calls) == 1 else "Hello", ("A", "A"))]

    m, _ = run({"send:hi": moody, "postback:A": [text("thanks")]})
    [finding] = m.find("unstable")
    assert "does not answer the same way twice" in finding.message
    assert m.edges[finding.edge].status == "unstable" and m.status == "finished"


def test_parallel_walks_give_the_same_map_and_a_stop_event_ends_the_crawl():
    one, _ = run(SHOP)
    four, _ = run(SHOP, limits={"workers": 4})
    assert sorted(one.states) == sorted(four.states)
    assert sorted(e.key for e in one.edges) == sorted(e.key for e in four.edges)
    stop = threading.Event()
    stop.set()
    m, _ = run(SHOP, stop=stop)
    assert m.status == "stopped" and "stopped on request" in m.message


def test_signatures_mask_numbers_names_and_ids_but_not_menus():
    assert mask("Hi Tess, order 1234 ref 9f8e7d6c5b4a", ("Tess",)) == "Hi {name}, order # ref {id}"
    a = [row(text("Picked 3"))]
    b = [row(text("Picked 7"))]
    c = [row(menu("Picked 3", ("X", "X")))]
    assert signature(a) == signature(b) != signature(c)
    assert Action("postback", "Go", "GO").key == ("postback", "GO")


# ---------------------------------------------------------------- a bot that paraphrases (Limits.similarity)

HOURS = ["We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturdays.",
         "We're open from 8 am to 6 pm on weekdays, and from 9 to 1 on Saturdays.",
         "On weekdays we are open 8 am to 6 pm, and on Saturdays 9 to 1."]


def paraphrasing(answers, buttons=(("Main menu", "MENU"),)):
    """A reply that takes the next wording each time it is asked (any contact), with the same buttons."""
    turn = iter(range(10_000))

    def answer(seen):
        return [menu(answers[next(turn) % len(answers)], *buttons)]
    return answer


def ai_shop(hours=HOURS):
    return {"send:hi": [menu("Hi Tess! Pick one", ("Hours", "HOURS"), ("Hours again", "HOURS2"))],
            "postback:HOURS": paraphrasing(hours), "postback:HOURS2": paraphrasing(hours[1:] + hours[:1]),
            "postback:MENU": [menu("Hi Tess! Pick one", ("Hours", "HOURS"), ("Hours again", "HOURS2"))]}


def test_without_similarity_a_paraphrase_is_another_state_or_unstable():
    m, _ = run(ai_shop())
    hours = [s for s in m.states.values() if "open" in s.preview]
    assert len(hours) >= 2  # each wording its own state
    assert all(s.paraphrases == 0 for s in m.states.values())
    assert "unstable" in kinds(m)  # replaying Hours on the way to Main menu got another wording


def test_with_similarity_paraphrases_are_one_state_and_the_map_says_so():
    m, _ = run(ai_shop(), limits={"similarity": 0.7})
    assert m.status == "finished", m.message
    hours = [s for s in m.states.values() if "open" in s.preview]
    assert len(hours) == 1
    state = hours[0]
    assert state.paraphrases >= 1 and state.visits == state.paraphrases + 1
    assert 0.7 <= state.lowest_similarity < 1
    assert "unstable" not in kinds(m)
    assert {e.target for e in m.edges if e.action.payload in ("HOURS", "HOURS2")} == {state.id}
    again = type(m).from_dict(m.to_dict()).states[state.id]  # map.json keeps it
    assert (again.paraphrases, again.lowest_similarity) == (state.paraphrases, state.lowest_similarity)
    from apichat.explore import report_md
    assert "paraphrase" in report_md(m) and "similarity 0.7" in report_md(m)


def test_a_wrong_answer_or_another_menu_is_never_merged():
    wrong = [HOURS[0], "We are open 24 hours a day, every day, including Sundays."]
    m, _ = run(ai_shop(wrong), limits={"similarity": 0.7})
    assert len([s for s in m.states.values() if "open" in s.preview]) == 2
    other_buttons = {"send:hi": [menu("Hi Tess! Pick one", ("Hours", "HOURS"), ("Shop", "SHOP"))],
                     "postback:HOURS": [menu(HOURS[0], ("Main menu", "MENU"))],
                     "postback:SHOP": [menu(HOURS[1], ("Buy", "BUY"))]}  # similar text, another menu
    m, _ = run(other_buttons, limits={"similarity": 0.5})
    assert len([s for s in m.states.values() if "open" in s.preview]) == 2
    assert all(s.paraphrases == 0 for s in m.states.values())


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, True, "0.8"])
def test_similarity_must_be_a_number_in_0_1(bad):
    with pytest.raises(ValueError, match="similarity must be a number above 0 and at most 1"):
        Limits(similarity=bad)


def test_generated_scenarios_expect_a_merged_state_by_meaning_and_load():
    from apichat.explore import generated_scenarios
    from apichat.scenarios import parse_scenario
    m, _ = run(ai_shop(), limits={"similarity": 0.7})
    texts = [e.matcher.text for name, text in generated_scenarios(m).items()
             for step in parse_scenario(text, name).steps for e in step.expect if e.matcher.text]
    merged = [t for t in texts if t.similar_to is not None]
    assert merged and all(t.similar_to in HOURS and t.at_least == 0.7 for t in merged)
    assert any(t.equals == "Hi Tess! Pick one" for t in texts)  # a text that never varied stays exact
