"""Cross-scope probe: a user of estate a never reaches estate b's people, through any endpoint or page."""

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people import services
from linli.people.models import Person
from linli.people.tests import factories as people_f
from linli.people.tests.conftest import csv_bytes, row

API = "/api/v1/people"
ESTATE_ROLES = [
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
def b_objects(world):
    """One object of every kind in estate b, made by b's own staff."""
    admin = actor_for_user(world.b.staff[Role.PROPERTY_ADMIN])
    worker = actor_for_user(world.b.staff[Role.COMMUNITY_WORKER])
    person = world.b.persons[1]
    tenant = services.person_create(
        actor=admin, estate=world.b.estate, name="乙租户", id_number=people_f.id_number(seq=700)
    )
    occupancy = services.occupancy_start(
        actor=admin, person=tenant, room=world.b.rooms[1], relation="tenant", start_date=date(2025, 1, 1)
    )
    tag = services.care_tag_add(actor=worker, person=person, kind="key_care", start_date=date(2025, 1, 1))
    vehicle = services.vehicle_add(actor=admin, owner=person, plate="晋B54321")
    est = services.establishment_create(actor=admin, estate=world.b.estate, kind="shop", name="乙小区商铺")
    job = services.residents_import(actor=admin, estate=world.b.estate, file_name="b.csv", data=b"x")
    return {
        "person": person,
        "household": occupancy.household,
        "occupancy": occupancy,
        "rental": occupancy.rental,
        "tag": tag,
        "vehicle": vehicle,
        "establishment": est,
        "job": job,
        "room": world.b.rooms[0],
        "estate": world.b.estate,
    }


def _probes(world, b) -> list[tuple[str, str, dict | None]]:
    a_person = world.a.persons[1]
    return [
        ("get", f"{API}/persons/{b['person'].pk}", None),
        ("patch", f"{API}/persons/{b['person'].pk}", {"occupation": "x"}),
        ("post", f"{API}/persons/{b['person'].pk}/reveal", {"field": "id_number", "reason": "越权尝试查看"}),
        (
            "post",
            f"{API}/persons",
            {"estate_id": b["estate"].pk, "name": "越权", "id_number": people_f.id_number(seq=701)},
        ),
        ("get", f"{API}/households/{b['household'].pk}", None),
        (
            "post",
            f"{API}/occupancies",
            {
                "person_id": b["person"].pk,
                "room_id": world.a.rooms[0].pk,
                "relation": "family",
                "start_date": "2025-01-01",
            },
        ),
        (
            "post",
            f"{API}/occupancies",
            {
                "person_id": a_person.pk,
                "room_id": b["room"].pk,
                "relation": "family",
                "start_date": "2025-01-01",
            },
        ),
        ("post", f"{API}/occupancies/{b['occupancy'].pk}/end", {"end_date": "2025-02-01"}),
        ("post", f"{API}/rentals/{b['rental'].pk}/report", {}),
        (
            "post",
            f"{API}/care-tags",
            {"person_id": b["person"].pk, "kind": "disabled", "start_date": "2025-01-01"},
        ),
        ("post", f"{API}/care-tags/{b['tag'].pk}/end", {"end_date": "2025-02-01"}),
        ("post", f"{API}/vehicles", {"owner_id": b["person"].pk, "plate": "晋B11111"}),
        ("post", f"{API}/establishments", {"estate_id": b["estate"].pk, "kind": "shop", "name": "越权"}),
        ("get", f"{API}/imports/{b['job'].pk}", None),
        ("get", f"/console/people/persons/{b['person'].pk}/", None),
        ("get", f"/console/people/imports/{b['job'].pk}/", None),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_every_endpoint_and_page_answers_404_for_estate_b_objects(world, login, b_objects, role):
    client = login(world.a.staff[role])
    persons_before = Person.objects.count()

    statuses = {}
    for method, url, body in _probes(world, b_objects):
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
        statuses[(method, url)] = getattr(client, method)(url, **kwargs).status_code
    reveal_page = client.post(
        f"/console/people/persons/{b_objects['person'].pk}/", {"field": "id_number", "reason": "越权尝试查看"}
    ).status_code
    upload_api = client.post(
        f"{API}/imports/residents",
        {"estate_id": b_objects["estate"].pk, "file": SimpleUploadedFile("x.csv", csv_bytes([row()]))},
    )
    upload_page = client.post(
        "/console/people/imports/",
        {"estate": b_objects["estate"].pk, "file": SimpleUploadedFile("x.csv", csv_bytes([row()]))},
    )

    assert {k: v for k, v in statuses.items() if v != 404} == {}
    assert (reveal_page, upload_api.status_code, upload_page.status_code) == (404, 404, 404)
    assert Person.objects.count() == persons_before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_lists_never_contain_estate_b_rows(world, login, b_objects, role):
    client = login(world.a.staff[role])
    b_ids = {
        "persons": {p.pk for p in Person.objects.filter(estate=world.b.estate)},
        "households": {b_objects["household"].pk},
        "rentals": {b_objects["rental"].pk},
        "care-tags": {b_objects["tag"].pk},
        "vehicles": {b_objects["vehicle"].pk},
        "establishments": {b_objects["establishment"].pk},
        "imports": {b_objects["job"].pk},
    }

    leaked = {}
    for name, ids in b_ids.items():
        response = client.get(f"{API}/{name}", {"page_size": 100})
        assert response.status_code in (200, 403)
        if response.status_code == 200:
            seen = {item["id"] for item in json.loads(response.content)["items"]}
            if seen & ids:
                leaked[name] = seen & ids
    narrowed = client.get(f"{API}/persons", {"estate": world.b.estate.pk})
    page = client.get("/console/people/", {"estate": world.b.estate.pk})

    assert leaked == {}
    assert narrowed.status_code == 403 or json.loads(narrowed.content)["count"] == 0
    assert page.status_code == 403 or all(
        f"/console/people/persons/{pk}/" not in page.content.decode() for pk in b_ids["persons"]
    )


@pytest.mark.django_db
def test_platform_admin_sees_both_estates_masked(world, login):
    response = login(world.platform_admin).get(f"{API}/persons", {"page_size": 100})

    assert json.loads(response.content)["count"] == 8
