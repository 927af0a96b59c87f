from datetime import date, timedelta

import pytest
from django.db import connection

from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.people import services
from linli.people.models import CareKind, Household, Occupancy, Person, RentalRegistration
from linli.people.tests import factories as people_f


@pytest.fixture
def admin(world, actor_of):
    return actor_of(world.a.staff[Role.PROPERTY_ADMIN])


@pytest.mark.django_db
def test_person_create_derives_birth_and_gender_and_stores_encrypted(world, admin):
    # given
    number = people_f.id_number(birth=date(1990, 2, 3), male=False, seq=7)

    # when
    person = services.person_create(
        actor=admin, estate=world.a.estate, name="王芳", id_number=number, phone="+86 139 0000 1111"
    )

    # then
    person.refresh_from_db()
    assert (person.birth_date, person.gender, person.id_number, person.phone) == (
        date(1990, 2, 3),
        "2",
        number,
        "13900001111",
    )
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone FROM people_person WHERE id = %s", [person.pk])
        raw_id, raw_phone = cur.fetchone()
    assert number not in raw_id and raw_id.startswith("v1.")
    assert "13900001111" not in raw_phone
    event = AuditEvent.objects.filter(action=Action.CREATE, object_type="people.person").latest("id")
    assert (event.subject_person_id, event.object_id) == (person.pk, str(person.pk))


@pytest.mark.django_db
def test_person_create_rejects_duplicate_id_in_same_estate_only(world, admin, actor_of):
    # given
    number = world.a.persons[1].id_number
    before = Person.objects.count()

    # when / then
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(actor=admin, estate=world.a.estate, name="重复", id_number=number)
    assert list(exc.value.fields) == ["id_number"]
    assert Person.objects.count() == before
    other = services.person_create(
        actor=actor_of(world.b.staff[Role.PROPERTY_ADMIN]),
        estate=world.b.estate,
        name="乙小区同号",
        id_number=number,
    )
    assert other.estate_id == world.b.estate.pk


@pytest.mark.django_db
def test_person_create_reports_bad_id_and_bad_mobile_together(world, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(
            actor=admin, estate=world.a.estate, name="张三", id_number="110105198001011230", phone="12345"
        )

    assert sorted(exc.value.fields) == ["id_number", "phone"]


@pytest.mark.django_db
def test_person_create_denied_for_guard_and_out_of_scope(world, actor_of, admin):
    before = Person.objects.count()

    with pytest.raises(PermissionDenied):
        services.person_create(
            actor=actor_of(world.a.staff[Role.GUARD]),
            estate=world.a.estate,
            name="张三",
            id_number=people_f.id_number(seq=9001),
        )
    with pytest.raises(NotFound):
        services.person_create(
            actor=admin, estate=world.b.estate, name="张三", id_number=people_f.id_number(seq=9002)
        )
    assert Person.objects.count() == before


@pytest.mark.django_db
def test_person_update_records_changed_field_names_not_values(world, admin):
    # given
    person = world.a.persons[1]

    # when
    services.person_update(actor=admin, person=person, phone="13700000000", occupation="教师")

    # then
    person.refresh_from_db()
    assert (person.phone, person.occupation) == ("13700000000", "教师")
    event = AuditEvent.objects.filter(action=Action.UPDATE).latest("id")
    assert event.detail == {"fields": ["occupation", "phone"]}
    assert "13700000000" not in str(event.detail) + event.reason


@pytest.mark.django_db
def test_person_update_refuses_an_id_number_taken_in_the_estate(world, admin):
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(actor=admin, person=world.a.persons[1], id_number=world.a.persons[2].id_number)

    assert list(exc.value.fields) == ["id_number"]


@pytest.mark.django_db
def test_tenant_occupancy_opens_rental_registration_due_in_three_days(world, admin):
    # given
    tenant = services.person_create(
        actor=admin, estate=world.a.estate, name="李租户", id_number=people_f.id_number(seq=9100)
    )

    # when
    occ = services.occupancy_start(
        actor=admin, person=tenant, room=world.a.rooms[2], relation="tenant", start_date=date(2025, 3, 1)
    )

    # then
    rental = RentalRegistration.objects.get(occupancy=occ)
    assert (rental.status, rental.report_deadline, rental.contract_start) == (
        "pending",
        date(2025, 3, 1) + timedelta(days=services.RENTAL_REPORT_DAYS),
        date(2025, 3, 1),
    )
    assert occ.household.room_id == world.a.rooms[2].pk
    assert services.RENTAL_REPORT_DAYS == 3


@pytest.mark.django_db
def test_tenant_without_id_document_is_refused(world, admin):
    person = services.person_create(
        actor=admin, estate=world.a.estate, name="无证件", id_type="414", id_number=""
    )

    with pytest.raises(ValidationFailed) as exc:
        services.occupancy_start(
            actor=admin, person=person, room=world.a.rooms[0], relation="tenant", start_date=date(2025, 1, 1)
        )

    assert list(exc.value.fields) == ["person_id"]
    assert not Occupancy.objects.filter(person=person).exists()


@pytest.mark.django_db
def test_occupancy_joins_existing_household_and_second_start_conflicts(world, admin):
    # given
    household = services.household_create(actor=admin, room=world.a.rooms[1], head=world.a.persons[1])
    person = services.person_create(
        actor=admin, estate=world.a.estate, name="家属", id_number=people_f.id_number(seq=9200)
    )

    # when
    occ = services.occupancy_start(
        actor=admin, person=person, room=world.a.rooms[1], relation="family", start_date=date(2024, 5, 1)
    )

    # then
    assert occ.household_id == household.pk
    with pytest.raises(Conflict):
        services.occupancy_start(
            actor=admin, person=person, room=world.a.rooms[1], relation="family", start_date=date(2024, 6, 1)
        )


@pytest.mark.django_db
def test_move_out_closes_occupancy_and_deregisters_rental(world, admin):
    # given
    tenant = services.person_create(
        actor=admin, estate=world.a.estate, name="租户", id_number=people_f.id_number(seq=9300)
    )
    occ = services.occupancy_start(
        actor=admin, person=tenant, room=world.a.rooms[0], relation="tenant", start_date=date(2025, 1, 1)
    )

    # when
    services.occupancy_end(actor=admin, occupancy=occ, end_date=date(2025, 6, 30))

    # then
    occ.refresh_from_db()
    assert occ.end_date == date(2025, 6, 30)
    assert RentalRegistration.objects.get(occupancy=occ).status == "ended"
    with pytest.raises(Conflict):
        services.occupancy_end(actor=admin, occupancy=occ, end_date=date(2025, 7, 1))


@pytest.mark.django_db
def test_move_out_before_move_in_is_refused(world, admin):
    occ = world.a.persons[1].occupancies.get()

    with pytest.raises(ValidationFailed):
        services.occupancy_end(actor=admin, occupancy=occ, end_date=occ.start_date - timedelta(days=1))


@pytest.mark.django_db
def test_rental_report_marks_reported_once(world, admin, actor_of):
    # given
    tenant = services.person_create(
        actor=admin, estate=world.a.estate, name="租户", id_number=people_f.id_number(seq=9400)
    )
    occ = services.occupancy_start(
        actor=admin, person=tenant, room=world.a.rooms[0], relation="tenant", start_date=date(2025, 1, 1)
    )
    police = actor_of(world.a.staff[Role.POLICE_OFFICER])

    # when
    rental = services.rental_report(actor=police, rental=occ.rental, guarantee_signed=True)

    # then
    assert (rental.status, rental.guarantee_signed, rental.reported_at is not None) == (
        "reported",
        True,
        True,
    )
    assert AuditEvent.objects.filter(action=Action.UPDATE, subject_person_id=tenant.pk).count() == 1
    with pytest.raises(Conflict):
        services.rental_report(actor=police, rental=rental)
    with pytest.raises(PermissionDenied):
        services.rental_report(actor=actor_of(world.a.staff[Role.GUARD]), rental=rental)


@pytest.mark.django_db
def test_care_tags_are_for_government_roles_only(world, actor_of, admin):
    worker = actor_of(world.a.staff[Role.COMMUNITY_WORKER])
    person = world.a.persons[2]

    with pytest.raises(PermissionDenied):
        services.care_tag_add(
            actor=admin, person=person, kind=CareKind.ELDERLY_ALONE, start_date=date(2025, 1, 1)
        )
    tag = services.care_tag_add(
        actor=worker, person=person, kind=CareKind.ELDERLY_ALONE, start_date=date(2025, 1, 1), note="行动不便"
    )
    with pytest.raises(Conflict):
        services.care_tag_add(
            actor=worker, person=person, kind=CareKind.ELDERLY_ALONE, start_date=date(2025, 2, 1)
        )
    ended = services.care_tag_end(actor=worker, tag=tag, end_date=date(2025, 12, 31))

    assert ended.end_date == date(2025, 12, 31)
    assert AuditEvent.objects.filter(subject_person_id=person.pk, object_type="people.caretag").count() == 2


@pytest.mark.django_db
def test_vehicle_add_validates_and_normalises_plate(world, admin):
    owner = world.a.persons[0]

    ev = services.vehicle_add(actor=admin, owner=owner, plate="晋ad 12345")
    with pytest.raises(ValidationFailed) as bad:
        services.vehicle_add(actor=admin, owner=owner, plate="晋I12345")
    with pytest.raises(ValidationFailed) as dup:
        services.vehicle_add(actor=admin, owner=owner, plate="晋AD12345")

    assert (ev.plate, ev.kind) == ("晋AD12345", "ev")
    assert list(bad.value.fields) == ["plate"] and list(dup.value.fields) == ["plate"]
    assert AuditEvent.objects.filter(object_type="people.vehicle", subject_person_id=owner.pk).count() == 1


@pytest.mark.django_db
def test_establishment_create_checks_credit_code_and_phone(world, admin):
    from linli.core.pii import credit_check_char

    code = "91140100MA0K12345" + credit_check_char("91140100MA0K12345")

    est = services.establishment_create(
        actor=admin,
        estate=world.a.estate,
        kind="shop",
        name="便民超市",
        credit_code=code,
        contact_phone="0351-7654321",
        room=world.a.rooms[0],
    )
    with pytest.raises(ValidationFailed) as exc:
        services.establishment_create(
            actor=admin,
            estate=world.a.estate,
            kind="shop",
            name="坏数据",
            credit_code="123",
            contact_phone="555",
            room=world.b.rooms[0],
        )

    assert (est.credit_code, est.contact_phone) == (code, "0351-7654321")
    assert sorted(exc.value.fields) == ["contact_phone", "credit_code", "room_id"]


@pytest.mark.django_db
def test_reveal_needs_permission_and_reason_and_is_audited(world, actor_of, admin):
    person = world.a.persons[1]

    with pytest.raises(PermissionDenied):
        services.person_reveal(
            actor=actor_of(world.a.staff[Role.GUARD]), person=person, field="id_number", reason="核实身份信息"
        )
    with pytest.raises(ValidationFailed) as short:
        services.person_reveal(actor=admin, person=person, field="id_number", reason=" 核实 ")
    value = services.person_reveal(actor=admin, person=person, field="phone", reason="联系业主维修事宜")

    assert list(short.value.fields) == ["reason"]
    assert value == person.phone
    events = list(AuditEvent.objects.filter(action=Action.REVEAL))
    assert [(e.subject_person_id, e.reason, e.detail) for e in events] == [
        (person.pk, "联系业主维修事宜", {"field": "phone"})
    ]


@pytest.mark.django_db
def test_household_create_in_other_estate_is_not_found(world, admin):
    before = Household.objects.count()

    with pytest.raises(NotFound):
        services.household_create(actor=admin, room=world.b.rooms[0])

    assert Household.objects.count() == before


@pytest.mark.django_db
def test_person_name_is_stored_without_bidi_override_and_zero_width_characters(world, admin):
    # when: a name that would display as "王五" followed by reversed text
    number = people_f.id_number(birth=date(1988, 5, 6), male=True, seq=31)
    person = services.person_create(
        actor=admin, estate=world.a.estate, name="王\u202e五\u200b", id_number=number
    )
    # then
    person.refresh_from_db()
    assert person.name == "王五"
