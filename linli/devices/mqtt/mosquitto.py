"""Mosquitto's password file for the device registry (``linli mosquitto_passwd``).

Mosquitto 2.x reads ``username:$7$<iterations>$<base64 salt>$<base64 hash>`` lines, the hash being
PBKDF2-HMAC-SHA512 of the password with a 12-byte salt, 64 bytes long (what ``mosquitto_passwd``
writes, 101 iterations). Each active device's username is its key and its password its secret;
revoked and disabled devices are left out, so reloading the broker (SIGHUP) locks them out.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

ITERATIONS = 101
SALT_BYTES = 12


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, encoded: str) -> bool:
    _, kind, iterations, salt, _digest = encoded.split("$")
    if kind != "7":
        return False
    return secrets.compare_digest(
        hash_password(password, salt=base64.b64decode(salt), iterations=int(iterations)), encoded
    )


def password_lines(accounts: dict[str, str]) -> list[str]:
    for username in accounts:
        if not username or ":" in username or "\n" in username:
            raise ValueError(f"invalid MQTT username {username!r}")
    return [f"{user}:{hash_password(password)}" for user, password in sorted(accounts.items())]


def write_password_file(path: Path | str, accounts: dict[str, str]) -> int:
    """Write the file atomically (mode 0600); returns the number of accounts."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(password_lines(accounts)) + "\n")
    os.replace(tmp, path)
    return len(accounts)
