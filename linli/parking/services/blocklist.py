"""The block list: plates refused entry."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.parking.models import (
    BlockedPlate,
)
from linli.parking.services.common import (
    _plate,
)
from linli.places.models import Region
from linli.places.selectors import require_estate


@transaction.atomic
def blocked_plate_add(
    *, actor: Actor, estate: Region, plate: str, reason: str, until: datetime | None = None
) -> BlockedPlate:
    require_estate(actor=actor, estate=estate, perm=Perm.PARKING_MANAGE, write=True)
    plate = _plate(plate)
    reason = clean_text(reason, field="reason", max_length=200, required=True)
    if until is not None and until <= timezone.now():
        raise ValidationFailed(fields={"until": [_("截止时间须晚于现在")]})
    if BlockedPlate.objects.filter(estate=estate, plate=plate, active=True).exists():
        raise Conflict(_("该车牌已在禁入名单中"))
    try:
        with transaction.atomic():
            row = BlockedPlate.objects.create(
                estate=estate, plate=plate, reason=reason, until=until, created_by=actor.user
            )
    except IntegrityError as exc:
        raise Conflict(_("该车牌已在禁入名单中")) from exc
    audit.record(Action.CREATE, actor=actor, obj=row, reason=reason)
    return row


@transaction.atomic
def blocked_plate_lift(*, actor: Actor, blocked: BlockedPlate) -> BlockedPlate:
    actor.require(Perm.PARKING_MANAGE, write=True)
    blocked = BlockedPlate.objects.select_for_update(of=("self",)).select_related("estate").get(pk=blocked.pk)
    require_estate(actor=actor, estate=blocked.estate)
    if not blocked.active:
        raise Conflict(_("该禁入记录已解除"))
    blocked.active = False
    blocked.lifted_at, blocked.lifted_by = timezone.now(), actor.user
    blocked.save(update_fields=["active", "lifted_at", "lifted_by", "updated_at"])
    audit.record(Action.UPDATE, actor=actor, obj=blocked, detail={"lifted": True})
    return blocked
