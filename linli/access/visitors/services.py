"""Visitor passes (R63): residents invite visitors, guards register walk-ins and issue delivery and
service passes; the visitor's link shows a rotating signed code; entries are counted atomically.

Minimal fields only: name or surname, mobile (optional), the visited room, the time window, the plate
when driving and the purpose. No ID number and no face of a visitor is ever asked for.

The visitor's link ``/v/<link token>/`` is the credential of the visitor's page: it is returned once
when the pass is created and only its SHA-256 is stored (``VisitorPass.link_hash``). The signed code
itself carries ``VisitorPass.token`` (kind ``V``), never a person id.

Writes live here, reads and the visitor's signed code in ``selectors``, the staff-assisted entry in
``entry`` (it goes through the decision core, which itself only needs ``consume_entry`` from here).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access.credentials import qr
from linli.access.models import (
    AccessSettings,
    VisitorChannel,
    VisitorKind,
    VisitorPass,
    VisitorPassStatus,
)
from linli.access.visitors.selectors import (
    effective_status,
    hash_link,
    local_day_start,
    own_person,
    resident_rooms,
    visitor_pass_get_mine,
)
from linli.core import audit, crypto
from linli.core.audit import Action
from linli.core.cleaning import strip_invisible
from linli.core.errors import Conflict, PermissionDenied, RateLimited, ValidationFailed
from linli.core.pii import InvalidIdentifier, parse_mobile, parse_plate
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.people.models import Person
from linli.places.models import Region, Room
from linli.places.selectors import estate_get

# --- rules (R63, R66) --------------------------------------------------------------------------

NAME_MAX = 30
PURPOSE_MAX = 100
START_GRACE = timedelta(minutes=5)  # an invitation may start a little in the past (clock skew, typing)
START_AHEAD_MAX = timedelta(days=30)  # invitations are for the coming month, not for next year
WINDOW_MAX = timedelta(days=7)
ENTRIES_MIN, ENTRIES_MAX = 1, 10
RESIDENT_DAILY_QUOTA = 20  # passes a resident may create per (local) day
STAFF_DAILY_QUOTA = 500  # passes one guard may issue per day (a busy gate, but not a script)
WALK_IN_HOURS_MAX = 24
STAFF_PASS_MINUTES_MAX = {VisitorKind.DELIVERY: 120, VisitorKind.SERVICE: 12 * 60}

# The fields a visitor pass form may ask for (R63 test: no ID number, no face, nothing else).
FORM_FIELDS = (
    "visitor_name",
    "visitor_phone",
    "valid_from",
    "valid_until",
    "max_entries",
    "plate",
    "purpose",
)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class IssuedPass:
    """A new pass and its link token: the token is shown once and never stored."""

    visitor_pass: VisitorPass
    link_token: str


def _new_link() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)  # 32 characters, 192 bits
    return token, hash_link(token)


# --- validation --------------------------------------------------------------------------------


def _clean_fields(
    *, visitor_name: str, visitor_phone: str, plate: str, purpose: str, max_entries, errors: dict
) -> dict:
    out: dict = {}
    name = strip_invisible(visitor_name)
    if not name:
        errors.setdefault("visitor_name", []).append(_("请填写访客姓名或姓氏"))
    elif len(name) > NAME_MAX or _CONTROL_RE.search(name):
        errors.setdefault("visitor_name", []).append(_("访客姓名不超过 %(n)d 个字") % {"n": NAME_MAX})
    out["visitor_name"] = name
    phone = (visitor_phone or "").strip()
    if phone:
        try:
            phone = parse_mobile(phone)
        except InvalidIdentifier as exc:
            errors.setdefault("visitor_phone", []).append(str(exc))
    out["visitor_phone"] = phone
    plate = (plate or "").strip()
    if plate:
        try:
            plate = parse_plate(plate)
        except InvalidIdentifier as exc:
            errors.setdefault("plate", []).append(str(exc))
    out["plate"] = plate
    purpose = (purpose or "").strip()
    if len(purpose) > PURPOSE_MAX or _CONTROL_RE.search(purpose):
        errors.setdefault("purpose", []).append(_("来访事由不超过 %(n)d 个字") % {"n": PURPOSE_MAX})
    out["purpose"] = purpose
    try:
        entries = int(max_entries)
    except (TypeError, ValueError):
        entries = 0
    if not ENTRIES_MIN <= entries <= ENTRIES_MAX:
        errors.setdefault("max_entries", []).append(
            _("可进入次数为 %(a)d–%(b)d 次") % {"a": ENTRIES_MIN, "b": ENTRIES_MAX}
        )
    out["max_entries"] = entries
    return out


def validate_window(valid_from, valid_until, *, now: datetime | None = None) -> dict[str, list[str]]:
    """R63 window rules of an invitation: start ≥ now − 5 min (and within 30 days), end after start,
    at most 7 days long. Returns field errors (empty = fine)."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if not isinstance(valid_from, datetime):
        errors["valid_from"] = [_("请填写开始时间")]
    if not isinstance(valid_until, datetime):
        errors["valid_until"] = [_("请填写结束时间")]
    if errors:
        return errors
    if valid_from < now - START_GRACE:
        errors["valid_from"] = [_("开始时间不能早于现在")]
    elif valid_from > now + START_AHEAD_MAX:
        errors["valid_from"] = [_("开始时间不能晚于 30 天之后")]
    if valid_until <= valid_from:
        errors["valid_until"] = [_("结束时间须晚于开始时间")]
    elif valid_until - valid_from > WINDOW_MAX:
        errors["valid_until"] = [_("访客通行证最长 7 天")]
    return errors


# --- quotas (R66) ------------------------------------------------------------------------------


def _check_quota(*, user, limit: int, now: datetime) -> None:
    """Count today's passes of this creator; the caller holds a row lock that serialises creators."""
    made = VisitorPass.objects.filter(created_by=user, created_at__gte=local_day_start(now)).count()
    if made >= limit:
        raise RateLimited(_("今天创建的访客通行证已达上限（%(n)d 张），请明天再试") % {"n": limit})


def _lock_user(user) -> None:
    # Serialise one creator's requests so the daily quota is not a check-then-act race (SQLite
    # already serialises writers).
    from linli.accounts.models import User

    User.objects.select_for_update().filter(pk=user.pk).first()


# --- resident -----------------------------------------------------------------------------------


def _store(
    *,
    actor: Actor,
    estate_id: int,
    kind: str,
    channel: str,
    host_person: Person | None,
    host_room: Room | None,
    fields: dict,
    valid_from: datetime,
    valid_until: datetime,
) -> IssuedPass:
    link_token, link_hash = _new_link()
    phone = fields["visitor_phone"]
    p = VisitorPass(
        estate_id=estate_id,
        kind=kind,
        channel=channel,
        host_person=host_person,
        host_room=host_room,
        visitor_name=fields["visitor_name"],
        visitor_phone=phone,
        visitor_phone_hash=crypto.blind_index(phone, purpose=crypto.INDEX_PHONE) if phone else "",
        plate=fields["plate"],
        purpose=fields["purpose"],
        valid_from=valid_from,
        valid_until=valid_until,
        max_entries=fields["max_entries"],
        token=qr.new_subject_token(),
        link_hash=link_hash,
        created_by=actor.user,
        path=(
            host_room.path if host_room else Region.objects.values_list("path", flat=True).get(pk=estate_id)
        ),
    )
    p.save()
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=p,
        subject_person_id=host_person.pk if host_person else None,
        detail={
            "kind": kind,
            "channel": channel,
            "room_id": host_room.pk if host_room else None,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "max_entries": p.max_entries,
        },
    )
    return IssuedPass(visitor_pass=p, link_token=link_token)


@transaction.atomic
def visitor_pass_create(
    *,
    actor: Actor,
    visitor_name: str,
    valid_from: datetime | None,
    valid_until: datetime | None,
    max_entries: int = 1,
    visitor_phone: str = "",
    plate: str = "",
    purpose: str = "",
    room_id: int | None = None,
    now: datetime | None = None,
) -> IssuedPass:
    """A resident invites a visitor to one of their own rooms (R63). At most 20 passes a day (R66)."""
    now = now or timezone.now()
    me = own_person(actor)
    if me is None:
        raise PermissionDenied(_("只有登记在册的住户可以邀请访客"))
    rooms = resident_rooms(actor=actor)
    if not rooms:
        raise PermissionDenied(_("您当前没有登记入住的房屋，无法邀请访客"))
    errors: dict[str, list[str]] = {}
    if room_id is None:
        room = rooms[0]
    else:
        room = next((r for r in rooms if r.pk == room_id), None)
        if room is None:
            errors["room_id"] = [_("只能为本人入住的房屋邀请访客")]
    fields = _clean_fields(
        visitor_name=visitor_name,
        visitor_phone=visitor_phone,
        plate=plate,
        purpose=purpose,
        max_entries=max_entries,
        errors=errors,
    )
    for k, v in validate_window(valid_from, valid_until, now=now).items():
        errors.setdefault(k, []).extend(v)
    if errors:
        raise ValidationFailed(fields=errors)
    _lock_user(actor.user)
    _check_quota(user=actor.user, limit=RESIDENT_DAILY_QUOTA, now=now)
    return _store(
        actor=actor,
        estate_id=room.estate_id,
        kind=VisitorKind.GUEST,
        channel=VisitorChannel.INVITE,
        host_person=me,
        host_room=room,
        fields=fields,
        valid_from=valid_from,  # type: ignore[arg-type]
        valid_until=valid_until,  # type: ignore[arg-type]
    )


@transaction.atomic
def visitor_pass_revoke(
    *, actor: Actor, visitor_pass: VisitorPass, now: datetime | None = None
) -> VisitorPass:
    """Revoke a pass: the resident who invited (own passes) or a guard in scope. Only a pass that is
    still usable (active, not past its window) can be revoked."""
    now = now or timezone.now()
    if actor.is_resident and not actor.has(Perm.ACCESS_GUARD):
        visitor_pass_get_mine(actor=actor, pk=visitor_pass.pk)
    else:
        actor.require(Perm.ACCESS_GUARD, write=True)
        get_in_scope(VisitorPass.objects.all(), actor=actor, path_field="path", pk=visitor_pass.pk)
    p = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if effective_status(p, now) != VisitorPassStatus.ACTIVE:
        raise Conflict(_("该通行证已失效，无需撤销"))
    p.status = VisitorPassStatus.REVOKED
    p.revoked_at = now
    p.save(update_fields=["status", "revoked_at", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=p,
        subject_person_id=p.host_person_id,
        detail={"status": VisitorPassStatus.REVOKED},
    )
    return p


# --- guard (门岗) --------------------------------------------------------------------------------


def _guard_window(now: datetime, minutes, *, max_minutes: int, errors: dict, field: str) -> datetime:
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        minutes = 0
    if not 1 <= minutes <= max_minutes:
        errors.setdefault(field, []).append(
            _("有效时长须在 1–%(n)d 分钟之间") % {"n": max_minutes}
            if max_minutes < 600
            else _("有效时长须在 1–%(n)d 小时之间") % {"n": max_minutes // 60}
        )
        minutes = 1
    return now + timedelta(minutes=minutes)


@transaction.atomic
def visitor_walk_in_register(
    *,
    actor: Actor,
    room_id: int,
    visitor_name: str,
    hours: int = 4,
    max_entries: int = 1,
    visitor_phone: str = "",
    plate: str = "",
    purpose: str = "",
    now: datetime | None = None,
) -> IssuedPass:
    """A guard registers a visitor who arrived without an invitation, for a room in scope. The pass
    starts now; the guard may let the visitor in by staff-assisted entry (``visitor_staff_entry``)."""
    actor.require(Perm.ACCESS_GUARD, write=True)
    now = now or timezone.now()
    room = get_in_scope(Room.objects.all(), actor=actor, path_field="path", pk=room_id)
    errors: dict[str, list[str]] = {}
    fields = _clean_fields(
        visitor_name=visitor_name,
        visitor_phone=visitor_phone,
        plate=plate,
        purpose=purpose,
        max_entries=max_entries,
        errors=errors,
    )
    try:
        hours_n = int(hours)
    except (TypeError, ValueError):
        hours_n = 0
    until = _guard_window(now, hours_n * 60, max_minutes=WALK_IN_HOURS_MAX * 60, errors=errors, field="hours")
    if errors:
        raise ValidationFailed(fields=errors)
    _lock_user(actor.user)
    _check_quota(user=actor.user, limit=STAFF_DAILY_QUOTA, now=now)
    return _store(
        actor=actor,
        estate_id=room.estate_id,
        kind=VisitorKind.GUEST,
        channel=VisitorChannel.WALK_IN,
        host_person=None,  # the guard checked with the household; no resident is named on the pass
        host_room=room,
        fields=fields,
        valid_from=now,
        valid_until=until,
    )


@transaction.atomic
def visitor_staff_pass_issue(
    *,
    actor: Actor,
    estate_id: int,
    kind: str,
    visitor_name: str,
    minutes: int = 30,
    max_entries: int = 1,
    room_id: int | None = None,
    visitor_phone: str = "",
    plate: str = "",
    purpose: str = "",
    now: datetime | None = None,
) -> IssuedPass:
    """A guard issues a short delivery (≤ 2 h) or service (≤ 12 h) pass, optionally for one room."""
    actor.require(Perm.ACCESS_GUARD, write=True)
    now = now or timezone.now()
    estate = estate_get(actor=actor, pk=estate_id)
    room = None
    if room_id is not None:
        room = get_in_scope(Room.objects.filter(estate=estate), actor=actor, path_field="path", pk=room_id)
    errors: dict[str, list[str]] = {}
    if kind not in STAFF_PASS_MINUTES_MAX:
        errors["kind"] = [_("请选择快递外卖或服务人员")]
        max_minutes = 60
    else:
        max_minutes = STAFF_PASS_MINUTES_MAX[kind]  # type: ignore[index]
    fields = _clean_fields(
        visitor_name=visitor_name,
        visitor_phone=visitor_phone,
        plate=plate,
        purpose=purpose,
        max_entries=max_entries,
        errors=errors,
    )
    until = _guard_window(now, minutes, max_minutes=max_minutes, errors=errors, field="minutes")
    if errors:
        raise ValidationFailed(fields=errors)
    _lock_user(actor.user)
    _check_quota(user=actor.user, limit=STAFF_DAILY_QUOTA, now=now)
    return _store(
        actor=actor,
        estate_id=estate.pk,
        kind=kind,
        channel=VisitorChannel.STAFF,
        host_person=None,
        host_room=room,
        fields=fields,
        valid_from=now,
        valid_until=until,
    )


# --- the decision core's side --------------------------------------------------------------------


def consume_entry(pass_id: int) -> bool:
    """Count one allowed entry; False when the pass is not active or has no entry left. Race-safe: one
    conditional UPDATE, so two gates presenting the last entry at once cannot both succeed. The pass
    becomes ``used_up`` when its last entry is taken."""
    with transaction.atomic():
        now = timezone.now()
        taken = VisitorPass.objects.filter(
            pk=pass_id, status=VisitorPassStatus.ACTIVE, entries_used__lt=F("max_entries")
        ).update(entries_used=F("entries_used") + 1, updated_at=now)
        if not taken:
            return False
        VisitorPass.objects.filter(
            pk=pass_id, status=VisitorPassStatus.ACTIVE, entries_used__gte=F("max_entries")
        ).update(status=VisitorPassStatus.USED_UP, updated_at=now)
        return True


# --- retention (R63) -----------------------------------------------------------------------------


def purge_expired_visitors(now: datetime | None = None) -> int:
    """Delete passes whose window ended more than ``visitor_retention_days`` ago (per estate, default
    30). Access events keep their row with the pass link nulled (FK ``SET_NULL``). Returns the number
    of passes deleted."""
    now = now or timezone.now()
    default_days = AccessSettings._meta.get_field("visitor_retention_days").default
    custom: dict[int, list[int]] = {}
    for estate_id, days in AccessSettings.objects.values_list("estate_id", "visitor_retention_days"):
        custom.setdefault(days, []).append(estate_id)
    all_custom = [e for ids in custom.values() for e in ids]
    deleted = 0
    with transaction.atomic():
        _n, per_model = (
            VisitorPass.objects.filter(valid_until__lt=now - timedelta(days=default_days))
            .exclude(estate_id__in=all_custom)
            .delete()
        )
        deleted += per_model.get(VisitorPass._meta.label, 0)
        for days, estate_ids in custom.items():
            _n, per_model = VisitorPass.objects.filter(
                estate_id__in=estate_ids, valid_until__lt=now - timedelta(days=days)
            ).delete()
            deleted += per_model.get(VisitorPass._meta.label, 0)
    return deleted
