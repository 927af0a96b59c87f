"""Entry and exit analysis (人员车辆精准分析): flows by hour, by access point and by day, and visitor
statistics. Aggregates only: no names, no person or credential ids leave this module.

Counting rules:

* ``entries`` / ``exits`` — allowed passages with direction in / out (a refused attempt moves nobody);
* ``allowed`` / ``denied`` — every decision, whatever its direction;
* hours and days are local time (``settings.TIME_ZONE``, Asia/Shanghai): the database converts each
  ``occurred_at`` before bucketing (``AT TIME ZONE`` on PostgreSQL, Django's registered functions on
  SQLite), so 15:59:59Z is 23:59 of one day and 16:00:00Z is 00:00 of the next on both;
* each breakdown is one ``GROUP BY`` query over the ``(estate, occurred_at)`` index.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access.models import (
    AccessEvent,
    AccessResult,
    Direction,
    SubjectKind,
    VisitorChannel,
    VisitorKind,
    VisitorPass,
)
from linli.core.errors import ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm

MAX_RANGE = timedelta(days=366)
LEVELS = ("all", "gates", "buildings")
PEAK_HOURS = 3


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """Default: the last 7 local days up to now. At most 366 days."""
    until = until or timezone.now()
    if since is None:
        local_until = timezone.localtime(until, _zone())
        since = datetime.combine(local_until.date() - timedelta(days=6), datetime.min.time(), tzinfo=_zone())
    if since >= until:
        raise ValidationFailed(fields={"until": [_("结束时间须晚于开始时间")]})
    if until - since > MAX_RANGE:
        raise ValidationFailed(fields={"since": [_("时间范围最长一年")]})
    return since, until


def _counts() -> dict:
    allow = Q(result=AccessResult.ALLOW)
    return {
        "entries": Count("id", filter=allow & Q(direction=Direction.IN)),
        "exits": Count("id", filter=allow & Q(direction=Direction.OUT)),
        "allowed": Count("id", filter=allow),
        "denied": Count("id", filter=Q(result=AccessResult.DENY)),
    }


ZERO = {"entries": 0, "exits": 0, "allowed": 0, "denied": 0}


def _days(since: datetime, until: datetime) -> list[date]:
    zone = _zone()
    first = timezone.localtime(since, zone).date()
    last = timezone.localtime(until - timedelta(microseconds=1), zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _events(actor: Actor, since: datetime, until: datetime, estate_id: int | None):
    qs = actor.scoped(AccessEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until), "path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    return qs


def flows(
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    estate_id: int | None = None,
    access_point_id: int | None = None,
    level: str = "all",
) -> dict:
    """Entries, exits, allowed and denied decisions: totals, by local hour of day (0–23, all hours
    listed), by access point, and by local day (every day of the range listed).

    ``level``: ``all`` points, only the estate-level ``gates`` (no building: people entering and
    leaving the estate, each counted once), or only the doors of ``buildings``."""
    actor.require(Perm.ACCESS_ANALYSIS)
    if level not in LEVELS:
        raise ValidationFailed(fields={"level": [_("可选值：") + ", ".join(LEVELS)]})
    since, until = _range(since, until)
    zone = _zone()
    qs = _events(actor, since, until, estate_id)
    if access_point_id:
        qs = qs.filter(access_point_id=access_point_id)
    if level == "gates":
        qs = qs.filter(access_point__isnull=False, access_point__building__isnull=True)
    elif level == "buildings":
        qs = qs.filter(access_point__building__isnull=False)
    counts = _counts()
    hours = {
        row.pop("hour"): row
        for row in qs.annotate(hour=ExtractHour("occurred_at", tzinfo=zone))
        .values("hour")
        .annotate(**counts)
        .order_by("hour")
    }
    days = {
        row.pop("day"): row
        for row in qs.annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values("day")
        .annotate(**counts)
        .order_by("day")
    }
    points = [
        {
            "access_point_id": row.pop("access_point_id"),
            "name": row.pop("access_point__name") or _("未登记的出入口"),
            "kind": row.pop("access_point__kind") or "",
            **row,
        }
        for row in qs.values("access_point_id", "access_point__name", "access_point__kind")
        .annotate(**counts)
        .order_by("access_point__name", "access_point_id")
    ]
    totals = qs.aggregate(**counts)
    return {
        "since": since,
        "until": until,
        "time_zone": settings.TIME_ZONE,
        "level": level,
        "totals": {k: totals[k] or 0 for k in ZERO},
        "by_hour": [{"hour": h, **hours.get(h, ZERO)} for h in range(24)],
        "by_point": points,
        "daily": [{"day": d.isoformat(), **days.get(d, ZERO)} for d in _days(since, until)],
    }


def visitor_stats(
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    estate_id: int | None = None,
) -> dict:
    """Visitor passes whose window starts in the range (by kind, by channel, entries used, no-shows),
    visitor decisions in the range (entries, refusals by reason, entries by local hour, peak hours,
    per day) and the average stay of visitors who entered and left through an access point."""
    actor.require(Perm.ACCESS_ANALYSIS)
    since, until = _range(since, until)
    zone = _zone()
    now = timezone.now()
    passes = actor.scoped(VisitorPass.objects.filter(valid_from__gte=since, valid_from__lt=until), "path")
    events = _events(actor, since, until, estate_id).filter(subject_kind=SubjectKind.VISITOR)
    if estate_id:
        passes = passes.filter(estate_id=estate_id)
    by_kind = dict(passes.values_list("kind").annotate(n=Count("id")).order_by("kind"))
    by_channel = dict(passes.values_list("channel").annotate(n=Count("id")).order_by("channel"))
    agg = passes.aggregate(
        total=Count("id"),
        used_total=Sum("entries_used"),
        arrived=Count("id", filter=Q(entries_used__gt=0)),
        no_show=Count("id", filter=Q(entries_used=0, valid_until__lt=now)),
    )
    pass_days = dict(
        passes.annotate(day=TruncDate("valid_from", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    allow_in = Q(result=AccessResult.ALLOW, direction=Direction.IN)
    hours = dict(
        events.filter(allow_in)
        .annotate(hour=ExtractHour("occurred_at", tzinfo=zone))
        .values_list("hour")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    entry_days = dict(
        events.filter(allow_in)
        .annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    denied = dict(
        events.filter(result=AccessResult.DENY)
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by("reason")
    )
    stays = [
        (row["last_out"] - row["first_in"]).total_seconds()
        for row in events.filter(visitor_pass__isnull=False)
        .values("visitor_pass_id")
        .annotate(
            first_in=Min("occurred_at", filter=allow_in),
            last_out=Max("occurred_at", filter=Q(result=AccessResult.ALLOW, direction=Direction.OUT)),
        )
        .filter(first_in__isnull=False, last_out__isnull=False)
        .order_by()
        if row["last_out"] > row["first_in"]
    ]
    ranked = sorted((h for h, n in hours.items() if n), key=lambda h: (-hours[h], h))
    return {
        "since": since,
        "until": until,
        "time_zone": settings.TIME_ZONE,
        "passes": agg["total"],
        "by_kind": {k: by_kind.get(k, 0) for k in VisitorKind.values},
        "by_channel": {k: by_channel.get(k, 0) for k in VisitorChannel.values},
        "entries_used": agg["used_total"] or 0,
        "arrived": agg["arrived"],
        "no_show": agg["no_show"],
        "entries": sum(hours.values()),
        "denied": sum(denied.values()),
        "denied_by_reason": denied,
        "by_hour": [{"hour": h, "entries": hours.get(h, 0)} for h in range(24)],
        "peak_hours": ranked[:PEAK_HOURS],
        "average_stay_minutes": round(sum(stays) / len(stays) / 60, 1) if stays else None,
        "stays_measured": len(stays),
        "daily": [
            {"day": d.isoformat(), "passes": pass_days.get(d, 0), "entries": entry_days.get(d, 0)}
            for d in _days(since, until)
        ],
    }
