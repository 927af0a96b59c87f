"""Plate reads from the gate cameras: store every read, classify it, decide, open and close parking
sessions (see the package docstring)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.devices.canonical import PlateRead
from linli.orgs.roles import Role
from linli.orgs.selectors import staff_over
from linli.parking import plates
from linli.parking.models import (
    BlockedPlate,
    Category,
    Decision,
    ParkingSession,
    Permit,
    PermitStatus,
    PlateDirection,
    PlateEvent,
    Reason,
    SessionStatus,
)
from linli.parking.services.common import (
    BLOCKED_NOTIFY_MINUTES,
    EXIT_REREAD_MINUTES,
    REREAD_MINUTES,
    _local_tz,
    active_rule,
    session_fee,
)
from linli.places.models import Region


def temporary_available(estate_id: int, *, at: datetime | None = None) -> int:
    """Free temporary spaces: temporary spaces − open sessions − permit vehicles without a fixed
    space that are inside now (their last allowed read was an entry)."""
    from linli.parking.selectors import occupancy_counts

    return occupancy_counts(estate_id, at=at)["temporary_free"]


# --- plate reads -------------------------------------------------------------------------------


def _access_point_for(device, lane: int | None):
    from linli.access.models import AccessPoint, AccessPointKind

    points = list(
        AccessPoint.objects.filter(device=device).select_related("estate").order_by("door_no", "pk")
    )
    if not points:
        return None
    if lane is not None:
        for p in points:
            if p.door_no == lane:
                return p
    barriers = [p for p in points if p.kind == AccessPointKind.GARAGE_BARRIER]
    return (barriers or points)[0]


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value, _local_tz())
    return value


def _direction(read_direction: str, access_point, estate_id: int, plate: str | None) -> str:
    if read_direction in (PlateDirection.IN, PlateDirection.OUT):
        return read_direction
    if access_point is not None and access_point.direction in (PlateDirection.IN, PlateDirection.OUT):
        return access_point.direction
    # A two-way lane that cannot tell: a plate with an open session is leaving.
    if (
        plate
        and ParkingSession.objects.filter(
            estate_id=estate_id, plate=plate, status=SessionStatus.OPEN
        ).exists()
    ):
        return PlateDirection.OUT
    return PlateDirection.IN


def _blocked(estate_id: int, plate: str, at: datetime) -> BlockedPlate | None:
    return (
        BlockedPlate.objects.filter(estate_id=estate_id, plate=plate, active=True)
        .filter(Q(until__isnull=True) | Q(until__gt=at))
        .first()
    )


def _resident_vehicle(estate_id: int, plate: str):
    from linli.people.models import Vehicle

    return Vehicle.objects.filter(estate_id=estate_id, plate=plate).first()


def _valid_permit(vehicle, day: date) -> Permit | None:
    if vehicle is None:
        return None
    return (
        Permit.objects.filter(
            vehicle=vehicle, status=PermitStatus.ACTIVE, valid_from__lte=day, valid_until__gte=day
        )
        .order_by("-valid_until", "pk")
        .first()
    )


def _visitor_pass(estate_id: int, plate: str, at: datetime):
    from linli.access.models import VisitorPass, VisitorPassStatus

    return (
        VisitorPass.objects.filter(
            estate_id=estate_id,
            plate=plate,
            status=VisitorPassStatus.ACTIVE,
            valid_from__lte=at,
            valid_until__gte=at,
        )
        .order_by("-valid_until", "pk")
        .first()
    )


def _notify_blocked(event: PlateEvent, estate: Region) -> None:
    """Tell the guards (plate and gate only: no owner, no reason text)."""
    recent = (
        PlateEvent.objects.filter(
            estate=estate,
            plate=event.plate,
            category=Category.BLOCKED,
            occurred_at__gte=event.occurred_at - timedelta(minutes=BLOCKED_NOTIFY_MINUTES),
        )
        .exclude(pk=event.pk)
        .exists()
    )
    if recent:
        return
    from linli.messaging.services import message_send

    point = event.access_point.name if event.access_point_id else _("未知出入口")
    message_send(
        recipients=list(staff_over(estate, roles=[Role.GUARD])),
        title=_("禁入车辆 %(plate)s 到达%(point)s") % {"plate": event.plate, "point": point},
        body=_("车辆在禁入名单中，道闸未开启。请到岗处理。"),
        link=reverse("parking:booth") + (f"?point={event.access_point_id}" if event.access_point_id else ""),
        estate=estate,
        category="parking_blocked",
    )


def _close(session: ParkingSession, *, exited_at: datetime, exit_point) -> ParkingSession:
    rule = active_rule(session.estate_id)
    session.exited_at = max(exited_at, session.entered_at)
    session.exit_point = exit_point
    session.rule = rule
    session.fee_fen = session_fee(session, rule, session.exited_at)
    session.status = SessionStatus.UNPAID if session.fee_fen > 0 else SessionStatus.FREE
    session.save(update_fields=["exited_at", "exit_point", "rule", "fee_fen", "status", "updated_at"])
    return session


def _entry(ev: PlateEvent, *, vehicle, permit, visitor, blocked) -> None:
    if blocked is not None:
        ev.category, ev.decision, ev.reason = Category.BLOCKED, Decision.DENY, Reason.BLOCKED
        return
    if permit is not None:
        ev.category, ev.decision, ev.reason = Category.PERMIT, Decision.ALLOW, Reason.OK
        return
    ev.category = Category.RESIDENT if vehicle else Category.VISITOR if visitor else Category.TEMPORARY
    # Entries of one estate are decided one at a time (a row lock on the estate that does not block
    # other rows referencing it), so the last free space cannot be given twice.
    list(Region.objects.select_for_update(no_key=True).filter(pk=ev.estate_id).values_list("pk"))
    session = (
        ParkingSession.objects.select_for_update()
        .filter(estate_id=ev.estate_id, plate=ev.plate, status=SessionStatus.OPEN)
        .first()
    )
    if session is not None:
        if ev.occurred_at - session.entered_at <= timedelta(minutes=REREAD_MINUTES):
            ev.session, ev.decision, ev.reason = session, Decision.ALLOW, Reason.OK
            return
        # The exit was never read: close the stale stay without a fee (the camera missed it).
        session.status = SessionStatus.WAIVED
        session.waived_at = timezone.now()
        session.waive_reason = _("未识别到出场，再次入场时自动关闭")
        session.save(update_fields=["status", "waived_at", "waive_reason", "updated_at"])
    if temporary_available(ev.estate_id, at=ev.occurred_at) <= 0:
        ev.decision, ev.reason = Decision.DENY, Reason.FULL
        return
    ev.session = ParkingSession.objects.create(
        estate_id=ev.estate_id,
        plate=ev.plate,
        category=ev.category,
        vehicle=vehicle,
        visitor_pass=visitor,
        entered_at=ev.occurred_at,
        entry_point=ev.access_point,
    )
    ev.decision, ev.reason = Decision.ALLOW, Reason.OK


def _owed(session: ParkingSession | None) -> bool:
    return session is not None and session.status == SessionStatus.UNPAID and session.released_at is None


def _exit(ev: PlateEvent, *, vehicle, permit, visitor, blocked) -> None:
    session = (
        ParkingSession.objects.select_for_update()
        .filter(estate_id=ev.estate_id, plate=ev.plate, status=SessionStatus.OPEN)
        .first()
    )
    if session is not None:
        _close(session, exited_at=ev.occurred_at, exit_point=ev.access_point)
    else:
        # No stay in progress: the fee of the last stay may still be owed, or this is a second read
        # of a vehicle whose exit was just settled.
        last = (
            ParkingSession.objects.select_for_update()
            .filter(estate_id=ev.estate_id, plate=ev.plate, exited_at__isnull=False)
            .order_by("-exited_at", "-pk")
            .first()
        )
        reread = last is not None and last.exited_at >= ev.occurred_at - timedelta(
            minutes=EXIT_REREAD_MINUTES
        )
        session = last if _owed(last) or reread else None
    if blocked is not None:
        ev.category = Category.BLOCKED
    elif session is not None:
        ev.category = session.category
    elif permit is not None:
        ev.category = Category.PERMIT
    else:
        ev.category = Category.RESIDENT if vehicle else Category.VISITOR if visitor else Category.TEMPORARY
    ev.session = session
    if _owed(session):
        ev.decision, ev.reason = Decision.DENY, Reason.UNPAID
    elif session is not None or permit is not None:
        ev.decision, ev.reason = Decision.ALLOW, Reason.OK
    else:
        ev.decision, ev.reason = Decision.DENY, Reason.NO_ENTRY_RECORD


def plate_read_record(*, device, read: PlateRead) -> PlateEvent:
    """Store one plate read of ``device`` and decide it (see the module docstring). Idempotent on
    ``(device, read.source_event_id)``: a read delivered again returns the event stored the first time
    and changes nothing."""
    source_id = plates.clean_text(read.source_event_id, 64)
    if source_id:
        existing = PlateEvent.objects.filter(device=device, source_event_id=source_id).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return _record(device, read, source_id)
    except IntegrityError:
        existing = (
            PlateEvent.objects.filter(device=device, source_event_id=source_id).first() if source_id else None
        )
        if existing is None:
            raise
        return existing


def _record(device, read: PlateRead, source_id: str) -> PlateEvent:
    point = _access_point_for(device, read.lane)
    estate = point.estate if point is not None else Region.objects.get(pk=device.estate_id)
    plate = plates.valid_plate(plates.clean_text(read.plate, 64))
    occurred_at = _aware(read.occurred_at)
    confidence = read.confidence
    if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
        confidence = None
    refs = [
        plates.clean_text(r, plates.MAX_PICTURE_REF_LENGTH)
        for r in tuple(read.picture_refs)[: plates.MAX_PICTURE_REFS]
    ]
    ev = PlateEvent(
        estate=estate,
        access_point=point,
        device=device,
        plate=plate or plates.read_text(read.plate or ""),
        plate_valid=plate is not None,
        plate_color=plates.clean_text(read.plate_color, 16).lower(),
        direction=_direction(read.direction, point, estate.pk, plate),
        occurred_at=occurred_at,
        received_at=timezone.now(),
        confidence=confidence,
        source_event_id=source_id,
        picture_refs=refs,
        category=Category.UNKNOWN,
        decision=Decision.DENY,
    )
    if point is None:
        ev.reason = Reason.NO_ACCESS_POINT
    elif point.status != point.Status.ACTIVE:
        ev.reason = Reason.POINT_DISABLED
    elif "plate" not in (point.allowed_methods or []):
        ev.reason = Reason.METHOD_NOT_ALLOWED
    elif plate is None:
        ev.reason = Reason.INVALID_PLATE
    elif confidence is not None and confidence < plates.MIN_CONFIDENCE:
        ev.reason = Reason.LOW_CONFIDENCE
    else:
        vehicle = _resident_vehicle(estate.pk, plate)
        facts = {
            "vehicle": vehicle,
            "permit": _valid_permit(vehicle, timezone.localtime(occurred_at, _local_tz()).date()),
            "visitor": _visitor_pass(estate.pk, plate, occurred_at),
            "blocked": _blocked(estate.pk, plate, occurred_at),
        }
        ev.vehicle, ev.permit, ev.visitor_pass = facts["vehicle"], facts["permit"], facts["visitor"]
        if ev.direction == PlateDirection.IN:
            _entry(ev, **facts)
        else:
            _exit(ev, **facts)
    ev.save()
    if ev.category == Category.BLOCKED:
        _notify_blocked(ev, estate)
    return ev
