"""Fee rules: versions, one active per estate (rules are never edited)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.parking.models import (
    ParkingFeeRule,
)
from linli.parking.services.common import (
    FEE_LIMIT_FEN,
    MINUTES_LIMIT,
    _int,
)
from linli.places.models import Region
from linli.places.selectors import require_estate

RULE_FIELDS = (
    "free_minutes",
    "first_period_minutes",
    "first_period_fen",
    "next_period_minutes",
    "next_period_fen",
    "daily_cap_fen",
    "night_fen",
    "visitor_free_minutes",
    "monthly_permit_fen",
    "yearly_permit_fen",
)


@transaction.atomic
def fee_rule_create(
    *,
    actor: Actor,
    estate: Region,
    name: str,
    free_minutes: int = 15,
    first_period_minutes: int = 60,
    first_period_fen: int = 500,
    next_period_minutes: int = 60,
    next_period_fen: int = 200,
    daily_cap_fen: int = 3000,
    night_start=None,
    night_end=None,
    night_fen: int = 0,
    visitor_free_minutes: int = 120,
    monthly_permit_fen: int = 30000,
    yearly_permit_fen: int = 300000,
    activate: bool = True,
) -> ParkingFeeRule:
    """A new version of the estate's fee rule (rules are never edited), active at once by default."""
    require_estate(actor=actor, estate=estate, perm=Perm.PARKING_MANAGE, write=True)
    values = {
        "free_minutes": _int(free_minutes, field="free_minutes", low=0, high=MINUTES_LIMIT),
        "first_period_minutes": _int(first_period_minutes, field="first_period_minutes", low=1, high=1440),
        "first_period_fen": _int(first_period_fen, field="first_period_fen", low=0, high=FEE_LIMIT_FEN),
        "next_period_minutes": _int(next_period_minutes, field="next_period_minutes", low=1, high=1440),
        "next_period_fen": _int(next_period_fen, field="next_period_fen", low=0, high=FEE_LIMIT_FEN),
        "daily_cap_fen": _int(daily_cap_fen, field="daily_cap_fen", low=0, high=FEE_LIMIT_FEN),
        "night_fen": _int(night_fen, field="night_fen", low=0, high=FEE_LIMIT_FEN),
        "visitor_free_minutes": _int(
            visitor_free_minutes, field="visitor_free_minutes", low=0, high=MINUTES_LIMIT
        ),
        "monthly_permit_fen": _int(monthly_permit_fen, field="monthly_permit_fen", low=0, high=FEE_LIMIT_FEN),
        "yearly_permit_fen": _int(yearly_permit_fen, field="yearly_permit_fen", low=0, high=FEE_LIMIT_FEN),
    }
    if (night_start is None) != (night_end is None):
        raise ValidationFailed(fields={"night_end": [_("夜间时段须同时填写开始和结束时间")]})
    if night_start is not None and night_start == night_end:
        raise ValidationFailed(fields={"night_end": [_("夜间时段的开始和结束不能相同")]})
    if night_start is None and values["night_fen"]:
        raise ValidationFailed(fields={"night_fen": [_("未设夜间时段时夜间收费须为 0")]})
    rule = ParkingFeeRule.objects.create(
        estate=estate,
        name=clean_text(name, field="name", max_length=100, required=True),
        night_start=night_start,
        night_end=night_end,
        created_by=actor.user,
        **values,
    )
    audit.record(Action.CREATE, actor=actor, obj=rule, detail={k: values[k] for k in RULE_FIELDS})
    if activate:
        _activate(actor, rule)
    return rule


def _activate(actor: Actor, rule: ParkingFeeRule) -> None:
    # Lock the estate's rules in a fixed order, so two activations cannot both win.
    list(ParkingFeeRule.objects.select_for_update().filter(estate_id=rule.estate_id).order_by("pk"))
    ParkingFeeRule.objects.filter(estate_id=rule.estate_id, active=True).exclude(pk=rule.pk).update(
        active=False, updated_at=timezone.now()
    )
    rule.active, rule.activated_at = True, timezone.now()
    rule.save(update_fields=["active", "activated_at", "updated_at"])
    audit.record(Action.UPDATE, actor=actor, obj=rule, detail={"activated": True})


@transaction.atomic
def fee_rule_activate(*, actor: Actor, rule: ParkingFeeRule) -> ParkingFeeRule:
    require_estate(actor=actor, estate=rule.estate, perm=Perm.PARKING_MANAGE, write=True)
    if not rule.active:
        _activate(actor, rule)
    return rule
