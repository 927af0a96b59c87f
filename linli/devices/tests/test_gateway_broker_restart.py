"""A broker killed (SIGKILL) and restarted in the middle of a QoS 1 stream loses no message.

Mosquitto 2.0 restores the gateway's persistent session but drops messages published to the shared
subscription before a member reconnects (measured: the loss equalled the gateway's reconnect delay),
so gateways reconnect fast (0.2 s) and devices, like this publisher, after 1 s or more.
"""

from __future__ import annotations

import threading
import time

import pytest

from linli.devices.models import DeviceProfile, Telemetry
from linli.devices.mqtt import config
from linli.devices.services import device_create
from linli.devices.tests import mqtt_support as ms
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

N_DEVICES = 20
SEQS = 150  # 3,000 messages at ~1,000/s: the kill lands in the middle


@pytest.mark.django_db(transaction=True)
def test_broker_kill_and_restart_during_load_loses_no_qos1_message(world, monkeypatch):
    if not __import__("os").path.exists(ms.MOSQUITTO):
        pytest.skip("needs the mosquitto binary")
    # given a private Mosquitto with persistence, 20 devices, a gateway and a steady publisher
    actor = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    profile = DeviceProfile.objects.get(key="smoke")
    creds = [
        device_create(actor=actor, estate=world.a.estate, profile=profile, name=f"烟感{i}", key=f"rs-{i}")
        for i in range(N_DEVICES)
    ]
    root = ms.unique_root()
    monkeypatch.setenv("LINLI_MQTT_TOPIC_ROOT", root)
    broker = ms.PrivateMosquitto()
    broker.start()
    code = world.a.estate.code
    published = 0
    try:
        with ms.GatewayThread(config.BrokerAddress("127.0.0.1", broker.port), root) as gw:
            # (the gateway's persistent session must be in a snapshot before the crash, as it is in
            # production where gateways subscribe long before; autosave_interval is 1 s here)
            time.sleep(2.5)
            publisher = ms.Publisher("127.0.0.1", broker.port, window=100)
            messages = [
                ms.signed(root, code, c.device.key, c.secret, seq, {"smoke_density": 0.1})
                for seq in range(1, SEQS + 1)
                for c in creds
            ]

            def publish_all() -> None:
                nonlocal published
                for topic, payload in messages:
                    publisher.publish(topic, payload)
                    published += 1
                    time.sleep(0.001)

            feeder = threading.Thread(target=publish_all, daemon=True)
            feeder.start()
            # when the broker is killed with SIGKILL mid-way and started again on the same port
            assert ms.wait_until(lambda: published >= len(messages) // 3, 20)
            broker.kill()
            time.sleep(0.5)
            broker.start()
            feeder.join(40)
            assert publisher.flush(30)
            publisher.close()
            # then every message is stored exactly once
            assert ms.wait_until(lambda: Telemetry.objects.count() >= len(messages), 20)
            assert gw.stats.connects >= 2
    finally:
        broker.stop()
    got = set(Telemetry.objects.filter(device__key="rs-0").values_list("seq", flat=True))
    print(
        "MISSING rs-0",
        sorted(set(range(1, SEQS + 1)) - got),
        "published",
        published,
        "acked",
        publisher.acked,
        publisher.sent,
    )
    assert Telemetry.objects.count() == N_DEVICES * SEQS
    assert Telemetry.objects.filter(device__key="rs-0").count() == SEQS
