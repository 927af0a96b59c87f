"""``linli demo`` and ``linli web`` as real processes: start, answer HTTP, stop cleanly on SIGTERM.

The servers run on SQLite in a temporary data directory (``LINLI_DATABASE_URL`` is removed from
their environment so they never touch a shared database) with ``LINLI_DEMO_SCALE=0.05``.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import linli
from linli.orgs.roles import Role

REPO = Path(linli.__file__).resolve().parent.parent
URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT = 120
STOP_TIMEOUT = 30


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_SETTINGS_MODULE"))}
    env.update(
        PYTHONPATH=str(REPO),
        LINLI_DATA_DIR=str(data_dir),
        LINLI_DEMO_SCALE="0.05",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class Proc:
    """A child process whose output lines are collected by background readers."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "linli", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for name, stream in (("out", self.popen.stdout), ("err", self.popen.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream) -> None:
        for line in stream:
            (self.out if name == "out" else self.err).append(line)
            self.lines.put((name, line))

    def wait_for(
        self, pattern: re.Pattern[str], stream: str, timeout: float = START_TIMEOUT
    ) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                name, line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.popen.poll() is not None:
                    break
                continue
            match = pattern.search(line)
            if name == stream and match:
                return match
        self.stop()
        raise AssertionError(
            f"no {pattern.pattern!r} on std{stream}:\n{''.join(self.out)}\n{''.join(self.err)}"
        )

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


def _get(port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _token(port: int, username: str, password: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/api/v1/auth/token",
        body=json.dumps({"username": username, "password": password}),
        headers={"Content-Type": "application/json"},
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_demo_builds_serves_and_stops_on_sigterm(tmp_path):
    # given a fresh data directory
    data_dir = tmp_path / "demo"
    # when `linli demo --port 0` starts
    proc = Proc(["demo", "--port", "0", "--data-dir", str(data_dir)], _env(data_dir))
    port = int(proc.wait_for(URL_RE, "out").group(1))
    try:
        # then the printed URL answers: / redirects to the console, static files and the API work
        home = _get(port, "/")
        assert (home.status, home.getheader("Location")) == (302, "/console/")
        assert _get(port, "/static/linli/app.css").status == 200
        accounts_file = data_dir / "demo-accounts.json"
        accounts = json.loads(accounts_file.read_text(encoding="utf-8"))
        assert {a["role"] for a in accounts} == set(Role.values)
        assert stat.S_IMODE(accounts_file.stat().st_mode) == 0o600
        manager = next(a for a in accounts if a["role"] == "property_admin")
        assert _token(port, manager["username"], manager["password"]) == 200
        assert manager["username"] in "".join(proc.out)  # the logins table is printed
    finally:
        code = proc.stop()
    # and SIGTERM stops it cleanly
    assert code == 0
    assert (data_dir / "linli.sqlite3").exists()


def test_demo_restart_keeps_data_and_logins(tmp_path):
    # given a demo that ran once
    data_dir = tmp_path / "demo"
    first = Proc(["demo", "--port", "0", "--data-dir", str(data_dir)], _env(data_dir))
    first.wait_for(URL_RE, "out")
    assert first.stop() == 0
    accounts = json.loads((data_dir / "demo-accounts.json").read_text(encoding="utf-8"))
    # when it starts again on the same directory
    second = Proc(["demo", "--port", "0", "--data-dir", str(data_dir)], _env(data_dir))
    port = int(second.wait_for(URL_RE, "out").group(1))
    try:
        # then it reuses the data (no second generation) and the old passwords still work
        officer = next(a for a in accounts if a["role"] == "police_officer")
        assert _token(port, officer["username"], officer["password"]) == 200
        assert "正在生成演示数据" not in "".join(second.out)
        assert json.loads((data_dir / "demo-accounts.json").read_text(encoding="utf-8")) == accounts
    finally:
        assert second.stop() == 0


def test_demo_refuses_a_port_in_use(tmp_path):
    # given a port somebody else listens on
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    data_dir = tmp_path / "demo"
    try:
        # when the demo is started on it
        result = subprocess.run(
            [sys.executable, "-m", "linli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=REPO,
            env=_env(data_dir),
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT,
        )
    finally:
        holder.close()
    # then it exits with status 2 and says which port, before building anything
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert "--port 0" in result.stderr
    assert not (data_dir / "demo-accounts.json").exists()


@pytest.mark.parametrize("how", ["option", "env"])
def test_web_serves_with_gunicorn_and_logs_deploy_checks(tmp_path, how):
    # given a migrated data directory
    data_dir = tmp_path / "web"
    env = _env(data_dir, LINLI_WORKERS="1", LINLI_THREADS="2")
    subprocess.run(
        [sys.executable, "-m", "linli", "migrate", "-v0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=START_TIMEOUT,
    )
    # when `linli web` starts on a free port (given as an option or through LINLI_BIND)
    if how == "env":
        proc = Proc(["web"], {**env, "LINLI_BIND": "127.0.0.1:0"})
    else:
        proc = Proc(["web", "--bind", "127.0.0.1:0"], env)
    port = int(proc.wait_for(re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)"), "err").group(1))
    try:
        # then it answers, after logging the deployment checks
        deadline = time.monotonic() + START_TIMEOUT
        status = None
        while status is None and time.monotonic() < deadline:
            try:
                status = _get(port, "/static/linli/app.css").status
            except OSError:
                time.sleep(0.2)
        assert status == 200
        assert "check --deploy" in "".join(proc.err)
        assert "Using worker: gthread" in "".join(proc.err)
    finally:
        code = proc.stop()
    assert code == 0


def test_web_does_not_migrate(tmp_path):
    # given an empty data directory
    data_dir = tmp_path / "web"
    proc = Proc(["web", "--bind", "127.0.0.1:0", "--workers", "1"], _env(data_dir))
    # when it starts
    proc.wait_for(re.compile(r"Listening at"), "err")
    code = proc.stop()
    # then it warned about the missing migrations instead of applying them
    assert code == 0
    assert "unapplied migration" in "".join(proc.err)
    with sqlite3.connect(data_dir / "linli.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "people_person" not in tables
