"""What the resident H5 home shows: strictly the signed-in resident's own person, own rooms, own
households (other members by masked name only) and own vehicles. Nothing here takes an id from
the request; everything hangs off ``actor.user``."""

from __future__ import annotations

from dataclasses import dataclass, field

from linli.core.errors import PermissionDenied
from linli.core.pii import mask_id, mask_name, mask_phone
from linli.core.scoping import Actor
from linli.people.models import Occupancy, Person, Vehicle
from linli.people.selectors import my_household


@dataclass
class MemberRow:
    name: str  # masked unless it is the resident
    relation: str
    is_me: bool


@dataclass
class HouseholdRow:
    address: str
    members: list[MemberRow]


@dataclass
class ResidentHome:
    person: Person | None
    name: str = ""
    phone_masked: str = ""
    id_masked: str = ""
    estate_name: str = ""
    rooms: list[dict] = field(default_factory=list)
    households: list[HouseholdRow] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)


def resident_home(*, actor: Actor) -> ResidentHome:
    if not actor.is_resident:
        raise PermissionDenied()
    mine = my_household(actor)
    me = mine.person
    if me is None:
        return ResidentHome(person=None)
    occupancies = (
        Occupancy.objects.filter(person=me, end_date__isnull=True)
        .select_related("room")
        .order_by("room__path", "room__floor", "room__number")
    )
    rooms = [
        {"address": o.room.standard_address, "relation": o.get_relation_display(), "since": o.start_date}
        for o in occupancies
    ]
    households = []
    for hh in mine.households:
        members = [
            MemberRow(
                name=m.person.name if m.person_id == me.pk else mask_name(m.person.name),
                relation=m.get_relation_display(),
                is_me=m.person_id == me.pk,
            )
            for m in hh.current_members
        ]
        households.append(HouseholdRow(address=hh.room.standard_address, members=members))
    vehicles = list(Vehicle.objects.filter(owner=me).order_by("plate"))
    return ResidentHome(
        person=me,
        name=me.name,
        phone_masked=mask_phone(me.phone),
        id_masked=mask_id(me.id_number),
        estate_name=me.estate.name,
        rooms=rooms,
        households=households,
        vehicles=vehicles,
    )
