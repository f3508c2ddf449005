"""`python -m apichat.scenarios run` with similar_to and judge:, against the sandbox and the fake
OpenAI-compatible server (tests/fake_llm.py), both real processes: what passes, what fails and why, what is
an error, what the cache saves, and what is refused before anything runs."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from apichat.processes import clean_env, free_port
from tests.conftest import ROOT

KEY = "sk-judge-0123456789abcdef"
CHECKOUT = "This is a demo, so no coffee will ship 😉 In a real bot this is where the payment link"


def _scenario(name: str, expect: str, top: str = "") -> str:
    return (f"name: {name}\n{top}steps:\n  - send: hi\n  - postback: {{title: Checkout, payload: CHECKOUT}}\n"
            f"    expect:\n      - {expect}\n")


def _run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "apichat.scenarios", "run", *args, "--settle", "0.5"], cwd=ROOT,
                          env=clean_env(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", **env), capture_output=True,
                          text=True, timeout=180)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert KEY not in done.stdout + done.stderr
    return done


def _judge_env(fake_llm, **more: str) -> dict:
    return {"APICHAT_JUDGE_URL": fake_llm.url, "APICHAT_JUDGE_MODEL": "fake-judge", "APICHAT_JUDGE_KEY": KEY, **more}


def _files(folder, **texts: str):
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def test_judge_and_similar_to_pass_and_fail_with_their_reasons_and_scores(tmp_path, fake_llm):
    fake_llm.script(chat=[
        {"when": "PASSCASE", "answer": '```json\n{"pass": true, "reason": "it says nothing ships"}\n```'},
        {"when": "FAILCASE", "answer": '{"pass": false, "reason": "it offers no discount at all"}'}])
    folder = _files(
        tmp_path / "suite",
        judged_pass=_scenario("Judged pass", "{text: {contains: This is a demo}, judge: 'PASSCASE says no coffee ships'}"),
        judged_fail=_scenario("Judged fail", "{judge: 'FAILCASE offers a discount'}"),
        judged_unasked=_scenario("Judged unasked", "{text: {contains: NOT IN THE REPLY}, judge: 'NEVER asked'}"),
        similar_pass=_scenario("Similar pass", "text: {similar_to: 'this is a demo so no coffee will ship in a real "
                               "bot this is where the payment link or the order summary would go'}", "similarity: 0.9\n"),
        similar_fail=_scenario("Similar fail", "text: {similar_to: 'We ship worldwide within two days', at_least: 0.6}"))
    junit = tmp_path / "junit.xml"
    done = _run(tmp_path, str(folder), "--junitxml", str(junit), **_judge_env(fake_llm))
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    for passing in ("Judged pass", "Similar pass"):
        assert f"PASSED  {passing}" in out
    assert "3 passed, 2 failed" not in out and "2 passed, 3 failed; judge: 2 calls, 0 cache hits" in out
    # the judge's reason beside the criterion and the reply
    assert '"FAILCASE offers a discount"' in out and 'it offers no discount at all — "This is a demo' in out
    # the similarity's threshold, score and method beside the texts
    assert '{"text": {"similar_to": "We ship worldwide within two days", "at_least": 0.6}}' in out
    assert 'similar to "We ship worldwide within two days"' in out
    line = next(li for li in out.splitlines() if li.strip().startswith("text.similarity"))
    assert "at least 0.60" in line and line.rstrip().endswith("(lexical)")
    assert f'"{CHECKOUT}' in out
    # the judge was asked twice: never for a reply that failed the item's other keys
    calls = fake_llm.calls()
    assert calls["chat"] == 2 and all(r["authorization"] == f"Bearer {KEY}" for r in calls["requests"])
    assert all("NEVER" not in r["body"]["messages"][1]["content"] for r in calls["requests"])
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors")) == ("3", "0")


def test_a_rerun_of_unchanged_replies_takes_every_verdict_from_the_store(tmp_path, fake_llm):
    fake_llm.script(chat=[{"answer": '{"pass": true, "reason": "fine"}'}])
    folder = _files(tmp_path / "suite", judged=_scenario("Judged", "{judge: 'says it is a demo'}"),
                    judged_twice=_scenario("Judged twice", "{judge: 'says it is a demo'}"))
    receiver, sandbox = free_port(), free_port()
    env = _judge_env(fake_llm, APICHAT_DB=str(tmp_path / "console.db"), APICHAT_MEDIA_DIR=str(tmp_path / "media"),
                     APICHAT_RECEIVER_PORT=str(receiver), APICHAT_SANDBOX_PORT=str(sandbox))
    first = _run(tmp_path, str(folder), "--profile", "sandbox", **env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 passed, 0 failed; judge: 1 call, 0 cache hits" in first.stdout  # the same question once a command
    second = _run(tmp_path, str(folder), "--profile", "sandbox", **env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "2 passed, 0 failed; judge: 0 calls, 1 cache hit" in second.stdout
    assert fake_llm.calls()["chat"] == 1


def test_a_judge_that_times_out_fails_or_answers_garbage_makes_an_error_with_its_raw_answer(tmp_path, fake_llm):
    fake_llm.script(chat=[{"when": "SLOW", "delay": 3, "answer": '{"pass": true, "reason": "late"}'},
                          {"when": "GARBAGE", "answer": "Yes! It definitely passes."},
                          {"when": "BROKEN", "status": 500, "body": f"model crashed; key was {KEY}"}])
    folder = _files(tmp_path / "suite", slow=_scenario("Slow", "{judge: SLOW}"),
                    garbage=_scenario("Garbage", "{judge: GARBAGE}"), broken=_scenario("Broken", "{judge: BROKEN}"))
    junit = tmp_path / "junit.xml"
    done = _run(tmp_path, str(folder), "--junitxml", str(junit), **_judge_env(fake_llm, APICHAT_JUDGE_TIMEOUT="0.5"))
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert out.count("ERROR  ") == 3 and "PASSED" not in out and "0 passed, 3 failed" in out
    assert "the judge gave no verdict: fake-judge at" in out and "no answer within 0.5 s" in out
    assert 'not a JSON verdict {"pass": …, "reason": …}; it answered "Yes! It definitely passes."' in out
    assert 'HTTP 500 from /chat/completions: "model crashed; key was ••••••cdef"' in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors")) == ("0", "3")


def test_a_file_that_asks_a_judge_with_none_configured_is_refused_before_anything_runs(tmp_path):
    folder = _files(tmp_path / "suite", plain=_scenario("Plain", "text: {contains: demo}"),
                    judged=_scenario("Judged", "{judge: 'says it is a demo'}"))
    done = _run(tmp_path, str(folder))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [f"cannot run scenarios: {folder / 'judged.yaml'}:6 uses judge: but no judge is "
                                        "configured: set APICHAT_JUDGE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) "
                                        "and APICHAT_JUDGE_MODEL"]


def test_pytest_refuses_a_judged_file_at_collection_when_no_judge_is_configured(tmp_path):
    folder = _files(tmp_path / "suite", judged=_scenario("Judged", "{judge: 'says it is a demo'}"))
    (folder / "conftest.py").write_text((ROOT / "scenarios" / "conftest.py").read_text())
    done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q"], cwd=tmp_path,
                          env=clean_env(PYTHONPATH=ROOT), capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "cannot run scenarios: suite/judged.yaml:6 uses judge: but no judge is configured: set APICHAT_JUDGE_URL" in out
    assert "Traceback" not in out and "1 error" in out


def test_similar_to_scores_by_embeddings_when_an_endpoint_is_set_and_its_errors_are_errors(tmp_path, fake_llm):
    fake_llm.script(embeddings={"fail_when": "BROKEN", "status": 500, "body": "embedding model not loaded"})
    folder = _files(
        tmp_path / "suite",
        near=_scenario("Near", "text: {similar_to: 'in a real bot this is where the payment link or the order summary "
                       "would go this is a demo so no coffee will ship'}", "similarity: 0.95\n"),
        far=_scenario("Far", "text: {similar_to: 'We ship worldwide within two days', at_least: 0.6}"),
        broken=_scenario("Broken", "text: {similar_to: 'BROKEN on purpose'}"))
    done = _run(tmp_path, str(folder), APICHAT_EMBEDDINGS_URL=fake_llm.url, APICHAT_EMBEDDINGS_MODEL="fake-embed",
                APICHAT_EMBEDDINGS_KEY=KEY)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "PASSED  Near" in out and "FAILED  Far" in out and "ERROR  Broken" in out
    line = next(li for li in out.splitlines() if li.strip().startswith("text.similarity"))
    assert "at least 0.60" in line and line.rstrip().endswith("(embeddings fake-embed)")
    assert 'HTTP 500 from /embeddings: "embedding model not loaded"' in out
    assert fake_llm.calls()["embeddings"] >= 3 and fake_llm.calls()["chat"] == 0


def test_pytest_runs_a_judged_file_and_records_what_judging_cost(tmp_path, fake_llm):
    fake_llm.script(chat=[{"answer": '{"pass": true, "reason": "it says so"}'}])
    folder = _files(tmp_path / "suite", judged=_scenario("Judged", "{judge: 'says it is a demo'}"))
    (folder / "conftest.py").write_text((ROOT / "scenarios" / "conftest.py").read_text())
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q",
                           f"--junitxml={junit}", "--scenario-settle=0.5"], cwd=tmp_path,
                          env=clean_env(PYTHONPATH=ROOT, **_judge_env(fake_llm)), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    prop = ET.parse(junit).getroot().find(".//testcase[@name='judged']/properties/property[@name='judge']")
    assert prop.get("value") == "judge: 1 call, 0 cache hits" and fake_llm.calls()["chat"] == 1
