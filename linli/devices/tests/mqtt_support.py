"""Helpers of the MQTT tests: a bounded QoS 1 publisher, an in-process gateway, private brokers."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import OperationalError

from linli.devices import canonical
from linli.devices.mqtt import config
from linli.devices.mqtt.gateway import Gateway

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_local_mosquitto() -> None:
    if not port_open("127.0.0.1", 1883):
        pytest.skip("needs the local Mosquitto on 127.0.0.1:1883")


def unique_root() -> str:
    return f"linli-test/{uuid.uuid4().hex[:12]}/v1"


def signed(root: str, estate_code: str, key: str, secret: str, seq: int, values: dict) -> tuple[str, bytes]:
    topic = f"{root}/{estate_code}/{key}/telemetry"
    return topic, canonical.encode(
        topic, {"seq": seq, "ts": int(time.time() * 1000), "values": values}, secret
    )


class Publisher:
    """paho QoS 1 publisher with a bounded number of unacknowledged messages (measured-facts #1)."""

    def __init__(self, host: str, port: int, *, window: int = 200, client_id: str | None = None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.window = window
        self.acked = 0
        self.sent = 0
        self._cond = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"linli-test-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(window)
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(1, 2)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
        self.client.connect_async(host, port, keepalive=10, clean_start=False, properties=props)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes) -> None:
        with self._cond:
            while self.sent - self.acked >= self.window:
                self._cond.wait(0.5)
            self.sent += 1
        self.client.publish(topic, payload, qos=1)

    def flush(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.acked < self.sent and time.monotonic() < deadline:
                self._cond.wait(0.2)
            return self.acked >= self.sent

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class GatewayThread:
    """A ``Gateway`` running in a thread of the test process (same test database)."""

    def __init__(self, broker: config.BrokerAddress, root: str, **kwargs) -> None:
        kwargs.setdefault("stats_every", 0)
        kwargs.setdefault("settle_gc", False)  # do not freeze the test process's garbage collector
        self.gateway = Gateway(
            broker=broker, root=root, client_id=f"linli-test-gw-{uuid.uuid4().hex[:8]}", **kwargs
        )
        self.thread = threading.Thread(target=self.gateway.run, daemon=True)

    def __enter__(self) -> Gateway:
        self.thread.start()
        assert self.gateway.subscribed.wait(15), "gateway did not subscribe"
        return self.gateway

    def __exit__(self, *exc) -> None:
        self.gateway.stop()
        self.thread.join(30)


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds. On SQLite the test database is one shared-cache in-memory
    database: a read while the gateway thread writes can fail with "table is locked" at once (no busy
    wait in shared-cache mode), which only means "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _holds(predicate):
            return True
        time.sleep(interval)
    return _holds(predicate)


def _holds(predicate) -> bool:
    try:
        return bool(predicate())
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateMosquitto:
    """A Mosquitto on a free port with persistence, started and killed by the test only."""

    def __init__(self, extra: list[str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="linli-mosq-"))
        extra = extra or ["allow_anonymous true"]
        self.port = free_port()
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    *extra,
                    "persistence true",
                    f"persistence_location {self.dir}/",
                    "autosave_interval 1",
                    "max_queued_messages 100000",
                    "max_inflight_messages 1000",
                    "log_type error",
                    # started as root, mosquitto would switch to the `mosquitto` user and could not
                    # write its persistence file into our private temporary directory
                    f"user {getpass.getuser()}",
                    "",
                ]
            )
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert wait_until(lambda: port_open("127.0.0.1", self.port), 10), "private mosquitto did not start"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no clean shutdown, no final persistence save
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "linli.config.settings", "PYTHONUNBUFFERED": "1"}
    env.update(overrides)
    return env
