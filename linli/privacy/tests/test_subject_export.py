import csv
import io
import json
import zipfile
from datetime import date

import pytest

from linli.core import audit
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.core.pii import mask_name
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.models import CareKind
from linli.people.tests import factories as people_f
from linli.privacy.tests import factories as privacy_f
from linli.privacy.tests.pii import find_pii


def _household_of_a(world):
    me, housemate = world.a.persons[0], world.a.persons[3]  # both in rooms[0]
    people_f.household(room=world.a.rooms[0], head=me)
    people_f.vehicle(owner=me, plate="晋A12345")
    people_f.care_tag(person=me, kind=CareKind.ELDERLY_ALONE, note="每周电话问候")
    privacy_f.consent(person=me, code="notifications")
    audit.record(
        Action.REVEAL,
        actor=actor_for_user(world.a.staff[Role.COMMUNITY_WORKER]),
        object_type="people.person",
        object_id=me.pk,
        subject_person_id=me.pk,
        estate_id=world.a.estate.pk,
        reason="核实独居老人身份",
    )
    return me, housemate


@pytest.mark.django_db
def test_json_export_holds_my_data_in_full_and_others_masked(world, login):
    me, housemate = _household_of_a(world)

    response = login(world.a.resident).get("/api/v1/privacy/me/export", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    body = json.loads(response.content)
    assert body["meta"]["person_id"] == me.pk
    assert body["meta"]["dataset_level"] == "L4"
    assert (body["person"][0]["id_number"], body["person"][0]["phone"], body["person"][0]["name"]) == (
        me.id_number,
        me.phone,
        me.name,
    )
    assert [o["standard_address"] for o in body["occupancies"]] == [world.a.rooms[0].standard_address]
    assert sorted(m["member"] for m in body["household_members"]) == sorted(
        [me.name, mask_name(housemate.name)]
    )
    assert [v["plate"] for v in body["vehicles"]] == ["晋A12345"]
    assert [(t["kind"], t["note"]) for t in body["care_tags"]] == [("独居老人", "每周电话问候")]
    assert [(c["purpose"], c["notice_version"]) for c in body["consents"]] == [("notifications", 1)]
    reveal = next(e for e in body["access_log"] if e["action"] == Action.REVEAL)
    assert (reveal["actor_role"], reveal["reason"]) == ("社区工作者", "核实独居老人身份")
    assert reveal["actor_org"] == world.a.staff[Role.COMMUNITY_WORKER].memberships.get().organization.name
    assert "actor_label" not in reveal
    assert sorted(find_pii(response.content.decode())) == sorted([me.id_number, me.phone])
    assert housemate.id_number not in response.content.decode()


@pytest.mark.django_db
def test_csv_export_is_a_zip_of_csv_files(world, login):
    me, _housemate = _household_of_a(world)

    response = login(world.a.resident).get("/api/v1/privacy/me/export", {"format": "csv"})

    assert response["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(zf.namelist()) == sorted(
        [
            "person.csv",
            "occupancies.csv",
            "household_members.csv",
            "vehicles.csv",
            "rental_registrations.csv",
            "care_tags.csv",
            "consents.csv",
            "access_log.csv",
            "meta.json",
        ]
    )
    person = list(csv.DictReader(io.StringIO(zf.read("person.csv").decode("utf-8-sig"))))
    assert (person[0]["id_number"], person[0]["phone"]) == (me.id_number, me.phone)
    assert json.loads(zf.read("meta.json"))["sections"]["vehicles"] == 1


@pytest.mark.django_db
def test_export_includes_tenancies_and_masks_my_tenants(world, login):
    me = world.a.persons[0]
    tenant = people_f.person(estate=world.a.estate)
    privacy_f.tenancy(tenant=tenant, room=world.a.rooms[2], landlord=me, start=date(2024, 3, 1))

    body = json.loads(login(world.a.resident).get("/api/v1/privacy/me/export").content)

    assert [(r["role"], r["tenant"]) for r in body["rental_registrations"]] == [
        ("出租人", mask_name(tenant.name))
    ]


@pytest.mark.django_db
def test_export_is_audited(world, login):
    login(world.a.resident).get("/api/v1/privacy/me/export", {"format": "csv"})

    event = AuditEvent.objects.get(action=Action.SUBJECT_EXPORT)
    assert (event.subject_person_id, event.estate_id, event.detail["format"]) == (
        world.a.persons[0].pk,
        world.a.estate.pk,
        "csv",
    )


@pytest.mark.django_db
def test_export_rejects_an_unknown_format(world, login):
    response = login(world.a.resident).get("/api/v1/privacy/me/export", {"format": "pdf"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert AuditEvent.objects.filter(action=Action.SUBJECT_EXPORT).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PROPERTY_ADMIN, Role.POLICE_OFFICER])
def test_staff_have_no_own_data_export(world, login, role):
    response = login(world.a.staff[role]).get("/api/v1/privacy/me/export")

    assert response.status_code == 403
    assert response.json()["error"] == {"code": "permission_denied", "message": "此功能仅供居民本人使用"}


@pytest.mark.django_db
def test_a_resident_without_a_person_record_gets_404(world, login):
    from linli.accounts.models import UserKind
    from linli.orgs.tests import factories as orgs_f

    lonely = orgs_f.user(kind=UserKind.RESIDENT)

    response = login(lonely).get("/api/v1/privacy/me/export")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_anonymous_export_is_401(client):
    response = client.get("/api/v1/privacy/me/export")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
