from datetime import UTC, datetime

import pytest

from linli.devices import canonical
from linli.devices.ingest import ingest
from linli.devices.models import Device, DeviceEvent, RejectedMessage, Telemetry, estate_code_of
from linli.devices.tests import factories as f

pytestmark = pytest.mark.django_db(transaction=False)
NOW_MS = int(datetime.now(UTC).timestamp() * 1000)


def _msg(dev, secret, kind="telemetry", seq=1, estate_code=None, **body):
    topic = canonical.make_topic(estate_code or estate_code_of(dev.estate), dev.key, kind)
    body = {"seq": seq, "ts": NOW_MS, **body}
    if kind == "telemetry" and "values" not in body:
        body["values"] = {"smoke_density": 0.2, "temperature": 24.5, "battery": 90}
    return topic, canonical.encode(topic, body, secret)


def test_stores_once_per_device_and_seq(world):
    dev, secret = f.device(world.a)
    first = ingest([_msg(dev, secret, seq=1), _msg(dev, secret, seq=2), _msg(dev, secret, seq=2)], via="mqtt")
    again = ingest([_msg(dev, secret, seq=1), _msg(dev, secret, seq=3)], via="mqtt")
    assert (first.stored, first.duplicates, first.rejected) == (2, 1, 0)
    assert (again.stored, again.duplicates, again.rejected) == (1, 1, 0)
    assert sorted(Telemetry.objects.filter(device=dev).values_list("seq", flat=True)) == [1, 2, 3]
    dev.refresh_from_db()
    assert (dev.accepted_count, dev.last_seq, dev.online, dev.battery) == (3, 3, True, 90)
    assert Telemetry.objects.get(device=dev, seq=1).values == {
        "smoke_density": 0.2,
        "temperature": 24.5,
        "battery": 90,
    }


def test_events_and_status_update_health(world):
    dev, secret = f.device(world.a)
    result = ingest(
        [
            _msg(dev, secret, "event", seq=10, event="smoke_alarm", data={"level": 2}),
            _msg(dev, secret, "status", seq=11, online=True, battery=55, signal=-90),
        ],
        via="mqtt",
    )
    assert (result.stored, result.rejected) == (1, 0)
    assert list(DeviceEvent.objects.filter(device=dev).values_list("seq", "event", "data")) == [
        (10, "smoke_alarm", {"level": 2})
    ]
    dev.refresh_from_db()
    assert (dev.battery, dev.signal, dev.online) == (55, -90, True)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        ({"secret": "forged"}, "bad_signature"),
        ({"estate_code": "elsewhere"}, "wrong_estate"),
        ({"values": {"smoke_density": 101}}, "out_of_range"),
        ({"values": {"unknown_point": 1}}, "unknown_point"),
        ({"values": {"battery": "full"}}, "bad_value"),
    ],
)
def test_rejections_are_counted_and_never_stored(world, mutate, reason):
    dev, secret = f.device(world.a)
    secret = mutate.pop("secret", secret)
    result = ingest([_msg(dev, secret, **mutate)], via="mqtt")
    assert (result.stored, result.rejected, dict(result.reasons)) == (0, 1, {reason: 1})
    assert Telemetry.objects.filter(device=dev).count() == 0
    dev.refresh_from_db()
    assert (dev.rejected_count, dev.accepted_count, dev.online) == (1, 0, False)
    assert list(RejectedMessage.objects.values_list("device_id", "reason")) == [(dev.id, reason)]


def test_device_publishing_as_another_is_rejected(world):
    victim, _victim_secret = f.device(world.a)
    attacker, attacker_secret = f.device(world.a)
    topic = canonical.make_topic(estate_code_of(victim.estate), victim.key, "telemetry")
    payload = canonical.encode(topic, {"seq": 1, "ts": NOW_MS, "values": {"battery": 1}}, attacker_secret)
    result = ingest([(topic, payload)], via="mqtt")
    assert (result.stored, dict(result.reasons)) == (0, {"bad_signature": 1})
    assert Telemetry.objects.count() == 0
    assert Device.objects.get(pk=attacker.pk).rejected_count == 0


def test_unknown_device_and_garbage_are_sampled_without_device(world):
    result = ingest(
        [("linli/v1/x/nobody/telemetry", b'{"seq":1,"ts":1,"values":{"a":1}}'), ("bad", b"zz")], via="mqtt"
    )
    assert (result.stored, result.rejected) == (0, 2)
    assert sorted(RejectedMessage.objects.values_list("device_id", "reason")) == [
        (None, "bad_topic"),
        (None, "unknown_device"),
    ]


def test_revoked_device_is_rejected(world):
    from linli.devices import services
    from linli.orgs.roles import Role
    from linli.orgs.selectors import actor_for_user

    dev, secret = f.device(world.a)
    services.device_revoke(actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), device=dev)
    result = ingest([_msg(dev, secret)], via="mqtt")
    assert dict(result.reasons) == {"bad_signature": 1}
    assert Telemetry.objects.count() == 0


def test_large_batch_with_redeliveries_is_stored_once_and_counted(world):
    # given 40 messages of two devices already stored
    a, a_secret = f.device(world.a)
    b, b_secret = f.device(world.a)
    first = [_msg(d, s, seq=n) for n in range(1, 21) for d, s in ((a, a_secret), (b, b_secret))]
    assert ingest(first, via="mqtt").stored == 40
    # when a batch larger than one INSERT (COPY on PostgreSQL) redelivers them among 100 new ones
    again = [_msg(d, s, seq=n) for n in range(1, 71) for d, s in ((a, a_secret), (b, b_secret))]
    result = ingest(again, via="mqtt")
    # then only the new ones are stored, the rest counted as duplicates
    assert (result.stored, result.duplicates, result.rejected) == (100, 40, 0)
    assert Telemetry.objects.count() == 140
    assert sorted(Telemetry.objects.filter(device=a).values_list("seq", flat=True)) == list(range(1, 71))
    a.refresh_from_db()
    assert (a.accepted_count, a.last_seq) == (70, 70)


def test_large_batch_keeps_text_values_exactly(world):
    # given an elevator (text points) sending a batch above the single-INSERT size
    dev, secret = f.device(world.a, profile="elevator")
    tricky = 'E\\12\t"x"\n電梯'
    batch = [
        _msg(dev, secret, seq=n, values={"fault_code": tricky if n % 2 else f"F{n}"}) for n in range(1, 81)
    ]
    # when it is ingested
    result = ingest(batch, via="mqtt")
    # then backslashes, tabs, quotes, newlines and non-ASCII text come back unchanged
    assert result.stored == 80
    assert Telemetry.objects.get(device=dev, seq=1).values == {"fault_code": tricky}
    assert Telemetry.objects.get(device=dev, seq=2).values == {"fault_code": "F2"}


def test_large_event_batch_is_stored_once(world):
    dev, secret = f.device(world.a)
    events = [
        _msg(dev, secret, "event", seq=n, event="self_test", data={"n": n, "t": "a\tb"}) for n in range(1, 71)
    ]
    assert ingest(events[:10], via="mqtt").stored == 10
    result = ingest(events, via="mqtt")
    assert (result.stored, result.duplicates) == (60, 10)
    assert DeviceEvent.objects.filter(device=dev).count() == 70
    assert DeviceEvent.objects.get(device=dev, seq=70).data == {"n": 70, "t": "a\tb"}


def test_non_ascii_signature_is_a_rejection_not_an_error(world):
    dev, _secret = f.device(world.a)
    topic = canonical.make_topic(estate_code_of(dev.estate), dev.key, "telemetry")
    payload = f'{{"seq":1,"ts":{NOW_MS},"values":{{"battery":1}},"sig":"签名"}}'
    result = ingest([(topic, payload.encode())], via="mqtt")
    assert dict(result.reasons) == {"bad_signature": 1}
