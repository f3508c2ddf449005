"""What the explorer makes of a map: DOT, report, generated scenarios, coverage, diff (scripted bots, no processes)."""

from __future__ import annotations

import pytest

from apichat.explore import load_map
from apichat.explore.coverage import coverage, coverage_text, trace_scenario
from apichat.explore.diff import diff_maps, diff_text
from apichat.explore.output import covering_paths, generated_scenarios, report_md, to_dot, write_all
from apichat.scenarios import parse_scenario
from tests.explore_fakes import menu, text
from tests.test_explore_crawl import SHOP, run

V1 = {"send:hi": [menu("Hi! Pick one", ("Orders", "ORDERS"), ("Help", "HELP"))],
      "postback:ORDERS": [menu("Your orders", ("Track", "TRACK"), ("Back", "MENU"))],
      "postback:TRACK": [text("Order 123 is on its way, thanks!")],
      "postback:HELP": [text("Call us any time, bye")],
      "postback:MENU": [menu("Hi! Pick one", ("Orders", "ORDERS"), ("Help", "HELP"))]}
V2 = {**V1,
      "send:hi": [menu("Hi! Pick one", ("Orders", "ORDERS"), ("Help", "HELP"), ("Offers", "OFFERS"))],
      "postback:MENU": [menu("Hi! Pick one", ("Orders", "ORDERS"), ("Help", "HELP"), ("Offers", "OFFERS"))],
      "postback:OFFERS": [text("20% off today, enjoy")],
      "postback:TRACK": [text("Order 123 is delayed, sorry")]}


def test_the_map_round_trips_through_json_and_bad_json_is_refused():
    m, _ = run(SHOP)
    again = load_map(m.to_json())
    assert again.to_dict() == m.to_dict()
    for junk, why in (("{", "not JSON"), ("[]", "not a crawl map"), ('{"states": [{"x": 1}]}', "not a crawl map")):
        with pytest.raises(ValueError, match=why):
            load_map(junk)


def test_dot_draws_states_with_buttons_findings_coloured_and_leaves(tmp_path):
    m, _ = run(SHOP)
    dot = to_dot(m)
    assert dot.startswith("digraph bot {") and dot.rstrip().endswith("}")
    carousel = next(s for s in m.states.values() if s.preview == "Our range")
    line = next(x for x in dot.splitlines() if x.strip().startswith(f'"{carousel.id}" ['))
    assert 'fillcolor="#ffedd5"' in line and "[Pick]" in line  # lint: orange
    dead = next(s for s in m.states.values() if s.preview.startswith("Type anything"))
    assert 'fillcolor="#fef3c7"' in next(x for x in dot.splitlines() if x.strip().startswith(f'"{dead.id}" ['))
    assert "↗ Website" in dot and "☎ Call us" in dot and 'label="Item 3 › Pick"' in dot
    assert 'label="send \\"hi\\""' in dot  # quotes escaped
    report = report_md(m)
    assert "### dead end (1)" in report and "messenger.elements" in report
    written = write_all(m, tmp_path, "Tess")
    assert {p.split("/")[-1] for p in written} >= {"map.json", "map.dot", "report.md"}


def test_generated_scenarios_are_the_fewest_paths_over_every_answered_edge():
    m, _ = run(V1)
    paths = covering_paths(m)
    # hi → Orders → Track, hi → Orders → Back, hi → Help: 3 paths cover all 5 edges
    assert sorted(" → ".join(e.action.label for e in p) for p in paths) == [
        'send "hi" → Help', 'send "hi" → Orders → Back', 'send "hi" → Orders → Track']
    assert {id(e) for p in paths for e in p} == {id(e) for e in m.edges}
    files = generated_scenarios(m, "Tess")
    assert len(files) == 3
    track = parse_scenario(next(t for n, t in files.items() if "track" in n))
    assert [s.label for s in track.steps] == ['send "hi"', 'click "Orders"', 'click "Track"']
    assert track.steps[2].messages.exactly == 1 and track.contact == {"name": "Tess"}
    assert "Order 123 is on its way" in next(t for n, t in files.items() if "track" in n)


def test_carousel_buttons_are_clicked_by_card_and_repeated_titles_by_payload():
    m, _ = run(SHOP)
    files = generated_scenarios(m)
    text_all = "\n".join(files.values())
    assert "click: {card: Item 12, button: Pick}" in text_all


def test_coverage_of_scenarios_walked_on_the_map():
    m, _ = run(V1)
    full = parse_scenario("name: Full\nsteps:\n  - send: hi\n  - click: orders\n  - click: Track\n")
    part = parse_scenario("name: Part\nsteps:\n  - send: hi\n  - click: Help\n  - send_image: https://x.test/a.png\n")
    off = parse_scenario("name: Off\nsteps:\n  - send: hello\n")
    cov = coverage(m, [trace_scenario(m, s) for s in (full, part, off)])
    assert cov.total_states == 4 and len(cov.states) == 4 and cov.state_percent == 100
    assert len(cov.edges) == 4 and cov.total_edges == 5  # "Back" is never pressed
    text_out = coverage_text(m, cov)
    assert "edges: 4/5 (80 %)" in text_out
    assert 'Off: 0 edges — left the map: send "hello" from start was not crawled' in text_out
    assert "sends a image, which the crawl does not" in text_out
    only_help = coverage(m, [trace_scenario(m, parse_scenario("steps:\n  - send: hi\n  - click: Nope\n"))])
    assert "no button \"Nope\"" in only_help.traces[0].left_at
    assert len(only_help.uncovered) == 3


def test_diff_of_two_bot_versions_names_what_was_added_changed_and_removed():
    old, _ = run(V1)
    new, _ = run(V2)
    d = diff_maps(old, new)
    assert [new.states[s].preview for s in d.added] == ["20% off today, enjoy"]
    changed = {new.states[n].preview: what for _, n, what in d.changed}
    assert "Hi! Pick one" in changed and "buttons added ['Offers']" in changed["Hi! Pick one"]
    assert any("delayed" in w for w in changed["Order 123 is delayed, sorry"])
    assert any("Offers" in e for e in d.edges_added)
    assert d.removed == []  # changed states are not also removed
    report = diff_text(old, new, d)
    assert report.startswith("states: +1 −0 ~") and "+ state" in report and "~ state" in report
    assert diff_text(old, old, diff_maps(old, old)).startswith("no difference")
    styles = d.styles()
    assert styles[d.added[0]][0] == "#dcfce7"
    assert 'fillcolor="#dcfce7"' in to_dot(new, styles)
    back = diff_maps(new, old)  # going back: the offers state is removed, drawn apart from the old map
    assert [new.states[s].preview for s in back.removed] == ["20% off today, enjoy"]
    dot = to_dot(old, back.styles(), removed=new, removed_ids=back.removed)
    assert f'"removed-{back.removed[0]}" [label="removed\\n20% off today' in dot
    # the press that led there is drawn too: from the state that still has a place on the map to the removed one
    assert d.removed_edges() == []
    arrows = back.removed_edges()
    offers = [(a, b) for a, b, label, colour in arrows if "Offers" in label and colour == "#b91c1c"]
    assert offers and offers[0][1] == f"removed-{back.removed[0]}", arrows
    assert offers[0][0] in old.states and old.states[offers[0][0]].preview.startswith("Hi! Pick one")
    drawn = to_dot(old, back.styles(), extra_edges=arrows, removed=new, removed_ids=back.removed)
    assert f'"{offers[0][0]}" -> "removed-{back.removed[0]}" [label="removed: Offers"' in drawn


def test_coverage_from_a_run_kept_in_history(tmp_path):
    import json as _json

    from apichat import outbox
    from apichat.explore import trace_run
    from apichat.payloads import parse_bot_message
    from apichat.store import open_store

    m, _ = run(V1)
    db = open_store(str(tmp_path / "console.db"))
    db.save_profile("p1")
    contact = db.save_contact("ana-1", "Ana Tester")
    conv = db.ensure_conversation("p1", "ana-1", 5)
    run_id = db.start_scenario_run(scenario="Orders", path="orders.yaml", profile="p1", total_steps=2,
                                   contact_id="ana-1", conversation=conv["id"])

    def turn(position, kind, bodies, **fields):
        sent = outbox.prepare(db, conv, contact, kind, **fields)
        ids = []
        for body in bodies:
            raw = _json.dumps({"sender_id": "ana-1", "conv_id": 5, **body}).encode()
            ids.append(db.accept_webhook(profile="p1", route="/webhook/p1", method="POST", headers={}, body=raw,
                                         message=parse_bot_message(raw))[2])
        db.add_scenario_result(run_id, position=position, line=position, label="", status="passed",
                               detail={"sent_id": sent, "reply_ids": ids})

    turn(1, "text", V1["send:hi"], text="hi")
    turn(2, "postback", V1["postback:ORDERS"], title="Orders", payload="ORDERS")
    trace = trace_run(m, db, db.get_scenario_run(run_id))
    assert len(trace.edges) == 2 and not trace.left_at
    cov = coverage(m, [trace])
    assert sorted(m.states[s].preview for s in cov.states) == ["Hi! Pick one", "Your orders"]
