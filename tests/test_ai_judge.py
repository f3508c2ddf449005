"""The judge and the OpenAI-compatible client: the verdict's strict parser (offline), and the client, the
judge's cache and embeddings against the fake server (tests/fake_llm.py) started as a process."""

from __future__ import annotations

import json

import pytest

from apichat.ai import AIError, Checks, Endpoint, EndpointError, Judge, JudgeError, judge, similarity
from apichat.ai.llm import endpoint_from_env
from apichat.store import open_store

KEY = "sk-test-0123456789abcdef"


# ---------------------------------------------------------------- offline: the verdict, the prompt, the settings

@pytest.mark.parametrize("answer", [
    '{"pass": true, "reason": "it greets"}',
    '  {"pass": true, "reason": "it greets"}\n',
    '```json\n{"pass": true, "reason": "it greets"}\n```',
    '```\n{"pass": true, "reason": "it greets"}\n```',
    '```JSON {"pass": true, "reason": "it greets"} ```',
])
def test_a_verdict_is_read_bare_or_in_a_json_fence(answer):
    assert judge.parse_verdict(answer) == judge.Verdict(True, "it greets")


@pytest.mark.parametrize(("answer", "why"), [
    ("Yes, it passes.", "not a JSON verdict"),
    ('Sure! {"pass": true, "reason": "x"}', "not a JSON verdict"),  # prose around the JSON
    ('```json\n{"pass": true, "reason": "x"}\n``` and more', "not a JSON verdict"),
    ('{"pass": "true", "reason": "x"}', '"pass" must be true or false'),
    ('{"pass": 1, "reason": "x"}', '"pass" must be true or false'),
    ('{"pass": true}', 'not exactly {"pass"'),
    ('{"pass": true, "reason": "x", "score": 0.9}', 'not exactly {"pass"'),
    ('{"pass": true, "reason": null}', '"reason" must be a text'),
    ('[true, "x"]', 'not exactly {"pass"'),
    ("", "not a JSON verdict"),
])
def test_anything_else_is_not_a_verdict(answer, why):
    with pytest.raises(ValueError, match=why.replace("{", r"\{")):
        judge.parse_verdict(answer)


def test_the_prompt_gives_the_criterion_and_the_reply_and_asks_for_the_json_verdict():
    system, user = judge.prompt("answers in English", "Hola, ¿qué tal?")
    assert system["role"] == "system" and '{"pass": true or false, "reason"' in system["content"]
    assert user["role"] == "user" and "Criterion: answers in English" in user["content"]
    assert "\nHola, ¿qué tal?\n" in user["content"]


def test_endpoints_come_from_the_environment():
    assert endpoint_from_env("APICHAT_JUDGE", {}) is None
    found = endpoint_from_env("APICHAT_JUDGE", {"APICHAT_JUDGE_URL": " http://127.0.0.1:11434/v1 ",
                                                "APICHAT_JUDGE_MODEL": "llama3.1", "APICHAT_JUDGE_TIMEOUT": "5"})
    assert found == Endpoint("http://127.0.0.1:11434/v1", "llama3.1", "", 5.0)
    late = endpoint_from_env("APICHAT_JUDGE", {"APICHAT_JUDGE_URL": "http://x", "APICHAT_JUDGE_TIMEOUT": "soon"})
    with pytest.raises(EndpointError, match="APICHAT_JUDGE_TIMEOUT must be a number of seconds .* got 'soon'"):
        late.chat([])  # a setting that cannot be used is an error where it is used, not a crash where it is read
    odd = endpoint_from_env("APICHAT_EMBEDDINGS", {"APICHAT_EMBEDDINGS_URL": "127.0.0.1:11434"})
    with pytest.raises(EndpointError, match="APICHAT_EMBEDDINGS_URL must be an http"):
        odd.embeddings(["a"])
    checks = Checks.from_env(env={})
    assert checks.judge is None and checks.similarity is similarity.score
    checks = Checks.from_env(env={"APICHAT_EMBEDDINGS_URL": "http://x/v1", "APICHAT_EMBEDDINGS_MODEL": "e",
                                  "APICHAT_JUDGE_URL": "http://y/v1"})
    assert checks.similarity.__self__.method == "embeddings e" and checks.judge.endpoint.url == "http://y/v1"


def test_a_raw_answer_is_shown_on_one_line_short_and_without_the_key():
    shown = Endpoint("http://x", "m", KEY).shown(f"bad key {KEY}\n" + "x" * 1000)
    assert KEY not in shown and "••••••cdef" in shown and "\n" not in shown and len(shown) <= 302


def test_cosine():
    assert similarity.cosine([1, 0], [2, 0]) == 1.0
    assert similarity.cosine([1, 0], [0, 3]) == 0.0
    assert similarity.cosine([1, 0], [-1, 0]) == 0.0  # opposite: nothing alike, not below 0
    assert similarity.cosine([0, 0], [0, 0]) == 1.0 and similarity.cosine([0, 0], [1, 0]) == 0.0
    assert similarity.cosine([1, 1], [1, 0]) == pytest.approx(0.7071, abs=1e-4)


# ---------------------------------------------------------------- against the fake server

VERDICT_OK = '{"pass": true, "reason": "it greets"}'


def test_chat_sends_the_model_temperature_0_and_the_key_as_bearer(fake_llm):
    fake_llm.script(chat=[{"answer": "hello"}])
    assert Endpoint(fake_llm.url, "m1", KEY).chat([{"role": "user", "content": "hi"}]) == "hello"
    sent = fake_llm.calls()["requests"][0]
    assert sent["authorization"] == f"Bearer {KEY}" and sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "m1" and sent["body"]["temperature"] == 0.0
    Endpoint(fake_llm.url, "m1").chat([{"role": "user", "content": "hi"}])
    assert fake_llm.calls()["requests"][1]["authorization"] == ""  # no key, no header


@pytest.mark.parametrize(("rule", "said"), [
    ({"status": 500, "body": f"internal error, key {KEY}"}, "HTTP 500 from /chat/completions: \"internal error"),
    ({"status": 401, "body": "bad key"}, "HTTP 401"),
    ({"delay": 2, "answer": "late"}, "no answer within 0.5 s"),
])
def test_an_endpoint_that_fails_is_an_error_quoting_its_answer_without_the_key(fake_llm, rule, said):
    fake_llm.script(chat=[rule])
    with pytest.raises(EndpointError) as caught:
        Endpoint(fake_llm.url, "m1", KEY, timeout=0.5).chat([{"role": "user", "content": "hi"}])
    assert said in str(caught.value) and KEY not in str(caught.value)
    assert f"m1 at {fake_llm.url}" in str(caught.value)


def test_an_endpoint_nobody_listens_on_is_an_error():
    from tests.conftest import free_port

    with pytest.raises(EndpointError, match="cannot reach"):
        Endpoint(f"http://127.0.0.1:{free_port()}/v1", "m1", timeout=2).chat([])


def test_the_judge_caches_verdicts_in_the_store_and_counts_calls_and_hits(fake_llm, tmp_path):
    store = open_store(str(tmp_path / "console.db"))
    fake_llm.script(chat=[{"when": "rude", "answer": '{"pass": false, "reason": "it is kind"}'},
                          {"answer": f"```json\n{VERDICT_OK}\n```"}])
    first = Judge(Endpoint(fake_llm.url, "m1"), store)
    assert first.verdict("is friendly", "Hi Ana!") == judge.Verdict(True, "it greets")
    assert first.verdict("is friendly", "Hi Ana!").passed  # asked again in the run: from memory, uncounted
    assert first.verdict("is rude", "Hi Ana!") == judge.Verdict(False, "it is kind")
    assert (first.calls, first.cached, fake_llm.calls()["chat"]) == (2, 0, 2)
    again = Judge(Endpoint(fake_llm.url, "m1"), store)  # the next run: the store answers
    assert again.verdict("is friendly", "Hi Ana!") == judge.Verdict(True, "it greets", cached=True)
    assert again.verdict("is rude", "Hi Ana!").reason == "it is kind"
    assert (again.calls, again.cached, fake_llm.calls()["chat"]) == (0, 2, 2)
    assert again.summary() == "judge: 0 calls, 2 cache hits"
    other = Judge(Endpoint(fake_llm.url, "m1"), store)
    other.verdict("is friendly", "Hi Ana!", model="m2")  # another model: asked anew
    assert (other.calls, fake_llm.calls()["requests"][-1]["body"]["model"]) == (1, "m2")
    assert other.summary() == "judge: 1 call, 0 cache hits"
    assert Checks(judge=other).cost() == "judge: 1 call, 0 cache hits"
    assert Checks(judge=Judge(Endpoint(fake_llm.url, "m1"), store)).cost() == Checks().cost() == ""


def test_a_judge_that_gives_no_verdict_is_an_error_and_nothing_is_cached(fake_llm, tmp_path):
    store = open_store(str(tmp_path / "console.db"))
    fake_llm.script(chat=[{"answer": "I think it passes, mostly."}])
    with pytest.raises(JudgeError, match='not a JSON verdict.*it answered "I think it passes, mostly."'):
        Judge(Endpoint(fake_llm.url, "m1"), store).verdict("is friendly", "Hi")
    fake_llm.script(chat=[{"status": 503, "body": "loading model"}])
    with pytest.raises(JudgeError, match='no verdict: m1 at .*HTTP 503.*"loading model"'):
        Judge(Endpoint(fake_llm.url, "m1"), store).verdict("is friendly", "Hi")
    assert store.count_verdicts() == 0
    with pytest.raises(JudgeError, match="has no model: set APICHAT_JUDGE_MODEL"):
        Judge(Endpoint(fake_llm.url, ""), store).verdict("is friendly", "Hi")


def test_embeddings_score_by_cosine_and_ask_once_per_text(fake_llm):
    measure = similarity.Embeddings(Endpoint(fake_llm.url, "embed-1", KEY))
    same = measure.score("open 8 to 6 on weekdays", "on weekdays open 8 to 6")
    assert same == similarity.Score(1.0, "embeddings embed-1")
    other = measure.score("open 8 to 6 on weekdays", "shipping takes three days")
    assert other.value < 0.3
    calls = fake_llm.calls()
    assert calls["embeddings"] == 2 and calls["requests"][0]["body"] == {
        "model": "embed-1", "input": ["open 8 to 6 on weekdays", "on weekdays open 8 to 6"]}
    assert calls["requests"][1]["body"]["input"] == ["shipping takes three days"]  # the first text is known
    assert calls["requests"][0]["authorization"] == f"Bearer {KEY}"


def test_embeddings_errors_are_errors_never_a_score(fake_llm):
    fake_llm.script(embeddings={"fail_when": "BROKEN", "status": 500, "body": json.dumps({"error": "out of memory"})})
    with pytest.raises(EndpointError, match='HTTP 500 from /embeddings: .*out of memory'):
        similarity.Embeddings(Endpoint(fake_llm.url, "embed-1")).score("BROKEN", "x")
    with pytest.raises(AIError, match="APICHAT_EMBEDDINGS_MODEL is not"):
        similarity.Embeddings(Endpoint(fake_llm.url, "")).score("a", "b")
    measure = similarity.measure({"APICHAT_EMBEDDINGS_URL": fake_llm.url, "APICHAT_EMBEDDINGS_MODEL": "e"})
    assert measure("a b", "a b").method == "embeddings e"
