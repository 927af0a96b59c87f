"""Demo data for billing: fee items, meter readings and a billed history of the last N months with
most bills paid (online and at the counter), some arrears with late fees, and a pending waiver.

Bills are created by the real bill run (``services.bill_run_execute``) and late fees by the real
``late_fee_apply``; the history of payments is written in bulk (deterministic per estate) and the
bills' cached ledger columns are then recomputed from the ledger rows, so the ledger balances.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from linli.billing import services
from linli.billing.models import (
    Adjustment,
    Bill,
    BillRun,
    Channel,
    FeeItem,
    FeeKind,
    MeterReading,
    Payment,
    PaymentAllocation,
)
from linli.billing.money import months_back, parse_period
from linli.billing.services.common import _bills_refresh
from linli.places.models import Room

FEE_ITEMS = [
    # name, kind, unit price (元), late fee ‰ per day, grace days
    ("物业费", FeeKind.PROPERTY_FEE, Decimal("2.20"), Decimal("0.5"), 15),
    ("车位管理费", FeeKind.PARKING, Decimal("120"), Decimal("0"), 0),
    ("水费", FeeKind.WATER, Decimal("4.90"), Decimal("0"), 0),
]


def seed(estate, months: int = 6, today: date | None = None) -> dict:
    """Bill the last ``months`` months of ``estate`` and pay most of it. Idempotent enough to re-run:
    fee items are reused and the bill run creates no duplicates; payments are added only to bills
    that have none."""
    today = today or timezone.localdate()
    rng = random.Random(estate.pk * 7919 + months)  # noqa: S311 - deterministic demo data
    items = {}
    for name, kind, price, late, grace in FEE_ITEMS:
        items[kind], _created = FeeItem.objects.get_or_create(
            estate=estate,
            name=name,
            defaults={
                "kind": kind,
                "unit_price": price,
                "late_fee_per_mille": late,
                "late_fee_grace_days": grace,
            },
        )
    periods = months_back(today, months)
    rooms = list(Room.objects.filter(estate=estate).values_list("pk", flat=True))
    # Water meter readings: a running meter per room.
    existing = set(
        MeterReading.objects.filter(estate=estate, kind="water", period__in=periods).values_list(
            "room_id", "period"
        )
    )
    readings = []
    for room_id in rooms:
        value = Decimal(rng.randint(50, 400))
        for period in periods:
            used = Decimal(rng.randint(3, 18))
            if (room_id, period) not in existing:
                readings.append(
                    MeterReading(
                        estate=estate,
                        room_id=room_id,
                        kind="water",
                        period=period,
                        previous=value,
                        current=value + used,
                    )
                )
            value += used
    MeterReading.objects.bulk_create(readings, batch_size=2000)
    created = 0
    for period in periods:
        run = BillRun.objects.create(estate=estate, period=period)
        created += services.bill_run_execute(run_id=run.pk)
    payments = _pay_history(estate, periods, today, rng)
    services.late_fee_apply(today=today)
    _pending_waiver(estate, rng)
    return {"bills": created, "payments": payments, "readings": len(readings)}


def _pay_history(estate, periods: list[str], today: date, rng: random.Random) -> int:
    """Pay ~92% of older months and ~60% of the last one, one payment per room and month."""
    tz = timezone.get_current_timezone()
    unpaid = (
        Bill.objects.filter(estate=estate, period__in=periods, paid_fen=0)
        .exclude(allocations__isnull=False)
        .order_by("room_id", "period", "pk")
        .values_list("pk", "room_id", "period", "amount_fen")
    )
    groups: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for pk, room_id, period, amount in unpaid:
        groups.setdefault((room_id, period), []).append((pk, amount))
    # A fifth of the rooms that fall behind stay behind (chronic arrears).
    chronic = {room_id for room_id, _p in groups if rng.random() < 0.04}
    payments, allocations = [], []
    seq = Payment.objects.filter(estate=estate).count()
    for (room_id, period), bills in groups.items():
        last = period == periods[-1]
        if room_id in chronic or rng.random() > (0.6 if last else 0.92):
            continue
        p = parse_period(period)
        day = min(p.end + timedelta(days=rng.randint(1, 40)), today - timedelta(days=1))
        paid_at = datetime.combine(day, time(rng.randint(8, 20), rng.randint(0, 59)), tzinfo=tz)
        online = rng.random() < 0.7
        seq += 1
        payments.append(
            Payment(
                estate=estate,
                room_id=room_id,
                amount_fen=sum(a for _pk, a in bills),
                channel=Channel.ONLINE if online else rng.choice([Channel.CASH, Channel.TRANSFER]),
                provider="simulated" if online else "",
                out_trade_no=f"DEMO{estate.pk:04d}{seq:07d}",
                provider_trade_no=f"SIMDEMO{estate.pk:04d}{seq:07d}" if online else "",
                status=Payment.Status.PAID,
                paid_at=paid_at,
                receipt_no=f"SJ{day:%Y%m%d}D{estate.pk:03d}{seq:06d}",
            )
        )
        allocations.append(bills)
    with transaction.atomic():
        Payment.objects.bulk_create(payments, batch_size=1000)
        PaymentAllocation.objects.bulk_create(
            [
                PaymentAllocation(payment=payment, bill_id=pk, amount_fen=amount)
                for payment, bills in zip(payments, allocations, strict=True)
                for pk, amount in bills
            ],
            batch_size=2000,
        )
        touched = [pk for bills in allocations for pk, _a in bills]
        for start in range(0, len(touched), 2000):
            _bills_refresh(touched[start : start + 2000])
    return len(payments)


def _pending_waiver(estate, rng: random.Random) -> None:
    """One waiver waiting for approval on an open property-fee bill (requested by nobody in particular)."""
    if Adjustment.objects.filter(estate=estate, status="pending").exists():
        return
    bill = (
        Bill.objects.filter(estate=estate, kind=FeeKind.PROPERTY_FEE, status="unpaid")
        .order_by("due_date", "pk")
        .first()
    )
    if bill is None:
        return
    Adjustment.objects.create(
        estate=estate,
        bill=bill,
        kind=Adjustment.Kind.WAIVER,
        amount_fen=min(bill.amount_fen, 10000),
        reason="独居老人困难家庭，申请减免部分物业费",
    )
