"""The access console API: points (R22/R23 as a field error), policies, holidays, settings, events
(audited, masked), analysis, anomalies (R65), the error envelope, cross-scope 404s and query counts."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from linli.access.insights import anomalies
from linli.access.models import AccessAnomaly, AccessEvent, AccessPoint, AccessPolicy
from linli.access.tests import factories as f
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.devices.tests import factories as devices_f
from linli.orgs.roles import Role
from linli.people.models import Person

API = "/api/v1/access"
J = "application/json"


def _point_body(side, **kw):
    return {
        "estate_id": side.estate.pk,
        "kind": "estate_gate",
        "name": "东门",
        "code": "east",
        "allowed_methods": ["qr", "card", "staff"],
        **kw,
    }


def _event(point, *, person=None, minutes_ago=5, **kw):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return AccessEvent.objects.create(
        estate=point.estate,
        path=point.path,
        access_point=point,
        occurred_at=at,
        received_at=at,
        method=kw.pop("method", "card"),
        result=kw.pop("result", "allow"),
        reason="ok",
        person=person,
        **kw,
    )


def test_a_face_only_point_is_a_400_with_a_field_error(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = c.post(f"{API}/points", _point_body(world.a, allowed_methods=["face"]), content_type=J)
    assert r.status_code == 400
    body = r.json()["error"]
    assert (body["code"], list(body["fields"])) == ("validation_error", ["allowed_methods"])
    assert body["fields"]["allowed_methods"] == [
        "不得将人脸或声纹识别作为唯一通行方式（须同时支持卡、码、密码或人工核验）"
    ]
    r = c.post(f"{API}/points", _point_body(world.a, allowed_methods=["qr", "face"]), content_type=J)
    assert r.json()["error"]["fields"] == {
        "allowed_methods": ["须至少支持一种无需手机和生物识别的方式：IC 卡、密码或人工核验"]
    }
    assert AccessPoint.objects.count() == 0


def test_register_read_update_disable_a_point(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    device, _secret = devices_f.device(world.a, profile="generic")
    r = c.post(
        f"{API}/points",
        _point_body(
            world.a, kind="unit_door", building_id=world.a.building.pk, device_id=device.pk, door_no=2
        ),
        content_type=J,
    )
    assert r.status_code == 201
    out = r.json()
    assert {
        k: out[k] for k in ("estate", "building", "kind", "device_key", "device_online", "door_no", "status")
    } == {
        "estate": "甲小区",
        "building": "1号楼",
        "kind": "unit_door",
        "device_key": device.key,
        "device_online": False,
        "door_no": 2,
        "status": "active",
    }
    assert AccessPolicy.objects.filter(estate=world.a.estate).count() == 2
    pk = out["id"]
    assert c.get(f"{API}/points/{pk}").json()["name"] == "东门"
    r = c.patch(f"{API}/points/{pk}", {"name": "1号楼1单元门", "device_id": None}, content_type=J)
    assert (r.status_code, r.json()["name"], r.json()["device_id"]) == (200, "1号楼1单元门", None)
    assert (
        c.post(f"{API}/points/{pk}/disable", {"reason": "改造"}, content_type=J).json()["status"]
        == "disabled"
    )
    assert c.post(f"{API}/points/{pk}/disable", {}, content_type=J).status_code == 409
    assert c.post(f"{API}/points/{pk}/enable", {}, content_type=J).json()["status"] == "active"
    assert c.post(f"{API}/points", _point_body(world.a, code=out["code"]), content_type=J).status_code == 409
    r = c.post(
        f"{API}/points", _point_body(world.a, code="x", building_id=world.b.building.pk), content_type=J
    )
    assert r.status_code == 404  # estate b's building is out of scope
    listed = c.get(f"{API}/points?estate={world.a.estate.pk}&kind=unit_door&ordering=-name").json()
    assert (listed["count"], listed["items"][0]["id"]) == (1, pk)
    assert c.get(f"{API}/points?ordering=nope").status_code == 400


def test_staff_without_manage_cannot_write_and_other_estates_get_404(world, login):
    point = f.access_point(estate=world.a.estate)
    guard = login(world.a.staff[Role.GUARD])
    assert guard.post(f"{API}/points", _point_body(world.a, code="g"), content_type=J).status_code == 403
    assert guard.patch(f"{API}/points/{point.pk}", {"name": "x"}, content_type=J).status_code == 403
    other = login(world.b.staff[Role.PROPERTY_ADMIN])
    assert other.get(f"{API}/points/{point.pk}").status_code == 404
    assert other.patch(f"{API}/points/{point.pk}", {"name": "x"}, content_type=J).status_code == 404
    assert other.post(f"{API}/points/{point.pk}/disable", {}, content_type=J).status_code == 404
    assert other.post(f"{API}/points", _point_body(world.a, code="z"), content_type=J).status_code == 404
    assert other.get(f"{API}/settings/{world.a.estate.pk}").status_code == 404
    assert (
        other.patch(f"{API}/settings/{world.a.estate.pk}", {"qr_ttl_seconds": 90}, content_type=J).status_code
        == 404
    )
    assert other.get(f"{API}/points/99999999999999999999").status_code in (400, 404)
    point.refresh_from_db()
    assert (point.name, point.status) != ("x", "disabled")


def test_policies_api(world, login):
    c = login(world.a.staff[Role.CUSTOMER_SERVICE])
    gate = f.access_point(estate=world.a.estate)
    body = {
        "estate_id": world.a.estate.pk,
        "name": "快递员白天",
        "audience": "service",
        "access_point_ids": [gate.pk],
        "weekdays": [0, 1, 2, 3, 4],
        "start_time": "08:00",
        "end_time": "20:00",
    }
    r = c.post(f"{API}/policies", body, content_type=J)
    assert r.status_code == 201
    out = r.json()
    assert (out["access_point_ids"], out["start_time"], out["holiday_mode"]) == (
        [gate.pk],
        "08:00:00",
        "same",
    )
    r = c.post(f"{API}/policies", {**body, "start_time": "25:00"}, content_type=J)
    assert r.status_code == 400
    r = c.post(f"{API}/policies", {**body, "end_time": None}, content_type=J)
    assert r.json()["error"]["fields"] == {"end_time": ["开始和结束时间须同时填写，或同时留空（全天）"]}
    r = c.patch(f"{API}/policies/{out['id']}", {"is_active": False}, content_type=J)
    assert r.json()["is_active"] is False
    assert c.get(f"{API}/policies?audience=service").json()["count"] == 1
    other = login(world.b.staff[Role.PROPERTY_ADMIN])
    assert other.delete(f"{API}/policies/{out['id']}").status_code == 404
    assert c.delete(f"{API}/policies/{out['id']}").status_code == 204


def test_holidays_and_settings_api(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = c.post(
        f"{API}/holidays/import-national", {"estate_id": world.a.estate.pk, "year": 2026}, content_type=J
    )
    assert r.json() == {"created": 39, "skipped": 0}
    listed = c.get(f"{API}/holidays?year=2026&page_size=100").json()
    assert listed["count"] == 39
    r = c.post(
        f"{API}/holidays",
        {"estate_id": world.a.estate.pk, "date": "2026-01-01", "name": "元旦"},
        content_type=J,
    )
    assert r.status_code == 409
    r = c.get(f"{API}/settings/{world.a.estate.pk}")
    assert r.json()["qr_ttl_seconds"] == 60
    r = c.patch(f"{API}/settings/{world.a.estate.pk}", {"visitor_retention_days": 200}, content_type=J)
    assert (r.status_code, list(r.json()["error"]["fields"])) == (400, ["visitor_retention_days"])
    r = c.patch(
        f"{API}/settings/{world.a.estate.pk}",
        {"qr_ttl_seconds": 90, "qr_refresh_seconds": 30},
        content_type=J,
    )
    assert (r.json()["qr_ttl_seconds"], r.json()["qr_refresh_seconds"]) == (90, 30)


def test_events_are_masked_filtered_audited_and_scoped(world, login):
    gate = f.access_point(estate=world.a.estate)
    person = world.a.persons[1]
    Person.objects.filter(pk=person.pk).update(name="张小三")
    _event(gate, person=person)
    _event(gate, person=person, result="deny", minutes_ago=3)
    _event(f.access_point(estate=world.b.estate), person=world.b.persons[0])
    c = login(world.a.staff[Role.GUARD])
    before = AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count()
    r = c.get(f"{API}/events?result=allow&page_size=1")
    assert r.status_code == 200
    items = r.json()["items"]
    assert (r.json()["count"], items[0]["person_name"], items[0]["access_point"]) == (1, "张*三", gate.name)
    assert "张小三" not in r.content.decode()
    c.get(f"{API}/events?page=2&page_size=1")
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count() == before + 2
    assert c.get(f"{API}/events?since=2026-03-02T00:00:00%2B99:00").status_code == 400
    event_b = AccessEvent.objects.get(estate=world.b.estate)
    assert c.get(f"{API}/events/{event_b.pk}").status_code == 404
    assert login(world.a.staff[Role.TECHNICIAN]).get(f"{API}/events").status_code == 403


def test_analysis_api(world, login):
    gate = f.access_point(estate=world.a.estate)
    _event(gate, direction="in")
    c = login(world.a.staff[Role.COMMUNITY_WORKER])
    r = c.get(f"{API}/analysis/flows")
    assert (r.status_code, r.json()["totals"]) == (200, {"entries": 1, "exits": 0, "allowed": 1, "denied": 0})
    assert c.get(f"{API}/analysis/visitors").json()["passes"] == 0
    assert (
        c.get(f"{API}/analysis/flows?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z").status_code
        == 400
    )
    assert login(world.a.staff[Role.GUARD]).get(f"{API}/analysis/flows").status_code == 403


def test_anomalies_api_routes_care_alerts_to_care_roles_only(world, login):
    gate = f.access_point(estate=world.a.estate, name="东门")
    row = anomalies.report_device_alarm(
        event=None, access_point=gate, alarm="tailgating", occurred_at=timezone.now()
    )
    now = timezone.now()
    care = AccessAnomaly.objects.create(
        estate=world.a.estate,
        path=world.a.estate.path,
        kind="not_seen",
        person=world.a.persons[1],
        first_at=now,
        last_at=now,
        dedup_key="not_seen:person:x",
        health_sensitive=True,
        detail={"hours": 48},
    )
    guard = login(world.a.staff[Role.GUARD])
    listed = guard.get(f"{API}/anomalies").json()
    assert [(i["id"], i["kind_label"]) for i in listed["items"]] == [(row.pk, "尾随通行")]
    assert guard.get(f"{API}/anomalies/{care.pk}").status_code == 404
    assert guard.post(f"{API}/anomalies/{care.pk}/close", {"note": "x"}, content_type=J).status_code == 404
    worker = login(world.a.staff[Role.COMMUNITY_WORKER])
    assert {i["id"] for i in worker.get(f"{API}/anomalies").json()["items"]} == {row.pk, care.pk}
    assert worker.get(f"{API}/anomalies?kind=not_seen").json()["count"] == 1
    r = worker.post(f"{API}/anomalies/{care.pk}/close", {"note": "已上门探视"}, content_type=J)
    assert (r.status_code, r.json()["status"]) == (200, "closed")
    # a community worker may see security anomalies but not handle them
    assert worker.post(f"{API}/anomalies/{row.pk}/close", {"note": "x"}, content_type=J).status_code == 403
    r = guard.post(f"{API}/anomalies/{row.pk}/close", {"note": "已处理"}, content_type=J)
    assert (r.status_code, r.json()["handled_by"]) == (200, world.a.staff[Role.GUARD].username)
    assert guard.post(f"{API}/anomalies/{row.pk}/close", {"note": "again"}, content_type=J).status_code == 409
    assert login(world.b.staff[Role.GUARD]).get(f"{API}/anomalies/{row.pk}").status_code == 404


@pytest.mark.parametrize("path", ["points", "policies", "holidays", "events", "anomalies"])
def test_list_query_count_does_not_grow(world, login, django_assert_max_num_queries, path):
    from linli.access.points import services

    services.national_holidays_install(year=2026)
    for i in range(12):
        device, _ = devices_f.device(world.a, profile="generic")
        point = f.access_point(estate=world.a.estate, building=world.a.building, device=device, name=f"门{i}")
        policy = f.resident_policy(estate=world.a.estate, name=f"规则{i}")
        policy.access_points.set([point])
        vp = f.visitor_pass(estate=world.a.estate, path=world.a.estate.path)
        _event(point, person=world.a.persons[i % 4], visitor_pass=vp)
        anomalies.report_device_alarm(
            event=None, access_point=point, alarm="forced", occurred_at=timezone.now()
        )
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    with django_assert_max_num_queries(14):
        r = c.get(f"{API}/{path}?page_size=100")
    assert r.status_code == 200
    assert r.json()["count"] >= 12


def test_policy_times_with_an_offset_are_stored_as_local_time(world, login):
    # Issue #12: "08:00:00+08:00" reached the database as an aware time (a 500 on SQLite).
    c = login(world.a.staff[Role.CUSTOMER_SERVICE])
    body = {
        "estate_id": world.a.estate.pk,
        "name": "快递员白天",
        "audience": "service",
        "start_time": "08:00:00+08:00",
        "end_time": "12:00:00Z",
    }

    r = c.post(f"{API}/policies", body, content_type=J)

    assert r.status_code == 201, r.content
    policy = AccessPolicy.objects.get(pk=r.json()["id"])
    assert (policy.start_time, policy.end_time) == (time(8, 0), time(20, 0))
