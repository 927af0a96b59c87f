"""One-off charges that other apps raise (work order materials, parking fees): a bill per charge,
idempotent per source, for a room or as a walk-in charge, paid at the counter or online."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing.models import (
    Bill,
    Channel,
    FeeKind,
    Payment,
    PaymentAllocation,
)
from linli.billing.money import month_of
from linli.billing.providers import get_provider
from linli.billing.services.common import (
    _bills_refresh,
    _fen,
    _latest_households,
    _lock_bills,
    _month,
    _token,
)
from linli.billing.services.payments import _payer_path, _receipt_no
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Region, Room
from linli.places.selectors import require_estate

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
    actor.require_path(room.path)
    amount_fen = _fen(amount_fen, field="amount_fen")
    title = clean_text(title, field="title", max_length=200, required=True)
    source_type = clean_text(source_type, field="source_type", max_length=32, required=True)
    source_id = clean_text(str(source_id), field="source_id", max_length=64, required=True)
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
    require_estate(actor=actor, estate=estate)
    amount_fen = _fen(amount_fen, field="amount_fen")
    title = clean_text(title, field="title", max_length=200, required=True)
    source_type = clean_text(source_type, field="source_type", max_length=32, required=True)
    source_id = clean_text(str(source_id), field="source_id", max_length=64, required=True)
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
    note = clean_text(note, field="note", max_length=200)
    bill = _lock_bills([bill])[0]
    actor.require_path(_payer_path([bill], bill.room))
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
    actor.require_path(_payer_path([bill], bill.room))
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
