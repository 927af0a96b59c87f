"""Reads for billing. Staff need ``billing.view`` and see their estates only; residents see the bills
of the rooms they currently occupy (``my_room_ids``) and nothing else."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from linli.billing.models import (
    OPEN_STATUSES,
    Adjustment,
    ApprovalStatus,
    ArrearsReminder,
    Bill,
    BillRun,
    BillStatus,
    FeeItem,
    MeterReading,
    Payment,
    PaymentAllocation,
    Refund,
    RefundLine,
)
from linli.billing.money import parse_period, periods_covering
from linli.core.errors import NotFound, ValidationFailed
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.places.models import Region, Room
from linli.places.selectors import estate_get

BILL_ORDERING = {
    "period": "period",
    "due_date": "due_date",
    "amount": "amount_fen",
    "room": "room__path",
    "status": "status",
    "id": "pk",
}
PAYMENT_ORDERING = {"paid_at": "paid_at", "created": "created_at", "amount": "amount_fen", "id": "pk"}
OUTSTANDING = F("amount_fen") + F("late_fee_fen") - F("paid_fen") - F("adjusted_fen")


def _get(actor: Actor, qs: QuerySet, pk: int, perm: str = Perm.BILLING_VIEW):
    return get_in_scope(qs, actor=actor, path_field="estate__path", pk=pk, perm=perm)


def room_get(*, actor: Actor, pk: int) -> Room:
    return get_in_scope(Room.objects.select_related("estate"), actor=actor, path_field="path", pk=pk)


# --- fee items and readings --------------------------------------------------------------------


def fee_item_list(
    *, actor: Actor, estate_id: int | None = None, kind: str | None = None
) -> QuerySet[FeeItem]:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(FeeItem.objects.select_related("estate"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("estate__name", "kind", "name", "pk")


def fee_item_get(*, actor: Actor, pk: int) -> FeeItem:
    return _get(actor, FeeItem.objects.select_related("estate"), pk)


def meter_reading_list(
    *, actor: Actor, estate_id: int | None = None, room_id: int | None = None, period: str | None = None
) -> QuerySet[MeterReading]:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(MeterReading.objects.select_related("room"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    if period:
        qs = qs.filter(period=period)
    return qs.order_by("-period", "room__path", "room__number", "kind", "pk")


# --- bill runs ---------------------------------------------------------------------------------


def bill_run_list(*, actor: Actor, estate_id: int | None = None) -> QuerySet[BillRun]:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(BillRun.objects.select_related("estate"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    return qs.order_by("-created_at", "-pk")


def bill_run_get(*, actor: Actor, pk: int) -> BillRun:
    return _get(actor, BillRun.objects.select_related("estate"), pk)


# --- bills -------------------------------------------------------------------------------------


def _bill_qs() -> QuerySet[Bill]:
    return Bill.objects.select_related("room", "estate", "fee_item")


def bill_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    building_id: int | None = None,
    room_id: int | None = None,
    period: str | None = None,
    status: str | None = None,
    ordering: str | None = None,
) -> QuerySet[Bill]:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(_bill_qs(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if building_id is not None:
        qs = qs.filter(room__building_id=building_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    if period:
        qs = qs.filter(period=period)
    if status:
        if status not in BillStatus.values:
            raise ValidationFailed(fields={"status": [", ".join(BillStatus.values)]})
        qs = qs.filter(status=status)
    return apply_ordering(qs, ordering, BILL_ORDERING, "-period")


def bill_get(*, actor: Actor, pk: int) -> Bill:
    return _get(actor, _bill_qs(), pk)


def bills_for_write(*, actor: Actor, ids: list[int]) -> list[Bill]:
    """Bills by id for a staff write; any id outside the scope is a 404."""
    ids = list(dict.fromkeys(ids))
    bills = list(actor.scoped(_bill_qs(), "estate__path").filter(pk__in=ids))
    if len(bills) != len(ids) or not ids:
        raise NotFound()
    actor.require(Perm.BILLING_VIEW)
    return bills


def bill_ledger(*, bill: Bill) -> dict:
    """The ledger rows of one bill (for its detail page)."""
    return {
        "allocations": list(
            PaymentAllocation.objects.filter(bill=bill)
            .select_related("payment")
            .order_by("payment__paid_at", "pk")
        ),
        "adjustments": list(Adjustment.objects.filter(bill=bill).order_by("pk")),
        "refund_lines": list(RefundLine.objects.filter(bill=bill).select_related("refund").order_by("pk")),
    }


# --- the ledger --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerTotals:
    billed_fen: int  # amounts
    late_fee_fen: int
    paid_fen: int  # allocations of paid payments
    adjusted_fen: int  # approved discounts and waivers
    refunded_fen: int  # approved refund lines
    arrears_fen: int  # = billed + late fee − paid − adjusted + refunded
    min_bill_arrears_fen: int  # the smallest arrears of any one bill (≥ 0 when the ledger is sound)
    cached_mismatches: int  # bills whose cached paid/adjusted differ from the ledger rows


def ledger_totals(scope: QuerySet[Bill]) -> LedgerTotals:
    """Sum the ledger of the bills in ``scope`` from the ledger rows themselves (not the cached
    columns): arrears = bills (amount + late fee) − payments − discounts/waivers + refunds."""
    bill_ids = list(scope.values_list("pk", flat=True))
    bills = {
        pk: (amount, late, paid, adjusted)
        for pk, amount, late, paid, adjusted in Bill.objects.filter(pk__in=bill_ids).values_list(
            "pk", "amount_fen", "late_fee_fen", "paid_fen", "adjusted_fen"
        )
    }
    paid: dict[int, int] = defaultdict(int)
    for bill_id, s in (
        PaymentAllocation.objects.filter(bill_id__in=bill_ids, payment__status=Payment.Status.PAID)
        .values_list("bill_id")
        .annotate(s=Sum("amount_fen"))
    ):
        paid[bill_id] = s
    adjusted: dict[int, int] = defaultdict(int)
    for bill_id, s in (
        Adjustment.objects.filter(bill_id__in=bill_ids, status=ApprovalStatus.APPROVED)
        .values_list("bill_id")
        .annotate(s=Sum("amount_fen"))
    ):
        adjusted[bill_id] = s
    refunded: dict[int, int] = defaultdict(int)
    for bill_id, s in (
        RefundLine.objects.filter(bill_id__in=bill_ids, refund__status=ApprovalStatus.APPROVED)
        .values_list("bill_id")
        .annotate(s=Sum("amount_fen"))
    ):
        refunded[bill_id] = s
    each = []
    mismatches = 0
    for pk, (amount, late, cached_paid, cached_adjusted) in bills.items():
        each.append(amount + late - paid[pk] - adjusted[pk] + refunded[pk])
        if cached_paid != paid[pk] - refunded[pk] or cached_adjusted != adjusted[pk]:
            mismatches += 1
    billed = sum(v[0] for v in bills.values())
    late = sum(v[1] for v in bills.values())
    p, a, r = sum(paid.values()), sum(adjusted.values()), sum(refunded.values())
    return LedgerTotals(
        billed_fen=billed,
        late_fee_fen=late,
        paid_fen=p,
        adjusted_fen=a,
        refunded_fen=r,
        arrears_fen=billed + late - p - a + r,
        min_bill_arrears_fen=min(each) if each else 0,
        cached_mismatches=mismatches,
    )


def estate_ledger(*, actor: Actor, estate_id: int) -> LedgerTotals:
    actor.require(Perm.BILLING_VIEW)
    estate = estate_get(actor=actor, pk=estate_id)
    return ledger_totals(Bill.objects.filter(estate=estate))


# --- arrears, ageing and collection rate -------------------------------------------------------

BUCKETS = (("d0_30", 0, 30), ("d31_90", 31, 90), ("d91_180", 91, 180), ("d180_plus", 181, None))


def arrears_list(
    *, actor: Actor, estate_id: int | None = None, building_id: int | None = None, today: date | None = None
) -> QuerySet:
    """One row per room with open bills: total arrears and its ageing by days past the due date
    (0–30 includes bills not yet due), largest first."""
    actor.require(Perm.BILLING_VIEW)
    today = today or date.today()
    # Walk-in charges (no room, see ``Bill``) are nobody's arrears.
    qs = actor.scoped(Bill.objects.filter(status__in=OPEN_STATUSES, room__isnull=False), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if building_id is not None:
        qs = qs.filter(room__building_id=building_id)
    buckets = {}
    for key, low, high in BUCKETS:
        cond = Q(due_date__lte=today - timedelta(days=low)) if low else Q()
        if high is not None:
            cond &= Q(due_date__gte=today - timedelta(days=high))
        buckets[key] = Coalesce(
            Sum(Case(When(cond, then=OUTSTANDING), default=Value(0), output_field=IntegerField())), 0
        )
    return (
        qs.values("room_id", "room__standard_address", "room__number", "estate__name")
        .annotate(total_fen=Coalesce(Sum(OUTSTANDING), 0), **buckets)
        .filter(total_fen__gt=0)
        .order_by("-total_fen", "room_id")
    )


def arrears_ageing(*, actor: Actor, estate_id: int | None = None, today: date | None = None) -> dict:
    """Totals per ageing bucket over the rooms of ``arrears_list``."""
    totals = {key: 0 for key, _l, _h in BUCKETS}
    totals["total_fen"] = 0
    totals["rooms"] = 0
    for row in arrears_list(actor=actor, estate_id=estate_id, today=today):
        for key in totals:
            if key != "rooms":
                totals[key] += row[key]
        totals["rooms"] += 1
    return totals


def collection_rate(
    *,
    actor: Actor,
    estate_id: int | None = None,
    group_by: str = "period",
    period: str | None = None,
) -> list[dict]:
    """收缴率 per period (or per building of one period, or per estate): paid ÷ receivable for the
    bills of that period, where receivable = amount + late fee − approved discounts/waivers."""
    actor.require(Perm.BILLING_VIEW)
    if group_by not in ("period", "building", "estate"):
        raise ValidationFailed(fields={"group_by": ["period, building, estate"]})
    qs = actor.scoped(Bill.objects.all(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if period:
        if parse_period(period) is None:
            raise ValidationFailed(fields={"period": ["2026-10 / 2026-Q4"]})
        qs = qs.filter(period=period)
    keys = {
        "period": ("period",),
        "building": ("room__building_id", "room__building__name"),
        "estate": ("estate_id", "estate__name"),
    }[group_by]
    rows = (
        qs.values(*keys)
        .annotate(
            receivable_fen=Coalesce(Sum(F("amount_fen") + F("late_fee_fen") - F("adjusted_fen")), 0),
            paid_fen=Coalesce(Sum("paid_fen"), 0),
        )
        .order_by(*keys)
    )
    out = []
    for r in rows:
        receivable, paid = r["receivable_fen"], r["paid_fen"]
        if r[keys[0]] is None:  # walk-in charges (temporary parking) have no building
            key, label = "", _("无房屋（临时停车等）")
        else:
            key, label = str(r[keys[0]]), str(r[keys[-1]])
        out.append(
            {
                "key": key,
                "label": label,
                "receivable_fen": receivable,
                "paid_fen": paid,
                "rate": round(paid / receivable, 4) if receivable else 0.0,
            }
        )
    return out


# --- adjustments, payments, refunds ------------------------------------------------------------


def adjustment_list(*, actor: Actor, estate_id: int | None = None, status: str | None = None) -> QuerySet:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(
        Adjustment.objects.select_related("bill", "bill__room", "requested_by", "decided_by"), "estate__path"
    )
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if status:
        if status not in ApprovalStatus.values:
            raise ValidationFailed(fields={"status": [", ".join(ApprovalStatus.values)]})
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def adjustment_get(*, actor: Actor, pk: int) -> Adjustment:
    return _get(actor, Adjustment.objects.select_related("bill", "estate"), pk)


def payment_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    room_id: int | None = None,
    channel: str | None = None,
    ordering: str | None = None,
) -> QuerySet[Payment]:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(Payment.objects.select_related("room", "estate"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    if channel:
        qs = qs.filter(channel=channel)
    return apply_ordering(qs, ordering, PAYMENT_ORDERING, "-created")


def payment_get(*, actor: Actor, pk: int) -> Payment:
    return _get(actor, Payment.objects.select_related("room", "estate"), pk)


def refund_list(*, actor: Actor, estate_id: int | None = None, status: str | None = None) -> QuerySet:
    actor.require(Perm.BILLING_VIEW)
    qs = actor.scoped(Refund.objects.select_related("payment", "payment__room"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if status:
        if status not in ApprovalStatus.values:
            raise ValidationFailed(fields={"status": [", ".join(ApprovalStatus.values)]})
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def refund_get(*, actor: Actor, pk: int) -> Refund:
    return _get(actor, Refund.objects.select_related("payment", "estate"), pk)


def payment_receipt_lines(payment: Payment) -> list[PaymentAllocation]:
    return list(payment.allocations.select_related("bill").order_by("bill__period", "bill__pk"))


# --- residents ---------------------------------------------------------------------------------


def my_room_ids(actor: Actor) -> list[int]:
    """Rooms the signed-in resident currently occupies (any relation)."""
    from linli.people.models import Occupancy

    if not actor.is_resident:
        return []
    return list(
        Occupancy.objects.filter(person__user=actor.user, end_date__isnull=True)
        .values_list("room_id", flat=True)
        .distinct()
    )


def my_bills(*, actor: Actor, status: str | None = None) -> QuerySet[Bill]:
    """The resident's own bills, open ones first (oldest due first), then the rest newest first."""
    qs = _bill_qs().filter(room_id__in=my_room_ids(actor))
    if status:
        if status not in BillStatus.values:
            raise ValidationFailed(fields={"status": [", ".join(BillStatus.values)]})
        qs = qs.filter(status=status)
    return qs.annotate(
        open_first=Case(
            When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("open_first", "due_date", "pk")


def my_bill_get(*, actor: Actor, pk: int) -> Bill:
    bill = _bill_qs().filter(room_id__in=my_room_ids(actor), pk=pk).first()
    if bill is None:
        raise NotFound()
    return bill


def my_bills_for_payment(*, actor: Actor, ids: list[int]) -> list[Bill]:
    ids = list(dict.fromkeys(ids))
    bills = list(_bill_qs().filter(room_id__in=my_room_ids(actor), pk__in=ids))
    if len(bills) != len(ids) or not ids:
        raise NotFound()
    return bills


def my_totals(*, actor: Actor) -> dict:
    row = Bill.objects.filter(room_id__in=my_room_ids(actor), status__in=OPEN_STATUSES).aggregate(
        owed=Coalesce(Sum(OUTSTANDING), 0), n=Coalesce(Sum(Value(1)), 0)
    )
    return {"owed_fen": row["owed"], "open_count": row["n"]}


def my_payments(*, actor: Actor) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(room_id__in=my_room_ids(actor))
        .exclude(status=Payment.Status.CLOSED)
        .select_related("room", "estate")
        .order_by("-created_at", "-pk")
    )


def my_payment_get(*, actor: Actor, pk: int) -> Payment:
    payment = my_payments(actor=actor).filter(pk=pk).first()
    if payment is None:
        raise NotFound()
    return payment


def my_payment_by_trade_no(*, actor: Actor, out_trade_no: str) -> Payment:
    payment = my_payments(actor=actor).filter(out_trade_no=out_trade_no).first()
    if payment is None:
        raise NotFound()
    return payment


def my_reminders(*, actor: Actor) -> list[ArrearsReminder]:
    return list(ArrearsReminder.objects.filter(room_id__in=my_room_ids(actor)).order_by("-remind_date")[:3])


def recent_payments(*, actor: Actor, estate_id: int | None = None, limit: int = 10) -> list[Payment]:
    return list(
        payment_list(actor=actor, estate_id=estate_id)
        .filter(status=Payment.Status.PAID)
        .order_by("-paid_at", "-pk")[:limit]
    )


def meter_reading_sheet(*, actor: Actor, estate: Region, period: str, kind: str, rooms: list) -> list[dict]:
    """One row per room: the month's reading (if any), the latest earlier reading, and whether the month is
    already billed (then the reading is read-only). Three queries whatever the number of rooms."""
    ids = [r.pk for r in rooms]
    readings = meter_reading_list(actor=actor, estate_id=estate.pk).filter(kind=kind, room_id__in=ids)
    current = {m.room_id: m for m in readings.filter(period=period)}
    earlier = readings.filter(period__lt=period)
    latest = earlier.filter(room_id=OuterRef("room_id")).order_by("-period").values("period")[:1]
    previous = {m.room_id: m for m in earlier.filter(period=Subquery(latest))}
    covering = periods_covering(period)
    billed = set(
        bill_list(actor=actor, estate_id=estate.pk)
        .filter(kind=kind, period__in=covering, room_id__in=ids)
        .values_list("room_id", flat=True)
    )
    rows = []
    for room in rooms:
        cur, prev = current.get(room.pk), previous.get(room.pk)
        start = cur.previous if cur is not None else (prev.current if prev is not None else "")
        rows.append(
            {
                "room": room,
                "current": cur,
                "previous": prev,
                "billed": room.pk in billed,
                "form_previous": start,
                "form_current": cur.current if cur is not None else "",
                "errors": [],
            }
        )
    return rows
