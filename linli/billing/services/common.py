"""Constants and helpers shared by the billing services: scope checks, input parsing (text, fen,
decimals, periods), and ``_bills_refresh``, which recomputes a bill's cached ``paid_fen``,
``adjusted_fen`` and ``status`` from its ledger rows after every ledger change."""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.events import BillLedgerChanged
from linli.billing.models import (
    Adjustment,
    ApprovalStatus,
    Bill,
    BillStatus,
    Payment,
    PaymentAllocation,
    RefundLine,
)
from linli.billing.money import parse_period
from linli.core import events
from linli.core.errors import ValidationFailed

log = logging.getLogger("linli.billing")

BATCH_SIZE = 2000
MAX_FEN = 10**12  # ten billion yuan: anything above is a typo


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
    by_source: dict[str, list[int]] = defaultdict(list)
    for bill in changed:
        if bill.source_type:
            by_source[bill.source_type].append(bill.pk)
    for source_type, ids in sorted(by_source.items()):
        events.publish(BillLedgerChanged(bill_ids=tuple(ids), source_type=source_type))


def _status_of(bill: Bill) -> str:
    outstanding = bill.outstanding_fen
    if outstanding > 0:
        return BillStatus.PARTIAL if (bill.paid_fen or bill.adjusted_fen) else BillStatus.UNPAID
    return BillStatus.PAID if bill.paid_fen > 0 else BillStatus.WAIVED


def _lock_bills(bills) -> list[Bill]:
    ids = sorted({b.pk for b in bills})
    return list(Bill.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
