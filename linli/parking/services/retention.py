"""Retention (R64): passage records 180 days, picture references 30 days, ended records a year."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from linli.parking.models import (
    PASSAGE_RETENTION_DAYS,
    PICTURE_RETENTION_DAYS,
    BlockedPlate,
    ParkingSession,
    Permit,
    PermitStatus,
    PlateEvent,
    SessionStatus,
)
from linli.parking.services.common import (
    BATCH,
)


def _delete_in_batches(qs) -> int:
    total = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        with transaction.atomic():
            total += qs.model.objects.filter(pk__in=ids).delete()[0]


def purge_passages(*, now: datetime) -> dict:
    """Delete plate events older than 180 days and settled sessions that left more than 180 days ago
    (a fee still owed keeps its session until it is collected or waived)."""
    cutoff = now - timedelta(days=PASSAGE_RETENTION_DAYS)
    events = _delete_in_batches(PlateEvent.objects.filter(occurred_at__lt=cutoff))
    sessions = _delete_in_batches(
        ParkingSession.objects.filter(
            exited_at__lt=cutoff, status__in=[SessionStatus.PAID, SessionStatus.FREE, SessionStatus.WAIVED]
        )
    )
    return {"events": events, "sessions": sessions}


def purge_pictures(*, now: datetime) -> int:
    """Clear the picture references of plate events older than 30 days."""
    cutoff = now - timedelta(days=PICTURE_RETENTION_DAYS)
    qs = PlateEvent.objects.filter(occurred_at__lt=cutoff).exclude(picture_refs=[])
    total = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        total += PlateEvent.objects.filter(pk__in=ids).update(picture_refs=[])


def purge_records(*, now: datetime) -> dict:
    """Block-list rows lifted or ended, and permits ended or cancelled, more than a year ago."""
    year_ago = now - timedelta(days=365)
    blocked = _delete_in_batches(
        BlockedPlate.objects.filter(active=False, lifted_at__lt=year_ago)
        | BlockedPlate.objects.filter(until__lt=year_ago)
    )
    permits = _delete_in_batches(
        Permit.objects.filter(status=PermitStatus.CANCELLED, cancelled_at__lt=year_ago)
        | Permit.objects.filter(
            status__in=[PermitStatus.EXPIRED, PermitStatus.ACTIVE], valid_until__lt=year_ago.date()
        )
    )
    return {"blocked": blocked, "permits": permits}
