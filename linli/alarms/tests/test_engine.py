"""Each rule kind of the engine, the one-open-alarm-per-cause guarantee and auto-clear."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.alarms import engine
from linli.alarms.models import Alarm, AlarmEvent
from linli.alarms.tests import factories as f
from linli.alarms.tests.conftest import T0

pytestmark = pytest.mark.django_db


def m(minutes: float):
    return T0 + timedelta(minutes=minutes)


def open_alarms():
    return list(
        Alarm.objects.filter(cleared_at__isnull=True).order_by("pk").values_list("cause", "severity", "count")
    )


def test_threshold_raises_once_while_high_and_auto_clears(dev):
    engine.evaluate([f.telemetry(dev.gas, m(0), gas_concentration=10.0)])
    assert open_alarms() == []

    engine.evaluate([f.telemetry(dev.gas, m(1), gas_concentration=30.0)])
    engine.evaluate([f.telemetry(dev.gas, m(2), gas_concentration=40.0)])
    alarm = Alarm.objects.get()
    assert (alarm.cause, alarm.severity, alarm.count, alarm.first_at) == ("gas_leak", "critical", 1, m(1))
    assert alarm.detail == {"point": "gas_concentration", "value": 30.0}
    assert alarm.path == dev.gas.path and alarm.estate_id == dev.gas.estate_id

    engine.reset()  # a second gateway / restart: it learns the open alarm and does not clear yet
    engine.evaluate([f.telemetry(dev.gas, m(3), gas_concentration=3.0)])
    alarm.refresh_from_db()
    assert (alarm.cleared_at, alarm.clear_reason, alarm.acked_at) == (m(3), "auto", None)
    assert list(alarm.history.values_list("kind", flat=True)) == ["raised", "auto_cleared"]


def test_threshold_on_text_point_elevator_fault_code(dev):
    engine.evaluate([f.telemetry(dev.lift, m(0), fault_code="0")])
    engine.evaluate([f.telemetry(dev.lift, m(1), fault_code="E12")])
    assert open_alarms() == [("elevator_fault", "major", 1)]
    assert Alarm.objects.get().equipment_fault is True


def test_duration_rule_needs_five_minutes_below_limit(dev):
    engine.evaluate([f.telemetry(dev.hydrant, m(0), pressure=0.05)])
    engine.evaluate([f.telemetry(dev.hydrant, m(4.9), pressure=0.06)])
    assert open_alarms() == []

    engine.evaluate([f.telemetry(dev.hydrant, m(5), pressure=0.07)])
    assert open_alarms() == [("low_pressure", "major", 1)]
    assert Alarm.objects.get().first_at == m(5)


def test_duration_resets_when_value_recovers(dev):
    engine.evaluate([f.telemetry(dev.hydrant, m(0), pressure=0.05)])
    engine.evaluate([f.telemetry(dev.hydrant, m(3), pressure=0.3)])
    engine.evaluate([f.telemetry(dev.hydrant, m(4), pressure=0.05)])
    engine.evaluate([f.telemetry(dev.hydrant, m(8.9), pressure=0.05)])
    assert open_alarms() == []
    engine.evaluate([f.telemetry(dev.hydrant, m(9), pressure=0.05)])
    assert open_alarms() == [("low_pressure", "major", 1)]


def test_duration_state_falls_back_to_recent_telemetry_after_restart(dev):
    f.stored_telemetry(dev.hydrant, m(0), pressure=0.04)
    f.stored_telemetry(dev.hydrant, m(2), pressure=0.05)
    engine.evaluate([f.telemetry(dev.hydrant, m(5), pressure=0.05)])
    assert open_alarms() == [("low_pressure", "major", 1)]


def test_rate_rule(dev, world):
    from linli.alarms.services import rule_create
    from linli.orgs.roles import Role
    from linli.orgs.selectors import actor_for_user

    rule_create(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]),
        profile=dev.temp.profile,
        device=dev.temp,
        cause="fast_rise",
        name="温度上升过快",
        kind="rate",
        point="temperature",
        operator="ge",
        value=2.0,
        window_s=300,
        severity="major",
    )
    engine.evaluate([f.telemetry(dev.temp, m(0), temperature=20.0)])
    engine.evaluate([f.telemetry(dev.temp, m(2), temperature=23.0)])  # 1.5 °C/min
    assert open_alarms() == []
    engine.evaluate([f.telemetry(dev.temp, m(3), temperature=26.5)])  # 6.5 °C in 3 min
    assert open_alarms() == [("fast_rise", "major", 1)]
    assert Alarm.objects.get().detail["rate_per_min"] == pytest.approx(2.1667, abs=1e-4)


def test_event_rule_counts_repeats_and_clear_event_closes(dev):
    engine.evaluate([f.event(dev.smoke, m(0), "smoke_alarm")])
    engine.evaluate([f.event(dev.smoke, m(1), "smoke_alarm")])
    assert open_alarms() == [("fire", "critical", 2)]
    engine.evaluate([f.event(dev.smoke, m(2), "smoke_alarm_clear")])
    alarm = Alarm.objects.get()
    assert (alarm.cleared_at, alarm.clear_reason, alarm.last_at) == (m(2), "event", m(1))

    engine.evaluate([f.event(dev.smoke, m(3), "smoke_alarm")])
    assert open_alarms() == [("fire", "critical", 1)]
    assert Alarm.objects.count() == 2


def test_combination_smoke_density_and_temperature_rise_in_same_room_is_fire(dev):
    engine.evaluate([f.telemetry(dev.temp, m(0), temperature=22.0)])
    engine.evaluate([f.telemetry(dev.smoke, m(1), smoke_density=15.0)])
    assert open_alarms() == []  # smoke without heat: the combination waits

    engine.evaluate([f.telemetry(dev.temp, m(3), temperature=33.0)])  # +11 °C within 5 min, other device
    alarm = Alarm.objects.get()
    assert (alarm.device_id, alarm.cause, alarm.severity) == (dev.smoke.pk, "fire", "critical")
    assert alarm.detail == {"rise": 11.0, "point": "temperature"}


def test_combination_needs_rise_within_the_window(dev):
    engine.evaluate([f.telemetry(dev.temp, m(0), temperature=22.0)])
    engine.evaluate([f.telemetry(dev.temp, m(4), temperature=27.0)])
    engine.evaluate([f.telemetry(dev.temp, m(9.5), temperature=31.0)])  # +9 in 5.5 min, +4 within 5
    engine.evaluate([f.telemetry(dev.smoke, m(10), smoke_density=20.0)])
    assert open_alarms() == []


def test_combination_from_stored_event_after_restart(dev):
    from linli.alarms.tests.factories import _seq
    from linli.devices.models import DeviceEvent

    DeviceEvent.objects.create(
        device=dev.smoke, seq=next(_seq), ts=m(0), received_at=m(0), event="smoke_alarm"
    )
    f.stored_telemetry(dev.smoke, m(0), temperature=25.0)
    engine.evaluate([f.telemetry(dev.smoke, m(2), temperature=36.0)])
    assert open_alarms() == [("fire", "critical", 1)]


def test_schedule_door_open_only_at_night(dev):
    # T0 is 12:00 local: no alarm; 23:30 local (15:30 UTC) raises one.
    engine.evaluate([f.telemetry(dev.door, m(0), open=True)])
    engine.evaluate([f.telemetry(dev.door, m(1), open=False)])
    assert open_alarms() == []
    night = T0 + timedelta(hours=11, minutes=30)
    engine.evaluate([f.telemetry(dev.door, night, open=True)])
    assert open_alarms() == [("door_open_night", "minor", 1)]


def test_in_schedule_past_midnight_belongs_to_the_start_day():
    from datetime import UTC, datetime

    sched = {"days": [5], "ranges": [["23:00", "06:00"]]}  # Friday night only
    sat_0300_local = datetime(2025, 3, 14, 19, 0, tzinfo=UTC)  # Sat 03:00 Asia/Shanghai
    sun_0300_local = datetime(2025, 3, 15, 19, 0, tzinfo=UTC)
    fri_2200_local = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)
    assert engine.in_schedule(sched, sat_0300_local) is True
    assert engine.in_schedule(sched, sun_0300_local) is False
    assert engine.in_schedule(sched, fri_2200_local) is False


def test_offline_raises_and_back_online_clears(dev):
    engine.offline_changed([dev.gas.pk, dev.smoke.pk], [])
    assert sorted(open_alarms()) == [("offline", "minor", 1), ("offline", "minor", 1)]
    engine.offline_changed([], [dev.gas.pk])
    assert list(Alarm.objects.filter(cleared_at__isnull=True).values_list("device_id", flat=True)) == [
        dev.smoke.pk
    ]


def test_health_alarm_is_marked_sensitive(dev):
    engine.evaluate([f.event(dev.watch, m(0), "fall")])
    alarm = Alarm.objects.get()
    assert (alarm.cause, alarm.severity, alarm.health_sensitive) == ("health_fall", "critical", True)


def test_device_override_replaces_profile_rule(dev, world):
    from linli.alarms.models import AlarmRule
    from linli.alarms.services import rule_create
    from linli.orgs.roles import Role
    from linli.orgs.selectors import actor_for_user

    base = AlarmRule.objects.get(profile=dev.gas.profile, kind="threshold", cause="gas_leak", device=None)
    rule_create(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]),
        profile=dev.gas.profile,
        device=dev.gas,
        base=base,
        value=50.0,
    )
    engine.evaluate([f.telemetry(dev.gas, m(0), gas_concentration=30.0)])
    assert open_alarms() == []
    engine.evaluate([f.telemetry(dev.gas, m(1), gas_concentration=55.0)])
    assert open_alarms() == [("gas_leak", "critical", 1)]


def test_unique_constraint_refuses_a_second_open_alarm(dev):
    from django.db import IntegrityError, transaction

    engine.evaluate([f.event(dev.smoke, m(0), "smoke_alarm")])
    a = Alarm.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Alarm.objects.create(
            device=a.device,
            estate=a.estate,
            path=a.path,
            cause="fire",
            severity="critical",
            title="x",
            first_at=m(1),
            last_at=m(1),
        )
    assert AlarmEvent.objects.filter(kind="raised").count() == 1


def test_sequential_gateways_bump_one_alarm(dev):
    engine.evaluate([f.event(dev.smoke, m(0), "smoke_alarm")])
    engine.reset()  # "another gateway" with an empty cache
    engine.evaluate([f.event(dev.smoke, m(0.5), "smoke_alarm")])
    assert open_alarms() == [("fire", "critical", 2)]
    assert Alarm.objects.get().last_at == m(0.5)
