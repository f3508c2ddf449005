"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, on a free port, as the
`postgres` user when the tests run as root (initdb refuses root), stopped and removed after.

PostgreSQL missing is a failure that says how to install it, never a skip: the PostgreSQL backend is
part of what the suite proves.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid

import psycopg

from apichat.processes import free_port

PASSWORD = "apichat-test-password"


def _bin_dir() -> str:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if versions:
        return os.path.dirname(versions[-1])
    raise RuntimeError("PostgreSQL is not installed (no pg_ctl on PATH nor under /usr/lib/postgresql/*/bin): "
                       "`apt-get install postgresql` (bash .ci/run does it) to run the PostgreSQL store's tests")


class Cluster:
    """A PostgreSQL server of its own; `url(db)` for a database, `new_database()` for an empty one."""

    def __init__(self):
        self.bin = _bin_dir()
        self.folder = tempfile.mkdtemp(prefix="apichat-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        password_file = os.path.join(self.folder, "password")
        with open(password_file, "w") as fh:
            fh.write(PASSWORD + "\n")
        if self.user:
            os.chown(password_file, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", self.data, "-U", "postgres", "--pwfile", password_file, "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            # fsync off: the tests never survive an OS crash, only PostgreSQL's (which keeps what committed)
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                       f"'{self.folder}'\nfsync = off\nfull_page_writes = off\nmax_connections = 200\n")
        self.start()
        self.counter = 0

    def _run(self, program: str, *args: str) -> str:
        command = [os.path.join(self.bin, program), *args]
        if self.user:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"), "-w", "-t", "60",
                  "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database (one per test: nothing leaks from one test to the next)."""
        self.counter += 1
        name = f"t{self.counter}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
