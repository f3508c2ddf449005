"""The demo bot's answers about the shop: varied wording that a similarity check accepts, made-up answers it
catches, a seed that replays them, and the `hallucinate` fault through the bot_url like the other faults."""

from __future__ import annotations

from itertools import combinations

import pytest

from apichat.ai.similarity import score
from sandbox import ai
from sandbox.bot import respond
from tests.test_sandbox import CONTACT, MEDIA_BASE, answer_to, bodies, text_payload

QUESTIONS = {"hours": "When are you open on Saturday?", "shipping": "How long does shipping take?",
             "returns": "Can I return a coffee I don't like?", "products": "What do you sell?"}


@pytest.mark.parametrize("topic", ai.TOPICS, ids=lambda t: t.name)
def test_every_two_paraphrases_of_a_topic_score_at_least_0_7(topic):
    assert len(topic.answers) >= 3
    pairs = {(a, b): score(a, b).value for a, b in combinations(topic.answers, 2)}
    assert min(pairs.values()) >= 0.7, min(pairs.items(), key=lambda kv: kv[1])
    assert len(set(topic.answers)) == len(topic.answers)  # varied, not copies


@pytest.mark.parametrize("topic", ai.TOPICS, ids=lambda t: t.name)
def test_a_made_up_answer_scores_below_0_6_against_every_paraphrase(topic):
    assert topic.wrong
    for wrong in topic.wrong:
        worst = max(score(wrong, right).value for right in topic.answers)
        assert worst < 0.6, (wrong, worst)


def test_the_hours_keep_the_facts_words_and_the_made_up_one_does_not():
    hours = ai.TOPICS[0]
    assert all("8 am to 6 pm" in a and "weekdays" in a for a in hours.answers)
    assert all("8 am" not in w for w in hours.wrong)


@pytest.mark.parametrize("name, question", QUESTIONS.items())
def test_a_question_in_own_words_gets_an_answer_about_its_topic(name, question):
    answer = answer_to(question)
    [body] = bodies(answer)
    topic = next(t for t in ai.TOPICS if t.name == name)
    assert answer.command == f"shop_{name}" and body["text"] in topic.answers


def test_commands_and_other_free_text_behave_as_before():
    assert answer_to("products").command == "carousel"  # a command wins over the products topic
    assert answer_to("help").command == "help_text"
    [echo] = bodies(answer_to("What's the weather?"))
    assert echo["text"].startswith("You said: “What's the weather?”")
    assert answer_to("something the bot does not know").command == "echo"


def _sequence(writer: ai.Writer, n: int = 20, hallucinate: bool = False) -> list[ai.Written]:
    return [writer.write(ai.TOPICS[i % len(ai.TOPICS)], hallucinate) for i in range(n)]


def test_the_same_seed_gives_the_same_wording_and_another_seed_another():
    assert _sequence(ai.Writer(7)) == _sequence(ai.Writer(7))
    assert _sequence(ai.Writer(7)) != _sequence(ai.Writer(8))
    texts = {w.text for w in _sequence(ai.Writer(7), 40)}
    assert len(texts) > len(ai.TOPICS)  # the wording varies within a topic
    assert any(w.buttons for w in _sequence(ai.Writer(7))) and not all(w.buttons for w in _sequence(ai.Writer(7)))
    writer = ai.Writer(3)
    first = _sequence(writer)
    writer.reseed(3)
    assert _sequence(writer) == first


def test_hallucinate_makes_exactly_one_answer_in_three_up_and_a_similarity_check_catches_it():
    answers = _sequence(ai.Writer(5), 30, hallucinate=True)
    for block in range(0, 30, 3):
        assert sum(w.wrong for w in answers[block:block + 3]) == 1
    for number, written in enumerate(answers):
        topic = ai.TOPICS[number % len(ai.TOPICS)]
        best = max(score(written.text, right).value for right in topic.answers)
        assert (best < 0.6) if written.wrong else (best == 1.0)
    assert not any(w.wrong for w in _sequence(ai.Writer(5), 30))


def test_seed_command_reseeds_and_says_so():
    writer = ai.Writer(1)
    payload = text_payload(CONTACT, 7, "seed 42")
    answer = respond(payload, media_base=MEDIA_BASE, writer=writer)
    assert writer.seed == 42 and "Seed 42" in bodies(answer)[0]["text"] and answer.bypass_faults
    assert "The seed is 42" in bodies(respond(text_payload(CONTACT, 7, "seed"), media_base=MEDIA_BASE,
                                              writer=writer))[0]["text"]
    assert bodies(respond(text_payload(CONTACT, 7, "seed x"), media_base=MEDIA_BASE,
                          writer=writer))[0]["text"].startswith("Usage: seed")

