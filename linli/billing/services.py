"""Writes for billing: fee items, meter readings, bill runs, late fees, adjustments, payments,
provider notifications, refunds, reminders and one-off charges.

Every service checks the actor's permission and scope and writes its audit record in the same
transaction. Each change to the ledger of a bill (an allocation of a paid payment, an approved
adjustment or refund line, a late fee) is followed by ``_bills_refresh``, which recomputes the
bill's cached ``paid_fen``, ``adjusted_fen`` and ``status`` from the ledger rows; the rows lock the
bills first (``select_for_update``) so concurrent writers cannot overdraw a bill.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from linli.billing import imports, sources
from linli.billing.models import (
    METER_KINDS,
    OPEN_STATUSES,
    Adjustment,
    ApprovalStatus,
    ArrearsReminder,
    Bill,
    BillRun,
    BillStatus,
    Channel,
    FeeItem,
    FeeKind,
    MeterReading,
    Payment,
    PaymentAllocation,
    PaymentNotification,
    Refund,
    RefundLine,
)
from linli.billing.money import month_of, parse_period, per_mille_of, periods_covering, to_fen
from linli.billing.providers import InvalidNotification, get_provider
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import ImportJob
from linli.core.scoping import Actor
from linli.core.tabular import check_size, safe_file_name
from linli.orgs.roles import Perm
from linli.places.models import ParkingSpace, Region, RegionLevel, Room, RoomStatus

log = logging.getLogger("linli.billing")

BATCH_SIZE = 2000
MAX_FEN = 10**12  # ten billion yuan: anything above is a typo
REMIND_EVERY_DAYS = 30
METER_IMPORT_KIND = "meter_readings"
PRICE_MAX = Decimal("100000")


# --- helpers -----------------------------------------------------------------------------------


def _check_estate(actor: Actor, estate: Region) -> None:
    if estate.level != RegionLevel.ESTATE or not actor.in_scope_path(estate.path):
        raise NotFound()


def _check_path(actor: Actor, path: str) -> None:
    if not actor.in_scope_path(path):
        raise NotFound()


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(fields={field: [_("此项为必填项")]})
    if len(value) > max_length:
        raise ValidationFailed(fields={field: [_("最多 %(n)d 个字符") % {"n": max_length}]})
    return value


def _fen(value: int, *, field: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(fields={field: [_("金额须为整数（分）")]})
    if value < (0 if allow_zero else 1) or value > MAX_FEN:
        raise ValidationFailed(fields={field: [_("金额超出允许范围")]})
    return value


def _decimal(value, *, field: str, max_value: Decimal, places: int) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(fields={field: [_("请输入数字")]}) from exc
    if not d.is_finite() or d < 0 or d > max_value:
        raise ValidationFailed(fields={field: [_("数值超出允许范围")]})
    if d != d.quantize(Decimal(1).scaleb(-places)):
        raise ValidationFailed(fields={field: [_("最多 %(n)d 位小数") % {"n": places}]})
    return d


def _period(code: str, *, field: str = "period"):
    p = parse_period(code)
    if p is None:
        raise ValidationFailed(fields={field: [_("账期格式为 2026-10（月）或 2026-Q4（季度）")]})
    return p


def _month(code: str, *, field: str = "period") -> str:
    p = _period(code, field=field)
    if p.month_count != 1:
        raise ValidationFailed(fields={field: [_("请填写月份，如 2026-10")]})
    return p.code


def _latest_households(room_ids) -> dict[int, int]:
    from linli.people.models import Household

    rows = Household.objects.filter(room_id__in=room_ids).values("room_id").annotate(last=Max("pk"))
    return {r["room_id"]: r["last"] for r in rows}


def _token(prefix: str) -> str:
    return f"{prefix}{timezone.now():%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"


def _bills_refresh(bill_ids) -> None:
    """Recompute ``paid_fen``, ``adjusted_fen`` and ``status`` of bills from their ledger rows."""
    bill_ids = list(bill_ids)
    if not bill_ids:
        return
    paid = defaultdict(int)
    for r in (
        PaymentAllocation.objects.filter(bill_id__in=bill_ids, payment__status=Payment.Status.PAID)
        .values("bill_id")
        .annotate(s=Sum("amount_fen"))
    ):
        paid[r["bill_id"]] += r["s"]
    for r in (
        RefundLine.objects.filter(bill_id__in=bill_ids, refund__status=ApprovalStatus.APPROVED)
        .values("bill_id")
        .annotate(s=Sum("amount_fen"))
    ):
        paid[r["bill_id"]] -= r["s"]
    adjusted = {
        r["bill_id"]: r["s"]
        for r in Adjustment.objects.filter(bill_id__in=bill_ids, status=ApprovalStatus.APPROVED)
        .values("bill_id")
        .annotate(s=Sum("amount_fen"))
    }
    changed = []
    for bill in Bill.objects.filter(pk__in=bill_ids):
        bill.paid_fen = paid.get(bill.pk, 0)
        bill.adjusted_fen = adjusted.get(bill.pk, 0)
        bill.status = _status_of(bill)
        changed.append(bill)
    Bill.objects.bulk_update(changed, ["paid_fen", "adjusted_fen", "status", "updated_at"])
    sources.notify(changed)


def _status_of(bill: Bill) -> str:
    outstanding = bill.outstanding_fen
    if outstanding > 0:
        return BillStatus.PARTIAL if (bill.paid_fen or bill.adjusted_fen) else BillStatus.UNPAID
    return BillStatus.PAID if bill.paid_fen > 0 else BillStatus.WAIVED


def _lock_bills(bills) -> list[Bill]:
    ids = sorted({b.pk for b in bills})
    return list(Bill.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


# --- fee items ---------------------------------------------------------------------------------

_FEE_FIELDS = (
    "name",
    "unit_price",
    "due_days",
    "late_fee_per_mille",
    "late_fee_grace_days",
    "one_off_period",
    "active",
)


def _fee_values(kind: str, values: dict) -> dict:
    out = {}
    if "name" in values:
        out["name"] = _text(values["name"], field="name", max_length=100)
    if "unit_price" in values:
        out["unit_price"] = _decimal(values["unit_price"], field="unit_price", max_value=PRICE_MAX, places=4)
    if "due_days" in values:
        if not 0 <= int(values["due_days"]) <= 365:
            raise ValidationFailed(fields={"due_days": [_("0 到 365 天")]})
        out["due_days"] = int(values["due_days"])
    if "late_fee_per_mille" in values:
        out["late_fee_per_mille"] = _decimal(
            values["late_fee_per_mille"], field="late_fee_per_mille", max_value=Decimal("10"), places=3
        )
    if "late_fee_grace_days" in values:
        if not 0 <= int(values["late_fee_grace_days"]) <= 365:
            raise ValidationFailed(fields={"late_fee_grace_days": [_("0 到 365 天")]})
        out["late_fee_grace_days"] = int(values["late_fee_grace_days"])
    if "one_off_period" in values:
        code = (values["one_off_period"] or "").strip()
        out["one_off_period"] = _month(code, field="one_off_period") if code else ""
    if "active" in values:
        out["active"] = bool(values["active"])
    if kind == FeeKind.ONE_OFF and "one_off_period" in out and not out["one_off_period"]:
        raise ValidationFailed(fields={"one_off_period": [_("一次性费用须指定计费月份")]})
    return out


@transaction.atomic
def fee_item_create(
    *,
    actor: Actor,
    estate: Region,
    name: str,
    kind: str,
    unit_price: Decimal,
    due_days: int = 15,
    late_fee_per_mille: Decimal = Decimal(0),
    late_fee_grace_days: int = 0,
    one_off_period: str = "",
    active: bool = True,
) -> FeeItem:
    actor.require(Perm.BILLING_MANAGE, write=True)
    _check_estate(actor, estate)
    if kind not in FeeKind.values or kind == FeeKind.CHARGE:
        raise ValidationFailed(fields={"kind": [_("无效的收费类型")]})
    values = _fee_values(
        kind,
        {
            "name": name,
            "unit_price": unit_price,
            "due_days": due_days,
            "late_fee_per_mille": late_fee_per_mille,
            "late_fee_grace_days": late_fee_grace_days,
            "one_off_period": one_off_period,
            "active": active,
        },
    )
    if FeeItem.objects.filter(estate=estate, name=values["name"]).exists():
        raise Conflict(_("本小区已有同名收费项目"))
    item = FeeItem.objects.create(estate=estate, kind=kind, **values)
    audit.record(Action.CREATE, actor=actor, obj=item, detail={"kind": kind})
    return item


@transaction.atomic
def fee_item_update(*, actor: Actor, fee_item: FeeItem, **changes) -> FeeItem:
    actor.require(Perm.BILLING_MANAGE, write=True)
    _check_estate(actor, fee_item.estate)
    unknown = set(changes) - set(_FEE_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [_("不能修改此项")] for k in sorted(unknown)})
    values = _fee_values(fee_item.kind, changes)
    if "name" in values and (
        FeeItem.objects.filter(estate_id=fee_item.estate_id, name=values["name"])
        .exclude(pk=fee_item.pk)
        .exists()
    ):
        raise Conflict(_("本小区已有同名收费项目"))
    for k, v in values.items():
        setattr(fee_item, k, v)
    fee_item.save()
    audit.record(Action.UPDATE, actor=actor, obj=fee_item, detail={"fields": sorted(values)})
    return fee_item


# --- meter readings ----------------------------------------------------------------------------


@transaction.atomic
def meter_reading_enter(
    *, actor: Actor, room: Room, kind: str, period: str, previous: Decimal, current: Decimal
) -> MeterReading:
    """Record (or correct, while not yet billed) a room's water/electricity reading for a month."""
    actor.require(Perm.BILLING_MANAGE, write=True)
    _check_path(actor, room.path)
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
    actor.require(Perm.BILLING_MANAGE, write=True)
    _check_estate(actor, estate)
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


# --- bill runs ---------------------------------------------------------------------------------


@transaction.atomic
def bill_run_start(*, actor: Actor, estate: Region, period: str) -> BillRun:
    """Queue a bill run of ``estate`` for a month or a quarter. Running the same period again creates
    no duplicate bills (unique room × fee item × period); a run already queued or running is returned."""
    actor.require(Perm.BILLING_MANAGE, write=True)
    _check_estate(actor, estate)
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


# --- late fees ---------------------------------------------------------------------------------


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


# --- adjustments (discounts and waivers) -------------------------------------------------------


@transaction.atomic
def adjustment_request(*, actor: Actor, bill: Bill, kind: str, amount_fen: int, reason: str) -> Adjustment:
    actor.require(Perm.BILLING_MANAGE, write=True)
    bill = _lock_bills([bill])[0]
    _check_path(actor, bill.estate.path)
    if kind not in Adjustment.Kind.values:
        raise ValidationFailed(fields={"kind": [_("只能是 discount 或 waiver")]})
    amount_fen = _fen(amount_fen, field="amount_fen")
    reason = _text(reason, field="reason", max_length=300)
    if amount_fen > bill.outstanding_fen:
        raise Conflict(_("减免金额不能超过账单未缴金额"))
    adj = Adjustment.objects.create(
        estate_id=bill.estate_id,
        bill=bill,
        kind=kind,
        amount_fen=amount_fen,
        reason=reason,
        requested_by=actor.user,
    )
    audit.record(Action.CREATE, actor=actor, obj=adj, detail={"bill": bill.pk, "amount_fen": amount_fen})
    return adj


def _decide(actor: Actor, obj) -> None:
    actor.require(Perm.BILLING_APPROVE, write=True)
    _check_path(actor, obj.estate.path)
    if obj.status != ApprovalStatus.PENDING:
        raise Conflict(_("该申请已处理"))
    if obj.requested_by_id == actor.user.pk:
        raise PermissionDenied(_("不能审批自己提交的申请"))


@transaction.atomic
def adjustment_approve(*, actor: Actor, adjustment: Adjustment, note: str = "") -> Adjustment:
    adjustment = Adjustment.objects.select_for_update().select_related("estate").get(pk=adjustment.pk)
    _decide(actor, adjustment)
    bill = _lock_bills([adjustment.bill])[0]
    if adjustment.amount_fen > bill.outstanding_fen:
        raise Conflict(_("账单未缴金额已不足，无法按此金额减免"))
    adjustment.status = ApprovalStatus.APPROVED
    adjustment.decided_by, adjustment.decided_at = actor.user, timezone.now()
    adjustment.decision_note = _text(note, field="note", max_length=300, required=False)
    adjustment.save()
    _bills_refresh([bill.pk])
    audit.record(Action.UPDATE, actor=actor, obj=adjustment, detail={"decision": "approved"})
    return adjustment


@transaction.atomic
def adjustment_reject(*, actor: Actor, adjustment: Adjustment, note: str = "") -> Adjustment:
    adjustment = Adjustment.objects.select_for_update().select_related("estate").get(pk=adjustment.pk)
    _decide(actor, adjustment)
    adjustment.status = ApprovalStatus.REJECTED
    adjustment.decided_by, adjustment.decided_at = actor.user, timezone.now()
    adjustment.decision_note = _text(note, field="note", max_length=300, required=False)
    adjustment.save()
    audit.record(Action.UPDATE, actor=actor, obj=adjustment, detail={"decision": "rejected"})
    return adjustment


# --- payments ----------------------------------------------------------------------------------


def _one_room(bills: list[Bill]) -> Room | None:
    """The one room the bills belong to (None: walk-in charges of one estate, see ``Bill``)."""
    if not bills:
        raise ValidationFailed(fields={"bill_ids": [_("请选择账单")]})
    rooms = {b.room_id for b in bills}
    if len(rooms) != 1 or len({b.estate_id for b in bills}) != 1:
        raise ValidationFailed(fields={"bill_ids": [_("一次只能缴纳同一房屋的账单")]})
    return bills[0].room


def _payer_path(bills: list[Bill], room: Room | None) -> str:
    return room.path if room is not None else bills[0].estate.path


def _receipt_no(payment: Payment) -> str:
    return f"SJ{payment.paid_at:%Y%m%d}{payment.pk:08d}"


@transaction.atomic
def payment_create_online(*, actor: Actor, bills: list[Bill]):
    """An online payment order for the open amount of ``bills`` (one room). The caller must have
    fetched the bills through a scoped selector (residents: their own rooms only)."""
    if not actor.is_resident:
        actor.require(Perm.BILLING_MANAGE, write=True)
    locked = _lock_bills(bills)
    room = _one_room(locked)
    if not actor.is_resident:
        _check_path(actor, _payer_path(locked, room))
    open_bills = [b for b in locked if b.outstanding_fen > 0]
    if not open_bills:
        raise Conflict(_("所选账单已结清"))
    provider = get_provider()
    payment = Payment.objects.create(
        estate_id=locked[0].estate_id,
        room=room,
        payer_user=actor.user,
        amount_fen=sum(b.outstanding_fen for b in open_bills),
        channel=Channel.ONLINE,
        provider=provider.name,
        out_trade_no=_token("P"),
        created_by=actor.user,
    )
    PaymentAllocation.objects.bulk_create(
        [PaymentAllocation(payment=payment, bill=b, amount_fen=b.outstanding_fen) for b in open_bills]
    )
    order = provider.create_order(
        out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen, subject=_("物业费用")
    )
    audit.record(Action.CREATE, actor=actor, obj=payment, detail={"bills": [b.pk for b in open_bills]})
    return payment, order


def _apply_payment(payment: Payment, *, trade_no: str) -> None:
    """Mark a locked pending payment paid; allocations are capped at what each bill still owes and
    any excess (a bill settled meanwhile at the counter) goes back to the payer."""
    allocations = list(payment.allocations.select_related(None).order_by("pk"))
    bills = {b.pk: b for b in _lock_bills([a.bill for a in allocations])}
    excess = 0
    for a in allocations:
        owed = max(bills[a.bill_id].outstanding_fen, 0)
        if a.amount_fen > owed:
            excess += a.amount_fen - owed
            a.amount_fen = owed
            a.save(update_fields=["amount_fen"])
    payment.status = Payment.Status.PAID
    payment.paid_at = timezone.now()
    payment.provider_trade_no = trade_no
    payment.excess_fen = excess
    payment.receipt_no = _receipt_no(payment)
    payment.save()
    if excess and payment.provider:
        get_provider(payment.provider).refund(
            out_trade_no=payment.out_trade_no, refund_no=f"X{payment.out_trade_no}", amount_fen=excess
        )
    _bills_refresh(bills)


def payment_notify_apply(*, provider_name: str, payload: dict) -> str:
    """Apply a provider notification once. Returns "applied", "duplicate" (this notification was seen
    before), "already_paid" (another notification paid the order) or "closed". A bad signature is a
    ``ValidationFailed``; an unknown order a ``NotFound``."""
    try:
        provider = get_provider(provider_name)
        note = provider.verify_notification(payload)
    except (InvalidNotification, LookupError) as exc:
        raise ValidationFailed(_("通知签名无效"), code="bad_signature") from exc
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = PaymentNotification.objects.create(
                    provider=provider.name,
                    notification_id=note.notification_id,
                    out_trade_no=note.out_trade_no,
                    payload={
                        k: payload[k]
                        for k in ("notification_id", "out_trade_no", "trade_no", "amount_fen", "status")
                    },
                )
        except IntegrityError:
            return "duplicate"
        payment = (
            Payment.objects.select_for_update()
            .filter(out_trade_no=note.out_trade_no, provider=provider.name)
            .first()
        )
        if payment is None:
            raise NotFound(_("订单不存在"))
        if note.amount_fen != payment.amount_fen:
            raise ValidationFailed(_("通知金额与订单金额不符"), code="amount_mismatch")
        if payment.status == Payment.Status.PAID:
            outcome = "already_paid"
        elif note.status == "CLOSED":
            payment.status = Payment.Status.CLOSED
            payment.save(update_fields=["status", "updated_at"])
            outcome = "closed"
        else:
            _apply_payment(payment, trade_no=note.trade_no)
            outcome = "applied"
            audit.record(
                Action.UPDATE,
                actor_label=f"provider:{provider.name}",
                obj=payment,
                detail={
                    "paid": payment.amount_fen - payment.excess_fen,
                    "notification": note.notification_id,
                },
            )
        row.outcome = outcome
        row.save(update_fields=["outcome"])
    return outcome


@transaction.atomic
def payment_record_counter(
    *, actor: Actor, bills: list[Bill], amount_fen: int, channel: str, note: str = ""
) -> Payment:
    """Cash or bank transfer received at the counter, applied to ``bills`` oldest first."""
    actor.require(Perm.BILLING_MANAGE, write=True)
    if channel not in (Channel.CASH, Channel.TRANSFER):
        raise ValidationFailed(fields={"channel": [_("只能是 cash 或 transfer")]})
    amount_fen = _fen(amount_fen, field="amount_fen")
    note = _text(note, field="note", max_length=200, required=False)
    locked = _lock_bills(bills)
    room = _one_room(locked)
    _check_path(actor, _payer_path(locked, room))
    open_bills = sorted((b for b in locked if b.outstanding_fen > 0), key=lambda b: (b.due_date, b.pk))
    owed = sum(b.outstanding_fen for b in open_bills)
    if amount_fen > owed:
        raise Conflict(_("收款金额超过所选账单的未缴金额（%(owed)s 分）") % {"owed": owed})
    payment = Payment.objects.create(
        estate_id=locked[0].estate_id,
        room=room,
        amount_fen=amount_fen,
        channel=channel,
        out_trade_no=_token("C"),
        status=Payment.Status.PAID,
        paid_at=timezone.now(),
        note=note,
        created_by=actor.user,
    )
    payment.receipt_no = _receipt_no(payment)
    payment.save(update_fields=["receipt_no"])
    left, allocations = amount_fen, []
    for b in open_bills:
        if left <= 0:
            break
        part = min(left, b.outstanding_fen)
        allocations.append(PaymentAllocation(payment=payment, bill=b, amount_fen=part))
        left -= part
    PaymentAllocation.objects.bulk_create(allocations)
    _bills_refresh([a.bill_id for a in allocations])
    audit.record(
        Action.CREATE, actor=actor, obj=payment, detail={"channel": channel, "amount_fen": amount_fen}
    )
    return payment


# --- refunds -----------------------------------------------------------------------------------


@transaction.atomic
def refund_request(*, actor: Actor, payment: Payment, amount_fen: int, reason: str) -> Refund:
    """Ask to refund part of a paid payment; split over its bills, latest allocation first."""
    actor.require(Perm.BILLING_MANAGE, write=True)
    payment = Payment.objects.select_for_update().select_related("estate").get(pk=payment.pk)
    _check_path(actor, payment.estate.path)
    amount_fen = _fen(amount_fen, field="amount_fen")
    reason = _text(reason, field="reason", max_length=300)
    if payment.status != Payment.Status.PAID:
        raise Conflict(_("只能退已支付的款项"))
    taken = defaultdict(int)
    for bill_id, s in (
        RefundLine.objects.filter(refund__payment=payment)
        .exclude(refund__status=ApprovalStatus.REJECTED)
        .values_list("bill_id")
        .annotate(s=Sum("amount_fen"))
    ):
        taken[bill_id] = s
    allocations = list(payment.allocations.order_by("-pk"))
    refundable = sum(a.amount_fen - taken[a.bill_id] for a in allocations)
    if amount_fen > refundable:
        raise Conflict(_("退款金额超过可退金额（%(n)s 分）") % {"n": refundable})
    refund = Refund.objects.create(
        estate_id=payment.estate_id,
        payment=payment,
        amount_fen=amount_fen,
        reason=reason,
        refund_no=_token("R"),
        requested_by=actor.user,
    )
    left, lines = amount_fen, []
    for a in allocations:
        part = min(left, a.amount_fen - taken[a.bill_id])
        if part > 0:
            lines.append(RefundLine(refund=refund, bill_id=a.bill_id, amount_fen=part))
            left -= part
        if left == 0:
            break
    RefundLine.objects.bulk_create(lines)
    audit.record(
        Action.CREATE, actor=actor, obj=refund, detail={"payment": payment.pk, "amount_fen": amount_fen}
    )
    return refund


@transaction.atomic
def refund_approve(*, actor: Actor, refund: Refund) -> Refund:
    refund = Refund.objects.select_for_update().select_related("estate", "payment").get(pk=refund.pk)
    _decide(actor, refund)
    bill_ids = list(refund.lines.values_list("bill_id", flat=True))
    _lock_bills(Bill.objects.filter(pk__in=bill_ids))
    if refund.payment.channel == Channel.ONLINE and refund.payment.provider:
        refund.provider_refund_no = get_provider(refund.payment.provider).refund(
            out_trade_no=refund.payment.out_trade_no, refund_no=refund.refund_no, amount_fen=refund.amount_fen
        )
    refund.status = ApprovalStatus.APPROVED
    refund.decided_by, refund.decided_at = actor.user, timezone.now()
    refund.save()
    _bills_refresh(bill_ids)
    audit.record(Action.UPDATE, actor=actor, obj=refund, detail={"decision": "approved"})
    return refund


@transaction.atomic
def refund_reject(*, actor: Actor, refund: Refund) -> Refund:
    refund = Refund.objects.select_for_update().select_related("estate").get(pk=refund.pk)
    _decide(actor, refund)
    refund.status = ApprovalStatus.REJECTED
    refund.decided_by, refund.decided_at = actor.user, timezone.now()
    refund.save()
    audit.record(Action.UPDATE, actor=actor, obj=refund, detail={"decision": "rejected"})
    return refund


# --- reminders ---------------------------------------------------------------------------------


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


# --- one-off charges (work orders, parking) ---------------------------------------------------

CHARGE_KINDS = (FeeKind.CHARGE, FeeKind.PARKING)


def _require_charge(actor: Actor, kind: str, *, collect: bool = False) -> None:
    """Who may charge: billing staff always; work-order staff for service charges; parking managers for
    parking charges to a room (permits); booth staff for collecting parking fees (``collect``)."""
    if kind not in CHARGE_KINDS:
        raise ValidationFailed(fields={"kind": [_("无效的收费类型")]})
    allowed = actor.has(Perm.BILLING_MANAGE)
    if kind == FeeKind.CHARGE:
        allowed = allowed or actor.has(Perm.WORKORDERS_MANAGE) or actor.has(Perm.WORKORDERS_WORK)
    else:
        allowed = allowed or actor.has(Perm.PARKING_COLLECT if collect else Perm.PARKING_MANAGE)
    if not allowed:
        raise PermissionDenied()
    if actor.read_only:
        raise PermissionDenied(_("该令牌为只读令牌"))


def _existing_charge(source_type: str, source_id: str, *, room_id, amount_fen: int) -> Bill | None:
    existing = Bill.objects.filter(source_type=source_type, source_id=source_id).first()
    if existing is not None and (existing.room_id != room_id or existing.amount_fen != amount_fen):
        raise Conflict(_("该来源已生成不同的费用"))
    return existing


@transaction.atomic
def charge_create(
    *,
    actor: Actor,
    room: Room,
    amount_fen: int,
    title: str,
    source_type: str,
    source_id: str,
    kind: str = FeeKind.CHARGE,
    period: str = "",
    due_date: date | None = None,
) -> Bill:
    """A one-off bill for a room (private repair parts and labour, a parking permit term, ...),
    idempotent per (source_type, source_id): asking again returns the bill created the first time.
    ``period`` (a month, default this month) and ``due_date`` (default in 15 days) are optional."""
    _require_charge(actor, kind)
    _check_path(actor, room.path)
    amount_fen = _fen(amount_fen, field="amount_fen")
    title = _text(title, field="title", max_length=200)
    source_type = _text(source_type, field="source_type", max_length=32)
    source_id = _text(str(source_id), field="source_id", max_length=64)
    today = timezone.localdate()
    period = _month(period) if period else month_of(today)
    due_date = due_date or today + timedelta(days=15)
    existing = _existing_charge(source_type, source_id, room_id=room.pk, amount_fen=amount_fen)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            bill = Bill.objects.create(
                estate_id=room.estate_id,
                room=room,
                household_id=_latest_households([room.pk]).get(room.pk),
                kind=kind,
                title=title,
                period=period,
                quantity=Decimal(1),
                unit_price=Decimal(amount_fen) / 100,
                amount_fen=amount_fen,
                due_date=due_date,
                source_type=source_type,
                source_id=source_id,
            )
    except IntegrityError:  # a concurrent caller created it first
        return Bill.objects.get(source_type=source_type, source_id=source_id)
    audit.record(Action.CREATE, actor=actor, obj=bill, detail={"source": f"{source_type}:{source_id}"})
    return bill


@transaction.atomic
def charge_create_walk_in(
    *, actor: Actor, estate: Region, amount_fen: int, title: str, source_type: str, source_id: str
) -> Bill:
    """A parking fee of a vehicle with no room to bill (a visitor's or a passing car), created when
    the money is collected; idempotent per (source_type, source_id). Due today, billed this month."""
    _require_charge(actor, FeeKind.PARKING, collect=True)
    _check_estate(actor, estate)
    amount_fen = _fen(amount_fen, field="amount_fen")
    title = _text(title, field="title", max_length=200)
    source_type = _text(source_type, field="source_type", max_length=32)
    source_id = _text(str(source_id), field="source_id", max_length=64)
    existing = _existing_charge(source_type, source_id, room_id=None, amount_fen=amount_fen)
    if existing is not None:
        return existing
    today = timezone.localdate()
    try:
        with transaction.atomic():
            bill = Bill.objects.create(
                estate=estate,
                room=None,
                kind=FeeKind.PARKING,
                title=title,
                period=month_of(today),
                quantity=Decimal(1),
                unit_price=Decimal(amount_fen) / 100,
                amount_fen=amount_fen,
                due_date=today,
                source_type=source_type,
                source_id=source_id,
            )
    except IntegrityError:
        return Bill.objects.get(source_type=source_type, source_id=source_id)
    audit.record(Action.CREATE, actor=actor, obj=bill, detail={"source": f"{source_type}:{source_id}"})
    return bill


@transaction.atomic
def charge_pay_counter(*, actor: Actor, bill: Bill, channel: str, note: str = "") -> Payment:
    """Collect the whole open amount of one charge in cash or by transfer (the parking booth, or the
    billing counter); the receipt number is issued at once."""
    _require_charge(actor, bill.kind, collect=True)
    if channel not in (Channel.CASH, Channel.TRANSFER):
        raise ValidationFailed(fields={"channel": [_("只能是 cash 或 transfer")]})
    note = _text(note, field="note", max_length=200, required=False)
    bill = _lock_bills([bill])[0]
    _check_path(actor, _payer_path([bill], bill.room))
    amount = bill.outstanding_fen
    if amount <= 0:
        raise Conflict(_("所选账单已结清"))
    payment = Payment.objects.create(
        estate_id=bill.estate_id,
        room_id=bill.room_id,
        amount_fen=amount,
        channel=channel,
        out_trade_no=_token("C"),
        status=Payment.Status.PAID,
        paid_at=timezone.now(),
        note=note,
        created_by=actor.user,
    )
    payment.receipt_no = _receipt_no(payment)
    payment.save(update_fields=["receipt_no"])
    PaymentAllocation.objects.create(payment=payment, bill=bill, amount_fen=amount)
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=payment,
        detail={"channel": channel, "amount_fen": amount, "bill": bill.pk},
    )
    _bills_refresh([bill.pk])
    return payment


@transaction.atomic
def charge_pay_online(*, actor: Actor, bill: Bill):
    """An online payment order for the open amount of one charge (the payer scans the provider's code
    at the booth); the provider's notification pays it through ``payment_notify_apply``.
    Returns (payment, provider order)."""
    _require_charge(actor, bill.kind, collect=True)
    bill = _lock_bills([bill])[0]
    _check_path(actor, _payer_path([bill], bill.room))
    if bill.outstanding_fen <= 0:
        raise Conflict(_("所选账单已结清"))
    provider = get_provider()
    payment = Payment.objects.create(
        estate_id=bill.estate_id,
        room_id=bill.room_id,
        amount_fen=bill.outstanding_fen,
        channel=Channel.ONLINE,
        provider=provider.name,
        out_trade_no=_token("P"),
        created_by=actor.user,
    )
    PaymentAllocation.objects.create(payment=payment, bill=bill, amount_fen=bill.outstanding_fen)
    order = provider.create_order(
        out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen, subject=bill.title[:40]
    )
    audit.record(Action.CREATE, actor=actor, obj=payment, detail={"bills": [bill.pk]})
    return payment, order
