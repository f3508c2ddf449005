"""The Explorer page with Streamlit's AppTest: saved maps, a state's detail, findings, coverage, diff, and a crawl
that cannot send (a profile without bot_url) ending with a clear message. No browser, no processes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from apichat.explore import write_all
from tests.conftest import app_page, wait_until
from tests.test_explore_crawl import SHOP, run
from tests.test_explore_maps import V1, V2


@pytest.fixture
def store(page_store, tmp_path):
    page_store.save_profile("p1", verify_key="k", flow_key="f")  # no bot_url: every send fails with a reason
    return page_store


def save(tmp_path: Path, name: str, script: dict) -> None:
    m, _ = run(script)
    write_all(m, tmp_path / "explore" / name, "Tess")


def test_without_a_map_the_page_says_how_to_get_one(store):
    at = app_page("explorer").run()
    assert not at.exception
    assert any("No map yet" in i.value for i in at.info)
    assert not at.button(key="ex-run").disabled


def test_a_saved_map_shows_its_graph_state_detail_and_findings(store, tmp_path):
    save(tmp_path, "shop", SHOP)
    at = app_page("explorer").run()
    assert not at.exception
    assert at.selectbox(key="ex-source").value == "shop"
    charts = at.get("graphviz_chart")
    assert charts and "digraph bot" in charts[0].proto.spec and "Our range" in charts[0].proto.spec
    state = at.selectbox(key="ex-state")
    assert state.value.startswith("s")
    carousel_id = next(o for o in state.options if "Our range" in o).split(" · ")[0]
    at.selectbox(key="ex-state").set_value(carousel_id).run()
    notes = [h.proto.body for h in at.get("html") if 'class="acc-lint"' in h.proto.body]
    assert notes and "messenger.elements" in notes[0]  # the 12-card carousel, as the chat flags it
    assert any("Pick" == b.label for b in at.button)
    warnings = " ".join(w.value for w in at.warning)
    assert "lint" in warnings and "cards has 12" in warnings
    assert any("dead end 1" in c.value for c in at.caption)


def test_pressing_a_button_in_the_state_detail_goes_where_it_leads(store, tmp_path):
    save(tmp_path, "v1", V1)
    at = app_page("explorer").run()
    [orders] = [b for b in at.button if b.label == "Orders"]
    orders.click().run()
    assert "Your orders" in at.selectbox(key="ex-state").format_func(at.selectbox(key="ex-state").value)


def test_coverage_and_diff_tabs(store, tmp_path):
    save(tmp_path, "v1", V1)
    save(tmp_path, "v2", V2)
    (tmp_path / "explore" / "v2" / "map.json").touch()  # newest first
    at = app_page("explorer").run()
    assert at.selectbox(key="ex-source").value == "v2"
    at.multiselect(key="ex-cov-files").select("scenarios/greeting_and_menu.yaml").run()
    assert any(m.label == "States covered" for m in at.metric)
    codes = " ".join(c.value for c in at.code)
    assert "left the map" in codes  # the demo bot's scenario does not fit this bot's map
    at.selectbox(key="ex-diff-old").set_value("v1").run()
    at.selectbox(key="ex-diff-new").set_value("v2").run()
    codes = " ".join(c.value for c in at.code)
    assert "+ state" in codes and "~ state" in codes and "Offers" in codes
    at.selectbox(key="ex-diff-old").set_value("v2").run()  # going back: the Offers press and its state are gone
    at.selectbox(key="ex-diff-new").set_value("v1").run()
    dots = [chart.proto.spec for chart in at.get("graphviz_chart")]
    assert any('[label="removed: Offers", color="#b91c1c"' in dot and '"removed-' in dot for dot in dots), dots[-1:]


def test_a_crawl_that_cannot_send_fails_with_the_reason_and_keeps_the_page(store, tmp_path):
    at = app_page("explorer").run()
    at.text_input(key="ex-start").set_value(" , ").run()
    at.button(key="ex-run").click().run()
    assert any("at least one start message" in e.value for e in at.error)
    at.text_input(key="ex-start").set_value("hi").run()
    at.button(key="ex-run").click().run()
    wait_until(lambda: not any(t.name.startswith("explore-") for t in threading.enumerate()), 30, 0.1,
               "the crawl to end")
    at.run()
    assert not at.exception
    messages = " ".join(w.value for w in at.warning) + " ".join(s.value for s in at.success)
    errors = " ".join(e.value for e in at.error)
    assert "nothing could be mapped" in messages + errors and "no bot_url" in messages + errors
