"""The demo generator: valid identities, coherent households, a working login for every role."""

from __future__ import annotations

import json
import re
import stat
from datetime import date

import pytest
from django.db import connection, transaction
from django.test import Client

from linli.accounts.models import User, UserKind
from linli.core import crypto
from linli.core.pii import parse_credit_code, parse_id_number, parse_mobile, parse_plate
from linli.demo import estates, generator
from linli.orgs.models import Membership
from linli.orgs.roles import Role
from linli.people.models import (
    CareKind,
    CareTag,
    Establishment,
    Household,
    Occupancy,
    Person,
    PopulationType,
    Relation,
    RentalRegistration,
    Vehicle,
)
from linli.places.models import Facility, ParkingSpace, Region, RegionLevel, Room, RoomStatus, RoomUse

SCALE = 0.05
TODAY = date(2025, 6, 1)
PLATE_RE = re.compile(r"^晋[A-HJ-NP-Z]([0-9A-HJ-NP-Z]{5}|[DF][0-9]{5})$")


@pytest.fixture
def demo(db) -> generator.DemoResult:
    return generator.generate(seed=7, scale=SCALE, today=TODAY)


def test_region_chain_and_estates_are_built(demo):
    # given the demo community
    # when the tree is read
    chain = list(Region.objects.filter(depth__lte=4).order_by("depth").values_list("name", "code"))
    estates = list(
        Region.objects.filter(level=RegionLevel.ESTATE).order_by("sort").values_list("name", "code")
    )
    # then it is 山西省 → 太原市 → 小店区 → 坞城街道 → 学府社区 with the two estates under the community
    assert chain == [
        ("山西省", "140000"),
        ("太原市", "140100"),
        ("小店区", "140105"),
        ("坞城街道", "140105002"),
        ("学府社区", "140105002001"),
    ]
    assert estates == [("学府花园", "XFHY"), ("康乐苑", "KLY")]
    community = Region.objects.get(level=RegionLevel.COMMUNITY)
    assert set(Region.objects.filter(level=RegionLevel.ESTATE).values_list("parent", flat=True)) == {
        community.pk
    }


def test_rooms_have_standard_addresses_and_realistic_areas(demo):
    # given the demo community
    rooms = list(Room.objects.all())
    # then every room carries its standard address and an area between 40 and 170 m²
    assert len(rooms) == demo.counts["rooms"]
    assert all(r.standard_address.startswith("山西省太原市小店区坞城街道学府社区") for r in rooms)
    assert all(r.standard_address.endswith("室") for r in rooms)
    assert all(40 <= r.area <= 170 for r in rooms)
    residential = [r for r in rooms if r.use == RoomUse.RESIDENTIAL]
    statuses = {s: sum(1 for r in residential if r.status == s) for s in RoomStatus.values}
    assert statuses[RoomStatus.VACANT] == round(len(residential) * 0.08)
    assert statuses[RoomStatus.RENTED] == round(len(residential) * 0.15)
    assert any(r.use == RoomUse.COMMERCIAL and r.floor == 1 for r in rooms)


def test_every_id_number_and_mobile_is_valid_and_unique(demo):
    # given the demo residents
    persons = list(Person.objects.all())
    # then each ID number passes GB 11643 and agrees with the stored birth date and gender
    assert len(persons) == demo.counts["persons"]
    for p in persons:
        number, birth, gender = parse_id_number(p.id_number, today=TODAY)
        assert (number, birth, gender) == (p.id_number, p.birth_date, p.gender)
        assert p.id_number_hash == crypto.blind_index(p.id_number, purpose=crypto.INDEX_ID_NUMBER)
    phones = [p.phone for p in persons if p.phone]
    assert all(parse_mobile(phone) == phone for phone in phones)
    assert len(set(phones)) == len(phones)
    assert len({p.id_number for p in persons}) == len(persons)
    assert all(
        p.phone_hash == crypto.blind_index(p.phone, purpose=crypto.INDEX_PHONE) for p in persons if p.phone
    )


def test_sensitive_values_are_encrypted_at_rest(demo):
    # given the demo residents
    # when the raw column is read
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM people_person")
        raw = [value for row in cursor.fetchall() for value in row if value]
    # then it is ciphertext, not the number
    assert len(raw) > demo.counts["persons"]
    assert all(value.startswith("v1.") for value in raw)


def test_households_tenants_and_rentals_are_coherent(demo):
    # given the demo community
    # then each lived-in residential room has one household whose head lives there
    lived_in = Room.objects.filter(use=RoomUse.RESIDENTIAL).exclude(status=RoomStatus.VACANT).count()
    assert Household.objects.count() == lived_in == demo.counts["households"]
    for household in Household.objects.select_related("head", "room"):
        assert Occupancy.objects.filter(
            household=household, person=household.head, room=household.room
        ).exists()
    # and every tenant of a rented room has a rental registration naming the room's owner as landlord
    tenants = Occupancy.objects.filter(relation=Relation.TENANT)
    assert tenants.count() == RentalRegistration.objects.count() == demo.counts["rental_registrations"]
    for rental in RentalRegistration.objects.select_related("occupancy"):
        room = rental.occupancy.room_id
        assert Occupancy.objects.filter(
            room_id=room, person=rental.landlord, relation=Relation.OWNER
        ).exists()
        assert (rental.status == RentalRegistration.Status.REPORTED) == (rental.reported_at is not None)
    assert Person.objects.filter(population_type=PopulationType.FLOATING).exists()


def test_care_tags_vehicles_parking_facilities_and_shops(demo):
    # given the demo community
    # then elderly living alone are tagged and live alone in a household of one
    alone = CareTag.objects.filter(kind=CareKind.ELDERLY_ALONE).select_related("person")
    assert alone.count() == demo.counts["elderly_alone"] == 2 * estates._n(31, SCALE)
    for tag in alone:
        assert (TODAY - tag.person.birth_date).days >= 68 * 365
        household = Household.objects.get(head=tag.person)
        assert Occupancy.objects.filter(household=household).count() == 1
    assert {CareKind.DISABLED, CareKind.KEY_CARE} <= set(CareTag.objects.values_list("kind", flat=True))
    plates = list(Vehicle.objects.values_list("plate", "kind"))
    assert len(plates) == demo.counts["vehicles"] == estates._n(900, SCALE)
    assert all(PLATE_RE.match(plate) and parse_plate(plate) == plate for plate, _ in plates)
    assert all(len(plate) == (8 if kind == "ev" else 7) for plate, kind in plates)
    assert ParkingSpace.objects.count() == 2 * estates._n(300, SCALE)
    kinds = set(Facility.objects.values_list("kind", flat=True))
    assert {Facility.Kind.GATE, Facility.Kind.PUMP, Facility.Kind.ELEVATOR, Facility.Kind.HYDRANT} <= kinds
    shops = Establishment.objects.select_related("room")
    assert shops.count() == demo.counts["establishments"] > 0
    assert all(s.room.floor == 1 and s.room.use == RoomUse.COMMERCIAL for s in shops)
    assert all(parse_credit_code(s.credit_code) == s.credit_code for s in shops)


def test_an_account_exists_for_every_role(demo):
    # given the demo accounts
    roles = [a.role for a in demo.accounts]
    # then every role has one, estate roles have one per estate, and no name is a default one (R39)
    assert set(roles) == set(Role.values)
    for role in (Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE, Role.TECHNICIAN, Role.GUARD, Role.RESIDENT):
        assert sorted(a.estate_code for a in demo.accounts if a.role == role) == ["KLY", "XFHY"]
    assert not {a.username for a in demo.accounts} & {"admin", "root", "sa", "test"}
    for account in demo.accounts:
        if account.role == Role.RESIDENT:
            continue
        membership = Membership.objects.get(user__username=account.username)
        assert membership.role == account.role
        assert len(account.password) >= 12


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.RESIDENT])
def test_every_staff_account_gets_an_api_token(demo, role):
    # given the staff account of the role
    account = next(a for a in demo.accounts if a.role == role)
    # when it asks for a token with its demo password
    response = Client().post(
        "/api/v1/auth/token",
        {"username": account.username, "password": account.password},
        content_type="application/json",
    )
    # then it gets one
    assert response.status_code == 200
    assert response.json()["token"].startswith("lnl_")


def test_residents_are_linked_to_a_person_by_phone(demo):
    # given the resident accounts
    residents = [a for a in demo.accounts if a.role == Role.RESIDENT]
    # then each is a resident user with the phone and phone index of an adult owner of the estate
    for account in residents:
        user = User.objects.get(username=account.username)
        person = Person.objects.get(user=user)
        assert user.kind == UserKind.RESIDENT
        assert not user.has_usable_password()
        assert user.phone == person.phone == account.phone
        assert user.phone_hash == crypto.blind_index(account.phone, purpose=crypto.INDEX_PHONE)
        assert person.estate.code == account.estate_code
        assert Occupancy.objects.filter(person=person, relation=Relation.OWNER).exists()


def test_accounts_file_lists_every_role_readable_by_owner_only(demo, tmp_path):
    # given the demo accounts
    path = tmp_path / "demo-accounts.json"
    # when they are written
    generator.write_accounts(path, demo.accounts)
    # then the file is 0600 JSON with username, password, role and estate for every role
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert {r["role"] for r in rows} == set(Role.values)
    assert all({"username", "password", "role", "estate"} <= r.keys() for r in rows)
    assert all(r["phone"] for r in rows if r["role"] == Role.RESIDENT)
    assert all(r["password"] is None for r in rows if r["role"] == Role.RESIDENT)


def test_same_seed_gives_the_same_people(db):
    # given two runs with the same seed (the first one rolled back)
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        generator.generate(seed=11, scale=SCALE, today=TODAY)
        first = list(Person.objects.order_by("pk").values_list("name", "birth_date", "gender"))
        raise Rollback
    # when it is generated again
    generator.generate(seed=11, scale=SCALE, today=TODAY)
    second = list(Person.objects.order_by("pk").values_list("name", "birth_date", "gender"))
    # then the people are the same
    assert first == second


def test_accounts_reset_gives_new_working_passwords(demo):
    # given the demo accounts
    old = {a.username: a.password for a in demo.accounts}
    # when the passwords are reset (demo-accounts.json was lost)
    accounts = generator.accounts_reset()
    # then every role is listed again, staff passwords changed and work
    assert {a.role for a in accounts} == set(Role.values)
    for account in accounts:
        if account.role == Role.RESIDENT:
            assert account.password is None
            continue
        assert account.password != old[account.username]
        assert User.objects.get(username=account.username).check_password(account.password)
