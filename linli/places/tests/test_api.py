import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.core.models import ImportJob
from linli.orgs.roles import Role
from linli.places.models import Facility, Room, RoomStatus
from linli.places.tests import factories as f

API = "/api/v1/places"


def _admin_client(world, login):
    return login(world.a.staff[Role.PROPERTY_ADMIN])


@pytest.mark.django_db
def test_room_list_is_paginated_and_scoped(world, login):
    resp = login(world.a.staff[Role.GUARD]).get(f"{API}/rooms", {"page_size": 2})

    body = resp.json()
    assert resp.status_code == 200
    assert (body["count"], body["page"], body["page_size"]) == (3, 1, 2)
    assert [r["number"] for r in body["items"]] == ["101", "201"]
    assert body["items"][0]["standard_address"] == "山西省太原市小店区坞城街道学府社区甲小区1号楼1单元101室"
    assert (body["items"][0]["estate_name"], body["items"][0]["unit_name"]) == ("甲小区", "1单元")


@pytest.mark.django_db
def test_room_list_filters(world, login):
    client = _admin_client(world, login)
    other = f.building(estate=world.a.estate, name="2号楼")
    f.room(
        estate=world.a.estate, building=other, floor=2, number="2-201", status=RoomStatus.VACANT, use="office"
    )

    def numbers(**params):
        return [r["number"] for r in client.get(f"{API}/rooms", params).json()["items"]]

    assert numbers(building=other.pk) == ["2-201"]
    assert numbers(unit=world.a.unit.pk) == ["101", "201", "301"]
    assert numbers(floor=2) == ["201", "2-201"]
    assert numbers(status="vacant") == ["2-201"]
    assert numbers(use="office") == ["2-201"]
    assert numbers(q="301") == ["301"]
    assert numbers(q="2号楼") == ["2-201"]
    assert numbers(estate=world.a.estate.pk, floor=1) == ["101"]
    assert numbers(estate=world.b.estate.pk) == []


@pytest.mark.django_db
def test_room_list_ordering(world, login):
    client = _admin_client(world, login)

    def numbers(ordering):
        return [r["number"] for r in client.get(f"{API}/rooms", {"ordering": ordering}).json()["items"]]

    assert numbers("-floor") == ["301", "201", "101"]
    assert numbers("number") == ["101", "201", "301"]
    assert numbers("-id") == ["301", "201", "101"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"ordering": "password"},
        {"ordering": "floor;drop"},
        {"status": "sold"},
        {"use": "Castle"},
        {"estate": "abc"},
        {"estate": "0"},
        {"estate": str(2**70)},
        {"floor": "99999"},
        {"page": "0"},
        {"page_size": "101"},
        {"q": "x" * 101},
        {"q": "a\x00b"},
    ],
)
def test_room_list_bad_input_is_400(world, login, params):
    resp = _admin_client(world, login).get(f"{API}/rooms", params)

    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_room_get_and_patch(world, login):
    client = _admin_client(world, login)
    room = world.a.rooms[1]

    got = client.get(f"{API}/rooms/{room.pk}").json()
    patched = client.patch(
        f"{API}/rooms/{room.pk}",
        json.dumps({"status": "rented", "area": "77.70"}),
        content_type="application/json",
    )

    assert got["number"] == "201"
    assert patched.status_code == 200
    assert (patched.json()["status"], patched.json()["area"]) == ("rented", "77.70")
    room.refresh_from_db()
    assert str(room.area) == "77.70"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"estate_id": 2},
        {"address_code": "X"},
        {"area": -1},
        {"area": "1e9"},
        {"area": "1.234"},
        {"status": "sold"},
    ],
)
def test_room_patch_rejects_bad_or_server_controlled_fields(world, login, body):
    room = world.a.rooms[0]

    resp = _admin_client(world, login).patch(
        f"{API}/rooms/{room.pk}", json.dumps(body), content_type="application/json"
    )

    assert resp.status_code == 400
    room.refresh_from_db()
    assert (str(room.area), room.status, room.estate_id) == ("89.50", "self", world.a.estate.pk)


@pytest.mark.django_db
def test_room_patch_without_manage_permission_is_403(world, login):
    room = world.a.rooms[0]

    resp = login(world.a.staff[Role.GUARD]).patch(
        f"{API}/rooms/{room.pk}", json.dumps({"status": "vacant"}), content_type="application/json"
    )

    assert resp.status_code == 403
    room.refresh_from_db()
    assert room.status == "self"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/rooms/0", f"/rooms/{2**63}", f"/rooms/{2**80}", "/regions/0", f"/imports/{2**64}"]
)
def test_absurd_ids_are_4xx(world, login, path):
    resp = _admin_client(world, login).get(API + path)

    assert resp.status_code in (400, 404)


@pytest.mark.django_db
def test_unauthenticated_is_401(world, client):
    assert client.get(f"{API}/rooms").status_code == 401


@pytest.mark.django_db
def test_region_tree_and_detail(world, login):
    client = login(world.a.staff[Role.TECHNICIAN])

    tree = client.get(f"{API}/regions").json()
    detail = client.get(f"{API}/regions/{world.a.building.pk}").json()

    assert (tree[0]["name"], tree[0]["in_scope"]) == ("山西省", False)
    assert (detail["name"], detail["room_count"], [c["name"] for c in detail["children"]]) == (
        "1号楼",
        3,
        ["1单元"],
    )


@pytest.mark.django_db
def test_parking_and_facilities_lists(world, login):
    f.parking_space(estate=world.a.estate, code="A-1", room=world.a.rooms[0])
    f.parking_space(estate=world.b.estate, code="B-1")
    f.facility(estate=world.a.estate, kind=Facility.Kind.PUMP, name="生活水泵", status="fault")
    f.facility(estate=world.b.estate, name="乙消火栓")
    client = login(world.a.staff[Role.TECHNICIAN])

    parking = client.get(f"{API}/parking").json()
    facilities = client.get(f"{API}/facilities", {"status": "fault"}).json()

    assert [(p["code"], p["room_id"]) for p in parking["items"]] == [("A-1", world.a.rooms[0].pk)]
    assert [x["name"] for x in facilities["items"]] == ["生活水泵"]


@pytest.mark.django_db
def test_facility_create(world, login):
    body = {
        "estate_id": world.a.estate.pk,
        "building_id": world.a.building.pk,
        "kind": "elevator",
        "name": "1号梯",
        "location": "1单元",
    }

    resp = _admin_client(world, login).post(
        f"{API}/facilities", json.dumps(body), content_type="application/json"
    )

    assert resp.status_code == 201
    assert Facility.objects.get(pk=resp.json()["id"]).name == "1号梯"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"kind": "elevator", "name": ""},
        {"kind": "teleporter", "name": "x"},
        {"kind": "pump", "name": "x", "id": 5},
        {"kind": "pump", "name": "x", "status": "exploded"},
    ],
)
def test_facility_create_bad_input_is_400(world, login, body):
    resp = _admin_client(world, login).post(
        f"{API}/facilities",
        json.dumps({"estate_id": world.a.estate.pk, **body}),
        content_type="application/json",
    )

    assert resp.status_code == 400
    assert Facility.objects.count() == 0


@pytest.mark.django_db
def test_upload_good_file(world, login):
    upload = SimpleUploadedFile(
        "rooms.xlsx", f.rooms_xlsx([("8号楼", "1单元", 1, "101", "80", "住宅", "自住")])
    )

    resp = _admin_client(world, login).post(
        f"{API}/imports/rooms", {"estate_id": world.a.estate.pk, "file": upload}
    )

    assert resp.status_code == 200
    assert (resp.json()["status"], resp.json()["created_count"]) == ("applied", 1)
    assert Room.objects.filter(building__name="8号楼").count() == 1


@pytest.mark.django_db
def test_upload_bad_file_returns_400_with_the_job_and_every_error(world, login):
    rows = [
        ("8号楼", "1单元", "x", "101", "80", "住宅", "自住"),
        ("8号楼", "1单元", 1, "102", "-5", "住宅", "自住"),
    ]
    upload = SimpleUploadedFile("rooms.csv", f.rooms_csv(rows))

    resp = _admin_client(world, login).post(
        f"{API}/imports/rooms", {"estate_id": world.a.estate.pk, "file": upload}
    )

    body = resp.json()
    assert resp.status_code == 400
    assert body["error"] == {
        "code": "import_rejected",
        "message": "文件有 2 处错误，未导入任何数据",
        "fields": None,
    }
    assert [(e["row"], e["column"]) for e in body["job"]["errors"]] == [(2, "楼层"), (3, "建筑面积")]
    assert ImportJob.objects.get(pk=body["job"]["id"]).status == "rejected"
    assert Room.objects.count() == 6


@pytest.mark.django_db
def test_upload_too_large_is_413(world, login, settings):
    settings.IMPORT_MAX_BYTES = 50
    upload = SimpleUploadedFile("rooms.csv", b"x" * 51)

    resp = _admin_client(world, login).post(
        f"{API}/imports/rooms", {"estate_id": world.a.estate.pk, "file": upload}
    )

    assert resp.status_code == 413
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_upload_without_file_is_400(world, login):
    resp = _admin_client(world, login).post(f"{API}/imports/rooms", {"estate_id": world.a.estate.pk})

    assert resp.status_code == 400


@pytest.mark.django_db
def test_import_list_detail_and_template(world, login):
    client = _admin_client(world, login)
    upload = SimpleUploadedFile("rooms.csv", f.rooms_csv([("8号楼", "", "", "", "", "", "")]))
    job_id = client.post(f"{API}/imports/rooms", {"estate_id": world.a.estate.pk, "file": upload}).json()[
        "job"
    ]["id"]

    listing = client.get(f"{API}/imports").json()
    detail = client.get(f"{API}/imports/{job_id}").json()
    template = client.get(f"{API}/imports/template.xlsx")

    assert [(j["id"], j["error_count"]) for j in listing["items"]] == [(job_id, 5)]
    assert len(detail["errors"]) == 5
    assert template.status_code == 200
    assert template["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert template.content[:2] == b"PK"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/rooms", "/parking", "/facilities", "/imports"])
def test_list_endpoints_have_bounded_queries(world, login, django_assert_max_num_queries, path):
    client = _admin_client(world, login)
    for i in range(15):
        f.room(estate=world.a.estate, building=world.a.building, number=f"q{i}")
        f.parking_space(estate=world.a.estate, room=world.a.rooms[0])
        f.facility(estate=world.a.estate, building=world.a.building)
    for _ in range(5):
        client.post(
            f"{API}/imports/rooms",
            {"estate_id": world.a.estate.pk, "file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")},
        )

    with django_assert_max_num_queries(8):
        resp = client.get(API + path, {"page_size": 100})

    assert resp.status_code == 200
    assert resp.json()["count"] >= 5


@pytest.mark.django_db
def test_region_tree_has_bounded_queries(world, login, django_assert_max_num_queries):
    client = _admin_client(world, login)
    for i in range(10):
        f.unit(building=f.building(estate=world.a.estate), name=f"{i}单元")

    # session, user, memberships (2), session refresh + 3 for the tree, whatever its size
    with django_assert_max_num_queries(10):
        resp = client.get(f"{API}/regions")

    assert resp.status_code == 200
