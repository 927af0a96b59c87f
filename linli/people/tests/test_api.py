import json
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.people.models import Person
from linli.people.tests import factories as people_f
from linli.people.tests.conftest import csv_bytes, full_ids_in, mobiles_in, row

API = "/api/v1/people"


def _json(response) -> dict:
    return json.loads(response.content)


def _no_pii(world, text: str) -> None:
    assert full_ids_in(text) == []
    assert mobiles_in(text) == []
    for p in world.a.persons + world.b.persons:
        assert p.id_number not in text and p.phone not in text


@pytest.mark.django_db
def test_person_list_is_masked_paginated_and_scoped(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    response = client.get(f"{API}/persons", {"page_size": 3, "ordering": "id"})

    body = _json(response)
    assert response.status_code == 200
    assert (body["count"], body["page"], body["page_size"], len(body["items"])) == (4, 1, 3, 3)
    first = world.a.persons[0]
    assert body["items"][0] == {
        "id": first.pk,
        "estate_id": world.a.estate.pk,
        "name": first.name[0] + "*" * (len(first.name) - 2) + first.name[-1],
        "gender": first.gender,
        "id_type": "111",
        "id_number": first.id_number[:4] + "*" * 10 + first.id_number[-4:],
        "phone": first.phone[:3] + "****" + first.phone[-4:],
        "population_type": "registered",
        "rooms": [
            {
                "id": first.occupancies.get().pk,
                "room_id": world.a.rooms[0].pk,
                "room": world.a.rooms[0].standard_address,
                "relation": "owner",
                "start_date": "2020-01-01",
            }
        ],
    }
    _no_pii(world, response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["name", "id", "phone"])
def test_person_list_q_matches_name_part_or_exact_id_or_mobile(world, login, query):
    target = world.a.persons[2]
    q = {"name": target.name[2:], "id": target.id_number.lower(), "phone": f"+86{target.phone}"}[query]
    client = login(world.a.staff[Role.GUARD])

    body = _json(client.get(f"{API}/persons", {"q": q}))

    assert [i["id"] for i in body["items"]] == [target.pk]


@pytest.mark.django_db
def test_person_list_filters_by_room_building_and_relation(world, login):
    client = login(world.a.staff[Role.CUSTOMER_SERVICE])

    by_room = _json(client.get(f"{API}/persons", {"room": world.a.rooms[0].pk, "ordering": "id"}))
    by_building = _json(client.get(f"{API}/persons", {"building": world.a.building.pk}))
    tenants = _json(client.get(f"{API}/persons", {"relation": "tenant"}))

    assert [i["id"] for i in by_room["items"]] == [world.a.persons[0].pk, world.a.persons[3].pk]
    assert by_building["count"] == 4
    assert tenants["count"] == 0


@pytest.mark.django_db
def test_person_list_bad_input_is_400(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    responses = [
        client.get(f"{API}/persons", q)
        for q in (
            {"ordering": "id_number"},
            {"estate": "0"},
            {"estate": str(2**64)},
            {"q": "a\x00b"},
            {"relation": "x"},
            {"page_size": "1000"},
        )
    ]

    assert [r.status_code for r in responses] == [400] * 6
    assert _json(responses[0])["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_care_kind_filter_needs_special_view_and_is_audited(world, login):
    people_f.care_tag(person=world.a.persons[1], kind="elderly_alone")

    denied = login(world.a.staff[Role.PROPERTY_ADMIN]).get(f"{API}/persons", {"care_kind": "elderly_alone"})
    allowed = login(world.a.staff[Role.COMMUNITY_WORKER]).get(
        f"{API}/persons", {"care_kind": "elderly_alone"}
    )

    assert denied.status_code == 403
    assert [i["id"] for i in _json(allowed)["items"]] == [world.a.persons[1].pk]
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count() == 1


@pytest.mark.django_db
def test_person_list_query_count_does_not_grow_with_rows(world, login, django_assert_max_num_queries):
    for i in range(15):
        people_f.person(estate=world.a.estate, room=world.a.rooms[i % 3])
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    with django_assert_max_num_queries(10):
        response = client.get(f"{API}/persons", {"page_size": 100})

    assert _json(response)["count"] == 19


@pytest.mark.django_db
def test_person_detail_shows_full_name_and_masked_identifiers(world, login):
    person = world.a.persons[1]

    response = login(world.a.staff[Role.POLICE_OFFICER]).get(f"{API}/persons/{person.pk}")

    body = _json(response)
    assert (body["name"], body["id_number"], body["phone"], body["estate_name"]) == (
        person.name,
        person.id_number[:4] + "*" * 10 + person.id_number[-4:],
        person.phone[:3] + "****" + person.phone[-4:],
        world.a.estate.name,
    )
    assert "birth_date" not in body and isinstance(body["age"], int)
    _no_pii(world, response.content.decode())


@pytest.mark.django_db
def test_create_and_patch_person(world, login):
    client = login(world.a.staff[Role.CUSTOMER_SERVICE])
    number = people_f.id_number(birth=date(1985, 6, 1), seq=300)

    created = client.post(
        f"{API}/persons",
        {"estate_id": world.a.estate.pk, "name": "赵六", "id_number": number, "phone": "13600000000"},
        content_type="application/json",
    )
    pk = _json(created)["id"]
    patched = client.patch(f"{API}/persons/{pk}", {"occupation": "司机"}, content_type="application/json")
    duplicate = client.post(
        f"{API}/persons",
        {"estate_id": world.a.estate.pk, "name": "重复", "id_number": number},
        content_type="application/json",
    )

    assert created.status_code == 201 and _json(created)["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert (patched.status_code, _json(patched)["occupation"]) == (200, "司机")
    assert duplicate.status_code == 400
    assert list(_json(duplicate)["error"]["fields"]) == ["id_number"]
    assert number not in created.content.decode() + duplicate.content.decode()


@pytest.mark.django_db
def test_reveal_returns_value_once_with_reason_and_audits(world, login):
    person = world.a.persons[1]
    client = login(world.a.staff[Role.COMMUNITY_WORKER])

    response = client.post(
        f"{API}/persons/{person.pk}/reveal",
        {"field": "id_number", "reason": "核对户籍信息"},
        content_type="application/json",
    )
    short = client.post(
        f"{API}/persons/{person.pk}/reveal",
        {"field": "id_number", "reason": "查"},
        content_type="application/json",
    )
    bad_field = client.post(
        f"{API}/persons/{person.pk}/reveal",
        {"field": "name", "reason": "核对户籍信息"},
        content_type="application/json",
    )

    assert (response.status_code, _json(response)) == (200, {"field": "id_number", "value": person.id_number})
    assert response["Cache-Control"] == "no-store"
    assert (short.status_code, bad_field.status_code) == (400, 400)
    event = AuditEvent.objects.get(action=Action.REVEAL)
    assert (event.subject_person_id, event.reason, event.detail, event.actor_id) == (
        person.pk,
        "核对户籍信息",
        {"field": "id_number"},
        world.a.staff[Role.COMMUNITY_WORKER].pk,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.GUARD, Role.CUSTOMER_SERVICE, Role.TECHNICIAN, Role.SERVICE_PROVIDER])
def test_reveal_without_permission_is_403_and_not_audited(world, login, role):
    response = login(world.a.staff[role]).post(
        f"{API}/persons/{world.a.persons[1].pk}/reveal",
        {"field": "phone", "reason": "核对户籍信息"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert world.a.persons[1].phone not in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.REVEAL).exists()


@pytest.mark.django_db
def test_resident_sees_own_household_only(world, login, actor_of):
    # given: the resident's room household holds persons[0] and persons[3]
    people_f.household(room=world.a.rooms[0], head=world.a.persons[0])
    client = login(world.a.resident)

    me = _json(client.get(f"{API}/me"))
    own = client.get(f"{API}/persons/{world.a.persons[3].pk}")
    other = client.get(f"{API}/persons/{world.a.persons[1].pk}")
    listing = client.get(f"{API}/persons")

    assert me["person"]["id"] == world.a.persons[0].pk
    assert [m["person_id"] for m in me["households"][0]["members"]] == [
        world.a.persons[0].pk,
        world.a.persons[3].pk,
    ]
    assert (own.status_code, _json(own)["id"]) == (200, world.a.persons[3].pk)
    assert other.status_code == 404
    assert listing.status_code == 403
    _no_pii(world, json.dumps(me, ensure_ascii=False))


@pytest.mark.django_db
def test_occupancy_rental_flow_over_api(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    tenant = people_f.person(estate=world.a.estate)
    start = date.today() - timedelta(days=10)

    occ = admin.post(
        f"{API}/occupancies",
        {
            "person_id": tenant.pk,
            "room_id": world.a.rooms[1].pk,
            "relation": "tenant",
            "start_date": start.isoformat(),
        },
        content_type="application/json",
    )
    overdue = _json(admin.get(f"{API}/rentals", {"status": "overdue"}))
    reported = admin.post(
        f"{API}/rentals/{overdue['items'][0]['id']}/report",
        {"guarantee_signed": True},
        content_type="application/json",
    )
    again = admin.post(
        f"{API}/rentals/{overdue['items'][0]['id']}/report", {}, content_type="application/json"
    )
    ended = admin.post(
        f"{API}/occupancies/{_json(occ)['id']}/end",
        {"end_date": date.today().isoformat()},
        content_type="application/json",
    )

    assert occ.status_code == 201
    assert [(i["person_id"], i["overdue"]) for i in overdue["items"]] == [(tenant.pk, True)]
    assert (reported.status_code, _json(reported)["status"]) == (200, "reported")
    assert again.status_code == 409
    assert (ended.status_code, _json(ended)["end_date"]) == (200, date.today().isoformat())


@pytest.mark.django_db
def test_households_list_and_detail(world, login):
    household = people_f.household(room=world.a.rooms[0], head=world.a.persons[0])
    client = login(world.a.staff[Role.GUARD])

    listing = _json(client.get(f"{API}/households"))
    detail = _json(client.get(f"{API}/households/{household.pk}"))

    assert [h["id"] for h in listing["items"]] == [household.pk]
    assert (detail["room_id"], len(detail["members"])) == (world.a.rooms[0].pk, 2)


@pytest.mark.django_db
def test_care_tags_over_api_are_government_only_and_audited(world, login):
    worker = login(world.a.staff[Role.COMMUNITY_WORKER])

    created = worker.post(
        f"{API}/care-tags",
        {
            "person_id": world.a.persons[2].pk,
            "kind": "disabled",
            "start_date": "2025-01-01",
            "note": "二级肢体",
        },
        content_type="application/json",
    )
    listing = worker.get(f"{API}/care-tags")
    denied = [
        login(world.a.staff[r]).get(f"{API}/care-tags").status_code
        for r in (Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE, Role.GUARD, Role.SERVICE_PROVIDER)
    ]

    assert created.status_code == 201
    assert [(t["person_id"], t["kind"], t["note"]) for t in _json(listing)["items"]] == [
        (world.a.persons[2].pk, "disabled", "二级肢体")
    ]
    assert denied == [403, 403, 403, 403]
    assert AuditEvent.objects.filter(action=Action.SENSITIVE_READ).count() == 1


@pytest.mark.django_db
def test_vehicles_and_establishments(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])

    vehicle = client.post(
        f"{API}/vehicles",
        {"owner_id": world.a.persons[0].pk, "plate": "晋A·D1234"},
        content_type="application/json",
    )
    bad = client.post(
        f"{API}/vehicles",
        {"owner_id": world.a.persons[0].pk, "plate": "ABC"},
        content_type="application/json",
    )
    shop = client.post(
        f"{API}/establishments",
        {"estate_id": world.a.estate.pk, "kind": "shop", "name": "便利店", "contact_phone": "13500000000"},
        content_type="application/json",
    )

    assert (vehicle.status_code, _json(vehicle)["plate"]) == (201, "晋AD1234")
    assert (bad.status_code, list(_json(bad)["error"]["fields"])) == (400, ["plate"])
    assert (shop.status_code, _json(shop)["contact_phone"]) == (201, "135****0000")
    assert [v["plate"] for v in _json(client.get(f"{API}/vehicles"))["items"]] == ["晋AD1234"]
    assert [e["name"] for e in _json(client.get(f"{API}/establishments"))["items"]] == ["便利店"]


@pytest.mark.django_db
def test_resident_import_over_api(world, login):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    good = csv_bytes(
        [
            row(
                name="新住户",
                id_number=people_f.id_number(seq=400),
                phone="13800000001",
                building="1号楼",
                room="101",
                relation="业主",
            )
        ]
    )
    bad = csv_bytes([row(name="坏", id_number="1", phone="1", building="1号楼", room="101", relation="业主")])

    applied = client.post(
        f"{API}/imports/residents",
        {"estate_id": world.a.estate.pk, "file": SimpleUploadedFile("r.csv", good)},
    )
    rejected = client.post(
        f"{API}/imports/residents", {"estate_id": world.a.estate.pk, "file": SimpleUploadedFile("r.csv", bad)}
    )
    listing = _json(client.get(f"{API}/imports"))
    detail = _json(client.get(f"{API}/imports/{_json(rejected)['job']['id']}"))
    template = client.get(f"{API}/imports/template.xlsx")

    assert (applied.status_code, _json(applied)["created_count"]) == (201, 1)
    assert (rejected.status_code, _json(rejected)["error"]["code"]) == (400, "import_rejected")
    assert [j["status"] for j in listing["items"]] == ["rejected", "applied"]
    assert [(e["row"], e["column"]) for e in detail["errors"]] == [(2, "证件号码"), (2, "手机号")]
    assert template.status_code == 200 and template.content[:2] == b"PK"
    assert Person.objects.filter(name="新住户").count() == 1


@pytest.mark.django_db
def test_unauthenticated_is_401(client):
    assert client.get(f"{API}/persons").status_code == 401


@pytest.mark.django_db
def test_bearer_token_read_only_cannot_write(world):
    from django.test import Client

    from linli.accounts.services import token_issue

    _, raw = token_issue(user=world.a.staff[Role.PROPERTY_ADMIN], name="ro", scope="read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    listing = client.get(f"{API}/persons")
    write = client.patch(
        f"{API}/persons/{world.a.persons[1].pk}", {"occupation": "x"}, content_type="application/json"
    )

    assert listing.status_code == 200
    assert write.status_code == 403
