"""Access console services: access points (R22/R23, estate, device and door checks), default policies,
policies, holidays (national 2026 calendar), settings bounds and anomaly handling."""

from __future__ import annotations

from datetime import date, time

import pytest

from linli.access.insights import services as insights_services
from linli.access.models import AccessAnomaly, AccessPoint, AccessPolicy, AccessSettings, Audience, Holiday
from linli.access.points import selectors, services
from linli.access.tests import factories as f
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.devices.tests import factories as devices_f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user


def _admin(side):
    return actor_for_user(side.staff[Role.PROPERTY_ADMIN])


def _create(side, **kw):
    values = {
        "kind": "estate_gate",
        "name": "东门",
        "code": "east",
        "allowed_methods": ["qr", "card", "staff"],
    }
    values.update(kw)
    return services.access_point_create(actor=_admin(side), estate=side.estate, **values)


@pytest.mark.parametrize(
    "methods",
    [["face"], ["face", "voice"], ["voice"], ["qr", "face"], ["qr"], [], ["qr", "teleport"]],
)
def test_a_point_without_a_non_face_and_a_no_phone_method_is_refused_r22_r23(world, methods):
    # given a property admin of estate a
    before = AuditEvent.objects.count()
    # when they register a door that only takes a face (or only a phone, or nothing known)
    with pytest.raises(ValidationFailed) as exc:
        _create(world.a, allowed_methods=methods)
    # then it is a field error on allowed_methods and nothing is stored
    assert list(exc.value.fields) == ["allowed_methods"]
    assert AccessPoint.objects.count() == 0
    assert AccessPolicy.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_an_existing_point_cannot_be_made_face_only(world):
    point = _create(world.a)
    with pytest.raises(ValidationFailed) as exc:
        services.access_point_update(actor=_admin(world.a), point=point, allowed_methods=["face"])
    assert list(exc.value.fields) == ["allowed_methods"]
    point.refresh_from_db()
    assert point.allowed_methods == ["qr", "card", "staff"]


def test_the_first_point_creates_the_default_policies_once(world):
    # when the first access point of estate a is registered
    point = _create(world.a, allowed_methods=["qr", "card", "face", "staff"])
    # then the resident (all day) and visitor (06:00–23:00) default policies exist
    rows = {
        p.audience: p
        for p in AccessPolicy.objects.filter(estate=world.a.estate).prefetch_related("access_points")
    }
    assert set(rows) == {Audience.RESIDENTS, Audience.VISITORS}
    residents, visitors = rows[Audience.RESIDENTS], rows[Audience.VISITORS]
    assert (residents.name, residents.own_building_only, residents.weekdays) == (
        "住户通行：小区大门与本楼栋",
        True,
        [],
    )
    assert (residents.start_time, residents.end_time, residents.is_active) == (None, None, True)
    assert (visitors.name, visitors.start_time, visitors.end_time) == (
        "访客通行：小区大门与被访楼栋",
        time(6),
        time(23),
    )
    assert list(residents.access_points.all()) == []
    assert point.path == world.a.estate.path
    # and a second point adds none
    _create(world.a, code="south", name="南门")
    assert AccessPolicy.objects.filter(estate=world.a.estate).count() == 2
    assert AccessPolicy.objects.filter(estate=world.b.estate).count() == 0


def test_default_policies_skip_an_audience_that_already_has_one(world):
    f.resident_policy(estate=world.a.estate, name="住户：自定义")
    created = services.ensure_default_policies(world.a.estate)
    assert [p.audience for p in created] == [Audience.VISITORS]
    assert AccessPolicy.objects.filter(estate=world.a.estate, audience=Audience.RESIDENTS).count() == 1


def test_a_unit_door_needs_a_building_of_the_same_estate(world):
    with pytest.raises(ValidationFailed) as exc:
        _create(world.a, kind="unit_door", code="d1", building=world.b.building)
    assert exc.value.fields == {"building": ["楼栋不属于该小区"]}
    with pytest.raises(ValidationFailed) as exc:
        _create(world.a, kind="unit_door", code="d1")
    assert exc.value.fields == {"building": ["单元门和电梯须选择所在楼栋"]}
    point = _create(world.a, kind="unit_door", code="d1", building=world.a.building)
    assert (point.building, point.path) == (world.a.building, world.a.building.path)


def test_the_device_must_belong_to_the_estate_and_its_door_drive_one_point(world):
    device_b, _ = devices_f.device(world.b, profile="generic")
    with pytest.raises(ValidationFailed) as exc:
        _create(world.a, device=device_b)
    assert exc.value.fields == {"device": ["设备不属于该小区"]}
    device_a, _ = devices_f.device(world.a, profile="generic")
    _create(world.a, device=device_a, door_no=1)
    with pytest.raises(Conflict) as exc:
        _create(world.a, code="south", name="南门", device=device_a, door_no=1)
    assert exc.value.status == 409
    second = _create(world.a, code="south", name="南门", device=device_a, door_no=2)
    assert (second.device_id, second.door_no) == (device_a.pk, 2)


def test_a_code_is_unique_per_estate(world):
    _create(world.a, code="east")
    with pytest.raises(Conflict):
        _create(world.a, code="EAST", name="东门2")
    other = _create(world.b, code="east")
    assert other.estate == world.b.estate


def test_staff_of_another_estate_or_without_the_permission_cannot_register(world):
    with pytest.raises(NotFound):
        services.access_point_create(
            actor=_admin(world.b),
            estate=world.a.estate,
            kind="estate_gate",
            name="x",
            code="x",
            allowed_methods=["card"],
        )
    with pytest.raises(PermissionDenied):
        services.access_point_create(
            actor=actor_for_user(world.a.staff[Role.GUARD]),
            estate=world.a.estate,
            kind="estate_gate",
            name="x",
            code="x",
            allowed_methods=["card"],
        )
    assert AccessPoint.objects.count() == 0


def test_disable_and_enable_a_point_audited(world):
    point = _create(world.a)
    services.access_point_set_status(actor=_admin(world.a), point=point, enabled=False, reason="维修")
    point.refresh_from_db()
    assert point.status == "disabled"
    with pytest.raises(Conflict):
        services.access_point_set_status(actor=_admin(world.a), point=point, enabled=False)
    services.access_point_set_status(actor=_admin(world.a), point=point, enabled=True)
    point.refresh_from_db()
    assert point.status == "active"
    audits = list(
        AuditEvent.objects.filter(object_type="access.accesspoint", object_id=str(point.pk)).order_by("id")
    )
    assert [(a.action, a.detail.get("status")) for a in audits] == [
        (Action.CREATE, None),
        (Action.UPDATE, "disabled"),
        (Action.UPDATE, "active"),
    ]
    assert audits[1].reason == "维修"


def test_update_records_what_changed(world):
    point = _create(world.a)
    services.access_point_update(
        actor=_admin(world.a), point=point, name="东门（北）", allowed_methods=["card", "face"]
    )
    point.refresh_from_db()
    assert (point.name, point.allowed_methods) == ("东门（北）", ["card", "face"])
    last = AuditEvent.objects.filter(object_type="access.accesspoint").order_by("-id").first()
    assert last.detail == {
        "changed": {
            "name": ["东门", "东门（北）"],
            "allowed_methods": [["qr", "card", "staff"], ["card", "face"]],
        }
    }


# --- policies -----------------------------------------------------------------------------------


def test_policy_validation(world):
    gate_b = f.access_point(estate=world.b.estate)
    actor = _admin(world.a)
    cases = [
        ({"weekdays": [7]}, "weekdays"),
        ({"roles": ["resident"], "audience": "staff"}, "roles"),
        ({"roles": ["guard"]}, "roles"),
        ({"start_time": time(8)}, "end_time"),
        ({"start_time": time(8), "end_time": time(8)}, "end_time"),
        ({"access_point_ids": [gate_b.pk]}, "access_point_ids"),
        ({"audience": "aliens"}, "audience"),
        ({"holiday_mode": "sometimes"}, "holiday_mode"),
        ({"name": ""}, "name"),
    ]
    for extra, field in cases:
        values = {"name": "夜间", "audience": "residents", **extra}
        with pytest.raises(ValidationFailed) as exc:
            services.policy_create(actor=actor, estate=world.a.estate, **values)
        assert list(exc.value.fields) == [field], extra
    assert AccessPolicy.objects.filter(estate=world.a.estate).count() == 0


def test_policy_create_update_delete(world):
    gate = f.access_point(estate=world.a.estate)
    actor = _admin(world.a)
    policy = services.policy_create(
        actor=actor,
        estate=world.a.estate,
        name="保安夜班",
        audience="staff",
        roles=["guard"],
        own_building_only=False,
        access_point_ids=[gate.pk],
        weekdays=[4, 5, 4],
        start_time=time(22),
        end_time=time(6),
        holiday_mode="closed",
    )
    assert (policy.weekdays, policy.roles, list(policy.access_points.all())) == ([4, 5], ["guard"], [gate])
    assert policy.path == world.a.estate.path
    services.policy_update(actor=actor, policy=policy, weekdays=[0, 1, 2, 3, 4, 5, 6], access_point_ids=[])
    policy.refresh_from_db()
    assert (policy.weekdays, list(policy.access_points.all())) == ([], [])
    pk = policy.pk
    services.policy_delete(actor=actor, policy=policy)
    assert not AccessPolicy.objects.filter(pk=pk).exists()
    actions = list(
        AuditEvent.objects.filter(object_type="access.accesspolicy", object_id=str(pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [Action.CREATE, Action.UPDATE, Action.DELETE]


# --- holidays -----------------------------------------------------------------------------------


def test_the_national_2026_calendar_has_every_day_off_and_makeup_workday(world):
    created, skipped = services.holidays_import_national(
        actor=_admin(world.a), estate=world.a.estate, year=2026
    )
    rows = list(Holiday.objects.filter(estate=world.a.estate).order_by("date"))
    off = [h.date for h in rows if not h.is_workday]
    work = [h.date for h in rows if h.is_workday]
    assert (created, skipped, len(rows)) == (39, 0, 39)
    assert work == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert off[:3] == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert [d for d in off if d.month == 2] == [date(2026, 2, d) for d in range(15, 24)]
    assert [d for d in off if d.month == 4] == [date(2026, 4, d) for d in (4, 5, 6)]
    assert [d for d in off if d.month == 5] == [date(2026, 5, d) for d in range(1, 6)]
    assert [d for d in off if d.month == 6] == [date(2026, 6, d) for d in (19, 20, 21)]
    assert [d for d in off if d.month == 9] == [date(2026, 9, d) for d in (25, 26, 27)]
    assert [d for d in off if d.month == 10] == [date(2026, 10, d) for d in range(1, 8)]
    # every makeup working day is a weekend day, every day off of 春节 is in the week of the festival
    assert all(d.weekday() >= 5 for d in work)
    # a second import keeps what is there
    assert services.holidays_import_national(actor=_admin(world.a), estate=world.a.estate, year=2026) == (
        0,
        39,
    )
    with pytest.raises(ValidationFailed):
        services.holidays_import_national(actor=_admin(world.a), estate=world.a.estate, year=2031)


def test_the_platform_calendar_installs_once_for_every_estate(world):
    assert services.national_holidays_install(year=2026) == (39, 0)
    assert services.national_holidays_install(year=2026) == (0, 39)
    assert Holiday.objects.filter(estate__isnull=True).count() == 39


def test_estate_holidays_conflict_on_the_same_date_and_national_rows_are_read_only(world):
    actor = _admin(world.a)
    h = services.holiday_create(actor=actor, estate=world.a.estate, date=date(2026, 3, 8), name="小区活动日")
    with pytest.raises(Conflict):
        services.holiday_create(actor=actor, estate=world.a.estate, date=date(2026, 3, 8), name="重复")
    services.holiday_update(actor=actor, holiday=h, is_workday=True)
    h.refresh_from_db()
    assert h.is_workday is True
    services.national_holidays_install(year=2026)
    national = Holiday.objects.filter(estate__isnull=True).first()
    with pytest.raises(PermissionDenied):
        services.holiday_delete(actor=actor, holiday=national)
    with pytest.raises(NotFound):
        services.holiday_delete(actor=_admin(world.b), holiday=h)
    pk = h.pk
    services.holiday_delete(actor=actor, holiday=h)
    assert not Holiday.objects.filter(pk=pk).exists()


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"qr_ttl_seconds": 14}, "qr_ttl_seconds"),
        ({"qr_ttl_seconds": 301}, "qr_ttl_seconds"),
        ({"qr_refresh_seconds": 60}, "qr_refresh_seconds"),
        ({"qr_ttl_seconds": 30, "qr_refresh_seconds": 30}, "qr_refresh_seconds"),
        ({"visitor_retention_days": 181}, "visitor_retention_days"),
        ({"event_retention_days": 29}, "event_retention_days"),
        ({"denial_threshold": True}, "denial_threshold"),
        ({"colour": 3}, "colour"),
    ],
)
def test_settings_out_of_bounds_are_refused(world, changes, field):
    with pytest.raises(ValidationFailed) as exc:
        services.access_settings_update(actor=_admin(world.a), estate=world.a.estate, **changes)
    assert list(exc.value.fields) == [field]
    assert not AccessSettings.objects.filter(estate=world.a.estate).exists()  # rolled back with the change
    row = selectors.settings_for(world.a.estate.pk)
    assert (row.qr_ttl_seconds, row.qr_refresh_seconds, row.visitor_retention_days) == (60, 20, 30)


def test_settings_update_within_bounds_is_audited(world):
    row = services.access_settings_update(
        actor=_admin(world.a),
        estate=world.a.estate,
        qr_ttl_seconds=300,
        qr_refresh_seconds=299,
        visitor_retention_days=180,
        event_retention_days=30,
        not_seen_hours=24,
    )
    assert (row.qr_ttl_seconds, row.qr_refresh_seconds, row.visitor_retention_days) == (300, 299, 180)
    audit = AuditEvent.objects.filter(object_type="access.accesssettings").get()
    assert audit.detail["changed"]["not_seen_hours"] == [48, 24]
    with pytest.raises(PermissionDenied):
        services.access_settings_update(
            actor=actor_for_user(world.a.staff[Role.GUARD]), estate=world.a.estate, qr_ttl_seconds=90
        )


# --- anomalies ----------------------------------------------------------------------------------


def _anomaly(side, *, kind="tailgating", health=False, person=None):
    from django.utils import timezone

    now = timezone.now()
    return AccessAnomaly.objects.create(
        estate=side.estate,
        path=side.estate.path,
        kind=kind,
        person=person,
        first_at=now,
        last_at=now,
        dedup_key=f"{kind}:test:{side.estate.pk}:{person.pk if person else 0}",
        health_sensitive=health,
    )


def test_a_guard_closes_a_security_anomaly_with_a_note_once(world):
    row = _anomaly(world.a)
    guard = actor_for_user(world.a.staff[Role.GUARD])
    with pytest.raises(ValidationFailed):
        insights_services.anomaly_close(actor=guard, anomaly=row, note="  ")
    insights_services.anomaly_close(actor=guard, anomaly=row, note="已到场，系快递员跟随住户进入")
    row.refresh_from_db()
    assert (row.status, row.note, row.handled_by) == ("closed", "已到场，系快递员跟随住户进入", guard.user)
    with pytest.raises(Conflict):
        insights_services.anomaly_close(actor=guard, anomaly=row, note="again")
    audit = AuditEvent.objects.filter(object_type="access.accessanomaly").get()
    assert (audit.action, audit.reason, audit.detail) == (
        Action.UPDATE,
        "已到场，系快递员跟随住户进入",
        {"status": "closed", "kind": "tailgating"},
    )


def test_only_care_roles_close_a_care_anomaly(world):
    row = _anomaly(world.a, kind="not_seen", health=True, person=world.a.persons[1])
    for role in (Role.GUARD, Role.PROPERTY_ADMIN):
        with pytest.raises(PermissionDenied):
            insights_services.anomaly_close(
                actor=actor_for_user(world.a.staff[role]), anomaly=row, note="看过了"
            )
    worker = actor_for_user(world.a.staff[Role.COMMUNITY_WORKER])
    insights_services.anomaly_close(actor=worker, anomaly=row, note="已电话联系，老人在女儿家")
    row.refresh_from_db()
    assert row.status == "closed"
    assert (
        AuditEvent.objects.get(object_type="access.accessanomaly").subject_person_id == world.a.persons[1].pk
    )
