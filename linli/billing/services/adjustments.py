"""Adjustments (discounts and waivers) and refunds: requested by one person, approved or rejected by
another with the approval permission; an approved one becomes a ledger row of its bills."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.models import (
    Adjustment,
    ApprovalStatus,
    Bill,
    Channel,
    Payment,
    Refund,
    RefundLine,
)
from linli.billing.providers import get_provider
from linli.billing.services.common import _bills_refresh, _fen, _lock_bills, _token
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm


@transaction.atomic
def adjustment_request(*, actor: Actor, bill: Bill, kind: str, amount_fen: int, reason: str) -> Adjustment:
    actor.require(Perm.BILLING_MANAGE, write=True)
    bill = _lock_bills([bill])[0]
    actor.require_path(bill.estate.path)
    if kind not in Adjustment.Kind.values:
        raise ValidationFailed(fields={"kind": [_("只能是 discount 或 waiver")]})
    amount_fen = _fen(amount_fen, field="amount_fen")
    reason = clean_text(reason, field="reason", max_length=300, required=True)
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
    actor.require_path(obj.estate.path)
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
    adjustment.decision_note = clean_text(note, field="note", max_length=300)
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
    adjustment.decision_note = clean_text(note, field="note", max_length=300)
    adjustment.save()
    audit.record(Action.UPDATE, actor=actor, obj=adjustment, detail={"decision": "rejected"})
    return adjustment


@transaction.atomic
def refund_request(*, actor: Actor, payment: Payment, amount_fen: int, reason: str) -> Refund:
    """Ask to refund part of a paid payment; split over its bills, latest allocation first."""
    actor.require(Perm.BILLING_MANAGE, write=True)
    payment = Payment.objects.select_for_update().select_related("estate").get(pk=payment.pk)
    actor.require_path(payment.estate.path)
    amount_fen = _fen(amount_fen, field="amount_fen")
    reason = clean_text(reason, field="reason", max_length=300, required=True)
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
