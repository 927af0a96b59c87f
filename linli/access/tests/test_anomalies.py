"""Anomaly rules: rapid reuse at two gates, repeated denials, device alarms (duress silent and urgent),
and elderly residents living alone not seen (care alert to community workers only, R65)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from linli.access.insights import anomalies, selectors
from linli.access.models import AccessAnomaly, AccessEvent, AccessPoint, AccessSettings
from linli.access.tests import factories as f
from linli.core.errors import NotFound
from linli.messaging.models import Message
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.models import CareKind, Occupancy, Person
from linli.people.tests import factories as people_f

T0 = timezone.make_aware(timezone.datetime(2026, 3, 2, 18, 30))


def _event(point, at, *, result="allow", direction="in", method="card", person=None, credential=None, **kw):
    return AccessEvent.objects.create(
        estate=point.estate,
        path=point.path,
        access_point=point,
        occurred_at=at,
        received_at=at,
        direction=direction,
        method=method,
        result=result,
        reason=kw.pop("reason", "ok" if result == "allow" else "unknown_credential"),
        subject_kind=kw.pop("subject_kind", "resident"),
        person=person,
        credential=credential,
        **kw,
    )


def _gates(side):
    east = f.access_point(estate=side.estate, name="东门", code="east", kind="pedestrian_gate")
    south = f.access_point(estate=side.estate, name="南门", code="south", kind="estate_gate")
    return east, south


def _inbox(user) -> list[tuple[str, str]]:
    return list(Message.objects.filter(user=user).order_by("pk").values_list("category", "title"))


def _security_staff(side):
    return side.staff[Role.GUARD], side.staff[Role.PROPERTY_ADMIN]


# --- rapid reuse --------------------------------------------------------------------------------


def test_the_same_card_at_two_gates_within_the_window_is_one_anomaly(world):
    # given a resident's card allowed at the east gate and, 60 s later, at the south gate
    east, south = _gates(world.a)
    person = world.a.persons[1]
    card = f.card_credential(person=person)
    first = _event(east, T0, person=person, credential=card)
    anomalies.check_event(first)  # alone, nothing to see
    assert AccessAnomaly.objects.count() == 0
    second = _event(south, T0 + timedelta(seconds=60), person=person, credential=card)
    # when the rules run on the second passage
    found = anomalies.check_event(second)
    # then one open rapid-reuse anomaly names both gates and the 60 s
    row = AccessAnomaly.objects.get()
    assert found == [row]
    assert (row.kind, row.status, row.count, row.first_at, row.last_at) == (
        "rapid_reuse",
        "open",
        2,
        T0,
        T0 + timedelta(seconds=60),
    )
    assert (row.person, row.credential, row.access_point, row.estate) == (person, card, south, world.a.estate)
    assert row.detail == {
        "points": sorted([east.pk, south.pk]),
        "point_names": ["东门", "南门"],
        "seconds": 60,
        "events": [first.pk, second.pk],
    }
    assert row.dedup_key == f"rapid_reuse:credential:{card.pk}"
    # and the guard and the property admin of estate a are told, nobody else
    for user in _security_staff(world.a):
        assert _inbox(user) == [("access_anomaly", "出入异常：同一凭证短时间内在两个大门使用")]
    assert Message.objects.count() == 2
    # a third use updates the open anomaly without telling anybody again
    third = _event(east, T0 + timedelta(seconds=90), person=person, credential=card)
    anomalies.check_event(third)
    row.refresh_from_db()
    assert (AccessAnomaly.objects.count(), row.count, row.last_at) == (1, 3, T0 + timedelta(seconds=90))
    assert Message.objects.count() == 2


def test_no_rapid_reuse_outside_the_window_at_the_same_gate_or_at_a_unit_door(world):
    east, south = _gates(world.a)
    door = f.access_point(estate=world.a.estate, building=world.a.building, code="door")
    person = world.a.persons[1]
    card = f.card_credential(person=person)
    steps = [
        (east, 0, "allow"),
        (south, 121, "allow"),  # the window is 120 s
        (east, 300, "allow"),
        (east, 310, "allow"),  # the same gate again
        (door, 320, "allow"),  # a unit door is not a gate
        (south, 330, "deny"),  # a refusal is no passage
    ]
    for point, seconds, result in steps:
        anomalies.check_event(
            _event(point, T0 + timedelta(seconds=seconds), result=result, person=person, credential=card)
        )
    assert AccessAnomaly.objects.filter(kind="rapid_reuse").count() == 0


def test_a_visitor_pass_used_at_two_gates_counts_too_and_the_window_is_the_estates(world):
    east, south = _gates(world.a)
    AccessSettings.objects.create(estate=world.a.estate, rapid_reuse_seconds=300)
    vp = f.visitor_pass(estate=world.a.estate, path=world.a.estate.path)
    _event(east, T0, subject_kind="visitor", visitor_pass=vp, method="qr")
    second = _event(south, T0 + timedelta(seconds=250), subject_kind="visitor", visitor_pass=vp, method="qr")
    anomalies.check_event(second)
    row = AccessAnomaly.objects.get()
    assert (row.dedup_key, row.detail["visitor_pass"], row.detail["seconds"]) == (
        f"rapid_reuse:pass:{vp.pk}",
        vp.pk,
        250,
    )


# --- repeated denials ---------------------------------------------------------------------------


def test_the_fifth_denial_of_a_card_within_ten_minutes_opens_one_anomaly(world):
    east, _south = _gates(world.a)
    person = world.a.persons[1]
    card = f.card_credential(person=person)
    events = [
        _event(east, T0 + timedelta(minutes=2 * i), result="deny", person=person, credential=card)
        for i in range(4)
    ]
    for e in events:
        anomalies.check_event(e)
    assert AccessAnomaly.objects.count() == 0
    fifth = _event(
        east, T0 + timedelta(minutes=9), result="deny", person=person, credential=card, reason="revoked"
    )
    anomalies.check_event(fifth)
    rows = {r.dedup_key: r for r in AccessAnomaly.objects.all()}
    # the card and the gate both reached five refusals in the window
    assert set(rows) == {f"repeated_denials:credential:{card.pk}", f"repeated_denials:point:{east.pk}"}
    by_card = rows[f"repeated_denials:credential:{card.pk}"]
    assert (by_card.kind, by_card.count, by_card.first_at, by_card.last_at, by_card.person) == (
        "repeated_denials",
        5,
        T0,
        T0 + timedelta(minutes=9),
        person,
    )
    assert by_card.detail == {"scope": "credential", "window_minutes": 10, "last_reason": "revoked"}
    assert rows[f"repeated_denials:point:{east.pk}"].person is None
    guard = world.a.staff[Role.GUARD]
    assert [t for _k, t in _inbox(guard)] == ["出入异常：多次被拒", "出入异常：多次被拒"]
    # a sixth refusal counts on the open anomalies, no new notice
    anomalies.check_event(
        _event(east, T0 + timedelta(minutes=10), result="deny", person=person, credential=card)
    )
    by_card.refresh_from_db()
    assert (by_card.count, Message.objects.filter(user=guard).count()) == (6, 2)


def test_denials_at_one_point_by_different_unknown_cards(world):
    door = f.access_point(estate=world.a.estate, building=world.a.building, code="door", name="1号楼单元门")
    AccessSettings.objects.create(estate=world.a.estate, denial_threshold=3, denial_window_minutes=5)
    for minutes in (0, 2):
        anomalies.check_event(
            _event(door, T0 + timedelta(minutes=minutes), result="deny", subject_kind="unknown")
        )
    anomalies.check_event(_event(door, T0 + timedelta(minutes=6), result="deny", subject_kind="unknown"))
    assert AccessAnomaly.objects.count() == 0  # the first refusal fell out of the 5-minute window
    anomalies.check_event(
        _event(door, T0 + timedelta(minutes=6, seconds=30), result="deny", subject_kind="unknown")
    )
    row = AccessAnomaly.objects.get()
    assert (row.dedup_key, row.count, row.access_point, row.path) == (
        f"repeated_denials:point:{door.pk}",
        3,
        door,
        world.a.building.path,
    )
    assert Message.objects.filter(user=world.a.staff[Role.GUARD]).get().body == (
        "「1号楼单元门」5 分钟内被拒 3 次，可能有人反复尝试，请核查。"
    )


# --- device alarms ------------------------------------------------------------------------------


def test_a_tailgating_report_opens_an_anomaly_once_per_door(world):
    east, _south = _gates(world.a)
    row = anomalies.report_device_alarm(event=None, access_point=east, alarm="tailgating", occurred_at=T0)
    assert (row.kind, row.detail, row.count, row.access_point) == (
        "tailgating",
        {"alarm": "tailgating", "priority": "major"},
        1,
        east,
    )
    again = anomalies.report_device_alarm(
        event=None, access_point=east, alarm="tailgating", occurred_at=T0 + timedelta(minutes=3)
    )
    assert (again.pk, again.count) == (row.pk, 2)
    for user in _security_staff(world.a):
        assert _inbox(user) == [("access_anomaly", "出入异常：尾随通行")]
    assert _inbox(world.a.staff[Role.CUSTOMER_SERVICE]) == []
    climbing = anomalies.report_device_alarm(event=None, access_point=east, alarm="climbing", occurred_at=T0)
    assert (climbing.kind, climbing.detail["alarm"]) == ("climbing", "climbing")
    assert (
        anomalies.report_device_alarm(event=None, access_point=east, alarm="tamper", occurred_at=T0) is None
    )


def test_duress_is_critical_silent_and_announced_every_time(world):
    east, _south = _gates(world.a)
    person = world.a.persons[2]
    event = _event(east, T0, person=person, method="card", credential=f.card_credential(person=person))
    first = anomalies.report_device_alarm(event=event, access_point=east, alarm="duress", occurred_at=T0)
    anomalies.report_device_alarm(
        event=event, access_point=east, alarm="duress", occurred_at=T0 + timedelta(minutes=1)
    )
    first.refresh_from_db()
    assert (first.kind, first.detail["priority"], first.count, first.person) == (
        "duress",
        "critical",
        2,
        person,
    )
    for user in _security_staff(world.a):
        assert _inbox(user) == [("access_duress", "【紧急】胁迫报警：东门")] * 2
    assert Message.objects.count() == 4


# --- elderly living alone not seen --------------------------------------------------------------


def _elderly(side, *, days_registered=10, room=None):
    person = people_f.person(estate=side.estate, room=room or side.rooms[2])
    people_f.care_tag(person=person, kind=CareKind.ELDERLY_ALONE)
    Person.objects.filter(pk=person.pk).update(created_at=timezone.now() - timedelta(days=days_registered))
    return person


def _installed(point, days=10):
    AccessPoint.objects.filter(pk=point.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_an_elderly_resident_not_seen_for_48_hours_alerts_only_the_community_worker(world):
    # given estate a with a gate installed 10 days ago and an elderly resident living alone
    east, _south = _gates(world.a)
    _installed(east)
    person = _elderly(world.a)
    now = timezone.now()
    _event(east, now - timedelta(hours=50), person=person)  # last seen 50 h ago
    # when the periodic scan runs
    result = anomalies.not_seen_scan(now)
    # then one care anomaly, health-sensitive, with the home and the hours
    assert result == {"opened": 1, "closed": 0}
    row = AccessAnomaly.objects.get()
    assert (row.kind, row.person, row.health_sensitive, row.status) == ("not_seen", person, True, "open")
    assert row.detail["hours"] == 48
    assert row.detail["home"] == f"1号楼{world.a.unit.name}301"
    # and only estate a's community worker is told
    worker = world.a.staff[Role.COMMUNITY_WORKER]
    assert _inbox(worker) == [("access_care", "关爱提醒：独居老人长时间未出入")]
    assert Message.objects.exclude(user=worker).count() == 0
    # a second scan changes nothing
    assert anomalies.not_seen_scan(now + timedelta(minutes=15)) == {"opened": 0, "closed": 0}


def test_the_care_alert_is_invisible_to_guards_and_property_admins_r65(world):
    east, _south = _gates(world.a)
    _installed(east)
    _elderly(world.a)
    anomalies.not_seen_scan(timezone.now())
    row = AccessAnomaly.objects.get()
    for role in (Role.GUARD, Role.PROPERTY_ADMIN):
        actor = actor_for_user(world.a.staff[role])
        assert list(selectors.anomaly_list(actor=actor)) == []
        with pytest.raises(NotFound):
            selectors.anomaly_get(actor=actor, pk=row.pk)
    worker = actor_for_user(world.a.staff[Role.COMMUNITY_WORKER])
    assert list(selectors.anomaly_list(actor=worker)) == [row]
    assert list(selectors.anomaly_list(actor=actor_for_user(world.b.staff[Role.COMMUNITY_WORKER]))) == []


def test_who_is_not_flagged(world):
    east, _south = _gates(world.a)
    _installed(east)
    now = timezone.now()
    seen = _elderly(world.a)
    _event(east, now - timedelta(hours=47), person=seen, result="deny")  # any result counts
    _elderly(world.a, days_registered=1)  # registered a day ago
    moved = _elderly(world.a)
    Occupancy.objects.filter(person=moved).update(end_date=date(2025, 1, 1))
    not_tagged = people_f.person(estate=world.a.estate, room=world.a.rooms[0])
    Person.objects.filter(pk=not_tagged.pk).update(created_at=now - timedelta(days=10))
    _elderly(world.b)  # estate b has no access points
    assert anomalies.not_seen_scan(now) == {"opened": 0, "closed": 0}


def test_no_alert_before_access_control_has_run_long_enough(world):
    east, _south = _gates(world.a)
    _installed(east, days=1)
    _elderly(world.a)
    assert anomalies.not_seen_scan(timezone.now()) == {"opened": 0, "closed": 0}


def test_the_alert_closes_itself_when_the_person_is_seen_again(world):
    east, _south = _gates(world.a)
    _installed(east)
    person = _elderly(world.a)
    now = timezone.now()
    anomalies.not_seen_scan(now)
    row = AccessAnomaly.objects.get()
    # when the person passes a gate
    anomalies.check_event(_event(east, now + timedelta(minutes=5), person=person, direction="out"))
    # then the alert is closed and the community worker told
    row.refresh_from_db()
    assert (row.status, row.note) == ("closed", "已在出入口再次出现，自动关闭")
    worker = world.a.staff[Role.COMMUNITY_WORKER]
    assert [k for k, _t in _inbox(worker)] == ["access_care", "access_care"]
    assert _inbox(worker)[1][1] == "独居老人已恢复出入"


def test_the_scan_closes_alerts_that_no_longer_apply(world):
    east, _south = _gates(world.a)
    _installed(east)
    person = _elderly(world.a)
    now = timezone.now()
    anomalies.not_seen_scan(now)
    person.care_tags.update(end_date=date(2026, 1, 1))
    assert anomalies.not_seen_scan(now + timedelta(minutes=15)) == {"opened": 0, "closed": 1}
    assert AccessAnomaly.objects.get().status == "closed"
