"""Charges on a work order (materials and labour of a private repair), billed to the room through
billing when the order is finished."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.workorders.models import (
    OPEN_STATES,
    Charge,
    EventKind,
    Kind,
    WorkOrder,
)
from linli.workorders.services.common import (
    ACTION_LABELS,
    _check_staff,
    _check_visible,
    _clean_text,
    _event,
    _lock,
)

MAX_CHARGE_FEN = 10_000_000  # 100,000 元 per line: anything above is a typing error


@transaction.atomic
def workorder_add_charge(
    *, actor: Actor, order: WorkOrder, kind: str, description: str, unit_price_fen: int, quantity: int = 1
) -> Charge:
    """A parts or labour line on a private repair (staff, or the assigned technician), before completion."""
    order = _lock(order)
    _check_visible(actor, order)
    if order.assignee_id == actor.user.pk and actor.has(Perm.WORKORDERS_WORK):
        _check_staff(actor, order, Perm.WORKORDERS_WORK)
    else:
        _check_staff(actor, order, Perm.WORKORDERS_MANAGE)
    if order.kind != Kind.REPAIR_PRIVATE or order.room_id is None:
        raise Conflict(_("只有户内维修工单可以收取费用"))
    if order.state not in OPEN_STATES or order.billed_bill_id is not None:
        raise Conflict(
            _("工单当前状态为「%(state)s」，不能%(action)s")
            % {"state": order.get_state_display(), "action": ACTION_LABELS["charge"]}
        )
    if kind not in Charge.LineKind.values:
        raise ValidationFailed(fields={"kind": [_("无效的选项")]})
    description = _clean_text(description, field="description", max_length=100, required=True)
    if not isinstance(quantity, int) or not 1 <= quantity <= 1000:
        raise ValidationFailed(fields={"quantity": [_("数量为 1 至 1000")]})
    if not isinstance(unit_price_fen, int) or not 1 <= unit_price_fen <= MAX_CHARGE_FEN:
        raise ValidationFailed(fields={"unit_price_fen": [_("单价应在 0.01 至 100000 元之间")]})
    amount = unit_price_fen * quantity
    if amount > MAX_CHARGE_FEN:
        raise ValidationFailed(fields={"quantity": [_("单项金额不能超过 100000 元")]})
    charge = Charge.objects.create(
        order=order,
        kind=kind,
        description=description,
        quantity=quantity,
        unit_price_fen=unit_price_fen,
        amount_fen=amount,
        created_by=actor.user,
    )
    _event(
        order,
        kind=EventKind.CHARGE,
        actor=actor,
        to_state=order.state,
        note=f"{charge.get_kind_display()} {description} ×{quantity} = {amount / 100:.2f} 元",
    )
    audit.record(Action.CREATE, actor=actor, obj=charge, estate_id=order.estate_id)
    return charge


def _bill_charges(order: WorkOrder, *, actor: Actor) -> None:
    total = sum(c.amount_fen for c in order.charges.all())
    if not total or order.billed_bill_id is not None:
        return
    from linli.billing.services import charge_create

    bill = charge_create(
        actor=actor,
        room=order.room,
        amount_fen=total,
        title=_("维修费用：%(title)s") % {"title": order.title},
        source_type="workorder",
        source_id=str(order.pk),
    )
    order.billed_bill_id = bill.pk
    order.save(update_fields=["billed_bill_id", "updated_at"])
    _event(order, kind=EventKind.BILLED, actor=actor, to_state=order.state, note=f"{total / 100:.2f} 元")
