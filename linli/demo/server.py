"""Serving the site with gunicorn (gthread workers), for ``linli demo`` and ``linli web``.

``linli web`` runs gunicorn in its own process (the arbiter is the process you started). ``linli
demo`` binds the listening socket itself first (so ``--port 0`` picks a free port and a taken port is
a clear error before any work is done), then runs the arbiter in a child process while the parent
waits for the site to answer HTTP, prints the URL and logins, forwards SIGTERM/SIGINT and exits with
the server's status.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class LinliServer(BaseApplication):
    """gunicorn with the Linli WSGI application and options given in code (no config file)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from linli.config.wsgi import application

        return application


def gunicorn_options(
    *, bind: list[str], workers: int, threads: int, proc_name: str, graceful_timeout: int = 30
) -> dict[str, Any]:
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "proc_name": proc_name,
        "graceful_timeout": graceful_timeout,
        "timeout": 60,
        "errorlog": "-",
        "loglevel": "info",
        # gunicorn's control socket defaults to one shared path per user; several servers would collide.
        "control_socket_disable": True,
    }


class PortInUse(Exception):
    pass


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket; port 0 picks a free port. Raises ``PortInUse``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _name, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(str(exc)) from exc
        raise
    return sock


def url_for(sock: socket.socket) -> tuple[str, str]:
    """(URL to print, host to poll) for a bound socket; a wildcard address is reached via loopback."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", ""):  # noqa: S104 - only maps a wildcard bind to the loopback URL
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/", host


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (no orphaned demo servers)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def answers_http(host: str, port: int, path: str = "/", timeout: float = 2.0) -> int | None:
    """The HTTP status of GET ``path``, or None if nothing answers yet."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "linli-demo-probe"})
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def serve_in_child(
    sock: socket.socket,
    *,
    workers: int,
    threads: int,
    proc_name: str,
    on_ready: Callable[[str], None],
    ready_timeout: float = 120.0,
) -> int:
    """Run gunicorn on ``sock`` in a child process; call ``on_ready(url)`` once it answers HTTP.

    Returns the exit status to use (0 after a clean stop by SIGTERM/SIGINT).
    """
    url, poll_host = url_for(sock)
    port = sock.getsockname()[1]
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: the gunicorn arbiter
        code = 1
        try:
            _die_with_parent()
            fd = sock.detach()  # gunicorn owns the descriptor from here on
            options = gunicorn_options(
                bind=[f"fd://{fd}"], workers=workers, threads=threads, proc_name=proc_name, graceful_timeout=5
            )
            LinliServer(options).run()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    sock.close()  # the child holds the listening socket now
    stopping = False

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        deadline = time.monotonic() + ready_timeout
        ready = False
        while not stopping and time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status) or 1
            if answers_http(poll_host, port) is not None:
                ready = True
                break
            time.sleep(0.2)
        if ready and not stopping:
            on_ready(url)
        elif not stopping:
            print(f"The server did not answer within {ready_timeout:.0f} s; stopping it.", file=sys.stderr)
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            return 1
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if stopping and code in (0, -signal.SIGTERM, -signal.SIGINT):
            return 0
        return code if code >= 0 else 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def start_child(args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """Another `linli` process beside the demo's web server (worker, gateway), stopped with it."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, arguments from code
        [sys.executable, "-m", "linli", *args],
        env={**os.environ, **(extra_env or {})},
        preexec_fn=_die_with_parent,
    )


def stop_child(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
