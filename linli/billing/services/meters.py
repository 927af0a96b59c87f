"""Meter readings: entered one by one or imported from a spreadsheet all-or-nothing
(``linli.billing.imports`` parses and checks the rows)."""

from __future__ import annotations

import time
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from linli.billing import imports
from linli.billing.models import (
    METER_KINDS,
    Bill,
    MeterReading,
)
from linli.billing.money import periods_covering
from linli.billing.services.common import BATCH_SIZE, _decimal, _month
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, ValidationFailed
from linli.core.models import ImportJob
from linli.core.scoping import Actor
from linli.core.tabular import check_size, safe_file_name
from linli.orgs.roles import Perm
from linli.places.models import Region, Room
from linli.places.selectors import require_estate

METER_IMPORT_KIND = "meter_readings"


@transaction.atomic
def meter_reading_enter(
    *, actor: Actor, room: Room, kind: str, period: str, previous: Decimal, current: Decimal
) -> MeterReading:
    """Record (or correct, while not yet billed) a room's water/electricity reading for a month."""
    actor.require(Perm.BILLING_MANAGE, write=True)
    actor.require_path(room.path)
    if kind not in [k.value for k in METER_KINDS]:
        raise ValidationFailed(fields={"kind": [_("只能是 water 或 electricity")]})
    period = _month(period)
    prev = _decimal(previous, field="previous", max_value=Decimal("9999999999"), places=2)
    cur = _decimal(current, field="current", max_value=Decimal("9999999999"), places=2)
    if cur < prev:
        raise ValidationFailed(fields={"current": [_("本期读数不能小于上期读数")]})
    existing = MeterReading.objects.select_for_update().filter(room=room, kind=kind, period=period).first()
    if existing is not None:
        if Bill.objects.filter(room=room, kind=kind, period__in=periods_covering(period)).exists():
            raise Conflict(_("该月读数已出账，不能再修改"))
        existing.previous, existing.current, existing.entered_by = prev, cur, actor.user
        existing.save()
        audit.record(Action.UPDATE, actor=actor, obj=existing)
        return existing
    reading = MeterReading.objects.create(
        estate_id=room.estate_id,
        room=room,
        kind=kind,
        period=period,
        previous=prev,
        current=cur,
        entered_by=actor.user,
    )
    audit.record(Action.CREATE, actor=actor, obj=reading)
    return reading


def meter_readings_import(*, actor: Actor, estate: Region, file_name: str, data: bytes) -> ImportJob:
    """Import readings from XLSX/CSV, all or nothing: any row error rejects the whole file."""
    require_estate(actor=actor, estate=estate, perm=Perm.BILLING_MANAGE, write=True)
    check_size(len(data))
    started = time.monotonic()
    file_name = safe_file_name(file_name)
    parsed = imports.parse_readings(file_name, data, estate=estate, max_rows=settings.IMPORT_MAX_ROWS)

    def job(status, created, errors):
        return ImportJob.objects.create(
            kind=METER_IMPORT_KIND,
            estate=estate,
            file_name=file_name,
            status=status,
            total_rows=parsed.total_rows,
            created_count=created,
            errors=errors,
            created_by=actor.user,
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    if parsed.errors:
        return job(ImportJob.Status.REJECTED, 0, [e.as_dict() for e in parsed.errors])
    with transaction.atomic():
        result = job(ImportJob.Status.APPLIED, len(parsed.rows), [])
        MeterReading.objects.bulk_create(
            [
                MeterReading(
                    estate=estate,
                    room_id=r.room_id,
                    kind=r.kind,
                    period=r.period,
                    previous=r.previous,
                    current=r.current,
                    entered_by=actor.user,
                    import_job=result,
                )
                for r in parsed.rows
            ],
            batch_size=BATCH_SIZE,
        )
        audit.record(
            Action.IMPORT, actor=actor, obj=result, estate_id=estate.pk, detail={"rows": len(parsed.rows)}
        )
    return result
