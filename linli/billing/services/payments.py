"""Payments: online through a payment provider (created here, applied when the provider's signed
notification arrives, exactly once) and at the counter; each paid payment gets a receipt number and
is allocated to its bills."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.models import (
    Bill,
    Channel,
    Payment,
    PaymentAllocation,
    PaymentNotification,
)
from linli.billing.providers import InvalidNotification, get_provider
from linli.billing.services.common import _bills_refresh, _fen, _lock_bills, _token
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, NotFound, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Room


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
        actor.require_path(_payer_path(locked, room))
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
    note = clean_text(note, field="note", max_length=200)
    locked = _lock_bills(bills)
    room = _one_room(locked)
    actor.require_path(_payer_path(locked, room))
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
