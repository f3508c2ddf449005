"""Child processes: what the benches read of a process tree's CPU."""

from __future__ import annotations

import os
import subprocess
import sys

from apichat.processes import cpu_seconds, tree_cpu_seconds
from tests.conftest import wait_until


def test_a_process_trees_cpu_counts_its_running_children():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # a worker burning CPU
    try:
        wait_until(lambda: (cpu_seconds(busy.pid) or 0) >= 0.3, 30, 0.05, "the child to use some CPU")
        own, child = cpu_seconds(os.getpid()), cpu_seconds(busy.pid)
        assert tree_cpu_seconds(os.getpid()) >= own + child * 0.99
    finally:
        busy.kill()
        busy.wait()
    assert tree_cpu_seconds(busy.pid) == 0.0  # gone: nothing to count, no error
