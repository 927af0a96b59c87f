"""Reads of visitor passes (R63): a pass's effective status, a resident's own invitations, the guard's
rooms, points and passes of the day, and the visitor's link with its rotating signed code (kind ``V``,
carrying ``VisitorPass.token``, never a person id)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from linli.access.credentials import keys, qr
from linli.access.models import (
    AccessPoint,
    AccessSettings,
    Method,
    VisitorChannel,
    VisitorPass,
    VisitorPassStatus,
)
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, RateLimited
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm
from linli.people.models import Occupancy, Person
from linli.places.models import Room

LINK_CODE_REQUESTS_PER_MINUTE = 30  # the page refreshes every 20 s; a few open tabs stay well below
_LINK_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class PassUnavailable(Conflict):
    """The pass cannot produce a code: ``reason`` is revoked, used_up, expired or not_yet_valid."""

    MESSAGES = {
        "revoked": gettext_lazy("该访客通行证已被撤销"),
        "used_up": gettext_lazy("该访客通行证的进入次数已用完"),
        "expired": gettext_lazy("该访客通行证已过有效期"),
        "not_yet_valid": gettext_lazy("该访客通行证尚未到生效时间"),
    }

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.MESSAGES[reason], code=f"visitor_pass_{reason}")


def hash_link(link_token: str) -> str:
    return hashlib.sha256(link_token.encode("utf-8")).hexdigest()


def local_day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def effective_status(p: VisitorPass, now: datetime | None = None) -> str:
    """The status a visitor or a guard should see: an active pass past its window is expired."""
    now = now or timezone.now()
    if p.status == VisitorPassStatus.ACTIVE and p.valid_until <= now:
        return VisitorPassStatus.EXPIRED
    return p.status


def unavailable_reason(p: VisitorPass, now: datetime | None = None) -> str | None:
    """Why the pass cannot be used now (None = usable)."""
    now = now or timezone.now()
    status = effective_status(p, now)
    if status != VisitorPassStatus.ACTIVE:
        return status
    if p.entries_used >= p.max_entries:
        return VisitorPassStatus.USED_UP
    if p.valid_from > now:
        return "not_yet_valid"
    return None


def entries_left(p: VisitorPass) -> int:
    return max(0, p.max_entries - p.entries_used)


def own_person(actor: Actor) -> Person | None:
    if not actor.is_resident:
        return None
    return Person.objects.select_related("estate").filter(user=actor.user).first()


def resident_rooms(*, actor: Actor) -> list[Room]:
    """Rooms the signed-in resident currently lives in (may host visitors)."""
    me = own_person(actor)
    if me is None:
        return []
    ids = Occupancy.objects.filter(person=me, end_date__isnull=True).values("room_id")
    return list(
        Room.objects.select_related("building").filter(pk__in=ids).order_by("path", "floor", "number")
    )


def visitor_pass_list_mine(*, actor: Actor) -> QuerySet[VisitorPass]:
    """The signed-in resident's own invitations, newest first."""
    me = own_person(actor)
    if me is None:
        return VisitorPass.objects.none()
    return (
        VisitorPass.objects.filter(
            Q(created_by=actor.user) | Q(host_person=me, channel=VisitorChannel.INVITE)
        )
        .select_related("host_room")
        .order_by("-created_at", "-pk")
    )


def visitor_pass_get_mine(*, actor: Actor, pk: int) -> VisitorPass:
    p = visitor_pass_list_mine(actor=actor).filter(pk=pk).first()
    if p is None:
        raise NotFound()
    return p


def guard_rooms(*, actor: Actor, estate_id: int | None = None) -> QuerySet[Room]:
    """Rooms a guard may register visitors for."""
    actor.require(Perm.ACCESS_GUARD)
    qs = actor.scoped(Room.objects.select_related("building", "unit"), "path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    return qs.order_by("path", "floor", "number")


def visitor_pass_get(*, actor: Actor, pk: int) -> VisitorPass:
    """A pass in the guard's scope (404 otherwise)."""
    actor.require(Perm.ACCESS_GUARD)
    return get_in_scope(
        VisitorPass.objects.select_related("host_room", "estate"), actor=actor, path_field="path", pk=pk
    )


def visitors_today(
    *, actor: Actor, estate_id: int | None = None, now: datetime | None = None
) -> QuerySet[VisitorPass]:
    """Passes in the guard's scope whose window overlaps today (local day), earliest first. Visitor
    arrivals tied to a name are whereabouts (R17): the caller audits the read."""
    actor.require(Perm.ACCESS_GUARD)
    now = now or timezone.now()
    start = local_day_start(now)
    qs = actor.scoped(VisitorPass.objects.select_related("host_room", "estate"), "path").filter(
        valid_from__lt=start + timedelta(days=1), valid_until__gte=start
    )
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    return qs.order_by("valid_from", "pk")


def visitors_today_audit(*, actor: Actor, estate_id: int | None, count: int) -> None:
    audit.record(
        Action.SENSITIVE_READ,
        actor=actor,
        object_type="access.visitorpass",
        estate_id=estate_id,
        reason="visitors_today",
        detail={"count": count},
    )


def guard_access_points(*, actor: Actor, estate_id: int | None = None) -> list[AccessPoint]:
    """Active access points in scope that accept staff-assisted entry."""
    actor.require(Perm.ACCESS_GUARD)
    qs = actor.scoped(AccessPoint.objects.filter(status=AccessPoint.Status.ACTIVE), "path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    # allowed_methods is a short JSON list; filtering it in Python works the same on both databases.
    return [ap for ap in qs.order_by("path", "name") if Method.STAFF in ap.allowed_methods]


def _settings_for(estate_id: int) -> AccessSettings:
    """The estate's settings without writing on a read (unsaved defaults when none are stored)."""
    return AccessSettings.objects.filter(estate_id=estate_id).first() or AccessSettings(estate_id=estate_id)


def pass_for_link(link_token: str) -> VisitorPass:
    """The pass behind a visitor's link, or ``NotFound`` (malformed, unknown or purged)."""
    if not isinstance(link_token, str) or not _LINK_RE.match(link_token):
        raise NotFound()
    p = (
        VisitorPass.objects.select_related("estate", "host_room__building")
        .filter(link_hash=hash_link(link_token))
        .first()
    )
    if p is None:
        raise NotFound()
    return p


def link_rate_check(link_token: str, *, limit: int = LINK_CODE_REQUESTS_PER_MINUTE) -> None:
    """At most ``limit`` code requests per link per minute (the link is a bearer credential)."""
    key = f"linli:visitor-link:{hash_link(link_token or '')[:32]}:{int(timezone.now().timestamp()) // 60}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > limit:
        raise RateLimited()


def _sign(p: VisitorPass, *, now: datetime, until: datetime) -> tuple[str, datetime]:
    issued = int(now.timestamp())
    expires = int(until.timestamp())
    if expires <= issued:
        raise PassUnavailable("expired")
    text = keys.sign_for(
        p.estate_id, kind=qr.KIND_VISITOR, subject=p.token, issued_at=issued, expires_at=expires
    )
    return text, datetime.fromtimestamp(expires, tz=UTC)


def visitor_code(p: VisitorPass, *, now: datetime | None = None) -> tuple[str, datetime, int]:
    """A rotating visitor code for a usable pass: (code text, expires at, refresh seconds). It expires
    at min(now + TTL, end of the pass window)."""
    now = now or timezone.now()
    reason = unavailable_reason(p, now)
    if reason:
        raise PassUnavailable(reason)
    conf = _settings_for(p.estate_id)
    until = min(now + timedelta(seconds=conf.qr_ttl_seconds), p.valid_until)
    text, expires_at = _sign(p, now=now, until=until)
    return text, expires_at, conf.qr_refresh_seconds


def visitor_printable_code(p: VisitorPass, *, now: datetime | None = None) -> tuple[str, datetime]:
    """A code valid until the end of the pass window, for a walk-in visitor without a phone (printed
    or shown at the gate); still limited to the pass's entries and refused once revoked."""
    now = now or timezone.now()
    if effective_status(p, now) != VisitorPassStatus.ACTIVE or p.entries_used >= p.max_entries:
        raise PassUnavailable(unavailable_reason(p, now) or "expired")
    return _sign(p, now=max(now, p.valid_from), until=p.valid_until)


def visitor_code_for_link(link_token: str, *, now: datetime | None = None):
    """The current signed visitor code for a visitor's link: (code text, expires at, refresh seconds,
    pass). ``NotFound`` for an unknown link; ``PassUnavailable`` (revoked, used_up, expired,
    not_yet_valid) when no code may be shown."""
    p = pass_for_link(link_token)
    text, expires_at, refresh_s = visitor_code(p, now=now)
    return text, expires_at, refresh_s, p
