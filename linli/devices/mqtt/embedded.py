"""The demo's embedded MQTT broker: rumqttd (``iotcore``) in a child process on 127.0.0.1.

    url, stop = start_broker(data_dir)   # url carries the gateway's own credentials

``start_broker`` writes ``<data dir>/mqtt/rumqttd.toml`` (mode 0600) with one MQTT 5 listener on a
free port of 127.0.0.1 and a username/password for every active device (device key / secret)
plus the platform's accounts ``linli-gateway``, ``linli-simulator`` and ``linli-control``, whose
generated passwords are kept in ``<data dir>/mqtt/accounts.json`` (mode 0600) and reused.

rumqttd has no ACLs, so a device could publish on another device's topic here: the per-message
signature (``linli.devices.canonical``) is what stops it, and ingest counts the attempt. Production
runs Mosquitto or EMQX with per-device passwords and an ACL (see ``deploy/mosquitto/``).

The broker reads its account list at start: a device registered while the demo runs can publish
through the simulator's connection at once but connects with its own account after a restart.
The broker keeps messages in memory only; that is fine for the demo (QoS 1 redelivery covers
gateway restarts, not broker restarts).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
from pathlib import Path

from linli.devices.mqtt import config

log = logging.getLogger("linli.mqtt.embedded")

ACCOUNTS = {"gateway": "linli-gateway", "simulator": "linli-simulator", "control": "linli-control"}
STATE_FILE = "embedded.json"


def _mqtt_dir(data_dir: Path | str) -> Path:
    path = Path(data_dir) / "mqtt"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def _accounts(data_dir: Path | str) -> dict[str, list[str]]:
    path = _mqtt_dir(data_dir) / "accounts.json"
    try:
        accounts = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        accounts = {}
    changed = False
    for role, username in ACCOUNTS.items():
        if role not in accounts:
            accounts[role] = [username, secrets.token_urlsafe(24)]
            changed = True
    if changed:
        _write_private(path, json.dumps(accounts, indent=1))
    return accounts


def account(data_dir: Path | str, role: str) -> tuple[str, str] | None:
    """(username, password) of one of the platform's accounts on the embedded broker, if any."""
    path = Path(data_dir) / "mqtt" / "accounts.json"
    try:
        accounts = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    pair = accounts.get(role)
    return (pair[0], pair[1]) if pair else None


def running_broker(data_dir: Path | str) -> str | None:
    """The public URL of the embedded broker last started for ``data_dir`` (None if none was)."""
    try:
        return json.loads((Path(data_dir) / "mqtt" / STATE_FILE).read_text(encoding="utf-8"))["url"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _toml_str(value: str) -> str:
    # JSON strings of printable text are valid TOML basic strings.
    return json.dumps(value, ensure_ascii=True)


def device_credentials() -> dict[str, str]:
    """username → password for every active device (key → secret)."""
    from linli.devices.models import Device, DeviceStatus

    return {
        key: secret
        for key, secret in Device.objects.filter(status=DeviceStatus.ACTIVE).values_list("key", "secret")
        if secret
    }


def rumqttd_config(port: int, users: dict[str, str]) -> str:
    lines = [
        "id = 0",
        "",
        "[router]",
        "id = 0",
        "max_connections = 10010",
        "max_outgoing_packet_count = 200",
        "max_segment_size = 10485760",
        "max_segment_count = 10",
        "",
        "[v5.1]",
        'name = "linli-v5"',
        f'listen = "127.0.0.1:{port}"',
        "next_connection_delay_ms = 1",
        "",
        "[v5.1.connections]",
        "connection_timeout_ms = 60000",
        "max_payload_size = 20480",
        "max_inflight_count = 500",
        "",
        "[v5.1.connections.auth]",
    ]
    lines += [f"{_toml_str(user)} = {_toml_str(password)}" for user, password in sorted(users.items())]
    return "\n".join(lines) + "\n"


def _stopper(broker, state_file: Path):
    def stop() -> None:
        broker.stop()
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()

    return stop


def start_broker(data_dir: Path | str, *, include_devices: bool = True) -> tuple[str, callable]:
    """Start the embedded broker; returns (gateway URL with credentials, stop)."""
    from iotcore import Broker

    mqtt_dir = _mqtt_dir(data_dir)
    accounts = _accounts(data_dir)
    users = device_credentials() if include_devices else {}
    users.update(dict(accounts.values()))
    last_error: Exception | None = None
    for _attempt in range(5):
        port = free_port()
        conf = mqtt_dir / "rumqttd.toml"
        _write_private(conf, rumqttd_config(port, users))
        broker = Broker(config_path=str(conf))
        try:
            broker.start()
        except (OSError, RuntimeError) as exc:  # the free port was taken in between: try another
            last_error = exc
            continue
        address = config.BrokerAddress("127.0.0.1", port, *accounts["gateway"])
        _write_private(mqtt_dir / STATE_FILE, json.dumps({"url": address.public_url, "pid": os.getpid()}))
        log.info("embedded MQTT broker on %s (%d accounts)", address.public_url, len(users))

        return address.url, _stopper(broker, mqtt_dir / STATE_FILE)
    raise RuntimeError(f"the embedded MQTT broker did not start: {last_error}")
