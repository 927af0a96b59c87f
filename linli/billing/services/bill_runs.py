"""Bill runs (one estate, one period: bills for every fee item and room, in batches, as a task),
late fees on overdue bills and reminders of arrears."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from linli.billing.models import (
    METER_KINDS,
    OPEN_STATUSES,
    ArrearsReminder,
    Bill,
    BillRun,
    FeeItem,
    FeeKind,
    MeterReading,
)
from linli.billing.money import parse_period, per_mille_of, to_fen
from linli.billing.services.common import (
    BATCH_SIZE,
    _latest_households,
    _period,
    _status_of,
    log,
)
from linli.core import audit
from linli.core.audit import Action
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import ParkingSpace, Region, Room, RoomStatus
from linli.places.selectors import require_estate

REMIND_EVERY_DAYS = 30


@transaction.atomic
def bill_run_start(*, actor: Actor, estate: Region, period: str) -> BillRun:
    """Queue a bill run of ``estate`` for a month or a quarter. Running the same period again creates
    no duplicate bills (unique room × fee item × period); a run already queued or running is returned."""
    require_estate(actor=actor, estate=estate, perm=Perm.BILLING_MANAGE, write=True)
    p = _period(period)
    active = (
        BillRun.objects.select_for_update()
        .filter(estate=estate, period=p.code, status__in=[BillRun.Status.QUEUED, BillRun.Status.RUNNING])
        .first()
    )
    if active is not None:
        return active
    run = BillRun.objects.create(estate=estate, period=p.code, created_by=actor.user)
    audit.record(Action.CREATE, actor=actor, obj=run, detail={"period": p.code})
    bill_run_task.enqueue(run.pk)
    return run


@task()
def bill_run_task(run_id: int) -> int:
    return bill_run_execute(run_id=run_id)


def _bill_specs(estate_id: int, period) -> tuple[list[FeeItem], dict, dict]:
    items = [
        i
        for i in FeeItem.objects.filter(estate_id=estate_id, active=True).order_by("pk")
        if i.kind != FeeKind.ONE_OFF or i.one_off_period in period.months
    ]
    parking = dict(
        ParkingSpace.objects.filter(estate_id=estate_id, room__isnull=False)
        .values("room_id")
        .annotate(n=Count("pk"))
        .values_list("room_id", "n")
    )
    usage: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for room_id, kind, prev, cur in MeterReading.objects.filter(
        estate_id=estate_id, period__in=period.months
    ).values_list("room_id", "kind", "previous", "current"):
        usage[(room_id, kind)] += cur - prev
    return items, parking, usage


def _bill_for(item: FeeItem, room_id: int, area: Decimal, period, parking: dict, usage: dict):
    """(quantity, amount in fen) of ``item`` for a room, or None when nothing is due."""
    months = period.month_count
    if item.kind == FeeKind.PROPERTY_FEE:
        qty = Decimal(area) * months
    elif item.kind == FeeKind.PARKING:
        qty = Decimal(parking.get(room_id, 0) * months)
    elif item.kind in METER_KINDS:
        qty = usage.get((room_id, item.kind), Decimal(0))
    else:
        qty = Decimal(1)
    amount = to_fen(qty * item.unit_price)
    if qty <= 0 or amount <= 0:
        return None
    return qty, amount


def bill_run_execute(*, run_id: int) -> int:
    """Create the run's bills in batches (bulk insert, one transaction per batch) and record progress.
    Resumable: bills already present for (room, fee item, period) are skipped. Returns bills created."""
    with transaction.atomic():
        run = BillRun.objects.select_for_update().select_related("estate").get(pk=run_id)
        if run.status == BillRun.Status.DONE:
            return run.created_count
        run.status = BillRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.error = ""
        rooms = list(
            Room.objects.filter(estate_id=run.estate_id)
            .exclude(status=RoomStatus.UNDELIVERED)
            .order_by("pk")
            .values_list("pk", "area", "standard_address")
        )
        run.total, run.done = len(rooms), 0
        run.save(update_fields=["status", "started_at", "error", "total", "done", "updated_at"])
    try:
        period = parse_period(run.period)
        items, parking, usage = _bill_specs(run.estate_id, period)
        existing = set(
            Bill.objects.filter(
                estate_id=run.estate_id, period=period.code, fee_item__isnull=False
            ).values_list("room_id", "fee_item_id")
        )
        households = _latest_households([r[0] for r in rooms]) if rooms else {}
        created = 0
        for start in range(0, len(rooms), BATCH_SIZE):
            chunk = rooms[start : start + BATCH_SIZE]
            bills = []
            for room_id, area, _address in chunk:
                for item in items:
                    if (room_id, item.pk) in existing:
                        continue
                    spec = _bill_for(item, room_id, area, period, parking, usage)
                    if spec is None:
                        continue
                    qty, amount = spec
                    bills.append(
                        Bill(
                            estate_id=run.estate_id,
                            room_id=room_id,
                            household_id=households.get(room_id),
                            fee_item_id=item.pk,
                            bill_run_id=run.pk,
                            kind=item.kind,
                            title=item.name,
                            period=period.code,
                            quantity=qty,
                            unit_price=item.unit_price,
                            amount_fen=amount,
                            due_date=period.end + timedelta(days=item.due_days),
                        )
                    )
            with transaction.atomic():
                Bill.objects.bulk_create(bills, batch_size=BATCH_SIZE, ignore_conflicts=True)
                BillRun.objects.filter(pk=run.pk).update(done=start + len(chunk), updated_at=timezone.now())
            created += len(bills)
        with transaction.atomic():
            count = Bill.objects.filter(bill_run_id=run.pk).count()
            BillRun.objects.filter(pk=run.pk).update(
                status=BillRun.Status.DONE, created_count=count, finished_at=timezone.now(), done=len(rooms)
            )
            audit.record(
                Action.CREATE,
                actor=run.created_by,
                object_type="billing.billrun",
                object_id=run.pk,
                estate_id=run.estate_id,
                detail={"period": run.period, "bills_created": count},
            )
        return count
    except Exception as exc:
        log.exception("bill run %s failed", run_id)
        BillRun.objects.filter(pk=run_id).update(
            status=BillRun.Status.FAILED,
            error=f"{exc.__class__.__name__}: {exc}"[:300],
            finished_at=timezone.now(),
        )
        raise


def late_fee_apply(*, today: date) -> int:
    """Raise the late fee of every open overdue bill to its rule's value for ``today``:
    principal × rate‰ × days past (due date + grace), capped at the principal. Never lowers a fee,
    so running it twice a day changes nothing. Returns the number of bills changed."""
    changed = 0
    qs = (
        Bill.objects.filter(status__in=OPEN_STATUSES, due_date__lt=today, fee_item__late_fee_per_mille__gt=0)
        .select_related("fee_item")
        .order_by("pk")
    )
    ids = list(qs.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        with transaction.atomic():
            batch = []
            for bill in qs.select_for_update(of=("self",)).filter(pk__in=ids[start : start + BATCH_SIZE]):
                if bill.status not in OPEN_STATUSES:
                    continue
                days = (today - bill.due_date).days - bill.fee_item.late_fee_grace_days
                if days <= 0:
                    continue
                fee = min(
                    per_mille_of(bill.amount_fen, bill.fee_item.late_fee_per_mille, days), bill.amount_fen
                )
                if fee > bill.late_fee_fen:
                    bill.late_fee_fen = fee
                    bill.status = _status_of(bill)
                    batch.append(bill)
            Bill.objects.bulk_update(batch, ["late_fee_fen", "status", "updated_at"])
            changed += len(batch)
    return changed


def arrears_remind(*, today: date) -> int:
    """One reminder per room with overdue open bills (at most every ``REMIND_EVERY_DAYS`` days),
    shown on the household's H5 page and sent by SMS to the household head. The message names no
    amount and no address (a phone screen may be seen by others). Returns reminders created."""
    from linli.accounts.sms import get_sender
    from linli.people.models import Household

    recent = ArrearsReminder.objects.filter(remind_date__gt=today - timedelta(days=REMIND_EVERY_DAYS)).values(
        "room_id"
    )
    rows = list(
        Bill.objects.filter(status__in=OPEN_STATUSES, due_date__lt=today, room__isnull=False)
        .exclude(room_id__in=recent)
        .values("room_id", "estate_id", "estate__name")
        .annotate(
            n=Count("pk"),
            owed=Sum("amount_fen") + Sum("late_fee_fen") - Sum("paid_fen") - Sum("adjusted_fen"),
        )
        .order_by("room_id")
    )
    if not rows:
        return 0
    households = _latest_households([r["room_id"] for r in rows])
    heads = {
        h.pk: h.head for h in Household.objects.filter(pk__in=households.values()).select_related("head")
    }
    sender = get_sender()
    created = 0
    for r in rows:
        head = heads.get(households.get(r["room_id"]))
        with transaction.atomic():
            reminder, new = ArrearsReminder.objects.get_or_create(
                room_id=r["room_id"],
                remind_date=today,
                defaults={
                    "estate_id": r["estate_id"],
                    "household_id": households.get(r["room_id"]),
                    "bill_count": r["n"],
                    "arrears_fen": r["owed"],
                },
            )
        if not new:
            continue
        created += 1
        phone = getattr(head, "phone", "") if head else ""
        if phone:
            message = _(
                "【邻里】您在%(estate)s的房屋有 %(n)d 笔物业账单已逾期，请登录邻里“缴费”页面查看并缴纳。"
            ) % {
                "estate": r["estate__name"],
                "n": r["n"],
            }
            try:
                sender.send(phone, message)
            except Exception:  # a failing gateway must not stop the other reminders
                log.exception("reminder SMS failed for room %s", r["room_id"])
            else:
                ArrearsReminder.objects.filter(pk=reminder.pk).update(sms_sent=True)
    return created
