"""API: CRUD, code visibility, check-ins, findings with photos, runs, stats, error statuses."""

from datetime import time, timedelta

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.patrols import services
from linli.patrols.tests import factories as f
from linli.patrols.tests.conftest import DAY, at

API = "/api/v1/patrols"


def test_route_crud(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])

    r = c.post(
        f"{API}/routes", {"estate_id": world.a.estate.pk, "name": "夜巡"}, content_type="application/json"
    )
    assert r.status_code == 201
    pk = r.json()["id"]
    assert r.json() == {
        "id": pk,
        "estate_id": world.a.estate.pk,
        "estate": "甲小区",
        "name": "夜巡",
        "description": "",
        "active": True,
        "checkpoint_count": 0,
    }
    r = c.patch(f"{API}/routes/{pk}", {"description": "全区"}, content_type="application/json")
    assert (r.status_code, r.json()["description"]) == (200, "全区")
    assert (
        c.post(
            f"{API}/routes", {"estate_id": world.a.estate.pk, "name": "夜巡"}, content_type="application/json"
        ).status_code
        == 400
    )
    assert c.delete(f"{API}/routes/{pk}").status_code == 204
    assert c.get(f"{API}/routes/{pk}").status_code == 404


def test_a_route_with_runs_cannot_be_deleted(patrol, login):
    c = login(patrol.admin)

    r = c.delete(f"{API}/routes/{patrol.route.pk}")

    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


def test_checkpoint_codes_are_shown_to_managers_only(patrol, login):
    admin = login(patrol.admin).get(f"{API}/checkpoints", {"route": patrol.route.pk}).json()["items"]
    guard = login(patrol.guard).get(f"{API}/checkpoints", {"route": patrol.route.pk}).json()["items"]

    assert [i["code"] for i in admin] == [cp.code for cp in patrol.cps]
    assert admin[0]["scan_path"] == f"/m/patrols/scan/{patrol.cps[0].code}"
    assert [(i["code"], i["scan_path"]) for i in guard] == [(None, None)] * 3
    assert [i["name"] for i in guard] == ["巡检点1", "巡检点2", "巡检点3"]


def test_checkpoint_create_update_regenerate_delete(patrol, login):
    c = login(patrol.admin)

    r = c.post(
        f"{API}/checkpoints",
        {"route_id": patrol.route.pk, "name": "新点", "building_id": patrol.route.estate.children.first().pk},
        content_type="application/json",
    )
    assert r.status_code == 201
    body = r.json()
    assert (body["order"], body["building_id"]) == (4, patrol.route.estate.children.first().pk)
    r = c.patch(
        f"{API}/checkpoints/{body['id']}", {"order": 9, "active": False}, content_type="application/json"
    )
    assert (r.json()["order"], r.json()["active"]) == (9, False)
    r = c.post(f"{API}/checkpoints/{body['id']}/regenerate-code")
    assert r.status_code == 200 and r.json()["code"] != body["code"]
    assert c.delete(f"{API}/checkpoints/{body['id']}").status_code == 204
    bad = c.post(
        f"{API}/checkpoints",
        {"route_id": patrol.route.pk, "name": "x", "facility_id": 2**62},
        content_type="application/json",
    )
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["facility_id"])


def test_schedule_crud_and_guard_validation(patrol, world, login):
    c = login(patrol.admin)

    r = c.post(
        f"{API}/schedules",
        {
            "route_id": patrol.route.pk,
            "start_time": "21:30",
            "weekdays": "12345",
            "window_minutes": 90,
            "guard_ids": [patrol.guard.pk],
        },
        content_type="application/json",
    )
    assert r.status_code == 201
    body = r.json()
    assert (body["start_time"], body["weekdays"], body["window_minutes"], body["guard_ids"]) == (
        "21:30:00",
        "12345",
        90,
        [patrol.guard.pk],
    )
    r = c.patch(f"{API}/schedules/{body['id']}", {"guard_ids": []}, content_type="application/json")
    assert r.json()["guard_ids"] == []
    r = c.patch(
        f"{API}/schedules/{body['id']}", {"guard_ids": [patrol.b_guard.pk]}, content_type="application/json"
    )
    assert (r.status_code, list(r.json()["error"]["fields"])) == (400, ["guard_ids"])
    assert (
        c.post(
            f"{API}/schedules",
            {"route_id": patrol.route.pk, "start_time": "21:30", "weekdays": "8"},
            content_type="application/json",
        ).status_code
        == 400
    )
    assert c.delete(f"{API}/schedules/{body['id']}").status_code == 204
    assert c.delete(f"{API}/schedules/{patrol.schedule.pk}").status_code == 409  # has a run


def test_guard_cannot_manage(patrol, login):
    c = login(patrol.guard)

    assert (
        c.post(
            f"{API}/routes",
            {"estate_id": patrol.route.estate_id, "name": "x"},
            content_type="application/json",
        ).status_code
        == 403
    )
    assert (
        c.patch(f"{API}/routes/{patrol.route.pk}", {"name": "x"}, content_type="application/json").status_code
        == 403
    )
    assert c.post(f"{API}/checkpoints/{patrol.cps[0].pk}/regenerate-code").status_code == 403


def test_roles_without_patrol_permission_get_403(patrol, world, login):
    c = login(world.a.staff[Role.TECHNICIAN])
    assert c.get(f"{API}/routes").status_code == 403
    assert c.get(f"{API}/routes/{patrol.route.pk}").status_code == 403
    assert login(world.a.resident).get(f"{API}/runs").status_code == 403


def test_checkin_endpoint(patrol, login):
    c = login(patrol.guard)
    with time_machine.travel(at(9, 5), tick=False):
        first = c.post(f"{API}/checkins", {"code": patrol.cps[0].code}, content_type="application/json")
        again = c.post(f"{API}/checkins", {"code": patrol.cps[0].code}, content_type="application/json")
        unknown = c.post(f"{API}/checkins", {"code": "nope"}, content_type="application/json")
        other = c.post(f"{API}/checkins", {"code": patrol.b_cps[0].code}, content_type="application/json")
        empty = c.post(f"{API}/checkins", {"code": ""}, content_type="application/json")
    with time_machine.travel(at(11), tick=False):
        late = login(patrol.guard).post(
            f"{API}/checkins", {"code": patrol.cps[1].code}, content_type="application/json"
        )

    assert first.status_code == 201
    body = first.json()
    assert (body["created"], body["done"], body["total"], body["next_checkpoint"], body["run"]["status"]) == (
        True,
        1,
        3,
        "巡检点2",
        "in_progress",
    )
    assert (again.status_code, again.json()["created"], again.json()["checkin"]["id"]) == (
        200,
        False,
        body["checkin"]["id"],
    )
    assert [unknown.status_code, other.status_code, empty.status_code, late.status_code] == [
        404,
        404,
        400,
        409,
    ]
    assert late.json()["error"]["code"] == "conflict"


def test_checkin_requires_authentication(patrol, client):
    r = client.post(f"{API}/checkins", {"code": patrol.cps[0].code}, content_type="application/json")
    assert r.status_code == 401


def test_finding_upload_creates_work_order_and_serves_the_photo(patrol, login):
    c = login(patrol.guard)
    photo = SimpleUploadedFile("a.jpg", f.image_bytes("JPEG", exif=True), content_type="image/jpeg")

    r = c.post(
        f"{API}/findings",
        {
            "run_id": patrol.run.pk,
            "checkpoint_id": patrol.cps[0].pk,
            "description": "灯坏了",
            "photos": [photo],
        },
    )

    assert r.status_code == 201, r.content
    body = r.json()
    assert body["workorder_id"] is not None and len(body["photo_ids"]) == 1
    img = c.get(f"{API}/photos/{body['photo_ids'][0]}")
    assert (img.status_code, img["Content-Type"]) == (200, "image/jpeg")
    assert b"LeakyPhone" not in b"".join(img.streaming_content)
    assert login(patrol.admin).get(f"{API}/findings").json()["count"] == 1


def test_finding_upload_too_large_is_413_and_bad_type_400(patrol, login, settings):
    c = login(patrol.guard)
    settings.UPLOAD_IMAGE_MAX_BYTES = 200
    big = SimpleUploadedFile("a.png", f.image_bytes("PNG", size=(300, 300)), content_type="image/png")
    r = c.post(f"{API}/findings", {"run_id": patrol.run.pk, "description": "x", "photos": [big]})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    junk = SimpleUploadedFile("a.jpg", b"junk", content_type="image/jpeg")
    r = c.post(f"{API}/findings", {"run_id": patrol.run.pk, "description": "x", "photos": [junk]})
    assert r.status_code == 400
    assert c.post(f"{API}/findings", {"run_id": patrol.run.pk, "description": ""}).status_code == 400


def test_runs_list_filters_and_detail(patrol, login):
    guard = actor_for_user(patrol.guard)
    services.checkin(actor=guard, code=patrol.cps[0].code, now=at(9, 5))
    other = f.run(schedule=patrol.schedule, day=DAY + timedelta(days=1))
    c = login(patrol.admin)

    assert [i["id"] for i in c.get(f"{API}/runs").json()["items"]] == [other.pk, patrol.run.pk]
    assert [i["id"] for i in c.get(f"{API}/runs", {"status": "in_progress"}).json()["items"]] == [
        patrol.run.pk
    ]
    assert [i["id"] for i in c.get(f"{API}/runs", {"guard": patrol.guard.pk}).json()["items"]] == [
        patrol.run.pk
    ]
    assert [i["id"] for i in c.get(f"{API}/runs", {"date_from": "2025-03-11"}).json()["items"]] == [other.pk]
    assert c.get(f"{API}/runs", {"date_from": "2025-03-11", "date_to": "2025-03-10"}).status_code == 400
    assert c.get(f"{API}/runs", {"status": "bogus"}).status_code == 400
    detail = c.get(f"{API}/runs/{patrol.run.pk}").json()
    assert [(ci["checkpoint"], ci["guard"]) for ci in detail["checkins"]] == [
        ("巡检点1", patrol.guard.username)
    ]


def test_stats(patrol, login):
    guard = actor_for_user(patrol.guard)
    second = f.schedule(route=patrol.route, start=time(14, 0))
    services.runs_plan(day=DAY)
    for cp in patrol.cps:
        services.checkin(actor=guard, code=cp.code, now=at(9, 10))
    services.checkin(actor=guard, code=patrol.cps[0].code, now=at(14, 10))
    services.runs_close_due(now=at(16))
    assert second.runs.get().status == "partial"

    r = login(patrol.admin).get(f"{API}/stats", {"date_from": "2025-03-01", "date_to": "2025-03-31"})

    assert r.status_code == 200
    body = r.json()
    assert body["total"] == {
        "id": None,
        "label": "合计",
        "runs": 2,
        "completed": 1,
        "partial": 1,
        "missed": 0,
        "expected": 6,
        "checked": 4,
        "run_rate": 0.5,
        "checkpoint_rate": 0.6667,
    }
    assert [(g["label"], g["runs"], g["checked"]) for g in body["guards"]] == [(patrol.guard.username, 2, 4)]
    assert [(x["label"], x["runs"]) for x in body["routes"]] == [("日常巡逻", 2)]
    assert (
        login(patrol.admin)
        .get(f"{API}/stats", {"date_from": "2020-01-01", "date_to": "2025-03-31"})
        .status_code
        == 400
    )


def test_list_endpoints_have_bounded_queries(patrol, login, django_assert_max_num_queries):
    for day in range(1, 8):
        f.run(schedule=patrol.schedule, day=DAY + timedelta(days=day))
    for i in range(3):
        f.schedule(route=f.route(estate=patrol.route.estate, name=f"路线{i}"), guards=[patrol.guard])
    c = login(patrol.admin)
    c.get(f"{API}/routes")  # warm the session
    for path in ("routes", "checkpoints", "schedules", "runs", "findings"):
        with django_assert_max_num_queries(8):
            assert c.get(f"{API}/{path}").status_code == 200
