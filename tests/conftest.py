"""Shared fixtures: a clean environment, free ports, and real processes started as a user would.

Markers are given here, not in the test files, so a new test gets the right ones from where it lives and
what it uses (tests/README.md says what each means):
- `e2e`: under tests/e2e (a real console driven in Chromium);
- `pg`: uses the PostgreSQL cluster (`pg_cluster`, or `store_target`'s postgresql case);
- `slow`: starts processes (`start_process`, a scenario file's sandbox) or runs a CLI in a child process
  (the modules in SLOW_MODULES), or is one of SLOW_TESTS.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from apichat import processes
from apichat.processes import ChildError, ChildProcess, free_port  # noqa: F401 (free_port: tests import it from here)

ROOT = Path(__file__).resolve().parent.parent

# fixtures that start processes (a test that uses one, directly or through another fixture, is `slow`)
SLOW_FIXTURES = {"start_process"}
# modules whose tests run the product's CLIs as child processes (`python -m ...`, seconds each), or generate
# hundreds of cases each (the property tests: the fast loop keeps the unit tests of the same code)
SLOW_MODULES = {"test_load.py", "test_explore_cli.py", "test_scenarios_cli.py", "test_store_cli.py",
                "test_properties.py", "test_ai_cli.py", "test_monitor_cli.py",
                "test_simulate_cli.py"}
# single tests that take seconds: module name -> test names (without parameters)
SLOW_TESTS = {
    "test_load_page.py": {"test_a_run_on_a_fresh_sandbox_shows_steps_and_is_kept_in_history",  # Locust runs
                          "test_stop_ends_a_run_early_and_it_is_kept_as_stopped",
                          "test_a_run_that_cannot_start_says_why"},
    "test_payloads.py": {"test_never_raises_on_any_json"},  # 200 generated documents
    # each runs `python -m …` and waits for it to exit
    "test_receiver.py": {"test_help_documents_the_flags", "test_bad_settings_exit_with_one_readable_line",
                         "test_port_in_use_is_one_readable_line"},
    "test_sandbox.py": {"test_python_m_sandbox_help_documents_its_flags"},
    "test_auth.py": {"test_the_hash_command_prints_a_hash_that_verifies"},
    "test_processes.py": {"test_a_process_trees_cpu_counts_its_running_children"},
}


def pytest_collection_modifyitems(config, items):
    e2e_dir, scenarios_dir = ROOT / "tests" / "e2e", ROOT / "scenarios"
    for item in items:
        path = Path(str(item.path))
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if e2e_dir in path.parents:
            item.add_marker(pytest.mark.e2e)
        if "pg_cluster" in fixtures or params.get("store_target") == "postgresql":
            item.add_marker(pytest.mark.pg)
        if (fixtures & SLOW_FIXTURES or scenarios_dir in path.parents or path.name in SLOW_MODULES
                or getattr(item, "originalname", item.name) in SLOW_TESTS.get(path.name, ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No real key or setting of the developer's reaches a test."""
    for name in list(os.environ):
        if name.startswith(processes.SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll `condition` until it returns something truthy; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # keep polling; report the last error on failure
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last error: {last_error!r}")


class Process(ChildProcess):
    """A real `python -m ...` process, its output kept in a log file for failures; when `url` is given,
    started once its /healthz answers 200."""

    def __init__(self, args: list[str], env: dict, log_path: Path, url: str | None = None):
        super().__init__(args[1:] if args and args[0] == sys.executable else args, env, log_path)
        self.args = args
        if url:
            try:
                self.wait_healthy(url)
            except ChildError:
                self.stop()
                raise AssertionError(f"{' '.join(self.args)} did not become healthy:\n{self.output()}") from None


def process_env(tmp_path: Path, **overrides: str) -> dict:
    """The environment a test process gets: the parent's, minus real keys, with a temp store."""
    return processes.clean_env(**{"APICHAT_DB": tmp_path / "console.db", "APICHAT_MEDIA_DIR": tmp_path / "media",
                                  "PYTHONUNBUFFERED": "1", **overrides})


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL server for the whole session (tests/pg.py); fails, never skips, without it."""
    from .pg import Cluster

    cluster = Cluster()
    yield cluster
    cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """APICHAT_DB for a new store on each backend: a SQLite path, or an empty PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "data" / "console.db")
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def start_process(tmp_path):
    """Start real processes for a test; all are stopped after it."""
    started: list[Process] = []

    def start(module_args: list[str], env: dict, url: str | None = None, name: str | None = None):
        name = name or module_args[1] if module_args[0] == "-m" else "process"
        proc = Process([sys.executable, *module_args], env, tmp_path / f"{name}-{len(started)}.log", url)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


class FakeLLM:
    """The fake OpenAI-compatible server (tests/fake_llm.py) a test started: its base URL (…/v1), its script, its
    count of calls."""

    def __init__(self, root: str):
        self.root, self.url = root, f"{root}/v1"

    def script(self, chat: list[dict] | None = None, embeddings: dict | None = None) -> None:
        requests.post(f"{self.root}/script", json={"chat": chat or [], "embeddings": embeddings or {}},
                      timeout=5).raise_for_status()

    def calls(self) -> dict:
        return requests.get(f"{self.root}/calls", timeout=5).json()


@pytest.fixture
def fake_llm(start_process, tmp_path) -> FakeLLM:
    """A fake OpenAI-compatible server as a process on a free port, answering as each test scripts it."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    start_process(["-m", "tests.fake_llm", "--port", str(port)], process_env(tmp_path), url=root, name="fake_llm")
    return FakeLLM(root)


class _OtherProgram(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"some other program")

    def log_message(self, *args):
        pass


@contextmanager
def other_program():
    """A program that is not the console's, answering HTTP on a loopback port (yielded)."""
    server = HTTPServer(("127.0.0.1", 0), _OtherProgram)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page_store(tmp_path, monkeypatch):
    """The store a page under AppTest uses (APICHAT_DB in a temp dir), with profile p1 as the default.

    Streamlit caches settings and the store per server; each test is a new server, so the caches are cleared.
    """
    import streamlit as st

    from apichat.store import open_store

    monkeypatch.setenv("APICHAT_DB", str(tmp_path / "console.db"))
    monkeypatch.setenv("APICHAT_MEDIA_DIR", str(tmp_path / "media"))
    st.cache_resource.clear()
    db = open_store(str(tmp_path / "console.db"))
    db.save_profile("p1")
    db.set_default_profile("p1")
    yield db
    st.cache_resource.clear()


def app_page(name: str, **query: str):
    """pages/<name>.py under AppTest, as app.py's navigation runs it (not yet run)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=30)
    at.session_state["_app_ran"] = True
    for key, value in query.items():
        at.query_params[key] = value
    return at

