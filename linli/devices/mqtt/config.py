"""Where the gateway and the simulator find the broker: ``LINLI_MQTT_URL`` and the topic root.

``LINLI_MQTT_URL`` looks like ``mqtt://user:password@host:1883`` (``mqtts://`` for TLS, default port
8883; ``LINLI_MQTT_CA`` names a CA bundle when the broker's certificate is not in the system store).

``LINLI_MQTT_TOPIC_ROOT`` (default ``linli/v1``) is the root of the device topics; every process of
one deployment (gateways, simulator, ``linli.devices.canonical``) reads the same variable through
``linli.config.env.mqtt()``, so a test run can use its own root on a shared broker. Device
signatures cover the topic as published.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from linli.config import env

CANONICAL_ROOT = env.MQTT_TOPIC_ROOT_DEFAULT
SHARE_GROUP = "linli"


class BadMqttUrl(ValueError):
    pass


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @property
    def url(self) -> str:
        """The URL with the credentials."""
        auth = f"{self.username}:{self.password}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}"

    @property
    def public_url(self) -> str:
        """The URL without credentials (safe to print and to hand to devices)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise BadMqttUrl(f"unsupported MQTT URL scheme {parts.scheme!r} (use mqtt:// or mqtts://)")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise BadMqttUrl("the MQTT URL has no host")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise BadMqttUrl(str(exc)) from exc
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def broker_from_env() -> BrokerAddress:
    return parse_url(env.mqtt().url)


def topic_root() -> str:
    root = env.mqtt().topic_root
    if not root or "+" in root or "#" in root:
        raise BadMqttUrl("LINLI_MQTT_TOPIC_ROOT must be a plain topic prefix such as linli/v1")
    return root


def subscription(root: str, group: str = SHARE_GROUP) -> str:
    """The shared subscription all gateways join: ``$share/<group>/<root>/+/+/+``."""
    return f"$share/{group}/{root}/+/+/+"


def device_topic(root: str, estate_code: str, device_key: str, kind: str) -> str:
    return f"{root}/{estate_code}/{device_key}/{kind}"
