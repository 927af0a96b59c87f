"""Reads of the parking app. Staff need ``parking.view`` and see their estates only (an id elsewhere is
a 404); residents see their own vehicles, permits and sessions (``my_parking``).

Plate events and sessions are movement traces (R17/R64): every read of rows tied to a resident's
vehicle writes one ``SENSITIVE_READ`` audit record per vehicle owner (``audit_passage_read``), after
the page has been cut, so the log names exactly what was shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import NotFound, ValidationFailed
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.parking.models import (
    BlockedPlate,
    Category,
    Decision,
    ParkingFeeRule,
    ParkingSession,
    Permit,
    PermitStatus,
    PlateDirection,
    PlateEvent,
    SessionStatus,
)
from linli.places.models import ParkingSpace
from linli.places.selectors import estate_get


def _get(actor: Actor, qs: QuerySet, pk: int, perm: str = Perm.PARKING_VIEW):
    return get_in_scope(qs, actor=actor, path_field="estate__path", pk=pk, perm=perm)


def _choice(value: str | None, choices, name: str) -> str | None:
    if value and value not in choices:
        raise ValidationFailed(fields={name: [", ".join(choices)]})
    return value or None


def vehicle_get(*, actor: Actor, pk: int):
    """A resident vehicle in scope (the subject of a permit)."""
    from linli.people.models import Vehicle

    return _get(actor, Vehicle.objects.select_related("owner", "estate"), pk)


def space_get(*, actor: Actor, pk: int) -> ParkingSpace:
    return _get(actor, ParkingSpace.objects.select_related("estate"), pk)


def access_point_get(*, actor: Actor, pk: int):
    """A barrier in scope (booth operations)."""
    from linli.access.models import AccessPoint

    return get_in_scope(
        AccessPoint.objects.select_related("estate", "device"),
        actor=actor,
        path_field="path",
        pk=pk,
        perm=Perm.PARKING_VIEW,
    )


def barrier_points(*, actor: Actor, estate_id: int | None = None) -> list:
    """Access points that read plates (garage barriers, vehicle gates) of the actor's estates."""
    from linli.access.models import AccessPoint, AccessPointKind

    actor.require(Perm.PARKING_VIEW)
    qs = actor.scoped(AccessPoint.objects.select_related("estate"), "path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    # allowed_methods is a JSON list: filtered here (no JSON containment on SQLite); an estate has few.
    return [
        p
        for p in qs.order_by("estate__name", "name", "pk")
        if p.kind == AccessPointKind.GARAGE_BARRIER or "plate" in (p.allowed_methods or [])
    ]


# --- fee rules ---------------------------------------------------------------------------------


def fee_rule_list(*, actor: Actor, estate_id: int | None = None) -> QuerySet[ParkingFeeRule]:
    actor.require(Perm.PARKING_VIEW)
    qs = actor.scoped(ParkingFeeRule.objects.select_related("estate"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    return qs.order_by("estate__name", "-active", "-created_at", "-pk")


def fee_rule_get(*, actor: Actor, pk: int) -> ParkingFeeRule:
    return _get(actor, ParkingFeeRule.objects.select_related("estate"), pk)


def fee_rule_active(*, actor: Actor, estate_id: int) -> ParkingFeeRule | None:
    estate = estate_get(actor=actor, pk=estate_id)
    actor.require(Perm.PARKING_VIEW)
    return ParkingFeeRule.objects.filter(estate=estate, active=True).first()


# --- permits -----------------------------------------------------------------------------------


def _permit_qs() -> QuerySet[Permit]:
    return Permit.objects.select_related("estate", "vehicle", "vehicle__owner", "space", "room")


def permit_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    plate: str | None = None,
) -> QuerySet[Permit]:
    from linli.parking.models import PermitKind

    actor.require(Perm.PARKING_VIEW)
    qs = actor.scoped(_permit_qs(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if _choice(status, PermitStatus.values, "status"):
        qs = qs.filter(status=status)
    if _choice(kind, PermitKind.values, "kind"):
        qs = qs.filter(kind=kind)
    if plate:
        qs = qs.filter(vehicle__plate__contains=plate.strip().upper()[:10])
    return qs.order_by("estate__name", "-valid_until", "-pk")


def permit_get(*, actor: Actor, pk: int) -> Permit:
    return _get(actor, _permit_qs(), pk)


# --- block list --------------------------------------------------------------------------------


def blocked_list(*, actor: Actor, estate_id: int | None = None, active: bool | None = None) -> QuerySet:
    actor.require(Perm.PARKING_VIEW)
    qs = actor.scoped(BlockedPlate.objects.select_related("estate", "created_by"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("estate__name", "-active", "plate", "-pk")


def blocked_get(*, actor: Actor, pk: int) -> BlockedPlate:
    return _get(actor, BlockedPlate.objects.select_related("estate"), pk)


# --- plate events and sessions (movement traces: reads audited) --------------------------------


def audit_passage_read(*, actor: Actor, rows, kind: str) -> int:
    """One SENSITIVE_READ record per owner of a resident vehicle among ``rows`` (plate events or
    sessions already cut to the page shown). Returns the number of records written."""
    owners: dict[int, list[int]] = defaultdict(list)
    estates_of: dict[int, int] = {}
    for row in rows:
        vehicle = row.vehicle if row.vehicle_id else None
        if vehicle is not None:
            owners[vehicle.owner_id].append(row.pk)
            estates_of[vehicle.owner_id] = row.estate_id
    for owner_id, ids in owners.items():
        audit.record(
            Action.SENSITIVE_READ,
            actor=actor,
            object_type=f"parking.{kind}",
            object_id=ids[0] if len(ids) == 1 else "",
            subject_person_id=owner_id,
            estate_id=estates_of[owner_id],
            detail={"ids": ids[:100]},
        )
    return len(owners)


def _event_qs() -> QuerySet[PlateEvent]:
    return PlateEvent.objects.select_related("estate", "access_point", "vehicle", "session", "permit")


def event_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    plate: str | None = None,
    category: str | None = None,
    decision: str | None = None,
    direction: str | None = None,
    access_point_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[PlateEvent]:
    actor.require(Perm.PARKING_VIEW)
    qs = actor.scoped(_event_qs(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if plate:
        qs = qs.filter(plate__contains=plate.strip().upper()[:16])
    if _choice(category, Category.values, "category"):
        qs = qs.filter(category=category)
    if _choice(decision, Decision.values, "decision"):
        qs = qs.filter(decision=decision)
    if _choice(direction, PlateDirection.values, "direction"):
        qs = qs.filter(direction=direction)
    if access_point_id is not None:
        qs = qs.filter(access_point_id=access_point_id)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    return qs.order_by("-occurred_at", "-pk")


def event_get(*, actor: Actor, pk: int) -> PlateEvent:
    event = _get(actor, _event_qs(), pk)
    audit_passage_read(actor=actor, rows=[event], kind="plateevent")
    return event


def event_for_release(*, actor: Actor, pk: int) -> PlateEvent:
    """A refused read a guard overrides (the release is audited by the service)."""
    return _get(actor, _event_qs(), pk)


def _session_qs() -> QuerySet[ParkingSession]:
    return ParkingSession.objects.select_related("estate", "vehicle", "entry_point", "exit_point", "payment")


def session_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    status: str | None = None,
    plate: str | None = None,
    category: str | None = None,
    released: bool | None = None,
) -> QuerySet[ParkingSession]:
    actor.require(Perm.PARKING_VIEW)
    qs = actor.scoped(_session_qs(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if _choice(status, SessionStatus.values, "status"):
        qs = qs.filter(status=status)
    if _choice(category, Category.values, "category"):
        qs = qs.filter(category=category)
    if plate:
        qs = qs.filter(plate__contains=plate.strip().upper()[:10])
    if released is not None:
        qs = qs.filter(released_at__isnull=not released)
    return qs.order_by("-entered_at", "-pk")


def session_get(*, actor: Actor, pk: int, audited: bool = True) -> ParkingSession:
    session = _get(actor, _session_qs(), pk)
    if audited:
        audit_passage_read(actor=actor, rows=[session], kind="parkingsession")
    return session


def session_for_write(*, actor: Actor, pk: int) -> ParkingSession:
    """A session to settle, waive or pay (the write is audited by the service)."""
    return session_get(actor=actor, pk=pk, audited=False)


# --- occupancy ---------------------------------------------------------------------------------


def occupancy_counts(estate_id: int, *, at: datetime | None = None) -> dict:
    """Spaces by kind against what uses them: permits with a fixed space, permit vehicles without a
    fixed space that are inside (their last allowed read was an entry), and open sessions, which
    share the temporary spaces."""
    at = at or timezone.now()
    day = timezone.localtime(at).date()
    spaces = dict(
        ParkingSpace.objects.filter(estate_id=estate_id)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    active = Permit.objects.filter(
        estate_id=estate_id, status=PermitStatus.ACTIVE, valid_from__lte=day, valid_until__gte=day
    )
    fixed = active.filter(space__isnull=False).count()
    floating = active.filter(space__isnull=True)
    last_direction = (
        PlateEvent.objects.filter(
            estate_id=estate_id, plate=OuterRef("vehicle__plate"), decision=Decision.ALLOW
        )
        .order_by("-occurred_at", "-pk")
        .values("direction")[:1]
    )
    floating_inside = floating.annotate(last=Subquery(last_direction)).filter(last=PlateDirection.IN).count()
    open_sessions = ParkingSession.objects.filter(estate_id=estate_id, status=SessionStatus.OPEN).count()
    temporary = spaces.get(ParkingSpace.Kind.TEMPORARY, 0)
    used = open_sessions + floating_inside
    return {
        "spaces_owned": spaces.get(ParkingSpace.Kind.OWNED, 0),
        "spaces_rented": spaces.get(ParkingSpace.Kind.RENTED, 0),
        "spaces_temporary": temporary,
        "permits_fixed": fixed,
        "permits_floating": floating.count(),
        "floating_inside": floating_inside,
        "open_sessions": open_sessions,
        "temporary_used": used,
        "temporary_free": max(temporary - used, 0),
    }


def occupancy(*, actor: Actor, estate_id: int) -> dict:
    estate = estate_get(actor=actor, pk=estate_id)
    actor.require(Perm.PARKING_VIEW)
    return {"estate_id": estate.pk, "estate_name": estate.name, **occupancy_counts(estate.pk)}


def today_stats(*, actor: Actor, estate_id: int) -> dict:
    """Entries and exits allowed today (local day), refusals, and fees still owed."""
    estate = estate_get(actor=actor, pk=estate_id)
    actor.require(Perm.PARKING_VIEW)
    tz = timezone.get_default_timezone()
    start = datetime.combine(timezone.localdate(), time(0), tzinfo=tz)
    events = PlateEvent.objects.filter(
        estate=estate, occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1)
    )
    counts = {
        (r["direction"], r["decision"]): r["n"]
        for r in events.values("direction", "decision").annotate(n=Count("pk")).order_by()
    }
    unpaid = ParkingSession.objects.filter(estate=estate, status=SessionStatus.UNPAID).aggregate(
        n=Count("pk"), fen=Sum("fee_fen")
    )
    paid_today = ParkingSession.objects.filter(
        estate=estate, status=SessionStatus.PAID, paid_at__gte=start
    ).aggregate(n=Count("pk"), fen=Sum("fee_fen"))
    return {
        "entries": counts.get((PlateDirection.IN, Decision.ALLOW), 0),
        "exits": counts.get((PlateDirection.OUT, Decision.ALLOW), 0),
        "denied": counts.get((PlateDirection.IN, Decision.DENY), 0)
        + counts.get((PlateDirection.OUT, Decision.DENY), 0),
        "unpaid_count": unpaid["n"] or 0,
        "unpaid_fen": unpaid["fen"] or 0,
        "paid_today_count": paid_today["n"] or 0,
        "paid_today_fen": paid_today["fen"] or 0,
    }


# --- residents ---------------------------------------------------------------------------------


@dataclass
class MyParking:
    vehicles: list = field(default_factory=list)
    permits: list = field(default_factory=list)


def _my_person_ids(actor: Actor) -> list[int]:
    from linli.people.models import Person

    if not actor.is_resident:
        return []
    return list(Person.objects.filter(user=actor.user).values_list("pk", flat=True))


def my_parking(*, actor: Actor) -> MyParking:
    """The signed-in resident's own vehicles and their permits (nobody else's)."""
    from linli.people.models import Vehicle

    if not actor.is_resident:
        raise NotFound()
    owners = _my_person_ids(actor)
    vehicles = list(Vehicle.objects.filter(owner_id__in=owners).order_by("plate", "pk"))
    permits = list(
        Permit.objects.filter(vehicle__owner_id__in=owners)
        .select_related("vehicle", "space")
        .order_by("-valid_until", "-pk")
    )
    return MyParking(vehicles=vehicles, permits=permits)


def my_sessions(*, actor: Actor) -> QuerySet[ParkingSession]:
    if not actor.is_resident:
        raise NotFound()
    return (
        ParkingSession.objects.filter(vehicle__owner_id__in=_my_person_ids(actor))
        .select_related("entry_point", "exit_point")
        .order_by("-entered_at", "-pk")
    )
