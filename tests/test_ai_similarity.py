"""The offline similarity: what a scenario's similar_to and the chat's side-by-side view rely on."""

import pytest

from apichat.ai import similarity

HOURS = "We are open 8 am to 6 pm on weekdays and 9 to 1 on Saturdays."


@pytest.mark.parametrize(("other", "low", "high"), [
    (HOURS, 1.0, 1.0),
    ("we are OPEN 8 am to 6 pm on weekdays, and 9 to 1 on saturdays!", 1.0, 1.0),  # case, punctuation
    ("on Saturdays 9 to 1 and on weekdays 8 am to 6 pm we are open", 1.0, 1.0),  # word order
    ("We're open from 8 am to 6 pm on weekdays, and from 9 to 1 on Saturdays.", 0.8, 0.95),  # a paraphrase
    ("We are open 24 hours a day, every day, including Sundays.", 0.3, 0.6),  # a wrong answer
    ("Shipping takes 3 to 5 working days.", 0.0, 0.45),  # another subject
])
def test_scores_rank_paraphrases_above_wrong_answers(other, low, high):
    got = similarity.score(HOURS, other)
    assert low <= got.value <= high
    assert got.method == "lexical"


def test_empty_texts():
    assert similarity.score("", "").value == 1.0
    assert similarity.score("", HOURS).value == 0.0
    assert similarity.score(None, None).value == 1.0


def test_score_prints_value_and_method():
    assert str(similarity.Score(0.4567, "lexical")) == "0.46 (lexical)"


def test_matrix_is_symmetric_with_ones_on_the_diagonal():
    m = similarity.matrix(["a b c", "a b d", "x y z"])
    assert [m[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert m[0][1] == m[1][0] > m[0][2] == m[2][0]


def test_most_typical_is_the_one_most_like_the_rest():
    texts = ["open 9 to 5 on weekdays", "closed all week", "open 9 to 5 weekdays", "we open 9 to 5 on weekdays"]
    assert similarity.most_typical(texts) == 0
    assert similarity.most_typical(["only one"]) == 0
    assert similarity.most_typical(["x y", "a b c", "a b c"]) == 1  # a tie goes to the first
    with pytest.raises(ValueError):
        similarity.most_typical([])
