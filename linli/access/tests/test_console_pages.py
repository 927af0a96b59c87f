"""Access console pages render per role: points, policies (with holidays and settings), events
(masked, audited), analysis (uPlot chart), anomalies (care alerts for care roles only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.access.insights import anomalies
from linli.access.models import AccessAnomaly, AccessEvent, AccessPoint, AccessPolicy, AccessSettings, Holiday
from linli.access.tests import factories as f
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from linli.people.models import Person

PAGES = {
    "access:points": Perm.ACCESS_VIEW,
    "access:policies": Perm.ACCESS_VIEW,
    "access:events": Perm.ACCESS_EVENTS_VIEW,
    "access:analysis": Perm.ACCESS_ANALYSIS,
}
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


@pytest.fixture
def site(world):
    gate = f.access_point(estate=world.a.estate, name="东门人行通道", code="east", kind="pedestrian_gate")
    door = f.access_point(estate=world.a.estate, building=world.a.building, name="1号楼单元门", code="door")
    f.resident_policy(estate=world.a.estate, name="住户通行")
    person = world.a.persons[1]
    Person.objects.filter(pk=person.pk).update(name="李四光")
    now = timezone.now()
    for minutes, point, direction in ((50, gate, "in"), (45, door, "in"), (20, gate, "out")):
        at = now - timedelta(minutes=minutes)
        AccessEvent.objects.create(
            estate=world.a.estate,
            path=point.path,
            access_point=point,
            occurred_at=at,
            received_at=at,
            direction=direction,
            method="card",
            result="allow",
            reason="ok",
            person=person,
        )
    anomalies.report_device_alarm(event=None, access_point=gate, alarm="tailgating", occurred_at=now)
    AccessAnomaly.objects.create(
        estate=world.a.estate,
        path=world.a.estate.path,
        kind="not_seen",
        person=world.a.persons[2],
        first_at=now,
        last_at=now,
        dedup_key="not_seen:person:site",
        health_sensitive=True,
        detail={"hours": 48, "home": "1号楼1单元301"},
    )
    return {"gate": gate, "door": door}


@pytest.mark.parametrize("role", ROLES)
def test_each_page_opens_for_the_roles_that_may_see_it(world, login, site, role):
    c = login(world.a.staff[role])
    perms = ROLE_PERMISSIONS[role]
    for name, perm in PAGES.items():
        r = c.get(reverse(name))
        assert r.status_code == (200 if perm in perms else 403), (name, role)
    security = perms & {Perm.ACCESS_GUARD, Perm.ACCESS_ANALYSIS, Perm.ACCESS_MANAGE}
    r = c.get(reverse("access:anomalies"))
    assert r.status_code == (200 if security else 403)
    if r.status_code == 200:
        text = r.content.decode()
        assert "尾随通行" in text
        assert ("超过 48 小时未出入" in text) == (Perm.PEOPLE_SPECIAL_VIEW in perms)


def test_points_page_groups_by_building_and_shows_device_state(world, login, site):
    r = login(world.a.staff[Role.PROPERTY_ADMIN]).get(reverse("access:points"))
    text = r.content.decode()
    assert "小区出入口" in text and "1号楼" in text
    assert "东门人行通道" in text and "二维码（一码通）、IC/NFC 卡、密码、人工核验放行" in text
    assert reverse("access:point_create") in text
    guard = login(world.a.staff[Role.GUARD]).get(reverse("access:points")).content.decode()
    assert reverse("access:point_create") not in guard
    assert (
        "东门人行通道"
        not in login(world.b.staff[Role.PROPERTY_ADMIN]).get(reverse("access:points")).content.decode()
    )


def test_create_a_point_from_the_form_refuses_face_only(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    assert c.get(reverse("access:point_create")).status_code == 200
    form = {
        "estate": world.a.estate.pk,
        "kind": "estate_gate",
        "name": "北门",
        "code": "north",
        "methods": ["face"],
    }
    r = c.post(reverse("access:point_create"), form)
    assert r.status_code == 400
    assert "不得将人脸或声纹识别作为唯一通行方式" in r.content.decode()
    assert AccessPoint.objects.count() == 0
    r = c.post(reverse("access:point_create"), {**form, "methods": ["face", "card"], "direction": "in"})
    assert r.status_code == 302
    point = AccessPoint.objects.get()
    assert (point.name, point.allowed_methods, point.direction) == ("北门", ["face", "card"], "in")
    assert AccessPolicy.objects.count() == 2
    r = c.post(
        reverse("access:point_edit", args=[point.pk]), {**form, "methods": ["qr", "pin"], "name": "北门2"}
    )
    assert r.status_code == 302
    point.refresh_from_db()
    assert (point.name, point.allowed_methods) == ("北门2", ["qr", "pin"])
    r = c.post(reverse("access:point_status", args=[point.pk, "disable"]))
    point.refresh_from_db()
    assert (r.status_code, point.status) == (302, "disabled")
    assert (
        login(world.b.staff[Role.PROPERTY_ADMIN])
        .get(reverse("access:point_edit", args=[point.pk]))
        .status_code
        == 404
    )
    assert (
        login(world.a.staff[Role.GUARD]).get(reverse("access:point_edit", args=[point.pk])).status_code == 403
    )


def test_policies_page_holidays_and_settings(world, login, site):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = c.post(reverse("access:holidays_import"), {"estate": world.a.estate.pk, "year": 2026})
    assert r.status_code == 302
    assert Holiday.objects.filter(estate=world.a.estate).count() == 39
    text = c.get(reverse("access:policies") + f"?estate={world.a.estate.pk}&year=2026").content.decode()
    assert "春节调休上班" in text and "住户通行" in text
    r = c.post(reverse("access:settings_save", args=[world.a.estate.pk]), {"qr_ttl_seconds": "400"})
    assert r.status_code == 302
    assert not AccessSettings.objects.filter(estate=world.a.estate, qr_ttl_seconds=400).exists()
    c.post(
        reverse("access:settings_save", args=[world.a.estate.pk]),
        {"qr_ttl_seconds": "90", "not_seen_hours": "24"},
    )
    row = AccessSettings.objects.get(estate=world.a.estate)
    assert (row.qr_ttl_seconds, row.not_seen_hours) == (90, 24)
    r = c.post(
        reverse("access:policy_create"),
        {
            "estate": world.a.estate.pk,
            "name": "夜间",
            "audience": "residents",
            "start_time": "22:00",
            "end_time": "6",
        },
    )
    assert r.status_code == 400
    r = c.post(
        reverse("access:policy_create"),
        {
            "estate": world.a.estate.pk,
            "name": "夜间",
            "audience": "residents",
            "start_time": "22:00",
            "end_time": "06:00",
            "weekdays": ["5", "6"],
            "access_points": [str(site["gate"].pk)],
            "is_active": "1",
        },
    )
    assert r.status_code == 302
    policy = AccessPolicy.objects.get(name="夜间")
    assert (policy.weekdays, list(policy.access_points.all())) == ([5, 6], [site["gate"]])
    other = login(world.b.staff[Role.PROPERTY_ADMIN])
    assert other.post(reverse("access:policy_delete", args=[policy.pk])).status_code == 404
    assert (
        other.post(
            reverse("access:settings_save", args=[world.a.estate.pk]), {"qr_ttl_seconds": "30"}
        ).status_code
        == 404
    )


def test_events_page_masks_names_and_is_audited(world, login, site):
    c = login(world.a.staff[Role.GUARD])
    before = AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count()
    r = c.get(reverse("access:events") + f"?access_point={site['gate'].pk}&result=allow")
    text = r.content.decode()
    assert "李*光" in text and "李四光" not in text
    assert text.count("东门人行通道") >= 2 and "1号楼单元门</td>" not in text
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count() == before + 1


def test_analysis_page_draws_the_hourly_chart(world, login, site):
    r = login(world.a.staff[Role.PROPERTY_ADMIN]).get(reverse("access:analysis"))
    text = r.content.decode()
    assert "linli/vendor/uplot/uPlot.iife.min.js" in text and "linli/access-analysis.js" in text
    assert 'id="access-flow-data"' in text
    assert r.context["flows"]["totals"] == {"entries": 1, "exits": 1, "allowed": 2, "denied": 0}  # gates
    everywhere = login(world.a.staff[Role.PROPERTY_ADMIN]).get(reverse("access:analysis") + "?level=all")
    assert everywhere.context["flows"]["totals"] == {"entries": 2, "exits": 1, "allowed": 3, "denied": 0}
    assert "李" not in text.split('id="access-flow-data"')[1]
    bad = login(world.a.staff[Role.PROPERTY_ADMIN]).get(
        reverse("access:analysis") + "?since=2026-03-05&until=2026-03-01"
    )
    assert bad.status_code == 200 and "结束时间须晚于开始时间" in bad.content.decode()


def test_closing_anomalies_from_the_page(world, login, site):
    row = AccessAnomaly.objects.get(kind="tailgating")
    care = AccessAnomaly.objects.get(kind="not_seen")
    guard = login(world.a.staff[Role.GUARD])
    assert guard.post(reverse("access:anomaly_close", args=[care.pk]), {"note": "x"}).status_code == 404
    r = guard.post(reverse("access:anomaly_close", args=[row.pk]), {"note": "已核实", "next": "status=open"})
    assert (r.status_code, r["Location"]) == (302, reverse("access:anomalies") + "?status=open")
    row.refresh_from_db()
    assert (row.status, row.note) == ("closed", "已核实")
    worker = login(world.a.staff[Role.COMMUNITY_WORKER])
    text = worker.get(reverse("access:anomalies") + "?kind=not_seen").content.decode()
    assert "1号楼1单元301" in text or "超过 48 小时未出入" in text
    worker.post(reverse("access:anomaly_close", args=[care.pk]), {"note": "已上门"})
    care.refresh_from_db()
    assert care.status == "closed"
