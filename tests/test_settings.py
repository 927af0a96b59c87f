"""Production settings: the deployment checklist is clean, and missing keys stop the process at boot."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest


def _prod_env(tmp_path, **overrides) -> dict[str, str]:
    key = base64.b64encode(b"k" * 32).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(
        {
            "LINLI_ENV": "production",
            "LINLI_DATA_DIR": str(tmp_path),
            "LINLI_SECRET_KEY": "x9" * 30 + "-production-secret-key-for-the-checklist",
            "LINLI_FIELD_KEYS": f"k1:{key}",
            "LINLI_INDEX_KEY": base64.b64encode(b"i" * 32).decode(),
            "LINLI_ALLOWED_HOSTS": "linli.example.cn",
        }
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _linli(args, env):
    return subprocess.run(
        [sys.executable, "-m", "linli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_deployment_checklist_is_clean_in_production(tmp_path):
    result = _linli(["check", "--deploy", "--fail-level", "WARNING"], _prod_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["LINLI_FIELD_KEYS", "LINLI_INDEX_KEY", "LINLI_SECRET_KEY"])
def test_production_refuses_to_start_without_keys(tmp_path, missing):
    env = _prod_env(tmp_path)
    env.pop(missing)

    result = _linli(["check"], env)

    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr
    assert not (tmp_path / "secrets.json").exists()


def test_production_refuses_a_short_field_key(tmp_path):
    env = _prod_env(tmp_path, LINLI_FIELD_KEYS="k1:" + base64.b64encode(b"short").decode())

    result = _linli(["check"], env)

    assert result.returncode != 0 and "must be 32 bytes" in result.stderr


def test_production_hasher_is_argon2():
    import linli.config.settings as module

    assert module.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
