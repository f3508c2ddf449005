"""Without Chromium the browser tests fail at once, saying in one line where it was looked for and how to get it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, process_env
from tests.e2e.conftest import CHROMIUM, chromium_missing

ADVICE = "run `bash .ci/run` (installs Debian's chromium) or set APICHAT_CHROMIUM"


def test_a_missing_chromium_is_one_line_naming_the_path_and_the_fix(tmp_path):
    absent = tmp_path / "no-such-chromium"
    assert chromium_missing(str(absent)) == f"Chromium not found at {absent}: {ADVICE}"
    assert chromium_missing(str(tmp_path)) is not None  # a folder is not a browser
    present = tmp_path / "chromium"
    present.write_bytes(b"")
    assert chromium_missing(str(present)) is None


def test_the_browser_is_the_chromium_configured(browser):
    assert browser.browser_type.name == "chromium" and browser.version
    assert chromium_missing(CHROMIUM) is None


def test_browser_tests_fail_rather_than_skip_without_chromium(tmp_path):
    absent = tmp_path / "no-such-chromium"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/e2e/test_chromium.py::test_the_browser_is_the_chromium_configured"],
        cwd=ROOT, env=process_env(tmp_path, APICHAT_CHROMIUM=str(absent)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 error" in done.stdout and "skipped" not in done.stdout, done.stdout
    assert f"Chromium not found at {absent}: {ADVICE}" in done.stdout.splitlines(), done.stdout
