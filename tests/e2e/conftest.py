"""The product started as a user starts it (`streamlit run app.py`), driven in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from apichat.processes import ChildError, ChildProcess, probe
from tests.conftest import ROOT, free_port, process_env, wait_until

CHROMIUM = os.environ.get("APICHAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


class Console(ChildProcess):
    """A running console: Streamlit, with the receiver and sandbox it started itself."""

    def __init__(self, tmp: Path, receiver_port: int | None = None, address: str | None = "127.0.0.1", **env: str):
        self.tmp = tmp
        self.port, self.receiver_port, self.sandbox_port = free_port(), receiver_port or free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.receiver_url = f"http://127.0.0.1:{self.receiver_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.env = process_env(tmp, APICHAT_RECEIVER_PORT=str(self.receiver_port),
                               APICHAT_SANDBOX_PORT=str(self.sandbox_port), APICHAT_POLL_SECONDS="0.5", **env)
        for name in [n for n in self.env if n.startswith("STREAMLIT_")]:  # a developer's own Streamlit settings
            del self.env[name]
        self.db_path = self.env["APICHAT_DB"]
        # address=None starts it as the README says, with the address of the project's .streamlit/config.toml
        flags = ["--server.address", address] if address is not None else []
        super().__init__(["-m", "streamlit", "run", "app.py", "--server.port", str(self.port), *flags], self.env,
                         tmp / "streamlit.log", name=f"streamlit on {self.url}")
        try:
            self.wait_ready(lambda: requests.get(f"{self.url}/_stcore/health", timeout=1).ok, 60)
        except ChildError as exc:
            self.stop()
            raise AssertionError(f"{exc}\n{self.output()}") from None

    def received(self) -> list[dict]:
        """What the sandbox's bot_url received, oldest first."""
        answer = requests.get(f"{self.sandbox_url}/sandbox/received", timeout=5).json()
        return answer["received"] if isinstance(answer, dict) else answer


@pytest.fixture(scope="session")
def console(tmp_path_factory):
    running = Console(tmp_path_factory.mktemp("console"))
    yield running
    running.stop()
    for name in ("receiver", "sandbox"):  # children exit with their parent; make sure before the next run
        port = running.receiver_port if name == "receiver" else running.sandbox_port
        wait_until(lambda p=port: probe(f"http://127.0.0.1:{p}", timeout=0.5) == "down", 15, 0.2,
                   f"the {name} to exit with the console")


def idle(page, timeout: float = 30_000) -> None:
    """Wait until no script run is in flight in this tab, as the browser knows it (Streamlit keeps its run state
    on the app's root element; Streamlit's own browser tests wait on it the same way).

    A full run draws every element outside the live fragments again, and some of what it replaces is only
    valid for the run that drew it: a deferred download's id (dropped at the end of the next full run), a
    click's place in the queue of reruns. Clicking once the runs have ended clicks what the server knows.
    A fragment's poll also shows as a run; it ends within its tick, and never redraws what lies outside it.
    """
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                           "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=timeout, polling="raf")


def chromium_missing(path: str) -> str | None:
    """One line on how to get Chromium when there is none at `path`; None when there is."""
    if os.path.isfile(path):
        return None
    return f"Chromium not found at {path}: run `bash .ci/run` (installs Debian's chromium) or set APICHAT_CHROMIUM"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if missing := chromium_missing(CHROMIUM):
        pytest.fail(missing, pytrace=False)  # fail, not skip: a run without the browser tests is not a green run
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, console, request):
    """A fresh browser tab on the console, in a new conversation; a screenshot is kept if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(console.url)
    tab.wait_for_selector('[data-testid="stChatInputTextArea"]', timeout=60_000)
    yield tab
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        out = ROOT / "test-results"
        out.mkdir(exist_ok=True)
        tab.screenshot(path=str(out / f"{request.node.name}.png"))
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
