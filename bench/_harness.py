"""What every benchmark shares: one child process per database (Django settings are per process).

SQLite runs in a temporary data directory; PostgreSQL in a database of its own, created and dropped here
through ``LINLI_BENCH_PG_URL`` (default postgres://postgres@127.0.0.1:5432/test) — skipped with a note
in the result when the server cannot be reached. The child writes its figures as JSON to ``--out``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/test"


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _pg_admin(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def run_child(script: Path, db: str, child_args: list[str], env: dict[str, str]) -> dict:
    """Run ``script --child db --out <file> *child_args`` in a fresh data directory; its JSON result."""
    with tempfile.TemporaryDirectory(prefix=f"linli-bench-{script.stem}-{db}-") as tmp:
        out = Path(tmp) / "result.json"
        env = {
            **env,
            "LINLI_DATA_DIR": str(Path(tmp) / "data"),
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "linli.config.settings",
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [sys.executable, str(script.resolve()), "--child", db, "--out", str(out), *child_args]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, env=env, check=False)
        if proc.returncode != 0 or not out.exists():
            return {"error": f"bench child exited with status {proc.returncode}"}
        result = json.loads(out.read_text())
        result["wall_s"] = round(time.monotonic() - started, 1)
        return result


def per_database(
    script: Path,
    child_args: list[str],
    *,
    only: str | None,
    pg_db: str,
    extra_env: dict[str, str] | None = None,
    order: tuple[str, ...] = ("sqlite", "postgresql"),
) -> dict[str, dict]:
    """Run the bench child on each database in ``order`` (or just ``only``)."""
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith("LINLI_") or k.startswith("LINLI_BENCH")
    }
    base_env.update(extra_env or {})
    results: dict[str, dict] = {}
    for db in order:
        if only not in (None, db):
            continue
        if db == "sqlite":
            log("sqlite: starting")
            results["sqlite"] = run_child(script, "sqlite", child_args, base_env)
            continue
        admin_url = os.environ.get("LINLI_BENCH_PG_URL", PG_DEFAULT)
        try:
            with _pg_admin(admin_url) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_db}")
                conn.execute(f"CREATE DATABASE {pg_db}")
        except Exception as exc:  # unreachable server, no psycopg, no rights: skip with a note
            log(f"postgresql: skipped ({exc.__class__.__name__}: {exc})")
            results["postgresql"] = {"skipped": f"PostgreSQL unreachable at {admin_url}: {exc}".strip()}
            continue
        bench_url = admin_url.rsplit("/", 1)[0] + "/" + pg_db
        log(f"postgresql: starting ({bench_url})")
        try:
            results["postgresql"] = run_child(
                script, "postgresql", child_args, {**base_env, "LINLI_DATABASE_URL": bench_url}
            )
            with _pg_admin(admin_url) as conn:
                results["postgresql"]["pg_version"] = conn.execute("SHOW server_version").fetchone()[0]
        finally:
            with _pg_admin(admin_url) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")
    return results
