"""Cross-scope probe: a user of estate a never sees estate b through any places endpoint or page."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.core.models import ImportJob
from linli.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from linli.orgs.selectors import actor_for_user
from linli.places import services
from linli.places.models import Facility, Room
from linli.places.tests import factories as f

API = "/api/v1/places"
VIEW_ROLES = [
    r
    for r in (
        Role.PROPERTY_ADMIN,
        Role.CUSTOMER_SERVICE,
        Role.TECHNICIAN,
        Role.GUARD,
        Role.COMMUNITY_WORKER,
        Role.SUBDISTRICT_OFFICER,
        Role.POLICE_OFFICER,
        Role.SERVICE_PROVIDER,
    )
    if Perm.PLACES_VIEW in ROLE_PERMISSIONS[r]
]


@pytest.fixture
def b_objects(world):
    """Parking, a facility and an import job in each estate."""
    out = {}
    for side in (world.a, world.b):
        f.parking_space(estate=side.estate, room=side.rooms[0])
        f.facility(estate=side.estate, building=side.building)
        job = services.rooms_import(
            actor=actor_for_user(side.staff[Role.PROPERTY_ADMIN]),
            estate=side.estate,
            file_name="x.csv",
            data=b"bad,header\n1,2\n",
        )
        out[side.estate.pk] = job
    return out[world.b.estate.pk]


def _ids(items):
    return {i["id"] for i in items}


def _tree_ids(nodes):
    out = set()
    for n in nodes:
        out |= {n["id"]} | _tree_ids(n["children"])
    return out


def _import_status(role):
    return 404 if Perm.PLACES_IMPORT in ROLE_PERMISSIONS[role] else 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", VIEW_ROLES)
def test_api_object_endpoints_answer_404_for_the_other_estate(world, login, b_objects, role):
    client = login(world.a.staff[role])
    b = world.b

    for path in [f"/rooms/{r.pk}" for r in b.rooms] + [
        f"/regions/{x.pk}" for x in (b.estate, b.building, b.unit)
    ]:
        resp = client.get(API + path)
        assert (path, resp.status_code) == (path, 404)
    patch = client.patch(
        f"{API}/rooms/{b.rooms[0].pk}", json.dumps({"status": "vacant"}), content_type="application/json"
    )
    facility = client.post(
        f"{API}/facilities",
        json.dumps({"estate_id": b.estate.pk, "kind": "pump", "name": "x"}),
        content_type="application/json",
    )
    upload = client.post(
        f"{API}/imports/rooms",
        {
            "estate_id": b.estate.pk,
            "file": SimpleUploadedFile(
                "r.csv", f.rooms_csv([("1号楼", "1单元", 5, "501", "50", "住宅", "自住")])
            ),
        },
    )
    job = client.get(f"{API}/imports/{b_objects.pk}")

    assert (patch.status_code, facility.status_code, upload.status_code) == (404, 404, 404)
    assert job.status_code == _import_status(role)
    assert Room.objects.filter(estate=b.estate).count() == 3
    assert Room.objects.get(pk=b.rooms[0].pk).status == "self"
    assert Facility.objects.filter(estate=b.estate).count() == 1
    assert ImportJob.objects.filter(estate=b.estate).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", VIEW_ROLES)
def test_api_lists_contain_no_rows_of_the_other_estate(world, login, b_objects, role):
    client = login(world.a.staff[role])
    b = world.b

    rooms = client.get(f"{API}/rooms", {"page_size": 100}).json()["items"]
    rooms_of_b = client.get(f"{API}/rooms", {"estate": b.estate.pk}).json()["items"]
    rooms_in_b_building = client.get(f"{API}/rooms", {"building": b.building.pk}).json()["items"]
    parking = client.get(f"{API}/parking", {"page_size": 100}).json()["items"]
    facilities = client.get(f"{API}/facilities", {"page_size": 100}).json()["items"]
    tree = client.get(f"{API}/regions").json()
    imports = client.get(f"{API}/imports")

    assert _ids(rooms) == {r.pk for r in world.a.rooms}
    assert (rooms_of_b, rooms_in_b_building) == ([], [])
    assert {p["estate_id"] for p in parking} == {world.a.estate.pk}
    assert {x["estate_id"] for x in facilities} == {world.a.estate.pk}
    assert not _tree_ids(tree) & {b.estate.pk, b.building.pk, b.unit.pk}
    if imports.status_code == 200:
        assert {j["estate_id"] for j in imports.json()["items"]} == {world.a.estate.pk}
    else:
        assert imports.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", VIEW_ROLES)
def test_pages_answer_404_for_the_other_estate(world, login, b_objects, role):
    client = login(world.a.staff[role])
    b = world.b

    for url in [reverse("places:room_detail", args=[r.pk]) for r in b.rooms] + [
        reverse("places:region_detail", args=[x.pk]) for x in (b.estate, b.building, b.unit)
    ]:
        assert (url, client.get(url).status_code) == (url, 404)
    assert client.get(reverse("places:import_detail", args=[b_objects.pk])).status_code == _import_status(
        role
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", VIEW_ROLES)
def test_page_lists_contain_no_rows_of_the_other_estate(world, login, b_objects, role):
    client = login(world.a.staff[role])
    b = world.b

    tree = client.get(reverse("places:tree")).content.decode()
    rooms = client.get(reverse("places:rooms"))
    rooms_of_b = client.get(reverse("places:rooms"), {"estate": b.estate.pk})
    imports = client.get(reverse("places:imports"))

    assert "乙小区" not in tree
    assert {r.pk for r in rooms.context["page"].object_list} == {r.pk for r in world.a.rooms}
    assert list(rooms_of_b.context["page"].object_list) == []
    assert "乙小区" not in rooms.content.decode()
    if imports.status_code == 200:
        assert {j.estate_id for j in imports.context["page"].object_list} == {world.a.estate.pk}
    else:
        assert imports.status_code == 403


@pytest.mark.django_db
def test_import_page_upload_into_the_other_estate_is_404(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    upload = SimpleUploadedFile("r.csv", f.rooms_csv([("1号楼", "1单元", 5, "501", "50", "住宅", "自住")]))

    resp = client.post(reverse("places:imports"), {"estate": world.b.estate.pk, "file": upload})

    assert resp.status_code == 404
    assert ImportJob.objects.count() == 0
    assert Room.objects.filter(estate=world.b.estate).count() == 3
