"""Ask N times: N contacts at once, their answers compared, and the scenario written from them."""

import pytest
import yaml

from apichat import ask
from apichat.load.options import SAFE_USERS
from apichat.rows import data_of
from apichat.scenarios import parse_scenario
from apichat.store import open_store
from tests.scenario_helpers import InstantBot, failing_deliver

PERSONA = {"id": "tester-1", "name": "Ana Tester", "email": "ana@example.com", "phone": ""}


@pytest.fixture
def store(tmp_path):
    """A file store, as the console's: N threads write to it at once (an in-memory one locks its tables)."""
    s = open_store(str(tmp_path / "ask.db"))
    s.save_profile("p", bot_url="http://bot.invalid/api/apichat/x", flow_key="k")
    yield s
    s.close()


def asked(store, message="hi", n=5, deliver=None):
    asks = ask.Asks(settle=0.2, timeout=2, poll=0.01, deliver=deliver or InstantBot())
    ask_id = asks.start(store, store.get_profile("p"), PERSONA, message, n)
    return asks.wait(ask_id, 20)


# ---------------------------------------------------------------- the rules


def test_the_real_workspace_rule_is_the_load_runs_one():
    assert ask.SAFE_ASKS == SAFE_USERS
    ask.check(5, real=True, confirmed=False)
    ask.check(10, real=False, confirmed=False)  # the sandbox needs no confirmation
    ask.check(6, real=True, confirmed=True)
    with pytest.raises(ask.AskError, match="confirmation"):
        ask.check(6, real=True, confirmed=False)
    for n in (1, 11):
        with pytest.raises(ask.AskError, match="2 to 10"):
            ask.check(n, real=False, confirmed=False)


@pytest.mark.parametrize(("lowest", "expected"), [
    (1.0, 0.95), (0.978, 0.92), (0.87, 0.82), (0.8, 0.75), (0.2, 0.3), (0.0, 0.3), (0.349, 0.3),
])
def test_the_threshold_is_just_under_the_lowest_similarity(lowest, expected):
    assert ask.threshold(lowest) == expected


def test_the_most_typical_answer_is_the_one_most_like_the_others():
    texts = ["We open at 8 am on weekdays.", "Shipping takes 3 days.", "On weekdays we open at 8 am.",
             "We open at 8 am on weekdays!"]
    got = ask.compare(texts)
    assert got.typical in (0, 2, 3)
    assert got.similarity[got.typical] == 1.0
    assert got.similarity[1] == got.lowest < 0.5
    assert got.matrix[1][2] == got.matrix[2][1]
    assert got.method == "lexical"


def test_all_equal_answers_are_all_1():
    got = ask.compare(["same words"] * 4)
    assert got.typical == 0 and got.similarity == [1.0] * 4 and got.lowest == 1.0


# ---------------------------------------------------------------- the diff


def test_words_missing_from_the_typical_answer_are_marked():
    got = ask.diff_html("We open at 9 am on weekdays.", "We open at 8 am on weekdays.")
    assert got == 'We open at <mark class="acc-diff">9</mark> am on weekdays.'


def test_case_and_punctuation_are_not_differences_and_spacing_is_kept():
    assert ask.diff_html("we OPEN\nat 8!", "We open at 8.") == "we OPEN\nat 8!"


def test_the_diff_escapes_html():
    got = ask.diff_html('Hi <b>there</b> & "you"', "Hi there")
    assert "<b>" not in got and "&lt;b&gt;there&lt;/b&gt;" in got and "&amp;" in got and "&quot;you&quot;" in got
    assert got.startswith("Hi ")


# ---------------------------------------------------------------- asking


def test_five_contacts_in_five_conversations_get_the_same_answer(store):
    bot = InstantBot()
    got = asked(store, deliver=bot)
    assert got.done and len(got.answers) == 5
    assert len({b["sender"]["id"] for b in bot.calls}) == 5
    assert {b["sender"]["name"] for b in bot.calls} == {"Ana Tester"}  # the bot greets the persona, not "Ask 3/5"
    assert len({a.conversation["id"] for a in got.answers}) == 5
    assert [store.get_contact(a.contact["id"])["name"] for a in got.answers] == \
        [f"Ask {i}/5 · Ana Tester" for i in range(1, 6)]
    for answer in got.answers:
        assert answer.state == "settled" and answer.replies and answer.text
        assert 0 <= answer.first_reply <= answer.last_reply < 2
    comparison = got.comparison()
    assert comparison.similarity == [1.0] * 5 and comparison.typical == 0


def test_a_failed_send_is_an_answer_with_its_reason(store):
    got = asked(store, n=2, deliver=failing_deliver)
    assert [a.state for a in got.answers] == ["failed", "failed"]
    assert "conversation_id" in got.answers[0].error
    assert got.comparison() is None
    with pytest.raises(ask.AskError, match="no answer"):
        got.scenario_yaml()


def test_an_empty_message_or_too_many_asks_do_not_start(store):
    asks = ask.Asks(deliver=InstantBot())
    with pytest.raises(ask.AskError, match="empty"):
        asks.start(store, store.get_profile("p"), PERSONA, "  ", 3)
    with pytest.raises(ask.AskError, match="confirmation"):
        asks.start(store, store.get_profile("p"), PERSONA, "hi", 6, real=True)
    assert asks.get("nope") is None


# ---------------------------------------------------------------- the scenario


def test_the_scenario_expects_an_answer_like_the_most_typical_one(store):
    got = asked(store)
    text = got.scenario_yaml()
    assert text.startswith("# Asked 5 times")
    doc = yaml.safe_load(text)
    assert doc["contact"] == {"name": "Ana Tester", "email": "ana@example.com"}
    [step] = doc["steps"]
    assert step["send"] == "hi"
    typical = got.answers[got.comparison().typical]
    texts = [e["text"] for e in step["expect"] if "text" in e]
    assert texts and all(set(t) == {"similar_to", "at_least"} for t in texts)
    assert [t["similar_to"] for t in texts] == [data_of(r)["text"] for r in typical.replies if data_of(r).get("text")]
    assert all(t["at_least"] == 0.95 for t in texts)  # all equal: 1.00, the ceiling
    parsed = parse_scenario(text, "asked.yaml")  # what is saved loads, and expects what was typical
    assert [e.matcher.text.similar_to for e in parsed.steps[0].expect if e.matcher.text] == \
        [t["similar_to"] for t in texts]
