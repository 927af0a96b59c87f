"""Reads for places: the region tree, rooms, parking spaces, facilities and room import jobs.

Every selector takes the actor, checks ``places.view`` (``places.import`` for import jobs) and limits
rows to the actor's scope through ``actor.scoped`` / ``get_in_scope``; an id outside the scope is
simply not found.

``estate_get`` / ``estate_list`` / ``require_estate`` are the kernel's estate entries for every app
(ADR 0010): the scope is checked first (404), then the caller's permission (403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _

from linli.core.errors import NotFound, ValidationFailed
from linli.core.models import ImportJob
from linli.core.permissions import Perm
from linli.core.scoping import Actor, get_in_scope, id_or_404
from linli.places.models import Facility, ParkingSpace, Region, RegionLevel, Room, RoomStatus, RoomUse

ROOMS_IMPORT_KIND = "places.rooms"

# ``ordering`` keys of the room list → columns (a key may sort by several columns).
ROOM_ORDERING: dict[str, tuple[str, ...]] = {
    "location": ("estate_id", "building_id", "unit_id", "floor", "number"),
    "number": ("number",),
    "floor": ("floor", "number"),
    "area": ("area",),
    "status": ("status",),
    "use": ("use",),
    "address": ("standard_address",),
    "created_at": ("created_at",),
    "id": ("pk",),
}
ROOM_DEFAULT_ORDERING = "location"


def _order(qs: QuerySet, ordering: str | None, allowed: dict[str, tuple[str, ...]], default: str) -> QuerySet:
    """Sort by a whitelisted key (``-key`` descending); unknown keys are a 400."""
    key = (ordering or default).strip()
    desc = key.startswith("-")
    name = key.lstrip("-")
    if name not in allowed:
        raise ValidationFailed(fields={"ordering": [_("可选值：") + ", ".join(sorted(allowed))]})
    columns = [*allowed[name], *(() if "pk" in allowed[name] else ("pk",))]
    # Explicit NULL placement: SQLite and PostgreSQL disagree on it by default.
    return qs.order_by(*(F(c).desc(nulls_last=True) if desc else F(c).asc(nulls_first=True) for c in columns))


def _choice(value: str | None, choices, field_name: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in choices.values:
        raise ValidationFailed(fields={field_name: [_("可选值：") + ", ".join(choices.values)]})
    return value


# ---------------------------------------------------------------------------------------------------------
# Regions


@dataclass
class RegionNode:
    """One node of the scoped region tree. ``in_scope`` is False for ancestors shown only for context."""

    id: int
    level: str
    level_label: str
    name: str
    code: str
    in_scope: bool
    room_count: int | None = None
    children: list[RegionNode] = field(default_factory=list)


def _natural(text: str) -> tuple:
    """ "2号楼" before "10号楼"."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part
    )


def _tree_order(r: Region) -> tuple:
    # Buildings and units read best in natural name order; higher levels in the order they were set up.
    by_name = _natural(r.name) if r.level in (RegionLevel.BUILDING, RegionLevel.UNIT) else ()
    return (r.depth, r.sort, by_name, r.pk)


def region_tree(*, actor: Actor, max_level: str = RegionLevel.UNIT) -> list[RegionNode]:
    """The region tree the actor may see: nodes in scope, with their ancestors for context.

    Estates, buildings and units carry their room counts. Three queries whatever the tree size.
    """
    actor.require(Perm.PLACES_VIEW)
    levels = [c.value for c in RegionLevel]
    allowed_levels = levels[: levels.index(max_level) + 1]
    in_scope = list(actor.scoped(Region.objects.filter(level__in=allowed_levels), "path"))
    seen = {r.pk for r in in_scope}
    ancestor_ids = {a for r in in_scope for a in r.ancestor_ids()} - seen
    ancestors = list(Region.objects.filter(pk__in=ancestor_ids)) if ancestor_ids else []

    counts: dict[int, int] = {}
    rows = (
        actor.scoped(Room.objects.all(), "path")
        .values("estate_id", "building_id", "unit_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        for key in ("estate_id", "building_id", "unit_id"):
            if row[key] is not None:
                counts[row[key]] = counts.get(row[key], 0) + row["n"]

    labels = dict(RegionLevel.choices)
    counted = {RegionLevel.ESTATE, RegionLevel.BUILDING, RegionLevel.UNIT}
    nodes: dict[int, RegionNode] = {}
    regions = sorted([*ancestors, *in_scope], key=_tree_order)
    for r in regions:
        nodes[r.pk] = RegionNode(
            id=r.pk,
            level=r.level,
            level_label=str(labels.get(r.level, r.level)),
            name=r.name,
            code=r.code,
            in_scope=r.pk in seen,
            room_count=counts.get(r.pk, 0) if r.level in counted else None,
        )
    roots: list[RegionNode] = []
    for r in regions:
        parent = nodes.get(r.parent_id) if r.parent_id else None
        (parent.children if parent else roots).append(nodes[r.pk])
    return roots


def region_get(*, actor: Actor, pk: int) -> Region:
    """One region node inside the actor's scope (ancestors of the scope are not readable one by one)."""
    actor.require(Perm.PLACES_VIEW)
    return get_in_scope(
        Region.objects.select_related("parent"), actor=actor, path_field="path", pk=id_or_404(pk)
    )


def region_detail(*, actor: Actor, pk: int) -> dict:
    """A region in scope with its direct children and the number of rooms beneath it."""
    region = region_get(actor=actor, pk=pk)
    children = list(region_children(actor=actor, region=region))
    rooms = actor.scoped(Room.objects.filter(path__startswith=region.path), "path").count()
    return {
        "id": region.pk,
        "level": region.level,
        "name": region.name,
        "code": region.code,
        "parent_id": region.parent_id,
        "depth": region.depth,
        "address": region.address,
        "full_name": region.full_name,
        "children": children,
        "room_count": rooms,
        "region": region,
    }


# --- estates: the scope unit every app names in its requests --------------------------------------


def estate_list(*, actor: Actor, perm: str | None = None) -> QuerySet[Region]:
    """Estates in the actor's scope, by path; with ``perm``, the actor must hold it (403 otherwise)."""
    if perm is not None:
        actor.require(perm)
    return actor.scoped(Region.objects.filter(level=RegionLevel.ESTATE), "path").order_by("path")


def estate_get(*, actor: Actor, pk: int, perm: str | None = None) -> Region:
    """The estate ``pk`` named in a request: scope first, then the permission.

    An id that is not an estate in the actor's scope is ``NotFound`` (404) whatever the actor's
    permissions, so ids of other estates reveal nothing; only then, with ``perm``, an actor who lacks
    it gets ``PermissionDenied`` (403). Every app resolves an estate id through this one function.
    """
    return get_in_scope(
        Region.objects.filter(level=RegionLevel.ESTATE),
        actor=actor,
        path_field="path",
        pk=id_or_404(pk),
        perm=perm,
    )


def estate_choice(
    *, actor: Actor, pk: int | None, perm: str | None = None
) -> tuple[list[Region], Region | None]:
    """The estates in scope by name, for a page's picker, and the one chosen by ``pk``: the first
    when ``pk`` is absent or not among them (a page always shows an estate the actor may see)."""
    estates = list(estate_list(actor=actor, perm=perm).order_by("name", "pk"))
    return estates, next((e for e in estates if e.pk == pk), estates[0] if estates else None)


def require_estate(
    *, actor: Actor, estate: Region | None, perm: str | None = None, write: bool = False
) -> Region:
    """Check an estate a service was handed, in ``estate_get``'s order: not an estate in the actor's
    scope (or ``None``) is ``NotFound`` (404); then, with ``perm``, ``actor.require(perm, write=write)``
    (403, also for a read-only token when ``write``)."""
    if estate is None or estate.level != RegionLevel.ESTATE or not actor.in_scope_path(estate.path):
        raise NotFound()
    if perm is not None:
        actor.require(perm, write=write)
    return estate


def region_children(*, actor: Actor, region: Region) -> QuerySet[Region]:
    """Direct children of an in-scope region (all of them are in scope too)."""
    actor.require(Perm.PLACES_VIEW)
    return actor.scoped(Region.objects.filter(parent=region), "path").order_by("sort", "name", "pk")


def building_list(*, actor: Actor, estate: int | None = None) -> QuerySet[Region]:
    """Buildings in scope with ``room_count``, optionally of one estate."""
    actor.require(Perm.PLACES_VIEW)
    qs = actor.scoped(Region.objects.filter(level=RegionLevel.BUILDING), "path")
    if estate is not None:
        qs = qs.filter(parent_id=estate)
    return qs.annotate(room_count=Count("building_rooms")).order_by("path")


# ---------------------------------------------------------------------------------------------------------
# Rooms


def room_list(
    *,
    actor: Actor,
    estate: int | None = None,
    building: int | None = None,
    unit: int | None = None,
    floor: int | None = None,
    status: str | None = None,
    use: str | None = None,
    q: str | None = None,
    ordering: str | None = None,
) -> QuerySet[Room]:
    """Rooms in scope, filtered and sorted by a whitelisted ``ordering`` key (see ``ROOM_ORDERING``)."""
    actor.require(Perm.PLACES_VIEW)
    status = _choice(status, RoomStatus, "status")
    use = _choice(use, RoomUse, "use")
    qs = actor.scoped(Room.objects.select_related("estate", "building", "unit"), "path")
    if estate is not None:
        qs = qs.filter(estate_id=estate)
    if building is not None:
        qs = qs.filter(building_id=building)
    if unit is not None:
        qs = qs.filter(unit_id=unit)
    if floor is not None:
        qs = qs.filter(floor=floor)
    if status:
        qs = qs.filter(status=status)
    if use:
        qs = qs.filter(use=use)
    q = (q or "").replace("\x00", "").strip()
    if q:
        term = q
        qs = qs.filter(Q(number__icontains=term) | Q(standard_address__icontains=term))
    return _order(qs, ordering, ROOM_ORDERING, ROOM_DEFAULT_ORDERING)


def room_get(*, actor: Actor, pk: int) -> Room:
    actor.require(Perm.PLACES_VIEW)
    return get_in_scope(
        Room.objects.select_related("estate", "building", "unit"),
        actor=actor,
        path_field="path",
        pk=id_or_404(pk),
    )


def parking_list(
    *,
    actor: Actor,
    estate: int | None = None,
    room: int | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> QuerySet[ParkingSpace]:
    actor.require(Perm.PLACES_VIEW)
    kind = _choice(kind, ParkingSpace.Kind, "kind")
    qs = actor.scoped(ParkingSpace.objects.select_related("estate", "room"), "estate__path")
    if estate is not None:
        qs = qs.filter(estate_id=estate)
    if room is not None:
        qs = qs.filter(room_id=room)
    if kind:
        qs = qs.filter(kind=kind)
    q = (q or "").replace("\x00", "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(zone__icontains=q))
    return qs.order_by("estate__path", "code", "pk")


FACILITY_STATUSES = ("normal", "fault", "maintenance")


def facility_list(
    *,
    actor: Actor,
    estate: int | None = None,
    building: int | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> QuerySet[Facility]:
    actor.require(Perm.PLACES_VIEW)
    kind = _choice(kind, Facility.Kind, "kind")
    if status not in (None, "") and status not in FACILITY_STATUSES:
        raise ValidationFailed(fields={"status": [_("可选值：") + ", ".join(FACILITY_STATUSES)]})
    qs = actor.scoped(Facility.objects.select_related("estate", "building"), "estate__path")
    if estate is not None:
        qs = qs.filter(estate_id=estate)
    if building is not None:
        qs = qs.filter(building_id=building)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("estate__path", "kind", "name", "pk")


def facility_get(*, actor: Actor, pk: int) -> Facility:
    actor.require(Perm.PLACES_VIEW)
    return get_in_scope(
        Facility.objects.select_related("estate", "building"),
        actor=actor,
        path_field="estate__path",
        pk=id_or_404(pk),
    )


# ---------------------------------------------------------------------------------------------------------
# Room import jobs


def import_job_list(*, actor: Actor, estate: int | None = None) -> QuerySet[ImportJob]:
    """Room import jobs of the estates in scope (newest first); needs ``places.import``."""
    actor.require(Perm.PLACES_IMPORT)
    qs = actor.scoped(
        ImportJob.objects.filter(kind=ROOMS_IMPORT_KIND).select_related("estate", "created_by"),
        "estate__path",
    )
    if estate is not None:
        qs = qs.filter(estate_id=estate)
    return qs.order_by("-created_at", "-pk")


def import_job_get(*, actor: Actor, pk: int) -> ImportJob:
    actor.require(Perm.PLACES_IMPORT)
    return get_in_scope(
        ImportJob.objects.filter(kind=ROOMS_IMPORT_KIND).select_related("estate", "created_by"),
        actor=actor,
        path_field="estate__path",
        pk=id_or_404(pk),
    )


def import_template(*, actor: Actor) -> bytes:
    """The room import template (XLSX) for those who may import."""
    actor.require(Perm.PLACES_IMPORT)
    from linli.places.imports import template_xlsx

    return template_xlsx()
