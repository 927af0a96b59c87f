"""Permits of resident vehicles; each term billed to the holder's room through billing."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.billing import services as billing
from linli.billing.models import Bill
from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, NotFound, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.parking import plates
from linli.parking.models import (
    BILLED_KINDS,
    Permit,
    PermitKind,
    PermitStatus,
)
from linli.parking.services.common import (
    FEE_LIMIT_FEN,
    LONG_TERM_UNTIL,
    MAX_TERM_MONTHS,
    PERMIT_SOURCE,
    _int,
    active_rule,
)
from linli.places.models import ParkingSpace, Region
from linli.places.selectors import require_estate


def _holder_room(vehicle):
    """The room the vehicle's owner lives in now (latest move-in), where permit terms are billed."""
    from linli.people.models import Occupancy

    occ = (
        Occupancy.objects.filter(person_id=vehicle.owner_id, end_date__isnull=True)
        .select_related("room")
        .order_by("-start_date", "-pk")
        .first()
    )
    return occ.room if occ is not None else None


def _term_end(kind: str, start: date, months: int) -> date:
    if kind == PermitKind.YEARLY:
        return plates.add_months(start, 12 * months) - timedelta(days=1)
    return plates.add_months(start, months) - timedelta(days=1)


def _term_title(permit: Permit, start: date, end: date) -> str:
    return _("%(kind)s停车 %(plate)s %(start)s～%(end)s") % {
        "kind": permit.get_kind_display(),
        "plate": plates.mask_plate(permit.vehicle.plate),
        "start": f"{start:%Y-%m-%d}",
        "end": f"{end:%Y-%m-%d}",
    }


def _bill_term(actor: Actor, permit: Permit, start: date, end: date, units: int) -> Bill | None:
    if permit.kind not in BILLED_KINDS or not permit.price_fen or permit.room_id is None:
        return None
    return billing.charge_create(
        actor=actor,
        room=permit.room,
        amount_fen=permit.price_fen * units,
        title=_term_title(permit, start, end),
        source_type=PERMIT_SOURCE,
        source_id=f"{permit.pk}:{start:%Y%m%d}",
        kind="parking",
        period=f"{start:%Y-%m}",
    )


def _overlapping(qs, start: date, end: date):
    return qs.filter(status=PermitStatus.ACTIVE, valid_from__lte=end, valid_until__gte=start)


@transaction.atomic
def permit_create(
    *,
    actor: Actor,
    vehicle,
    kind: str,
    valid_from: date,
    months: int = 1,
    space: ParkingSpace | None = None,
    price_fen: int | None = None,
) -> Permit:
    """Give a resident vehicle a permit from ``valid_from``: ``months`` months (monthly, rented space)
    or ``months`` years (yearly); an owned space has no end. The first term is billed to the owner's
    room at once (kinds billed by parking). The caller fetched ``vehicle`` and ``space`` through the
    scoped selectors."""
    actor.require(Perm.PARKING_MANAGE, write=True)
    estate = Region.objects.get(pk=vehicle.estate_id)
    require_estate(actor=actor, estate=estate)
    if kind not in PermitKind.values:
        raise ValidationFailed(fields={"kind": [", ".join(PermitKind.values)]})
    if not isinstance(valid_from, date):
        raise ValidationFailed(fields={"valid_from": [_("请填写日期")]})
    months = _int(months, field="months", low=1, high=MAX_TERM_MONTHS)
    if space is not None:
        if space.estate_id != vehicle.estate_id:
            raise NotFound()
        wanted = {
            PermitKind.OWNED_SPACE: ParkingSpace.Kind.OWNED,
            PermitKind.RENTED_SPACE: ParkingSpace.Kind.RENTED,
        }
        if space.kind == ParkingSpace.Kind.TEMPORARY or (kind in wanted and space.kind != wanted[kind]):
            raise ValidationFailed(fields={"space_id": [_("车位类型与许可类型不符")]})
    elif kind in (PermitKind.OWNED_SPACE, PermitKind.RENTED_SPACE):
        raise ValidationFailed(fields={"space_id": [_("产权或租赁车位须指定车位")]})
    end = LONG_TERM_UNTIL if kind == PermitKind.OWNED_SPACE else _term_end(kind, valid_from, months)
    if end < timezone.localdate():
        raise ValidationFailed(fields={"valid_from": [_("许可在今天之前已结束")]})
    rule = active_rule(vehicle.estate_id)
    if price_fen is None:
        if kind == PermitKind.OWNED_SPACE:
            price_fen = 0
        elif rule is None:
            raise ValidationFailed(fields={"price_fen": [_("本小区尚未设置收费标准，请填写价格")]})
        else:
            price_fen = rule.yearly_permit_fen if kind == PermitKind.YEARLY else rule.monthly_permit_fen
    price_fen = _int(price_fen, field="price_fen", low=0, high=FEE_LIMIT_FEN)
    room = _holder_room(vehicle)
    if kind in BILLED_KINDS and price_fen and room is None:
        raise ValidationFailed(fields={"vehicle_id": [_("车主当前没有入住房屋，无法出账")]})
    # Lock the vehicle's permits (and the space's) so two overlapping grants cannot both pass.
    list(Permit.objects.select_for_update().filter(vehicle_id=vehicle.pk).order_by("pk"))
    if _overlapping(Permit.objects.filter(vehicle_id=vehicle.pk), valid_from, end).exists():
        raise Conflict(_("该车辆在此期间已有有效许可"))
    if space is not None:
        list(Permit.objects.select_for_update().filter(space_id=space.pk).order_by("pk"))
        if _overlapping(Permit.objects.filter(space_id=space.pk), valid_from, end).exists():
            raise Conflict(_("该车位在此期间已被占用"))
    permit = Permit.objects.create(
        estate=estate,
        vehicle=vehicle,
        kind=kind,
        space=space,
        room=room,
        valid_from=valid_from,
        valid_until=end,
        price_fen=price_fen,
        created_by=actor.user,
    )
    bill = _bill_term(actor, permit, valid_from, end, months)
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=permit,
        subject_person_id=vehicle.owner_id,
        detail={"kind": kind, "until": f"{end}", "bill": bill.pk if bill else None},
    )
    return permit


@transaction.atomic
def permit_renew(*, actor: Actor, permit: Permit, months: int = 1) -> Permit:
    """Extend a monthly/yearly/rented-space permit by ``months`` months (years for yearly) from the
    day after it ends (or today when it already ended) and bill the new term."""
    actor.require(Perm.PARKING_MANAGE, write=True)
    permit = (
        Permit.objects.select_for_update(of=("self",))
        .select_related("estate", "vehicle", "room")
        .get(pk=permit.pk)
    )
    require_estate(actor=actor, estate=permit.estate)
    months = _int(months, field="months", low=1, high=MAX_TERM_MONTHS)
    if permit.kind == PermitKind.OWNED_SPACE:
        raise Conflict(_("产权车位无需续期"))
    if permit.status == PermitStatus.CANCELLED:
        raise Conflict(_("已注销的许可不能续期"))
    start = max(permit.valid_until + timedelta(days=1), timezone.localdate())
    end = _term_end(permit.kind, start, months)
    if permit.space_id and (
        _overlapping(Permit.objects.filter(space_id=permit.space_id), start, end)
        .exclude(pk=permit.pk)
        .exists()
    ):
        raise Conflict(_("该车位在此期间已被占用"))
    if (
        _overlapping(Permit.objects.filter(vehicle_id=permit.vehicle_id), start, end)
        .exclude(pk=permit.pk)
        .exists()
    ):
        raise Conflict(_("该车辆在此期间已有有效许可"))
    if permit.room_id is None:
        permit.room = _holder_room(permit.vehicle)
    if permit.price_fen and permit.room is None:
        raise ValidationFailed(fields={"vehicle_id": [_("车主当前没有入住房屋，无法出账")]})
    permit.valid_until = end
    permit.status = PermitStatus.ACTIVE
    permit.save(update_fields=["valid_until", "status", "room", "updated_at"])
    bill = _bill_term(actor, permit, start, end, months)
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=permit,
        subject_person_id=permit.vehicle.owner_id,
        detail={"renewed_until": f"{end}", "bill": bill.pk if bill else None},
    )
    return permit


@transaction.atomic
def permit_cancel(*, actor: Actor, permit: Permit, reason: str) -> Permit:
    """End a permit now (bills already issued stay; a refund goes through billing's approval)."""
    actor.require(Perm.PARKING_MANAGE, write=True)
    permit = (
        Permit.objects.select_for_update(of=("self",)).select_related("estate", "vehicle").get(pk=permit.pk)
    )
    require_estate(actor=actor, estate=permit.estate)
    reason = clean_text(reason, field="reason", max_length=200, required=True)
    if permit.status == PermitStatus.CANCELLED:
        raise Conflict(_("该许可已注销"))
    permit.status = PermitStatus.CANCELLED
    permit.cancelled_at = timezone.now()
    permit.cancel_reason = reason
    permit.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    audit.record(
        Action.UPDATE, actor=actor, obj=permit, subject_person_id=permit.vehicle.owner_id, reason=reason
    )
    return permit


def permits_expire(*, today: date) -> int:
    """Mark active permits that ended before ``today`` expired (periodic; idempotent)."""
    return Permit.objects.filter(status=PermitStatus.ACTIVE, valid_until__lt=today).update(
        status=PermitStatus.EXPIRED, updated_at=timezone.now()
    )
