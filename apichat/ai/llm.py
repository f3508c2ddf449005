"""An OpenAI-compatible endpoint, over plain `requests`: chat completions (the judge) and embeddings.

Any server that speaks OpenAI's `/chat/completions` and `/embeddings` will do: Ollama
(`http://127.0.0.1:11434/v1`), vLLM, LM Studio, llama.cpp's server, OpenAI itself. An endpoint is a base URL,
a model and an optional key (sent as `Authorization: Bearer …`). Whatever goes wrong — no answer in time, a
4xx/5xx, an answer that is not what OpenAI's format says — is an EndpointError whose message carries the raw
answer, cut short and with the key masked, so a person sees what the server said and never the key.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import requests

from ..redact import mask, masked_url

RAW_CHARS = 300  # how much of a raw answer an error quotes
DEFAULT_TIMEOUT = 60.0  # a local model's first answer includes loading it


class AIError(RuntimeError):
    """A check that asks a model could not get an answer it can use: the check is an error, never a pass."""


class EndpointError(AIError):
    """The endpoint did not answer, or answered something that is not an answer."""


@dataclass(frozen=True)
class Endpoint:
    """A base URL (…/v1), the model to ask, a key (may be empty) and how long to wait for an answer."""

    url: str
    model: str = ""
    key: str = ""
    timeout: float = DEFAULT_TIMEOUT
    problem: str = ""  # a setting that cannot be used: every request is this error (a step's, not a crash)

    @property
    def label(self) -> str:
        """Where it is, as it may be shown: the model at the URL (a password in the URL masked)."""
        return f"{self.model or 'no model'} at {masked_url(self.url)}"

    def shown(self, text: str) -> str:
        """`text` (a raw answer) as it may be shown: the key masked, on one line, cut at RAW_CHARS."""
        text = str(text)
        if self.key and len(self.key) >= 4:
            text = text.replace(self.key, mask(self.key))
        text = " ".join(text.split())
        return json.dumps(text if len(text) <= RAW_CHARS else text[:RAW_CHARS - 1] + "…", ensure_ascii=False)

    def post(self, path: str, payload: dict) -> dict:
        """POST `payload` as JSON to `url/path`; the answer's JSON object, or EndpointError saying why not."""
        if self.problem:
            raise EndpointError(self.problem)
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        where = f"{self.url.rstrip('/')}/{path}"
        try:
            response = requests.post(where, json=payload, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise EndpointError(f"{self.label}: no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            why = self.shown(str(exc))
            raise EndpointError(f"{self.label}: cannot reach {masked_url(where)}: {why}") from None
        if response.status_code >= 400:
            raise EndpointError(f"{self.label}: HTTP {response.status_code} from /{path}: "
                                f"{self.shown(response.text)}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise EndpointError(f"{self.label}: /{path} did not answer a JSON object: {self.shown(response.text)}")
        return answer

    def chat(self, messages: list[dict], *, model: str | None = None, temperature: float = 0.0,
             seed: int | None = None) -> str:
        """The text of the first choice of a chat completion (`model` instead of the endpoint's own; `seed`, when
        given, asks for repeatable sampling)."""
        payload = {"model": model or self.model, "messages": messages, "temperature": temperature, "stream": False}
        if seed is not None:
            payload["seed"] = seed
        answer = self.post("chat/completions", payload)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise EndpointError(f"{self.label}: the answer has no choices[0].message.content: "
                                f"{self.shown(json.dumps(answer, ensure_ascii=False))}")
        return content

    def embeddings(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        answer = self.post("embeddings", {"model": self.model, "input": texts})
        data = answer.get("data")
        vectors: list[list[float]] = []
        if isinstance(data, list) and len(data) == len(texts):
            ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
            for item in ordered:
                vector = item.get("embedding") if isinstance(item, dict) else None
                if not (isinstance(vector, list) and vector and all(
                        isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector)):
                    break
                vectors.append([float(x) for x in vector])
        if len(vectors) != len(texts) or len({len(v) for v in vectors}) > 1:
            raise EndpointError(f"{self.label}: the answer is not {len(texts)} embeddings of one size: "
                                f"{self.shown(json.dumps(answer, ensure_ascii=False))}")
        return vectors


def _timeout(env, name: str) -> tuple[float, str]:
    """(seconds, "") from `name`, or (the default, the problem) when it cannot be used."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return DEFAULT_TIMEOUT, ""
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 600:
        return DEFAULT_TIMEOUT, f"{name} must be a number of seconds between 0 and 600; got {raw!r}"
    return seconds, ""


def endpoint_from_env(prefix: str, env=None) -> Endpoint | None:
    """The endpoint `{prefix}_URL`, `_MODEL`, `_KEY`, `_TIMEOUT` name (e.g. APICHAT_JUDGE); None without a URL.
    A setting that cannot be used is the endpoint's `problem`, which each request raises."""
    env = os.environ if env is None else env
    url = (env.get(f"{prefix}_URL") or "").strip()
    if not url:
        return None
    timeout, problem = _timeout(env, f"{prefix}_TIMEOUT")
    if not url.lower().startswith(("http://", "https://")):
        problem = f"{prefix}_URL must be an http(s) URL such as http://127.0.0.1:11434/v1; got {masked_url(url)!r}"
    return Endpoint(url, (env.get(f"{prefix}_MODEL") or "").strip(), (env.get(f"{prefix}_KEY") or "").strip(),
                    timeout, problem)


FENCE_RE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?\s*```$", re.DOTALL | re.IGNORECASE)


def json_answer(answer: str):
    """The JSON in a model's answer, bare or in a ```json fence; ValueError when there is none."""
    text = answer.strip()
    fenced = FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    return json.loads(text)
