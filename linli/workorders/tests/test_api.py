"""Work-orders API: staff flow, resident endpoints, masking, validation, photos, rosters, SLA, board."""

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from linli.orgs.roles import Role
from linli.workorders.models import DutyRoster, WorkOrder
from linli.workorders.tests import factories as f
from linli.workorders.tests.conftest import image_bytes

API = "/api/v1/workorders"
SH = ZoneInfo("Asia/Shanghai")


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_staff_flow_through_the_api(world, login):
    cs = login(world.a.staff[Role.CUSTOMER_SERVICE])
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    tech_user = world.a.staff[Role.TECHNICIAN]
    tech = login(tech_user)
    r = post(
        cs,
        API,
        {
            "estate_id": world.a.estate.pk,
            "kind": "repair_common",
            "title": "楼道灯不亮",
            "building_id": world.a.building.pk,
            "contact_phone": "13912345678",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    pk = body["id"]
    assert (body["state"], body["contact_phone"], body["building_id"]) == (
        "new",
        "139****5678",
        world.a.building.pk,
    )
    assert [e["kind"] for e in body["history"]] == ["created", "undispatched"]
    assert post(tech, f"{API}/{pk}/accept").status_code == 409
    r = post(admin, f"{API}/{pk}/assign", {"assignee_id": tech_user.pk})
    assert (r.status_code, r.json()["assignee"]["id"]) == (200, tech_user.pk)
    assert post(tech, f"{API}/{pk}/accept").json()["state"] == "accepted"
    assert post(tech, f"{API}/{pk}/start").json()["state"] == "in_progress"
    r = post(tech, f"{API}/{pk}/comment", {"text": "需更换灯管"})
    assert r.status_code == 201
    r = post(tech, f"{API}/{pk}/finish", {"note": "已更换"})
    assert (r.status_code, r.json()["state"]) == (200, "done")
    r = post(tech, f"{API}/{pk}/finish")
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "工单当前状态为「已完成」，不能完成"
    detail = cs.get(f"{API}/{pk}").json()
    assert [e["kind"] for e in detail["history"]] == [
        "created",
        "undispatched",
        "assigned",
        "accepted",
        "started",
        "comment",
        "finished",
    ]


def test_list_filters_masking_and_query_count(world, login, django_assert_max_num_queries):
    for i in range(20):
        f.order(world.a, title=f"甲工单{i}", contact_phone="13800001111")
    f.order(world.a, kind="complaint", title="噪音投诉", contact_phone="13800001111")
    f.order(world.b, title="乙工单")
    client = login(world.a.staff[Role.CUSTOMER_SERVICE])
    with django_assert_max_num_queries(9):  # session, user, memberships…, count, page: not per row
        r = client.get(f"{API}?page_size=100")
    body = r.json()
    assert body["count"] == 21
    assert {i["contact_phone"] for i in body["items"]} == {"138****1111"}
    assert all(i["estate_id"] == world.a.estate.pk for i in body["items"])
    assert [i["title"] for i in client.get(f"{API}?kind=complaint").json()["items"]] == ["噪音投诉"]
    assert client.get(f"{API}?q=甲工单3").json()["count"] == 1
    assert client.get(f"{API}?state=new&breached=false").json()["count"] == 21
    assert client.get(f"{API}?ordering=bogus").status_code == 400
    assert client.get(f"{API}?kind=bogus").status_code == 400


def test_board_and_workload(world, login, django_assert_max_num_queries):
    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH)):
        f.roster(world.a, weekday=2)
        for i in range(5):
            f.order(world.a, kind="incident", title=f"事件{i}")
        f.order(world.a, kind="complaint", title="x", actor_user=None)
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    with time_machine.travel(datetime(2026, 3, 4, 10, 30, tzinfo=SH)):
        with django_assert_max_num_queries(10):
            columns = client.get(f"{API}/board").json()
        workload = client.get(f"{API}/workload").json()
    assigned = next(c for c in columns if c["state"] == "assigned")
    assert (assigned["count"], assigned["breached"]) == (6, 5)  # incidents: 10-minute response
    assert sorted(o["breached"] for o in assigned["orders"]) == [False] + [True] * 5
    tech = next(w for w in workload if w["technician_id"] == world.a.staff[Role.TECHNICIAN].pk)
    assert (tech["open"], tech["overdue"]) == (6, 5)


def test_resident_endpoints(world, login):
    resident = login(world.a.resident)
    r = resident.post(
        f"{API}/me",
        data={
            "title": "厨房水管漏水",
            "description": "水槽下",
            "preferred_time": (timezone.now() + timedelta(days=2)).isoformat(),
            "photos": [SimpleUploadedFile("a.jpg", image_bytes("JPEG"), content_type="image/jpeg")],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    pk = body["id"]
    assert (body["state"], body["technician"], len(body["photos"])) == ("new", "", 1)
    photo_url = body["photos"][0]["url"]
    got = resident.get(photo_url)
    assert (got.status_code, got["Content-Type"]) == (200, "image/jpeg")
    f.order(world.a, title="别人的工单")
    assert [o["id"] for o in resident.get(f"{API}/me").json()["items"]] == [pk]
    assert resident.get(f"{API}").status_code == 403
    r = post(resident, f"{API}/me/{pk}/cancel", {"reason": "自己修好了"})
    assert r.json()["state"] == "cancelled"
    assert post(resident, f"{API}/me/{pk}/rate", {"rating": 5}).status_code == 409


def test_resident_sees_technician_as_master(world, login):
    tech = world.a.staff[Role.TECHNICIAN]
    tech.display_name = "王建国"
    tech.save()
    order = f.resident_order(world.a)
    post(login(world.a.staff[Role.PROPERTY_ADMIN]), f"{API}/{order.pk}/assign", {"assignee_id": tech.pk})
    body = login(world.a.resident).get(f"{API}/me/{order.pk}").json()
    assert body["technician"] == "王师傅"
    assert "王建国" not in json.dumps(body, ensure_ascii=False)


def test_photo_upload_errors(world, login, settings):
    order = f.order(world.a)
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    url = f"{API}/{order.pk}/photos"
    r = client.post(url, data={"photo": SimpleUploadedFile("x.txt", b"hello", content_type="text/plain")})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")
    settings.UPLOAD_IMAGE_MAX_BYTES = 100
    r = client.post(url, data={"photo": SimpleUploadedFile("a.jpg", image_bytes("JPEG", size=(200, 200)))})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    settings.UPLOAD_IMAGE_MAX_BYTES = 5_000_000
    r = client.post(url, data={"photo": SimpleUploadedFile("a.png", image_bytes("PNG"))})
    assert r.status_code == 201
    assert client.get(r.json()["url"]).status_code == 200


def test_charges_api(world, login):
    order = f.resident_order(world.a)
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = post(
        admin,
        f"{API}/{order.pk}/charges",
        {"kind": "parts", "description": "阀门", "unit_price_fen": 1200, "quantity": 3},
    )
    assert (r.status_code, r.json()["amount_fen"]) == (201, 3600)
    assert (
        post(
            admin, f"{API}/{order.pk}/charges", {"kind": "parts", "description": "x", "unit_price_fen": 0}
        ).status_code
        == 400
    )
    assert [c["amount_fen"] for c in admin.get(f"{API}/{order.pk}/charges").json()] == [3600]


def test_rosters_and_sla_api(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    tech = world.a.staff[Role.TECHNICIAN]
    body = {
        "estate_id": world.a.estate.pk,
        "technician_id": tech.pk,
        "weekday": 0,
        "start_time": "08:00",
        "end_time": "18:00",
        "kinds": ["repair_common"],
        "building_ids": [world.a.building.pk],
    }
    r = post(admin, f"{API}/rosters", body)
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert r.json()["building_ids"] == [world.a.building.pk]
    r = admin.put(
        f"{API}/rosters/{pk}", data=json.dumps({**body, "end_time": "20:00"}), content_type="application/json"
    )
    assert (r.status_code, r.json()["end_time"]) == (200, "20:00:00")
    assert (
        post(admin, f"{API}/rosters", {**body, "technician_id": world.a.staff[Role.GUARD].pk}).status_code
        == 400
    )
    assert post(admin, f"{API}/rosters", {**body, "weekday": None}).status_code == 400
    assert admin.get(f"{API}/rosters").json()["count"] == 1
    assert admin.delete(f"{API}/rosters/{pk}").status_code == 204
    tech_client = login(tech)
    assert post(tech_client, f"{API}/rosters", body).status_code == 403
    r = admin.put(
        f"{API}/sla-policies",
        data=json.dumps(
            {
                "estate_id": world.a.estate.pk,
                "kind": "complaint",
                "response_minutes": 30,
                "completion_minutes": 600,
            }
        ),
        content_type="application/json",
    )
    rows = {row["kind"]: row for row in r.json()}
    assert (rows["complaint"]["response_minutes"], rows["complaint"]["is_default"]) == (30, False)
    assert rows["incident"] == {
        "estate_id": world.a.estate.pk,
        "kind": "incident",
        "label": "突发事件",
        "response_minutes": 10,
        "completion_minutes": 240,
        "is_default": True,
    }
    bad = admin.put(
        f"{API}/sla-policies",
        data=json.dumps(
            {
                "estate_id": world.a.estate.pk,
                "kind": "complaint",
                "response_minutes": 60,
                "completion_minutes": 30,
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_idempotent_creation_via_api(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    body = {
        "estate_id": world.a.estate.pk,
        "kind": "incident",
        "title": "烟感报警",
        "source": "device",
        "source_ref": "smoke-9",
    }
    first = post(admin, API, body).json()["id"]
    assert post(admin, API, body).json()["id"] == first


def test_unauthenticated_is_401(client):
    assert client.get(API).status_code == 401
    assert client.get(f"{API}/me").status_code == 401


def test_technician_cannot_create(world, login):
    r = post(
        login(world.a.staff[Role.TECHNICIAN]),
        API,
        {"estate_id": world.a.estate.pk, "kind": "complaint", "title": "x"},
    )
    assert r.status_code == 403
    assert not WorkOrder.objects.exists()


def test_roster_times_with_an_offset_are_stored_as_local_wall_clock_time(world, login):
    # Issue #12: "08:00:00+08:00" reached the database as an aware time (a 500 on SQLite).
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    body = {
        "estate_id": world.a.estate.pk,
        "technician_id": world.a.staff[Role.TECHNICIAN].pk,
        "weekday": 0,
        "start_time": "08:00:00+08:00",
        "end_time": "10:00:00Z",
    }

    r = post(admin, f"{API}/rosters", body)

    assert r.status_code == 201, r.content
    assert (r.json()["start_time"], r.json()["end_time"]) == ("08:00:00", "18:00:00")
    roster = DutyRoster.objects.get(pk=r.json()["id"])
    assert (roster.start_time, roster.end_time) == (time(8, 0), time(18, 0))
