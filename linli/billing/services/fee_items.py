"""Fee items: what an estate charges (area-based, per parking space, metered, fixed), with prices
within bounds and every change audited."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from linli.billing.models import (
    FeeItem,
    FeeKind,
)
from linli.billing.services.common import _decimal, _month
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Region
from linli.places.selectors import require_estate

PRICE_MAX = Decimal("100000")
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
        out["name"] = clean_text(values["name"], field="name", max_length=100, required=True)
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
    require_estate(actor=actor, estate=estate, perm=Perm.BILLING_MANAGE, write=True)
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
    require_estate(actor=actor, estate=fee_item.estate, perm=Perm.BILLING_MANAGE, write=True)
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
