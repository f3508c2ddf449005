"""The Monitors page's Run now: one monitor's run in a background thread (no Streamlit), under the same lease as
the scheduler's runs, so a monitor is never run twice at once whoever asks. The page keeps one `Jobs`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from .. import transcript as transcripts
from .check import check
from .config import Monitor
from .schedule import holder_name


def transcript_writer(store, folder: str | Path, media_dir: str | None) -> Callable[[int], str]:
    """A function that writes a monitor run as one HTML file in `folder` and gives its path (for alerts)."""
    def write(run: int) -> str:
        row = store.get_monitor_run(run)
        path = Path(folder) / f"monitor-{transcripts.file_stem(row['monitor'])}-run-{run}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(transcripts.monitor_run_html(store, run, media_dir), encoding="utf-8")
        return str(path)
    return write


class Jobs:
    """Runs started from the console, by monitor name."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self.holder = holder_name()

    def start(self, store, monitor: Monitor, **options) -> bool:
        """Run `monitor` now (due or not) in a thread; False when this console is already running it."""
        if self.running(monitor.name):
            return False
        thread = threading.Thread(target=check, args=(store, monitor, self.holder), kwargs={"force": True, **options},
                                  name=f"monitor-{monitor.name}", daemon=True)
        self._threads[monitor.name] = thread
        thread.start()
        return True

    def running(self, name: str) -> bool:
        thread = self._threads.get(name)
        return thread is not None and thread.is_alive()

    def wait(self, name: str, timeout: float | None = None) -> bool:
        thread = self._threads.get(name)
        if thread is not None:
            thread.join(timeout)
        return not self.running(name)
