"""Crawls started from the console: background threads, a snapshot of each map as it grows, and the maps kept on
disk (beside the store, under explore/) for coverage and diff. No Streamlit: the Explorer page keeps one `Crawls`
per server.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import lint
from .crawl import Limits, crawl
from .model import CrawlMap
from .output import write_all
from .transport import RunnerTransport


@dataclass
class Crawl:
    id: str
    profile: str
    folder: Path
    snapshot: CrawlMap
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: str = ""

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def maps_dir(db_path: str) -> Path:
    return Path(db_path).resolve().parent / "explore"


def saved_maps(db_path: str) -> dict[str, Path]:
    """map.json files of earlier crawls, newest first, by folder name."""
    folder = maps_dir(db_path)
    found = sorted(folder.glob("*/map.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    return {p.parent.name: p for p in found}


def parse_starts(text: str) -> list[str]:
    """Start messages typed as one per line or comma-separated."""
    return [s.strip() for s in re.split(r"[,\n]", text or "") if s.strip()]


class Crawls:
    """Crawls running (or done) in this server, by id."""

    def __init__(self) -> None:
        self._crawls: dict[str, Crawl] = {}
        self._lock = threading.Lock()

    def start(self, store, profile: dict, db_path: str, starts: list[str], limits: Limits, *,
              settle: float = 1.0, timeout: float = 10.0, pace: float = 0.0) -> Crawl:
        """A crawl of `profile`'s bot in a background thread; its map is written under explore/<id>/ when it ends."""
        crawl_id = time.strftime("%Y%m%d-%H%M%S-") + f"{profile['name']}-{uuid.uuid4().hex[:4]}"
        folder = maps_dir(db_path) / crawl_id
        transport = RunnerTransport(store, profile, settle=settle, timeout=timeout, pace=pace,
                                    turn_limit=max(30.0, timeout + 5), detail=f"profile {profile['name']}")
        channels = lint.channels_of(profile)
        job = Crawl(crawl_id, profile["name"], folder,
                    CrawlMap(starts=starts, target=transport.detail, channels=list(channels)))

        def progress(m: CrawlMap) -> None:
            job.snapshot = CrawlMap.from_dict(m.to_dict())  # the crawler's thread: a copy the page can read

        def work() -> None:
            try:
                m = crawl(transport, starts, limits, channels, on_progress=progress, stop=job.stop)
                job.snapshot = CrawlMap.from_dict(m.to_dict())
                write_all(m, folder, transport.contact_name)
            except Exception as exc:  # the page shows it; the partial map stays
                job.error = f"{type(exc).__name__}: {exc}"

        job.thread = threading.Thread(target=work, name=f"explore-{crawl_id}", daemon=True)
        with self._lock:
            self._crawls[crawl_id] = job
        job.thread.start()
        return job

    def get(self, crawl_id: str | None) -> Crawl | None:
        return self._crawls.get(crawl_id or "")

    def wait(self, crawl_id: str, timeout: float | None = None) -> bool:
        job = self.get(crawl_id)
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return job is None or not job.running
