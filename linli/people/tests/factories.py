"""Test data for people: valid-format ID numbers and mobiles, persons placed in rooms."""

from __future__ import annotations

import itertools
import random
from datetime import date

from linli.core import crypto
from linli.people.models import Occupancy, Person, Relation
from linli.people.validators import id_check_digit

_seq = itertools.count(1)


def id_number(*, birth: date = date(1980, 5, 17), area: str = "140105", male: bool = True, seq: int | None = None) -> str:
    """A GB 11643-valid resident ID number (fictitious)."""
    n = seq if seq is not None else next(_seq)
    order = (n * 2 + (1 if male else 0)) % 1000
    first17 = f"{area}{birth:%Y%m%d}{order:03d}"
    return first17 + id_check_digit(first17)


def mobile(seq: int | None = None) -> str:
    n = seq if seq is not None else next(_seq)
    return f"139{(n * 7919) % 100000000:08d}"


def person(*, estate, room=None, relation: str = Relation.OWNER, name: str | None = None, id_no: str | None = None,
           phone: str | None = None, start: date = date(2020, 1, 1), **kwargs) -> Person:
    n = next(_seq)
    id_no = id_no if id_no is not None else id_number(seq=n + random.randint(0, 400))
    phone = phone if phone is not None else mobile(n)
    p = Person.objects.create(
        estate=estate, name=name or f"测试居民{n}", id_number=id_no,
        id_number_hash=crypto.blind_index(id_no, purpose=crypto.INDEX_ID_NUMBER) if id_no else "",
        phone=phone, phone_hash=crypto.blind_index(phone, purpose=crypto.INDEX_PHONE) if phone else "",
        birth_date=date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14])) if id_no else None,
        **kwargs,
    )
    if room is not None:
        Occupancy.objects.create(estate=estate, person=p, room=room, relation=relation, start_date=start)
    return p
