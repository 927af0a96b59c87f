"""Writes for people (实有人口) and units (实有单位).

Every service checks the actor's permission and scope, validates, writes in one transaction and
appends its audit record there too. Sensitive values are stored encrypted (the field encrypts on
save) next to their blind index; they leave this module only through ``person_reveal``.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit, crypto, events
from linli.core.audit import Action
from linli.core.cleaning import clean_name, clean_text
from linli.core.errors import Conflict, NotFound, ValidationFailed
from linli.core.models import ImportJob
from linli.core.pii import (
    InvalidIdentifier,
    identity_parse,
    is_new_energy_plate,
    parse_contact_phone,
    parse_credit_code,
    parse_mobile,
    parse_plate,
)
from linli.core.scoping import Actor
from linli.core.tabular import safe_file_name
from linli.orgs.roles import Perm
from linli.people import imports
from linli.people.events import PersonMovedOut
from linli.people.models import (
    CareKind,
    CareTag,
    Establishment,
    Household,
    IdType,
    Occupancy,
    Person,
    PopulationType,
    Relation,
    RentalRegistration,
    Vehicle,
)
from linli.places.models import Region, Room
from linli.places.selectors import require_estate

# Tenants must be reported to the police station within this many days of moving in (公安部令第24号;
# local rules vary, so deployments may change it).
RENTAL_REPORT_DAYS = 3
REVEAL_FIELDS = ("id_number", "phone")
REVEAL_REASON_MIN = 4
_UNSET = object()


# --- scope helpers -----------------------------------------------------------------------------


def _id_hash(number: str) -> str:
    return crypto.blind_index(number, purpose=crypto.INDEX_ID_NUMBER) if number else ""


def _phone_hash(number: str) -> str:
    return crypto.blind_index(number, purpose=crypto.INDEX_PHONE) if number else ""


def _duplicate_id(estate_id: int, id_hash: str, *, exclude_pk: int | None = None) -> bool:
    qs = Person.objects.filter(estate_id=estate_id, id_number_hash=id_hash)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return bool(id_hash) and qs.exists()


def _choice(value: str, *, field: str, choices) -> str:
    if value not in choices.values:
        raise ValidationFailed(fields={field: [_("无效的选项")]})
    return value


# --- persons -----------------------------------------------------------------------------------


@transaction.atomic
def person_create(
    *,
    actor: Actor,
    estate: Region,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: str = "",
    phone: str = "",
    population_type: str = PopulationType.REGISTERED,
    hukou_address: str = "",
    occupation: str = "",
    workplace: str = "",
) -> Person:
    """Register a person in an estate. A 居民身份证 number is checked (GB 11643) and gives the birth date
    and gender; one person per ID number per estate (R60)."""
    require_estate(actor=actor, estate=estate, perm=Perm.PEOPLE_MANAGE, write=True)
    name = clean_name(name, field="name", max_length=60, required=True)
    _choice(population_type, field="population_type", choices=PopulationType)
    errors: dict[str, list[str]] = {}
    identity = None
    try:
        identity = identity_parse(id_type=id_type, id_number=id_number)
    except InvalidIdentifier as exc:
        errors["id_type" if id_type not in IdType.values else "id_number"] = [str(exc)]
    if identity is not None and identity.id_type == IdType.RESIDENT_ID and not identity.number:
        errors["id_number"] = [_("此项为必填项")]
    mobile = ""
    if phone:
        try:
            mobile = parse_mobile(phone)
        except InvalidIdentifier as exc:
            errors["phone"] = [str(exc)]
    if errors:
        raise ValidationFailed(fields=errors)
    assert identity is not None
    id_hash = _id_hash(identity.number)
    if _duplicate_id(estate.pk, id_hash):
        raise ValidationFailed(fields={"id_number": [_("该证件号码已在本小区登记")]})
    person = Person(
        estate=estate,
        name=name,
        id_type=identity.id_type,
        id_number=identity.number,
        id_number_hash=id_hash,
        birth_date=identity.birth_date,
        gender=identity.gender or "0",
        phone=mobile,
        phone_hash=_phone_hash(mobile),
        population_type=population_type,
        hukou_address=clean_text(hukou_address, field="hukou_address", max_length=200),
        occupation=clean_text(occupation, field="occupation", max_length=100),
        workplace=clean_text(workplace, field="workplace", max_length=150),
    )
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:  # a concurrent registration of the same ID number
        raise ValidationFailed(fields={"id_number": [_("该证件号码已在本小区登记")]}) from exc
    audit.record(Action.CREATE, actor=actor, obj=person, subject_person_id=person.pk)
    return person


@transaction.atomic
def person_update(
    *,
    actor: Actor,
    person: Person,
    name=_UNSET,
    id_type=_UNSET,
    id_number=_UNSET,
    phone=_UNSET,
    population_type=_UNSET,
    hukou_address=_UNSET,
    occupation=_UNSET,
    workplace=_UNSET,
) -> Person:
    """Change a person's details; only the arguments given are changed. The audit record lists the
    names of the changed fields, never their values."""
    actor.require(Perm.PEOPLE_MANAGE, write=True)
    actor.require_path(person.estate.path)
    changed: list[str] = []
    errors: dict[str, list[str]] = {}
    if name is not _UNSET:
        person.name = clean_name(name, field="name", max_length=60, required=True)
        changed.append("name")
    if population_type is not _UNSET:
        person.population_type = _choice(population_type, field="population_type", choices=PopulationType)
        changed.append("population_type")
    for key, limit in (("hukou_address", 200), ("occupation", 100), ("workplace", 150)):
        value = locals()[key]
        if value is not _UNSET:
            setattr(person, key, clean_text(value, field=key, max_length=limit))
            changed.append(key)
    if id_type is not _UNSET or id_number is not _UNSET:
        new_type = person.id_type if id_type is _UNSET else id_type
        new_number = person.id_number if id_number is _UNSET else id_number
        try:
            identity = identity_parse(id_type=new_type, id_number=new_number)
        except InvalidIdentifier as exc:
            errors["id_type" if new_type not in IdType.values else "id_number"] = [str(exc)]
        else:
            if identity.id_type == IdType.RESIDENT_ID and not identity.number:
                errors["id_number"] = [_("此项为必填项")]
            elif _duplicate_id(person.estate_id, _id_hash(identity.number), exclude_pk=person.pk):
                errors["id_number"] = [_("该证件号码已在本小区登记")]
            else:
                person.id_type, person.id_number = identity.id_type, identity.number
                person.id_number_hash = _id_hash(identity.number)
                if identity.birth_date is not None:
                    person.birth_date, person.gender = identity.birth_date, identity.gender
                changed += ["id_type", "id_number"]
    if phone is not _UNSET:
        try:
            mobile = parse_mobile(phone) if phone else ""
        except InvalidIdentifier as exc:
            errors["phone"] = [str(exc)]
        else:
            person.phone, person.phone_hash = mobile, _phone_hash(mobile)
            changed.append("phone")
    if errors:
        raise ValidationFailed(fields=errors)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        raise ValidationFailed(fields={"id_number": [_("该证件号码已在本小区登记")]}) from exc
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=person,
        subject_person_id=person.pk,
        detail={"fields": sorted(set(changed))},
    )
    return person


@transaction.atomic
def person_reveal(*, actor: Actor, person: Person, field: str, reason: str) -> str:
    """Return one sensitive value in full. Needs ``people.reveal`` and a stated reason; audited (R20)."""
    actor.require(Perm.PEOPLE_REVEAL)
    actor.require_path(person.estate.path)
    if field not in REVEAL_FIELDS:
        raise ValidationFailed(fields={"field": [_("可选值：") + ", ".join(REVEAL_FIELDS)]})
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN:
        raise ValidationFailed(
            fields={"reason": [_("请填写查看原因（至少 %(n)d 个字）") % {"n": REVEAL_REASON_MIN}]}
        )
    audit.record(
        Action.REVEAL,
        actor=actor,
        obj=person,
        subject_person_id=person.pk,
        reason=reason,
        detail={"field": field},
    )
    return getattr(person, field)


# --- households and occupancy ------------------------------------------------------------------


def _room_in_estate(actor: Actor, room: Room) -> None:
    if not actor.in_scope_path(room.path):
        raise NotFound()


@transaction.atomic
def household_create(*, actor: Actor, room: Room, head: Person | None = None) -> Household:
    """Open a household (户) in a room; ``head`` (户主) must live in the same estate."""
    actor.require(Perm.PEOPLE_MANAGE, write=True)
    _room_in_estate(actor, room)
    if head is not None and head.estate_id != room.estate_id:
        raise ValidationFailed(fields={"head_id": [_("户主必须是本小区的住户")]})
    household = Household.objects.create(estate_id=room.estate_id, room=room, head=head)
    audit.record(Action.CREATE, actor=actor, obj=household, subject_person_id=head.pk if head else None)
    return household


def _default_household(room: Room) -> Household | None:
    return Household.objects.filter(room=room).order_by("pk").first()


@transaction.atomic
def occupancy_start(
    *,
    actor: Actor,
    person: Person,
    room: Room,
    relation: str,
    start_date: date,
    household: Household | None = None,
    contract_end: date | None = None,
    landlord: Person | None = None,
) -> Occupancy:
    """Move a person into a room (入住) as owner, family, tenant or lodger, joining the room's household
    (opened if the room has none). A tenancy needs a valid identity document and opens a rental
    registration due within ``RENTAL_REPORT_DAYS`` days (R58)."""
    actor.require(Perm.PEOPLE_MANAGE, write=True)
    actor.require_path(person.estate.path)
    _room_in_estate(actor, room)
    _choice(relation, field="relation", choices=Relation)
    if room.estate_id != person.estate_id:
        raise ValidationFailed(fields={"room_id": [_("房屋与住户不在同一小区")]})
    if start_date > timezone.localdate() + timedelta(days=366):
        raise ValidationFailed(fields={"start_date": [_("入住日期过晚")]})
    if contract_end is not None and contract_end < start_date:
        raise ValidationFailed(fields={"contract_end": [_("租期结束日期不能早于入住日期")]})
    if household is not None and household.room_id != room.pk:
        raise ValidationFailed(fields={"household_id": [_("该户不在此房屋")]})
    if landlord is not None and landlord.estate_id != person.estate_id:
        raise ValidationFailed(fields={"landlord_id": [_("房东必须是本小区的住户")]})
    if relation == Relation.TENANT and not person.id_number:
        raise ValidationFailed(fields={"person_id": [_("租户须登记有效身份证件后方可入住")]})
    if Occupancy.objects.filter(person=person, room=room, end_date__isnull=True).exists():
        raise Conflict(_("该住户已在此房屋居住"))
    if household is None:
        household = _default_household(room) or Household.objects.create(
            estate_id=room.estate_id, room=room, head=person if relation == Relation.OWNER else None
        )
    occupancy = Occupancy.objects.create(
        estate_id=person.estate_id,
        person=person,
        room=room,
        household=household,
        relation=relation,
        start_date=start_date,
    )
    if relation == Relation.TENANT:
        RentalRegistration.objects.create(
            estate_id=person.estate_id,
            occupancy=occupancy,
            landlord=landlord,
            contract_start=start_date,
            contract_end=contract_end,
            report_deadline=start_date + timedelta(days=RENTAL_REPORT_DAYS),
        )
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=occupancy,
        subject_person_id=person.pk,
        detail={"relation": relation, "room_id": room.pk},
    )
    return occupancy


@transaction.atomic
def occupancy_end(*, actor: Actor, occupancy: Occupancy, end_date: date) -> Occupancy:
    """Move a person out (迁出): close the occupancy and deregister an open rental registration."""
    actor.require(Perm.PEOPLE_MANAGE, write=True)
    occupancy = Occupancy.objects.select_for_update().select_related("room").get(pk=occupancy.pk)
    _room_in_estate(actor, occupancy.room)
    if occupancy.end_date is not None:
        raise Conflict(_("该住户已迁出"))
    if end_date < occupancy.start_date:
        raise ValidationFailed(fields={"end_date": [_("迁出日期不能早于入住日期")]})
    occupancy.end_date = end_date
    occupancy.save(update_fields=["end_date", "updated_at"])
    RentalRegistration.objects.filter(occupancy=occupancy).exclude(
        status=RentalRegistration.Status.ENDED
    ).update(status=RentalRegistration.Status.ENDED, contract_end=end_date, updated_at=timezone.now())
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=occupancy,
        subject_person_id=occupancy.person_id,
        detail={"event": "move_out"},
    )
    if (
        end_date <= timezone.localdate()
        and not Occupancy.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gt=timezone.localdate()),
            person_id=occupancy.person_id,
            estate_id=occupancy.estate_id,
        ).exists()
    ):
        events.publish(
            PersonMovedOut(
                person_id=occupancy.person_id, estate_id=occupancy.estate_id, actor_user_id=actor.user.pk
            )
        )
    return occupancy


@transaction.atomic
def rental_report(
    *, actor: Actor, rental: RentalRegistration, guarantee_signed: bool | None = None
) -> RentalRegistration:
    """Mark a tenant's rental registration as reported to the police station (已申报)."""
    actor.require(Perm.PEOPLE_RENTAL, write=True)
    rental = (
        RentalRegistration.objects.select_for_update().select_related("estate", "occupancy").get(pk=rental.pk)
    )
    if not actor.in_scope_path(rental.estate.path):
        raise NotFound()
    if rental.status != RentalRegistration.Status.PENDING:
        raise Conflict(_("该登记不是待申报状态"))
    rental.status = RentalRegistration.Status.REPORTED
    rental.reported_at = timezone.now()
    if guarantee_signed is not None:
        rental.guarantee_signed = guarantee_signed
    rental.save(update_fields=["status", "reported_at", "guarantee_signed", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=rental,
        subject_person_id=rental.occupancy.person_id,
        detail={"event": "reported"},
    )
    return rental


# --- special care (government roles only, R61) -------------------------------------------------


@transaction.atomic
def care_tag_add(*, actor: Actor, person: Person, kind: str, start_date: date, note: str = "") -> CareTag:
    """Tag a person for special care (独居老人, 残疾人, ...). Government roles only; audited."""
    actor.require(Perm.PEOPLE_SPECIAL_VIEW, write=True)
    actor.require_path(person.estate.path)
    _choice(kind, field="kind", choices=CareKind)
    note = clean_text(note, field="note", max_length=1000)
    if CareTag.objects.filter(person=person, kind=kind, end_date__isnull=True).exists():
        raise Conflict(_("该住户已有此关爱标签"))
    tag = CareTag.objects.create(
        estate_id=person.estate_id, person=person, kind=kind, note=note, start_date=start_date
    )
    audit.record(Action.CREATE, actor=actor, obj=tag, subject_person_id=person.pk, detail={"kind": kind})
    return tag


@transaction.atomic
def care_tag_end(*, actor: Actor, tag: CareTag, end_date: date) -> CareTag:
    actor.require(Perm.PEOPLE_SPECIAL_VIEW, write=True)
    tag = CareTag.objects.select_for_update().select_related("estate").get(pk=tag.pk)
    if not actor.in_scope_path(tag.estate.path):
        raise NotFound()
    if tag.end_date is not None:
        raise Conflict(_("该标签已结束"))
    if end_date < tag.start_date:
        raise ValidationFailed(fields={"end_date": [_("结束日期不能早于开始日期")]})
    tag.end_date = end_date
    tag.save(update_fields=["end_date", "updated_at"])
    audit.record(
        Action.UPDATE, actor=actor, obj=tag, subject_person_id=tag.person_id, detail={"event": "ended"}
    )
    return tag


# --- vehicles and establishments ---------------------------------------------------------------

VEHICLE_KINDS = ("car", "ev", "motorcycle")


@transaction.atomic
def vehicle_add(
    *, actor: Actor, owner: Person, plate: str, kind: str = "", color: str = "", brand: str = ""
) -> Vehicle:
    """Register a resident's vehicle; the plate is checked (GA 36, incl. 8-character new-energy plates)."""
    actor.require(Perm.PEOPLE_MANAGE, write=True)
    actor.require_path(owner.estate.path)
    try:
        plate = parse_plate(plate)
    except InvalidIdentifier as exc:
        raise ValidationFailed(fields={"plate": [str(exc)]}) from exc
    kind = kind or ("ev" if is_new_energy_plate(plate) else "car")
    if kind not in VEHICLE_KINDS:
        raise ValidationFailed(fields={"kind": [_("无效的选项")]})
    if Vehicle.objects.filter(estate_id=owner.estate_id, plate=plate).exists():
        raise ValidationFailed(fields={"plate": [_("该车牌已在本小区登记")]})
    vehicle = Vehicle.objects.create(
        estate_id=owner.estate_id,
        owner=owner,
        plate=plate,
        kind=kind,
        color=clean_text(color, field="color", max_length=16),
        brand=clean_text(brand, field="brand", max_length=40),
    )
    audit.record(Action.CREATE, actor=actor, obj=vehicle, subject_person_id=owner.pk)
    return vehicle


@transaction.atomic
def establishment_create(
    *,
    actor: Actor,
    estate: Region,
    kind: str,
    name: str,
    room: Room | None = None,
    credit_code: str = "",
    industry: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    employees: int = 0,
) -> Establishment:
    """Register a shop or organisation located in the estate (实有单位)."""
    require_estate(actor=actor, estate=estate, perm=Perm.PEOPLE_MANAGE, write=True)
    _choice(kind, field="kind", choices=Establishment.Kind)
    name = clean_name(name, field="name", max_length=150, required=True)
    errors: dict[str, list[str]] = {}
    if room is not None and room.estate_id != estate.pk:
        errors["room_id"] = [_("房屋不在该小区")]
    if credit_code:
        try:
            credit_code = parse_credit_code(credit_code)
        except InvalidIdentifier as exc:
            errors["credit_code"] = [str(exc)]
    if contact_phone:
        try:
            contact_phone = parse_contact_phone(contact_phone)
        except InvalidIdentifier as exc:
            errors["contact_phone"] = [str(exc)]
    if not 0 <= employees <= 1_000_000:
        errors["employees"] = [_("人数无效")]
    if errors:
        raise ValidationFailed(fields=errors)
    est = Establishment.objects.create(
        estate=estate,
        room=room,
        kind=kind,
        name=name,
        credit_code=credit_code,
        industry=clean_text(industry, field="industry", max_length=60),
        contact_name=clean_name(contact_name, field="contact_name", max_length=60),
        contact_phone=contact_phone,
        employees=employees,
    )
    audit.record(Action.CREATE, actor=actor, obj=est)
    return est


# --- resident import ---------------------------------------------------------------------------

_BATCH = 500


def _residents_apply(*, estate: Region, rows: list[imports.ResidentRow]) -> dict[str, int]:
    """Bulk-create what a validated file describes. Values are encrypted in Python as rows are built."""
    persons = [
        Person(
            estate=estate,
            name=r.name,
            id_type=r.id_type,
            id_number=r.id_number,
            id_number_hash=r.id_hash,
            birth_date=r.birth_date,
            gender=r.gender,
            phone=r.phone,
            phone_hash=r.phone_hash,
            population_type=r.population_type,
        )
        for r in rows
    ]
    Person.objects.bulk_create(persons, batch_size=_BATCH)
    room_ids = {r.room_id for r in rows}
    households: dict[int, int] = {}
    for pk, room_id in (
        Household.objects.filter(room_id__in=room_ids).order_by("-pk").values_list("pk", "room_id")
    ):
        households[room_id] = pk  # the oldest household of a room wins (ordered newest first)
    new_households: dict[int, Household] = {}
    for r, p in zip(rows, persons, strict=True):
        if r.room_id in households:
            continue
        h = new_households.get(r.room_id)
        if h is None:
            new_households[r.room_id] = Household(
                estate=estate, room_id=r.room_id, head=p if r.relation == Relation.OWNER else None
            )
        elif h.head is None and r.relation == Relation.OWNER:
            h.head = p
    Household.objects.bulk_create(new_households.values(), batch_size=_BATCH)
    households.update({room_id: h.pk for room_id, h in new_households.items()})
    occupancies = [
        Occupancy(
            estate=estate,
            person=p,
            room_id=r.room_id,
            household_id=households[r.room_id],
            relation=r.relation,
            start_date=r.start_date,
        )
        for r, p in zip(rows, persons, strict=True)
    ]
    Occupancy.objects.bulk_create(occupancies, batch_size=_BATCH)
    rentals = [
        RentalRegistration(
            estate=estate,
            occupancy=o,
            contract_start=o.start_date,
            report_deadline=o.start_date + timedelta(days=RENTAL_REPORT_DAYS),
        )
        for o in occupancies
        if o.relation == Relation.TENANT
    ]
    RentalRegistration.objects.bulk_create(rentals, batch_size=_BATCH)
    today = timezone.localdate()
    tags = [
        CareTag(estate=estate, person=p, kind=kind, start_date=today)
        for r, p in zip(rows, persons, strict=True)
        for kind in r.tags
    ]
    CareTag.objects.bulk_create(tags, batch_size=_BATCH)
    return {
        "persons": len(persons),
        "households": len(new_households),
        "occupancies": len(occupancies),
        "rentals": len(rentals),
        "care_tags": len(tags),
    }


def residents_import(*, actor: Actor, estate: Region, file_name: str, data: bytes) -> ImportJob:
    """Import residents from an XLSX or CSV file, all or nothing.

    The whole file is validated first; any error leaves the register untouched and stores a rejected
    ``ImportJob`` whose report lists every bad row (row, column, reason — never the ID number).
    Otherwise persons, households (one per room that has none), occupancies, rental registrations
    and care tags are bulk-created in one transaction, audited as one import event.
    """
    require_estate(actor=actor, estate=estate, perm=Perm.PEOPLE_IMPORT, write=True)
    started = time.monotonic()
    file_name = safe_file_name(file_name)
    result = imports.validate_residents(
        estate=estate,
        file_name=file_name,
        data=data,
        max_bytes=settings.IMPORT_MAX_BYTES,
        max_rows=settings.IMPORT_MAX_ROWS,
    )
    if result.errors:
        with transaction.atomic():
            job = ImportJob.objects.create(
                kind=imports.IMPORT_KIND,
                estate=estate,
                file_name=file_name,
                status=ImportJob.Status.REJECTED,
                total_rows=result.total_rows,
                errors=result.errors,
                created_by=actor.user,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            audit.record(
                Action.IMPORT,
                actor=actor,
                obj=job,
                result="failure",
                estate_id=estate.pk,
                detail={"rows": result.total_rows, "errors": len(result.errors)},
            )
        return job
    with transaction.atomic():
        try:
            with transaction.atomic():
                counts = _residents_apply(estate=estate, rows=result.rows)
        except IntegrityError as exc:  # someone registered one of these ID numbers meanwhile
            raise Conflict(_("导入期间数据已变化，请重新上传")) from exc
        job = ImportJob.objects.create(
            kind=imports.IMPORT_KIND,
            estate=estate,
            file_name=file_name,
            status=ImportJob.Status.APPLIED,
            total_rows=result.total_rows,
            created_count=counts["persons"],
            errors=[],
            created_by=actor.user,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        audit.record(Action.IMPORT, actor=actor, obj=job, estate_id=estate.pk, detail=counts)
    return job
