"""The gateway against the local Mosquitto: forged, unknown and misplaced messages are refused and counted;
acknowledgements wait for the commit; a batch failing in ingest is split around the bad message."""

from __future__ import annotations

import time

import pytest

from linli.devices import canonical
from linli.devices.models import Device, DeviceProfile, RejectedMessage, Telemetry
from linli.devices.mqtt import config
from linli.devices.mqtt.gateway import Gateway
from linli.devices.services import device_create
from linli.devices.tests import mqtt_support as ms
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

LOCAL = config.BrokerAddress("127.0.0.1", 1883)


def _devices(world, n: int = 2):
    actor = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    profile = DeviceProfile.objects.get(key="smoke")
    return [
        device_create(actor=actor, estate=world.a.estate, profile=profile, name=f"烟感{i}", key=f"gi-{i}")
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_device_publishing_as_another_is_rejected_and_counted(world, monkeypatch):
    ms.require_local_mosquitto()
    # given devices A and B of estate a and a gateway
    a, b = _devices(world)
    root = ms.unique_root()
    monkeypatch.setenv("LINLI_MQTT_TOPIC_ROOT", root)
    code = world.a.estate.code
    with ms.GatewayThread(LOCAL, root) as gw:
        publisher = ms.Publisher("127.0.0.1", 1883)
        # when A signs a message with its own secret but publishes it on B's topic
        publisher.publish(*ms.signed(root, code, b.device.key, a.secret, 1, {"smoke_density": 9.9}))
        # and an unknown device and a message on the wrong estate's topic arrive
        publisher.publish(*ms.signed(root, code, "nobody-here", a.secret, 1, {"smoke_density": 1}))
        publisher.publish(
            *ms.signed(root, world.b.estate.code, a.device.key, a.secret, 2, {"smoke_density": 1})
        )
        # and one good message from A
        publisher.publish(*ms.signed(root, code, a.device.key, a.secret, 3, {"smoke_density": 0.2}))
        assert publisher.flush(10)
        publisher.close()
        assert ms.wait_until(lambda: gw.stats.received == 4 and gw.stats.batches >= 1 and not gw._busy, 10)
    # then only A's own message is stored; B counts the forgery, A the misplaced one
    assert list(Telemetry.objects.values_list("device__key", "seq")) == [(a.device.key, 3)]
    b_dev = Device.objects.get(pk=b.device.pk)
    a_dev = Device.objects.get(pk=a.device.pk)
    assert (b_dev.rejected_count, b_dev.accepted_count, b_dev.last_seen_at) == (1, 0, None)
    assert (a_dev.rejected_count, a_dev.accepted_count) == (1, 1)
    assert sorted(RejectedMessage.objects.values_list("reason", flat=True)) == [
        "bad_signature",
        "unknown_device",
        "wrong_estate",
    ]
    assert gw.stats.rejected == 3 and gw.stats.stored == 1


class _FakeClient:
    """Stands in for the MQTT connection: records the acknowledgements asked for."""

    def __init__(self):
        self.acks: list[int] = []

    def ack_many(self, pairs):
        self.acks.extend(mid for _gen, mid in pairs)
        return 0


class _Result:
    def __init__(self, stored):
        self.stored, self.duplicates, self.rejected = stored, 0, 0


class _Sock:
    def __init__(self):
        self.sent: list[bytes] = []

    def sendall(self, data):
        self.sent.append(data)


def test_acks_are_sent_after_ingest_returns_and_never_for_a_previous_connection():
    # given a gateway on its second connection whose ingest records when it ran
    events: list[str] = []
    sock = _Sock()

    def ingest(raw, *, via):
        events.append(f"ingest:{len(raw)}:{via}")
        assert sock.sent == []  # nothing acknowledged before the batch is stored
        return _Result(len(raw))

    gw = Gateway(broker=LOCAL, root="linli/v1", ingest=ingest, stats_every=0)
    gw.client._sock, gw.client.generation = sock, 2

    batch = [(1, 11, 1, "t", b"{}"), (2, 12, 1, "t", b"{}"), (2, 13, 0, "t", b"{}"), (2, 14, 1, "t", b"{}")]
    # when the batch is processed
    gw._process(batch)
    # then ingest ran once, the QoS 1 messages of this connection are acked in one write, the old one is not
    assert events == ["ingest:4:mqtt"]
    assert sock.sent == [bytes([0x40, 2, 0, 12, 0x40, 2, 0, 14])]
    assert gw.stats.acks_dropped == 1
    assert gw.stats.stored == 4


def test_acks_of_a_lost_connection_are_dropped():
    # given a subscriber whose connection is gone (reconnecting)
    gw = Gateway(broker=LOCAL, root="linli/v1", ingest=lambda raw, *, via: _Result(len(raw)), stats_every=0)
    gw.client._sock, gw.client.generation = None, 3
    # when a batch of that connection is stored
    gw._process([(3, 1, 1, "t", b"{}"), (3, 2, 1, "t", b"{}")])
    # then nothing is acknowledged: the broker redelivers both on the next connection
    assert gw.stats.acks_dropped == 2


def test_a_message_that_breaks_ingest_is_isolated_and_the_rest_stored():
    # given an ingest that raises whenever the batch holds the poison payload
    stored: list[bytes] = []

    def ingest(raw, *, via):
        if any(p == b"poison" for _t, p in raw):
            raise ValueError("bug")
        stored.extend(p for _t, p in raw)
        return _Result(len(raw))

    gw = Gateway(broker=LOCAL, root="linli/v1", ingest=ingest, stats_every=0)
    gw.client = _FakeClient()
    payloads = [b"m1", b"m2", b"poison", b"m3", b"m4"]
    # when a batch with it is processed
    gw._process([(0, i + 1, 1, "t", p) for i, p in enumerate(payloads)])
    # then every other message is stored, the bad one dropped and counted, and all are acked
    assert sorted(stored) == [b"m1", b"m2", b"m3", b"m4"]
    assert gw.stats.errors == 1
    assert gw.client.acks == [1, 2, 3, 4, 5]


def test_database_outage_retries_the_same_batch_until_it_commits(monkeypatch):
    from django.db.utils import OperationalError

    # given an ingest failing twice with a database error, then succeeding
    calls: list[int] = []

    def ingest(raw, *, via):
        calls.append(len(raw))
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return _Result(len(raw))

    monkeypatch.setattr(time, "sleep", lambda s: None)
    gw = Gateway(broker=LOCAL, root="linli/v1", ingest=ingest, stats_every=0)
    gw.client = _FakeClient()
    # when a batch of two is processed
    gw._process([(0, 1, 1, "t", b"a"), (0, 2, 1, "t", b"b")])
    # then the whole batch was retried, stored once, then acked
    assert calls == [2, 2, 2]
    assert gw.stats.stored == 2
    assert gw.client.acks == [1, 2]


def test_canonical_signature_binds_the_topic():
    # a valid signature for one topic does not verify for another (what the gateway relies on)
    body = {"seq": 1, "ts": 1, "values": {"x": 1}}
    sig = canonical.sign("r/E1/a/telemetry", body, "s3cret")
    assert canonical.verify("r/E1/a/telemetry", body, sig, "s3cret") is True
    assert canonical.verify("r/E1/b/telemetry", body, sig, "s3cret") is False
