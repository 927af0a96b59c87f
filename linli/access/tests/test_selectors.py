"""Scoped reads: every role of estate b probes estate a's rows (never found), events are audited on
every read, care anomalies exist only for care roles (R65), holidays are national plus own estate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from linli.access.insights import selectors as insights_selectors
from linli.access.models import AccessAnomaly, AccessEvent, Holiday
from linli.access.points import selectors, services
from linli.access.tests import factories as f
from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied
from linli.core.models import AuditEvent
from linli.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from linli.orgs.selectors import actor_for_user
from linli.places.tests import factories as places_f

ROLES = [
    Role.PROPERTY_ADMIN,
    Role.CUSTOMER_SERVICE,
    Role.TECHNICIAN,
    Role.GUARD,
    Role.COMMUNITY_WORKER,
    Role.SUBDISTRICT_OFFICER,
    Role.POLICE_OFFICER,
    Role.SERVICE_PROVIDER,
]


def _event(point, *, person=None, minutes_ago=5, result="allow"):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return AccessEvent.objects.create(
        estate=point.estate,
        path=point.path,
        access_point=point,
        occurred_at=at,
        received_at=at,
        method="card",
        result=result,
        reason="ok",
        person=person,
    )


def _anomaly(point, *, kind="tailgating", health=False, person=None):
    now = timezone.now()
    return AccessAnomaly.objects.create(
        estate=point.estate,
        path=point.path,
        kind=kind,
        access_point=point,
        person=person,
        first_at=now,
        last_at=now,
        dedup_key=f"{kind}:{point.pk}",
        health_sensitive=health,
    )


@pytest.fixture
def estate_a_rows(world):
    point = f.access_point(estate=world.a.estate, building=world.a.building)
    policy = f.resident_policy(estate=world.a.estate)
    holiday = Holiday.objects.create(estate=world.a.estate, date=date(2026, 3, 8), name="小区活动日")
    event = _event(point, person=world.a.persons[0])
    anomaly = _anomaly(point)
    care = _anomaly(point, kind="not_seen", health=True, person=world.a.persons[1])
    return {
        "point": point,
        "policy": policy,
        "holiday": holiday,
        "event": event,
        "anomaly": anomaly,
        "care": care,
    }


@pytest.mark.parametrize("role", ROLES)
def test_staff_of_estate_b_never_find_estate_a_rows(world, estate_a_rows, role):
    actor = actor_for_user(world.b.staff[role])
    perms = ROLE_PERMISSIONS[role]
    probes = [
        (Perm.ACCESS_VIEW, selectors.access_point_get, "point"),
        (Perm.ACCESS_VIEW, selectors.policy_get, "policy"),
        (Perm.ACCESS_VIEW, selectors.holiday_get, "holiday"),
        (Perm.ACCESS_EVENTS_VIEW, insights_selectors.event_get, "event"),
    ]
    for perm, getter, name in probes:
        expected = NotFound if perm in perms else PermissionDenied
        with pytest.raises(expected):
            getter(actor=actor, pk=estate_a_rows[name].pk)
    for name in ("anomaly", "care"):
        with pytest.raises((NotFound, PermissionDenied)):
            insights_selectors.anomaly_get(actor=actor, pk=estate_a_rows[name].pk)
    if Perm.ACCESS_VIEW in perms:
        assert list(selectors.access_point_list(actor=actor)) == []
        assert list(selectors.policy_list(actor=actor)) == []
        assert list(selectors.holiday_list(actor=actor)) == []
        with pytest.raises(NotFound):
            selectors.access_settings_get(actor=actor, estate_id=world.a.estate.pk)
    if Perm.ACCESS_EVENTS_VIEW in perms:
        assert list(insights_selectors.event_list(actor=actor)) == []
        assert list(insights_selectors.event_list(actor=actor, estate_id=world.a.estate.pk)) == []


@pytest.mark.parametrize("role", ROLES)
def test_staff_of_estate_a_see_what_their_role_allows(world, estate_a_rows, role):
    actor = actor_for_user(world.a.staff[role])
    perms = ROLE_PERMISSIONS[role]
    if Perm.ACCESS_VIEW in perms:
        assert selectors.access_point_get(actor=actor, pk=estate_a_rows["point"].pk) == estate_a_rows["point"]
    if Perm.ACCESS_EVENTS_VIEW in perms:
        assert list(insights_selectors.event_list(actor=actor)) == [estate_a_rows["event"]]
    else:
        with pytest.raises(PermissionDenied):
            insights_selectors.event_list(actor=actor)
    security = bool(perms & {Perm.ACCESS_GUARD, Perm.ACCESS_ANALYSIS, Perm.ACCESS_MANAGE})
    care = Perm.PEOPLE_SPECIAL_VIEW in perms and Perm.ACCESS_ANALYSIS in perms
    if not security:
        with pytest.raises(PermissionDenied):
            insights_selectors.anomaly_list(actor=actor)
        return
    visible = {a.pk for a in insights_selectors.anomaly_list(actor=actor)}
    expected = {estate_a_rows["anomaly"].pk} | ({estate_a_rows["care"].pk} if care else set())
    assert visible == expected


def test_reading_events_writes_one_audit_record_per_read(world, estate_a_rows):
    guard = actor_for_user(world.a.staff[Role.GUARD])
    for _i in range(3):
        _event(estate_a_rows["point"], person=world.a.persons[2])
    before = AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count()
    rows = list(insights_selectors.event_list(actor=guard, person_id=world.a.persons[2].pk, result="allow"))
    assert len(rows) == 3
    audits = list(AuditEvent.objects.filter(action=Action.SENSITIVE_READ).order_by("id"))[before:]
    assert len(audits) == 1
    assert (audits[0].object_type, audits[0].actor_id, audits[0].subject_person_id) == (
        "access.accessevent",
        guard.user.pk,
        world.a.persons[2].pk,
    )
    assert audits[0].detail == {"view": "list", "result": "allow", "person": world.a.persons[2].pk}
    event = insights_selectors.event_get(actor=guard, pk=estate_a_rows["event"].pk)
    detail = AuditEvent.objects.filter(action=Action.SENSITIVE_READ).order_by("-id").first()
    assert (detail.object_id, detail.subject_person_id, detail.estate_id, detail.detail) == (
        str(event.pk),
        world.a.persons[0].pk,
        world.a.estate.pk,
        {"view": "detail"},
    )


def test_a_refused_read_writes_no_audit_record(world, estate_a_rows):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        insights_selectors.event_list(actor=actor_for_user(world.a.staff[Role.TECHNICIAN]))
    with pytest.raises(NotFound):
        insights_selectors.event_get(
            actor=actor_for_user(world.b.staff[Role.GUARD]), pk=estate_a_rows["event"].pk
        )
    assert AuditEvent.objects.count() == before


def test_holidays_are_national_plus_the_estates_own(world, estate_a_rows):
    services.national_holidays_install(year=2026)
    Holiday.objects.create(estate=world.b.estate, date=date(2026, 3, 9), name="乙小区活动日")
    actor = actor_for_user(world.a.staff[Role.CUSTOMER_SERVICE])
    rows = list(selectors.holiday_list(actor=actor, year=2026))
    assert len(rows) == 40
    assert {h.estate_id for h in rows} == {None, world.a.estate.pk}
    assert selectors.holiday_list(actor=actor, year=2025).count() == 0
    national = Holiday.objects.filter(estate__isnull=True).first()
    with pytest.raises(NotFound):
        selectors.holiday_get(actor=actor, pk=national.pk)


def test_a_sub_district_wide_scope_sees_every_estate_under_it(world, estate_a_rows):
    from linli.orgs.tests import factories as orgs_f

    street = world.a.estate.parent.parent
    officer = orgs_f.staff(role=Role.SUBDISTRICT_OFFICER, scope=[street], username="street_officer")
    f.access_point(estate=world.b.estate)
    actor = actor_for_user(officer)
    assert {e.pk for e in selectors.estate_list(actor=actor)} == {world.a.estate.pk, world.b.estate.pk}
    assert {a.pk for a in insights_selectors.anomaly_list(actor=actor)} == {
        estate_a_rows["anomaly"].pk,
        estate_a_rows["care"].pk,
    }
    other = places_f.estate(name="别的街道小区", community=places_f.admin_chain(street="别的街道"))
    assert other.pk not in {e.pk for e in selectors.estate_list(actor=actor)}
