"""Test data for people: valid-format ID numbers and mobiles, persons placed in rooms."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from linli.core import crypto
from linli.core.pii import id_check_digit
from linli.people.models import CareTag, Household, Occupancy, Person, Relation, Vehicle

_seq = itertools.count(1)


def id_number(
    *, birth: date | None = None, area: str = "140105", male: bool = True, seq: int | None = None
) -> str:
    """A GB 11643-valid resident ID number (fictitious), unique for each ``seq`` below 1,000,000."""
    n = seq if seq is not None else next(_seq)
    if birth is None:
        birth = date(1950, 1, 1) + timedelta(days=(n // 500) % 18000)
    order = ((n % 500) * 2 + (1 if male else 0)) % 1000
    first17 = f"{area}{birth:%Y%m%d}{order:03d}"
    return first17 + id_check_digit(first17)


def mobile(seq: int | None = None) -> str:
    n = seq if seq is not None else next(_seq)
    return f"139{n % 100000000:08d}"


def person(
    *,
    estate,
    room=None,
    relation: str = Relation.OWNER,
    name: str | None = None,
    id_no: str | None = None,
    phone: str | None = None,
    start: date = date(2020, 1, 1),
    household: Household | None = None,
    **kwargs,
) -> Person:
    n = next(_seq)
    id_no = id_no if id_no is not None else id_number(seq=n)
    phone = phone if phone is not None else mobile(n)
    p = Person.objects.create(
        estate=estate,
        name=name or f"测试居民{n}",
        id_number=id_no,
        id_number_hash=crypto.blind_index(id_no, purpose=crypto.INDEX_ID_NUMBER) if id_no else "",
        phone=phone,
        phone_hash=crypto.blind_index(phone, purpose=crypto.INDEX_PHONE) if phone else "",
        birth_date=date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14])) if len(id_no) == 18 else None,
        **kwargs,
    )
    if room is not None:
        Occupancy.objects.create(
            estate=estate, person=p, room=room, relation=relation, start_date=start, household=household
        )
    return p


def household(*, room, head: Person | None = None) -> Household:
    """A household in ``room``; every person with an open occupancy of the room joins it."""
    h = Household.objects.create(estate_id=room.estate_id, room=room, head=head)
    Occupancy.objects.filter(room=room, end_date__isnull=True, household__isnull=True).update(household=h)
    return h


def care_tag(*, person: Person, kind: str, start: date = date(2024, 1, 1), note: str = "") -> CareTag:
    return CareTag.objects.create(
        estate_id=person.estate_id, person=person, kind=kind, start_date=start, note=note
    )


def vehicle(*, owner: Person, plate: str | None = None, kind: str = "car") -> Vehicle:
    n = next(_seq)
    return Vehicle.objects.create(
        estate_id=owner.estate_id, owner=owner, plate=plate or f"晋A{n % 100000:05d}", kind=kind
    )
