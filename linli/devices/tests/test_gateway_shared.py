"""Two ``linli gateway`` processes share one stream on the local Mosquitto: nothing lost, nothing twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from linli.devices.models import Device, DeviceProfile, Telemetry
from linli.devices.mqtt import config
from linli.devices.services import device_create
from linli.devices.tests import mqtt_support as ms
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

N_DEVICES = 50
SEQS = 100  # 5,000 distinct messages
DUPLICATE_EVERY = 10  # plus 500 redeliveries of already-sent (device, seq)


def _pg_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_gateway(name: str, root: str) -> tuple[subprocess.Popen, threading.Event, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "linli", "gateway", "--id", name, "--stats-every", "1"],
        env=ms.subprocess_env(
            LINLI_DATABASE_URL=_pg_url(),
            LINLI_MQTT_URL="mqtt://127.0.0.1:1883",
            LINLI_MQTT_TOPIC_ROOT=root,
            LINLI_GATEWAY_ID=name,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "linli gateway: subscribed" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    return proc, ready, lines


@pytest.mark.django_db(transaction=True)
def test_two_gateway_processes_store_every_message_exactly_once(world):
    if connection.vendor != "postgresql":
        pytest.skip("gateway subprocesses need a database shared between processes (PostgreSQL)")
    ms.require_local_mosquitto()
    # given 50 smoke detectors of estate a and two gateways on one shared subscription
    actor = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    profile = DeviceProfile.objects.get(key="smoke")
    creds = [
        device_create(actor=actor, estate=world.a.estate, profile=profile, name=f"烟感{i}", key=f"shared-{i}")
        for i in range(N_DEVICES)
    ]
    root = ms.unique_root()
    gateways = [_start_gateway(f"linli-test-{root.split('/')[1]}-{n}", root) for n in (1, 2)]
    try:
        for _proc, ready, lines in gateways:
            assert ready.wait(30), "".join(lines)
        # when 5,000 signed messages plus 500 duplicates are published with QoS 1
        publisher = ms.Publisher("127.0.0.1", 1883, window=200)
        code = world.a.estate.code
        for seq in range(1, SEQS + 1):
            for c in creds:
                publisher.publish(*ms.signed(root, code, c.device.key, c.secret, seq, {"smoke_density": 0.1}))
            if seq % DUPLICATE_EVERY == 0:
                for c in creds:
                    publisher.publish(
                        *ms.signed(root, code, c.device.key, c.secret, seq - 5, {"smoke_density": 0.1})
                    )
        assert publisher.flush(30)
        publisher.close()
        assert ms.wait_until(lambda: Telemetry.objects.count() >= N_DEVICES * SEQS, 40)
        time.sleep(1.0)  # anything stored twice would show up now
    finally:
        for proc, _ready, _lines in gateways:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc, _r, _l in gateways]
    # then every (device, seq) is stored once, both gateways took a share, both stopped cleanly
    assert Telemetry.objects.count() == N_DEVICES * SEQS
    assert Device.objects.filter(key__startswith="shared-").aggregate(n=Sum("accepted_count"))["n"] == 5000
    assert codes == [0, 0]
    stopped = [next(line for line in lines if "stopped {" in line) for _p, _r, lines in gateways]
    received = [int(line.split("'received': ")[1].split(",")[0]) for line in stopped]
    assert sum(received) == 5500
    assert min(received) > 0
    assert config.subscription(root) == f"$share/linli/{root}/+/+/+"
