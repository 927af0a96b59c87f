"""Reads for people: every selector takes the actor and limits rows to the actor's scope.

Staff see masked rows of the estates in their scope (``people.view``); special-care tags need
``people.special_view`` and every read of them is audited (R61). Residents have no staff
permission: they see their own person and the members of their own households only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from linli.core import audit, crypto
from linli.core.audit import Action
from linli.core.errors import NotFound, ValidationFailed
from linli.core.models import ImportJob
from linli.core.pii import normalize_id_number, normalize_mobile
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.people import imports
from linli.people.models import (
    CareKind,
    CareTag,
    Establishment,
    Household,
    Occupancy,
    Person,
    RentalRegistration,
    Vehicle,
)
from linli.places.models import Room

PERSON_ORDERING = {"name": "name", "created": "created_at", "birth_date": "birth_date", "id": "pk"}
HOUSEHOLD_ORDERING = {"id": "pk", "room": "room__path"}


def _current_occupancies() -> Prefetch:
    return Prefetch(
        "occupancies",
        queryset=Occupancy.objects.filter(end_date__isnull=True)
        .select_related("room")
        .order_by("start_date", "pk"),
        to_attr="current_occupancies",
    )


def _require_staff_view(actor: Actor) -> None:
    actor.require(Perm.PEOPLE_VIEW)


def _get(actor: Actor, qs: QuerySet, pk: int, perm: str):
    return get_in_scope(qs, actor=actor, path_field="estate__path", pk=pk, perm=perm)


# --- persons -----------------------------------------------------------------------------------


def person_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    building_id: int | None = None,
    room_id: int | None = None,
    relation: str | None = None,
    population_type: str | None = None,
    q: str | None = None,
    care_kind: str | None = None,
    ordering: str | None = None,
) -> QuerySet[Person]:
    """Persons in scope. ``q`` matches part of the name, or an exact ID number or mobile (through the
    blind index). Filtering by care kind needs ``people.special_view`` and is audited."""
    _require_staff_view(actor)
    qs = actor.scoped(Person.objects.all(), "estate__path").select_related("estate")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    occ = Occupancy.objects.filter(end_date__isnull=True)
    if building_id is not None:
        qs = qs.filter(pk__in=occ.filter(room__building_id=building_id).values("person_id"))
    if room_id is not None:
        qs = qs.filter(pk__in=occ.filter(room_id=room_id).values("person_id"))
    if relation:
        qs = qs.filter(pk__in=occ.filter(relation=relation).values("person_id"))
    if population_type:
        qs = qs.filter(population_type=population_type)
    q = (q or "").strip()
    if q:
        cond = Q(name__contains=q)
        id_no = normalize_id_number(q)
        if id_no:
            cond |= Q(id_number_hash=crypto.blind_index(id_no, purpose=crypto.INDEX_ID_NUMBER))
        mobile = normalize_mobile(q)
        if mobile:
            cond |= Q(phone_hash=crypto.blind_index(mobile, purpose=crypto.INDEX_PHONE))
        qs = qs.filter(cond)
    if care_kind:
        actor.require(Perm.PEOPLE_SPECIAL_VIEW)
        if care_kind not in CareKind.values:
            raise ValidationFailed(fields={"care_kind": [", ".join(CareKind.values)]})
        qs = qs.filter(
            pk__in=CareTag.objects.filter(kind=care_kind, end_date__isnull=True).values("person_id")
        )
        audit.record(
            Action.SENSITIVE_READ,
            actor=actor,
            object_type="people.caretag",
            detail={"filter": "care_kind", "kind": care_kind},
        )
    qs = qs.prefetch_related(_current_occupancies())
    return apply_ordering(qs, ordering, PERSON_ORDERING, "name")


def person_get(*, actor: Actor, pk: int) -> Person:
    """One person in scope; a resident may open only the members of their own households."""
    qs = Person.objects.select_related("estate", "user").prefetch_related(_current_occupancies())
    if actor.is_resident and not actor.has(Perm.PEOPLE_VIEW):
        if pk not in my_household_ids(actor):
            raise NotFound()
        return qs.get(pk=pk)
    return _get(actor, qs, pk, Perm.PEOPLE_VIEW)


def _own_person(actor: Actor) -> Person | None:
    return Person.objects.select_related("estate").filter(user=actor.user).first()


def my_household_ids(actor: Actor) -> set[int]:
    """Ids of the resident's own person and of every current member of the resident's households."""
    me = _own_person(actor)
    if me is None:
        return set()
    households = Occupancy.objects.filter(person=me, end_date__isnull=True, household__isnull=False).values(
        "household_id"
    )
    members = Occupancy.objects.filter(household_id__in=households, end_date__isnull=True).values_list(
        "person_id", flat=True
    )
    return {me.pk, *members}


@dataclass
class MyHousehold:
    person: Person | None
    households: list[Household]


def my_household(actor: Actor) -> MyHousehold:
    """The signed-in resident's person and current households (with their current members)."""
    me = _own_person(actor)
    if me is None:
        return MyHousehold(person=None, households=[])
    ids = Occupancy.objects.filter(person=me, end_date__isnull=True, household__isnull=False).values(
        "household_id"
    )
    households = list(_household_qs().filter(pk__in=ids))
    return MyHousehold(person=me, households=households)


# --- households and occupancy ------------------------------------------------------------------


def _household_qs() -> QuerySet[Household]:
    members = (
        Occupancy.objects.filter(end_date__isnull=True).select_related("person").order_by("start_date", "pk")
    )
    return Household.objects.select_related("room", "head").prefetch_related(
        Prefetch("occupancies", queryset=members, to_attr="current_members")
    )


def household_list(
    *, actor: Actor, estate_id: int | None = None, room_id: int | None = None, ordering: str | None = None
) -> QuerySet[Household]:
    _require_staff_view(actor)
    qs = actor.scoped(_household_qs(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    return apply_ordering(qs, ordering, HOUSEHOLD_ORDERING, "room")


def household_get(*, actor: Actor, pk: int) -> Household:
    if actor.is_resident and not actor.has(Perm.PEOPLE_VIEW):
        me = _own_person(actor)
        if (
            me is not None
            and Occupancy.objects.filter(person=me, household_id=pk, end_date__isnull=True).exists()
        ):
            return _household_qs().get(pk=pk)
        raise NotFound()
    return _get(actor, _household_qs(), pk, Perm.PEOPLE_VIEW)


def occupancy_list(
    *, actor: Actor, person_id: int | None = None, room_id: int | None = None, current_only: bool = False
) -> QuerySet[Occupancy]:
    _require_staff_view(actor)
    qs = actor.scoped(Occupancy.objects.select_related("room", "person"), "estate__path")
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    if current_only:
        qs = qs.filter(end_date__isnull=True)
    return qs.order_by("-start_date", "-pk")


def occupancy_get(*, actor: Actor, pk: int) -> Occupancy:
    return _get(actor, Occupancy.objects.select_related("room", "person"), pk, Perm.PEOPLE_VIEW)


# --- rental registration -----------------------------------------------------------------------

RENTAL_STATES = ("pending", "overdue", "reported", "ended")


def rental_list(
    *, actor: Actor, status: str | None = None, estate_id: int | None = None, today: date | None = None
) -> QuerySet[RentalRegistration]:
    """Tenants' rental registrations; ``overdue`` = still pending after the report deadline."""
    actor.require(Perm.PEOPLE_RENTAL)
    today = today or timezone.localdate()
    qs = actor.scoped(
        RentalRegistration.objects.select_related("occupancy__person", "occupancy__room"), "estate__path"
    )
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if status == "overdue":
        qs = qs.filter(status=RentalRegistration.Status.PENDING, report_deadline__lt=today)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("report_deadline", "pk")


def rental_get(*, actor: Actor, pk: int) -> RentalRegistration:
    qs = RentalRegistration.objects.select_related("occupancy__person", "occupancy__room")
    return _get(actor, qs, pk, Perm.PEOPLE_RENTAL)


# --- special care (R61) ------------------------------------------------------------------------


def care_tag_list(
    *, actor: Actor, person_id: int | None = None, kind: str | None = None, active_only: bool = True
) -> QuerySet[CareTag]:
    """Care tags in scope. Government roles only; each call writes a sensitive-read audit record
    naming the filters (and the person, when one is asked for)."""
    actor.require(Perm.PEOPLE_SPECIAL_VIEW)
    qs = actor.scoped(CareTag.objects.select_related("person"), "estate__path")
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if kind:
        qs = qs.filter(kind=kind)
    if active_only:
        qs = qs.filter(end_date__isnull=True)
    audit.record(
        Action.SENSITIVE_READ,
        actor=actor,
        object_type="people.caretag",
        subject_person_id=person_id,
        detail={"kind": kind or "", "person_id": person_id, "active_only": active_only},
    )
    return qs.order_by("kind", "person__name", "pk")


def care_tag_get(*, actor: Actor, pk: int) -> CareTag:
    tag = _get(actor, CareTag.objects.select_related("person"), pk, Perm.PEOPLE_SPECIAL_VIEW)
    audit.record(Action.SENSITIVE_READ, actor=actor, obj=tag, subject_person_id=tag.person_id)
    return tag


# --- vehicles and establishments ---------------------------------------------------------------


def vehicle_list(*, actor: Actor, owner_id: int | None = None, plate: str | None = None) -> QuerySet[Vehicle]:
    _require_staff_view(actor)
    qs = actor.scoped(Vehicle.objects.select_related("owner"), "estate__path")
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if plate:
        qs = qs.filter(plate__contains=plate.strip().upper())
    return qs.order_by("plate", "pk")


def establishment_list(
    *, actor: Actor, estate_id: int | None = None, kind: str | None = None, q: str | None = None
) -> QuerySet[Establishment]:
    _require_staff_view(actor)
    qs = actor.scoped(Establishment.objects.select_related("room"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if kind:
        qs = qs.filter(kind=kind)
    if q and q.strip():
        qs = qs.filter(name__contains=q.strip())
    return qs.order_by("name", "pk")


# --- imports -----------------------------------------------------------------------------------


def import_list(*, actor: Actor) -> QuerySet[ImportJob]:
    actor.require(Perm.PEOPLE_IMPORT)
    return (
        actor.scoped(ImportJob.objects.filter(kind=imports.IMPORT_KIND), "estate__path")
        .select_related("estate", "created_by")
        .order_by("-created_at", "-pk")
    )


def import_get(*, actor: Actor, pk: int) -> ImportJob:
    qs = ImportJob.objects.filter(kind=imports.IMPORT_KIND).select_related("estate")
    return _get(actor, qs, pk, Perm.PEOPLE_IMPORT)


def import_template(*, actor: Actor) -> bytes:
    actor.require(Perm.PEOPLE_IMPORT)
    return imports.template_xlsx()


# --- objects named by id in a request ----------------------------------------------------------


def room_get(*, actor: Actor, pk: int):
    from linli.places.models import Room

    return get_in_scope(Room.objects.select_related("estate"), actor=actor, path_field="path", pk=pk)


def person_for_write(*, actor: Actor, pk: int) -> Person:
    """A person in scope, for staff writes (no ``people.view`` check: services check their own perms)."""
    return get_in_scope(
        Person.objects.select_related("estate"), actor=actor, path_field="estate__path", pk=pk
    )


def household_for_write(*, actor: Actor, pk: int) -> Household:
    return get_in_scope(Household.objects.all(), actor=actor, path_field="estate__path", pk=pk)


def occupancy_for_write(*, actor: Actor, pk: int) -> Occupancy:
    return get_in_scope(
        Occupancy.objects.select_related("room"), actor=actor, path_field="estate__path", pk=pk
    )


def rental_for_write(*, actor: Actor, pk: int) -> RentalRegistration:
    return get_in_scope(RentalRegistration.objects.all(), actor=actor, path_field="estate__path", pk=pk)


def care_tag_for_write(*, actor: Actor, pk: int) -> CareTag:
    return get_in_scope(CareTag.objects.all(), actor=actor, path_field="estate__path", pk=pk)


def room_occupants(*, actor: Actor, room: Room) -> list:
    """Current occupancies of a room with their persons, for actors who may see people (``people.view``).

    Callers display names masked (``mask_name``); nothing sensitive is read here.
    """
    actor.require(Perm.PLACES_VIEW)
    if not actor.has(Perm.PEOPLE_VIEW) or not actor.in_scope_path(room.path):
        return []
    today = timezone.localdate()
    return list(
        Occupancy.objects.filter(room=room)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("person")
        .only("id", "relation", "start_date", "end_date", "room_id", "person__id", "person__name")
        .order_by("relation", "start_date", "pk")
    )


# ---------------------------------------------------------------------------------------------------------
# Parking spaces and facilities
