"""Test data for parking: plate cameras on garage barriers, spaces, fee rules, permits, plate reads."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from django.utils import timezone

from linli.access.models import AccessPointKind, Direction
from linli.access.tests import factories as access_f
from linli.devices.canonical import PlateRead
from linli.devices.tests import factories as devices_f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.parking import services
from linli.places.models import ParkingSpace

_seq = itertools.count(1)


def admin(side):
    return actor_for_user(side.staff[Role.PROPERTY_ADMIN])


def guard(side):
    return actor_for_user(side.staff[Role.GUARD])


def barrier(side, *, direction: str = Direction.IN, device=None, status: str = "active", methods=None):
    """A garage barrier of ``side``'s estate with its own plate camera; returns the access point."""
    if device is None:
        device, _secret = devices_f.device(side, profile="camera")
    return access_f.access_point(
        estate=side.estate,
        kind=AccessPointKind.GARAGE_BARRIER,
        device=device,
        direction=direction,
        methods=methods or ["plate", "staff"],
        status=status,
    )


def gates(side):
    """An entry and an exit barrier (each with a camera)."""
    return barrier(side, direction=Direction.IN), barrier(side, direction=Direction.OUT)


def spaces(side, *, temporary: int = 0, owned: int = 0, rented: int = 0, room=None) -> list[ParkingSpace]:
    rows = []
    for kind, n in (("temporary", temporary), ("owned", owned), ("rented", rented)):
        for _i in range(n):
            rows.append(
                ParkingSpace.objects.create(
                    estate=side.estate,
                    code=f"{kind[0].upper()}{next(_seq):04d}",
                    kind=kind,
                    room=room if kind == "owned" else None,
                )
            )
    return rows


def rule(side, *, actor=None, **kw):
    values = {
        "name": kw.pop("name", f"临停收费{next(_seq)}"),
        "free_minutes": 15,
        "first_period_minutes": 60,
        "first_period_fen": 500,
        "next_period_minutes": 60,
        "next_period_fen": 200,
        "daily_cap_fen": 3000,
        "visitor_free_minutes": 120,
        "monthly_permit_fen": 30000,
        "yearly_permit_fen": 300000,
    }
    values.update(kw)
    return services.fee_rule_create(actor=actor or admin(side), estate=side.estate, **values)


def permit(
    side, *, vehicle, kind: str = "monthly", months: int = 1, start: date | None = None, space=None, **kw
):
    return services.permit_create(
        actor=kw.pop("actor", None) or admin(side),
        vehicle=vehicle,
        kind=kind,
        valid_from=start or timezone.localdate(),
        months=months,
        space=space,
        **kw,
    )


def read(
    plate: str,
    *,
    at: datetime | None = None,
    direction: str = "unknown",
    source_event_id: str | None = None,
    confidence: int | None = 98,
    pictures=("licensePlatePicture.jpg",),
    **kw,
) -> PlateRead:
    return PlateRead(
        plate=plate,
        occurred_at=at or timezone.now(),
        direction=direction,
        confidence=confidence,
        source_event_id=source_event_id if source_event_id is not None else f"evt-{next(_seq)}",
        picture_refs=tuple(pictures),
        plate_color=kw.pop("plate_color", "blue"),
        **kw,
    )


def enter(point, plate: str, at: datetime | None = None, **kw):
    return services.plate_read_record(device=point.device, read=read(plate, at=at, **kw))


def leave(point, plate: str, at: datetime | None = None, **kw):
    return services.plate_read_record(device=point.device, read=read(plate, at=at, **kw))


def ago(**kw) -> datetime:
    return timezone.now() - timedelta(**kw)
