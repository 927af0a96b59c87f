"""Reads of alarms, rules and the fire-safety overview, always through the actor's scope.

Visibility: ``alarms.view`` and the alarm's ``path`` under one of the actor's scope paths (a
sub-district officer sees every alarm under the street). Health-sensitive alarms (R65) exist only for
actors with ``alarms.health_view``: absent from lists and counts, 404 in detail for everyone else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.models import SEVERITY_RANK, Alarm, AlarmRule, Severity, WebhookEndpoint
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.selectors import estate_list

STATES = ("open", "needs_ack", "cleared", "all")
ORDERING = {
    "first_at": "first_at",
    "last_at": "last_at",
    "severity": "severity",
    "count": "count",
    "id": "id",
}


def visible(actor: Actor) -> QuerySet:
    actor.require(Perm.ALARMS_VIEW)
    qs = actor.scoped(Alarm.objects.all(), "path")
    if not actor.has(Perm.ALARMS_HEALTH_VIEW):
        qs = qs.filter(health_sensitive=False)
    return qs


def alarm_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    state: str = "all",
    severity: str | None = None,
    cause: str | None = None,
    device_id: int | None = None,
    building_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    ordering: str | None = None,
) -> QuerySet:
    if state not in STATES:
        raise ValidationFailed(fields={"state": [_("可选值：") + ", ".join(STATES)]})
    if severity and severity not in Severity.values:
        raise ValidationFailed(fields={"severity": [_("无效的选项")]})
    qs = visible(actor)
    if state == "open":
        qs = qs.filter(cleared_at__isnull=True)
    elif state == "needs_ack":
        qs = qs.filter(acked_at__isnull=True)
    elif state == "cleared":
        qs = qs.filter(cleared_at__isnull=False)
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if severity:
        qs = qs.filter(severity=severity)
    if cause:
        qs = qs.filter(cause=cause)
    if device_id:
        qs = qs.filter(device_id=device_id)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if since:
        qs = qs.filter(first_at__gte=since)
    if until:
        qs = qs.filter(first_at__lt=until)
    qs = qs.select_related("estate", "device", "assignee", "building")
    return apply_ordering(qs, ordering, ORDERING, "-first_at")


def alarm_get(*, actor: Actor, pk: int) -> Alarm:
    alarm = (
        visible(actor)
        .select_related(
            "estate", "device", "device__profile", "assignee", "acked_by", "cleared_by", "rule", "building"
        )
        .filter(pk=pk)
        .first()
    )
    if alarm is None:
        raise NotFound()
    return alarm


def alarm_history(*, alarm: Alarm):
    return alarm.history.select_related("actor").order_by("at", "id")


def alarm_comments(*, alarm: Alarm):
    return alarm.comments.select_related("author").order_by("created_at", "id")


def alarm_notifications(*, alarm: Alarm):
    return alarm.notifications.order_by("sent_at", "id")


def alarm_live(
    *, actor: Actor, after: int = 0, estate_id: int | None = None, limit: int = 100
) -> list[Alarm]:
    """Open alarms with an id above the cursor (newest first); cheap on the partial index of open alarms."""
    qs = visible(actor).filter(cleared_at__isnull=True, id__gt=after)
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    return list(qs.select_related("estate", "device").order_by("-id")[: max(1, min(limit, 200))])


def alarm_stats(
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    estate_id: int | None = None,
) -> dict:
    """Counts by cause, severity and day, and mean minutes to acknowledge and to clear."""
    until = until or timezone.now()
    since = since or until - timedelta(days=30)
    if since >= until or until - since > timedelta(days=366):
        raise ValidationFailed(fields={"since": [_("时间范围无效（最长一年）")]})
    qs = visible(actor).filter(first_at__gte=since, first_at__lt=until)
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    by_cause = dict(qs.values_list("cause").annotate(n=Count("id")).order_by("cause"))
    by_severity = dict(qs.values_list("severity").annotate(n=Count("id")).order_by("severity"))
    by_day = [
        {"day": d.isoformat(), "count": n}
        for d, n in qs.annotate(day=TruncDate("first_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by("day")
    ]
    dur = DurationField()
    agg = qs.aggregate(
        ack=Avg(
            ExpressionWrapper(F("acked_at") - F("first_at"), output_field=dur),
            filter=Q(acked_at__isnull=False),
        ),
        clear=Avg(
            ExpressionWrapper(F("cleared_at") - F("first_at"), output_field=dur),
            filter=Q(cleared_at__isnull=False),
        ),
        total=Count("id"),
    )

    def minutes(v):
        return None if v is None else round(v.total_seconds() / 60, 1)

    return {
        "since": since,
        "until": until,
        "total": agg["total"],
        "by_cause": by_cause,
        "by_severity": by_severity,
        "by_day": by_day,
        "mean_minutes_to_ack": minutes(agg["ack"]),
        "mean_minutes_to_clear": minutes(agg["clear"]),
    }


def fire_overview(*, actor: Actor, estate_id: int | None = None) -> list[dict]:
    """One card per estate: devices online/total by type, open alarms by severity, hydrant pressures."""
    from linli.devices.models import Device, DeviceType, Telemetry

    actor.require(Perm.ALARMS_VIEW)
    estates = estate_list(actor=actor)
    if estate_id:
        estates = estates.filter(pk=estate_id)
    estates = list(estates[:50])
    ids = [e.pk for e in estates]
    devices: dict[int, dict[str, dict]] = {i: {} for i in ids}
    for row in (
        Device.objects.filter(estate_id__in=ids)
        .exclude(status="revoked")
        .values("estate_id", "profile__device_type")
        .annotate(total=Count("id"), online=Count("id", filter=Q(online=True)))
    ):
        devices[row["estate_id"]][row["profile__device_type"]] = {
            "total": row["total"],
            "online": row["online"],
        }
    alarms: dict[int, dict[str, int]] = {i: {} for i in ids}
    for e, sev, n in (
        visible(actor)
        .filter(estate_id__in=ids, cleared_at__isnull=True)
        .values_list("estate_id", "severity")
        .annotate(n=Count("id"))
        .order_by()
    ):
        alarms[e][sev] = n
    hydrants = list(
        Device.objects.filter(estate_id__in=ids, profile__device_type=DeviceType.WATER_PRESSURE)
        .exclude(status="revoked")
        .order_by("estate_id", "name")[:500]
    )
    latest_ids = (
        Telemetry.objects.filter(device_id__in=[h.pk for h in hydrants])
        .values("device_id")
        .annotate(m=Max("id"))
        .values_list("m", flat=True)
    )
    latest = {t.device_id: t for t in Telemetry.objects.filter(id__in=list(latest_ids))}
    low = dict(
        AlarmRule.objects.filter(
            cause="low_pressure", point="pressure", enabled=True, device__isnull=True
        ).values_list("profile_id", "value")
    )
    open_low = set(
        Alarm.objects.filter(
            device_id__in=[h.pk for h in hydrants], cleared_at__isnull=True, cause="low_pressure"
        ).values_list("device_id", flat=True)
    )
    cards = []
    for e in estates:
        rows = []
        for h in hydrants:
            if h.estate_id != e.pk:
                continue
            t = latest.get(h.pk)
            value = (t.values or {}).get("pressure") if t else None
            limit = low.get(h.profile_id, 0.1)
            if not h.online:
                status = "offline"
            elif h.pk in open_low or (isinstance(value, int | float) and limit is not None and value < limit):
                status = "low"
            elif value is None:
                status = "unknown"
            else:
                status = "normal"
            rows.append(
                {
                    "device_id": h.pk,
                    "name": h.name,
                    "location": h.location,
                    "pressure": value,
                    "at": t.ts if t else None,
                    "status": status,
                }
            )
        by_type = [
            {"device_type": k, "label": str(DeviceType(k).label) if k in DeviceType.values else k, **v}
            for k, v in sorted(devices[e.pk].items())
        ]
        sev = alarms[e.pk]
        cards.append(
            {
                "estate_id": e.pk,
                "estate": e.name,
                "devices_total": sum(v["total"] for v in devices[e.pk].values()),
                "devices_online": sum(v["online"] for v in devices[e.pk].values()),
                "devices": by_type,
                "open_alarms": {s: sev.get(s, 0) for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get)},
                "hydrants": rows,
            }
        )
    return cards


def rule_list(*, actor: Actor, profile_id: int | None = None, device_id: int | None = None) -> QuerySet:
    """Profile-level rules (everyone with alarm or rule rights) and device rules of devices in scope."""
    if not (actor.has(Perm.ALARMS_RULES) or actor.has(Perm.ALARMS_VIEW) or actor.is_platform):
        raise PermissionDenied()
    q = Q(device__isnull=True)
    if actor.is_platform:
        q |= Q(device__isnull=False)
    else:
        q |= Q(device__isnull=False) & actor.path_q("device__path")
    qs = AlarmRule.objects.filter(q).select_related("profile", "device")
    if profile_id:
        qs = qs.filter(profile_id=profile_id)
    if device_id:
        qs = qs.filter(device_id=device_id)
    return qs.order_by("profile__key", "device_id", "cause", "pk")


def rule_get(*, actor: Actor, pk: int) -> AlarmRule:
    rule = rule_list(actor=actor).filter(pk=pk).first()
    if rule is None:
        raise NotFound()
    return rule


def webhook_list(*, actor: Actor, estate_id: int | None = None) -> QuerySet:
    actor.require(Perm.ALARMS_RULES)
    qs = actor.scoped(WebhookEndpoint.objects.select_related("estate"), "estate__path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    return qs.order_by("estate_id", "pk")


def webhook_get(*, actor: Actor, pk: int) -> WebhookEndpoint:
    hook = webhook_list(actor=actor).filter(pk=pk).first()
    if hook is None:
        raise NotFound()
    return hook


def device_in_scope(*, actor: Actor, pk: int):
    from linli.devices.models import Device

    d = actor.scoped(Device.objects.select_related("profile"), "path").filter(pk=pk).first()
    if d is None:
        raise NotFound()
    return d


def profile_get(*, pk: int):
    from linli.devices.models import DeviceProfile

    p = DeviceProfile.objects.filter(pk=pk).first()
    if p is None:
        raise NotFound()
    return p
