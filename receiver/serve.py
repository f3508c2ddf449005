"""The receiver's HTTP server: gunicorn's gthread workers (one for SQLite, N for a shared PostgreSQL store).

Why gunicorn and not waitress: under concurrent webhooks, waitress's one event-loop thread shares the GIL
with the request threads and the store's writer, and the receiver's rate falls as connections rise; gunicorn's
gthread worker holds it (`python -m bench.receiver --waitress` measures both; docs/benchmarks-receiver.md).

The listening socket is bound here, before gunicorn starts, so a port in use is one readable line and the
address is never raced; gunicorn's arbiter is handed it. Each worker builds its own app after the
fork (its store connections are its own) and dies with the master (PR_SET_PDEATHSIG), so a SIGKILL of the
receiver leaves no orphan serving the port.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import struct
import sys

from gunicorn import glogging, util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.http.errors import ParseException
from gunicorn.sock import TCP6Socket, TCPSocket
from gunicorn.workers.gthread import ThreadWorker

from apichat.config import Settings
from apichat.processes import exit_with_parent

PR_SET_PDEATHSIG = 1
READ_TIMEOUT_SECONDS = 30  # a client silent this long in the middle of a request loses its connection


def _die_with_master(server, worker) -> None:  # gunicorn's post_fork hook, in the worker
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker still exits when it sees its parent change
        pass


class Worker(ThreadWorker):
    """gunicorn's gthread worker, except that a request it cannot parse is answered and logged without its text,
    and a client that goes silent in the middle of a request loses its connection.

    gunicorn's own error page and log line repeat the bad request line, and a handshake's query string holds
    the verification key (even split oddly by a stray space, so it cannot be masked by its name): the answer
    says what was wrong, the log names the error and the address, neither repeats what was sent.

    Each of the worker's threads reads one request at a time, blocking: a client that sends half a request
    and stops would hold a thread for good, and a handful of them the whole receiver. So every connection's
    socket gets a receive timeout (SO_RCVTIMEO, which gunicorn's own switches between blocking and not leave
    alone): a read that waits longer fails, and the thread is free again.
    """

    read_timeout = READ_TIMEOUT_SECONDS

    def enqueue_req(self, conn):
        if not conn.initialized:  # a new connection (a kept-alive one has its timeout already)
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", self.read_timeout, 0))
        super().enqueue_req(conn)

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, ParseException):
            return super().handle_error(req, client, addr, exc)
        status, reason = _CLIENT_ERRORS.get(type(exc).__name__, (400, "Bad Request"))
        self.log.warning("invalid request from %s: %s (%d)", (addr or ("?",))[0], type(exc).__name__, status)
        try:
            util.write_error(client, status, reason, f"{reason}: {type(exc).__name__}")
        except Exception:  # noqa: BLE001 - the client may be gone; nothing to tell it
            self.log.debug("could not send the error answer")


class Log(glogging.Logger):
    """gunicorn's logger, except that a read timed out (`Worker`) is one line, not a traceback."""

    def exception(self, msg, *args, **kwargs):
        if isinstance(sys.exc_info()[1], BlockingIOError):  # SO_RCVTIMEO ran out: EAGAIN on a blocking socket
            self.warning("a client sent nothing for %d s in the middle of a request: connection closed",
                         Worker.read_timeout)
            return
        super().exception(msg, *args, **kwargs)


_CLIENT_ERRORS = {"LimitRequestLine": (414, "URI Too Long"),
                  "LimitRequestHeaders": (431, "Request Header Fields Too Large"),
                  "UnsupportedTransferCoding": (501, "Not Implemented"),
                  "ExpectationFailed": (417, "Expectation Failed")}


class _Receiver(BaseApplication):
    def __init__(self, settings: Settings, options: dict, sock: socket.socket):
        self.settings, self.options, self.sock = settings, options, sock
        super().__init__()

    def run(self) -> None:
        arbiter = Arbiter(self)
        kind = TCP6Socket if self.sock.family == socket.AF_INET6 else TCPSocket
        # the socket bound by listen(): gunicorn serves it instead of binding (and retrying) its own
        arbiter.LISTENERS = [kind(self.options["bind"][0], self.cfg, arbiter.log, fd=self.sock.detach())]
        arbiter.run()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from receiver import create_app

        return create_app(self.settings, prune=True)  # each worker; the store's claim lets one prune at a time


def listen(host: str, port: int) -> socket.socket:
    """The bound, listening socket (OSError as the system says it, e.g. "[Errno 98] Address already in use")."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve(settings: Settings, sock: socket.socket, *, workers: int, threads: int,
          read_timeout: int = READ_TIMEOUT_SECONDS) -> int:
    host, port = sock.getsockname()[:2]
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": [bind], "workers": workers, "worker_class": "receiver.serve.Worker", "threads": threads,
        "proc_name": "apichat-receiver", "preload_app": False, "accesslog": None, "errorlog": "-",
        "loglevel": "warning", "timeout": 60, "graceful_timeout": 10, "keepalive": 30,
        "worker_connections": 1000, "post_fork": _die_with_master, "logger_class": "receiver.serve.Log",
    }
    Worker.read_timeout = read_timeout  # set in the master: the workers are forked from it
    exit_with_parent()
    try:
        _Receiver(settings, options, sock).run()  # returns only by SystemExit when the arbiter stops
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
