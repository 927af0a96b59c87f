"""One typed reader for configuration from environment variables.

No variable set means the embedded default (SQLite in the data directory, generated keys kept in
``<data dir>/secrets.json``). In production (``LINLI_ENV=production``) the values that protect data
must be given explicitly; a missing one stops the process at boot with ``ImproperlyConfigured``.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def _get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_str(name: str, default: str) -> str:
    return _get(name, default) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = _get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = _get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = _get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of addresses or CIDR networks (``10.0.0.5, 10.1.0.0/16``), normalised;
    a malformed entry stops the process at boot. Unset means an empty list."""
    out: list[str] = []
    for item in env_list(name, []):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from exc
    return out


def env_float(name: str, default: float, *, above: float, at_most: float) -> float:
    """A number in (``above``, ``at_most``]; anything else stops the process at boot."""
    value = _get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc
    if not above < number <= at_most:
        raise ImproperlyConfigured(f"{name} must be in ({above:g}, {at_most:g}], got {value!r}")
    return number


MQTT_URL_DEFAULT = "mqtt://127.0.0.1:1883"
MQTT_TOPIC_ROOT_DEFAULT = "linli/v1"


@dataclass(frozen=True)
class Mqtt:
    """How the processes of one deployment meet on the broker.

    Read when a process connects or names a topic, not through Django settings: the gateway, the
    simulator and the gateway threads of the tests run without settings or change the variables
    after settings were loaded, and they must agree with the web process on every value."""

    url: str  # LINLI_MQTT_URL: mqtt://user:password@host:1883, mqtts:// for TLS
    topic_root: str  # LINLI_MQTT_TOPIC_ROOT: root of the device topics, e.g. a test's own root
    ca_file: str | None  # LINLI_MQTT_CA: CA bundle when the broker's certificate is not in the system store
    gateway_id: str | None  # LINLI_GATEWAY_ID: stable client id of this gateway process


def mqtt() -> Mqtt:
    return Mqtt(
        url=env_str("LINLI_MQTT_URL", MQTT_URL_DEFAULT),
        topic_root=env_str("LINLI_MQTT_TOPIC_ROOT", MQTT_TOPIC_ROOT_DEFAULT).strip("/"),
        ca_file=_get("LINLI_MQTT_CA"),
        gateway_id=_get("LINLI_GATEWAY_ID"),
    )


def env_required(names: list[str], *, because: str) -> None:
    """Stop at boot when a feature is switched on (``because``) but its variables are missing."""
    missing = [name for name in names if _get(name) is None]
    if missing:
        raise ImproperlyConfigured(f"{because} needs {', '.join(missing)}")


def is_production() -> bool:
    return env_str("LINLI_ENV", "development") == "production"


def data_dir() -> Path:
    path = Path(env_str("LINLI_DATA_DIR", str(Path.cwd() / "var"))).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Secrets:
    secret_key: str
    field_keys: dict[str, bytes]  # key id -> 32-byte AES key; the first one encrypts
    primary_key_id: str
    index_key: bytes  # HMAC key for blind indexes (exact lookup of encrypted values)


def _parse_field_keys(raw: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        if ":" not in item:
            raise ImproperlyConfigured("LINLI_FIELD_KEYS entries look like <key id>:<base64 32-byte key>")
        key_id, b64 = item.split(":", 1)
        key = base64.b64decode(b64)
        if len(key) != 32:
            raise ImproperlyConfigured(f"LINLI_FIELD_KEYS key {key_id!r} must be 32 bytes (AES-256)")
        keys[key_id] = key
        order.append(key_id)
    if not keys:
        raise ImproperlyConfigured("LINLI_FIELD_KEYS is empty")
    return keys, order[0]


def _b64key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_secrets() -> Secrets:
    """Keys come from the environment; in development they are generated once per data directory."""
    stored: dict[str, str] = {}
    if not is_production():
        path = data_dir() / "secrets.json"
        if path.exists():
            stored = json.loads(path.read_text())
        else:
            stored = {
                "LINLI_SECRET_KEY": secrets.token_urlsafe(50),
                "LINLI_FIELD_KEYS": f"k1:{_b64key()}",
                "LINLI_INDEX_KEY": _b64key(),
            }
            path.write_text(json.dumps(stored, indent=2))
            path.chmod(0o600)

    def pick(name: str) -> str:
        value = _get(name) or stored.get(name)
        if not value:
            raise ImproperlyConfigured(
                f"{name} must be set in production (see the Configuration section of README.md)"
            )
        return value

    keys, primary = _parse_field_keys(pick("LINLI_FIELD_KEYS"))
    index_key = base64.b64decode(pick("LINLI_INDEX_KEY"))
    if len(index_key) < 32:
        raise ImproperlyConfigured("LINLI_INDEX_KEY must be at least 32 bytes")
    return Secrets(
        secret_key=pick("LINLI_SECRET_KEY"),
        field_keys=keys,
        primary_key_id=primary,
        index_key=index_key,
    )
