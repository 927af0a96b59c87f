"""``linli mosquitto_passwd`` and the shipped ACL against a real Mosquitto: a device connects with its
secret, a wrong or revoked secret is refused, and a device cannot publish on another device's topic."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from linli.devices.models import DeviceProfile
from linli.devices.mqtt import mosquitto
from linli.devices.services import device_create, device_revoke
from linli.devices.tests import mqtt_support as ms
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

ACL = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto" / "linli.acl"


def _connect(port: int, username: str, password: str):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    result: dict = {}
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{username}", protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)

    def on_connect(c, u, flags, reason_code, props):
        result["rc"] = reason_code.value
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(5)
    return client, result.get("rc")


def test_password_hash_matches_mosquitto_passwd_format():
    encoded = mosquitto.hash_password("s3cret", salt=b"\x01" * 12)
    assert encoded.startswith("$7$101$AQEBAQEBAQEBAQEB$")
    assert len(encoded.split("$")[4]) == 88  # 64 bytes, base64
    assert mosquitto.check_password("s3cret", encoded) is True
    assert mosquitto.check_password("other", encoded) is False


@pytest.mark.django_db
def test_password_file_and_acl_on_a_real_mosquitto(world, tmp_path):
    if not os.path.exists(ms.MOSQUITTO):
        pytest.skip("needs the mosquitto binary")
    # given devices A and B (B then revoked) and the password file written from the registry
    actor = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    profile = DeviceProfile.objects.get(key="smoke")
    a = device_create(actor=actor, estate=world.a.estate, profile=profile, name="A", key="acl-a")
    device_create(actor=actor, estate=world.a.estate, profile=profile, name="B", key="acl-b")
    c = device_create(actor=actor, estate=world.a.estate, profile=profile, name="C", key="acl-c")
    device_revoke(actor=actor, device=c.device, reason="丢失")
    passwd = tmp_path / "linli.passwd"
    call_command("mosquitto_passwd", str(passwd), "--account", "linli-gateway=gw-pass")
    assert sorted(line.split(":")[0] for line in passwd.read_text().splitlines()) == [
        "acl-a",
        "acl-b",
        "linli-gateway",
    ]
    broker = ms.PrivateMosquitto(["allow_anonymous false", f"password_file {passwd}", f"acl_file {ACL}"])
    broker.start()
    clients = []
    try:
        # when the devices connect with their secrets, a wrong one and a revoked one
        gw, rc_gw = _connect(broker.port, "linli-gateway", "gw-pass")
        got: list[str] = []
        subscribed = threading.Event()
        gw.on_message = lambda cl, u, m: got.append(m.topic)
        gw.on_subscribe = lambda *args: subscribed.set()
        gw.subscribe("$share/linli/linli/v1/+/+/+", qos=1)
        subscribed.wait(5)
        dev_a, rc_a = _connect(broker.port, "acl-a", a.secret)
        _bad, rc_bad = _connect(broker.port, "acl-b", "wrong")
        _revoked, rc_revoked = _connect(broker.port, "acl-c", c.secret)
        clients += [gw, dev_a, _bad, _revoked]
        code = world.a.estate.code
        own = dev_a.publish(f"linli/v1/{code}/acl-a/telemetry", b"{}", qos=1)
        forged = dev_a.publish(f"linli/v1/{code}/acl-b/telemetry", b"{}", qos=1)
        own.wait_for_publish(5)
        forged.wait_for_publish(5)
        ms.wait_until(lambda: got, 5)
        import time

        time.sleep(0.5)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
        broker.stop()
    # then A and the gateway are in, wrong and revoked secrets are refused (135 = not authorized),
    # and only A's message on its own topic reaches the gateway
    assert (rc_gw, rc_a) == (0, 0)
    assert rc_bad == 135 and rc_revoked == 135
    assert got == [f"linli/v1/{world.a.estate.code}/acl-a/telemetry"]
