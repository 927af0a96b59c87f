"""Reads of the device registry, always through the actor's scope (``Device.path``).

Visibility: ``devices.view`` and the device's path under one of the actor's scope paths; a device of
another estate is simply not found. Telemetry and events of health-sensitive devices (R65: elderly
wearables, SOS buttons) additionally need ``alarms.health_view``: the device itself (where it hangs,
whether it is online) is registry data, what it measured about a person is health data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.models import ImportJob
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor, id_or_404
from linli.devices.models import (
    DEVICES_IMPORT_KIND,
    Device,
    DeviceEvent,
    DeviceProfile,
    DeviceStatus,
    RejectedMessage,
    Telemetry,
)
from linli.orgs.roles import Perm
from linli.places.models import Region, RegionLevel
from linli.places.selectors import estate_get

ORDERING = {
    "name": "name",
    "key": "key",
    "floor": "floor",
    "location": "path",
    "last_seen_at": "last_seen_at",
    "battery": "battery",
    "signal": "signal",
    "status": "status",
    "rejected_count": "rejected_count",
    "created_at": "created_at",
    "id": "id",
}
SERIES_MAX_POINTS = 500
SERIES_MAX_SPAN = timedelta(days=31)
SERIES_DEFAULT_SPAN = timedelta(hours=24)


def visible(actor: Actor) -> QuerySet[Device]:
    actor.require(Perm.DEVICES_VIEW)
    return actor.scoped(Device.objects.all(), "path")


def device_list(
    *,
    actor: Actor,
    estate: int | None = None,
    building: int | None = None,
    floor: int | None = None,
    device_type: str | None = None,
    profile: int | None = None,
    online: bool | None = None,
    status: str | None = None,
    q: str | None = None,
    ordering: str | None = None,
) -> QuerySet[Device]:
    """Devices in scope, filtered; ``ordering`` is one of ``ORDERING`` (``-`` for descending)."""
    qs = visible(actor)
    if status is not None and status not in DeviceStatus.values:
        raise ValidationFailed(fields={"status": [_("可选值：") + ", ".join(DeviceStatus.values)]})
    if estate:
        qs = qs.filter(estate_id=estate)
    if building:
        qs = qs.filter(building_id=building)
    if floor is not None:
        qs = qs.filter(floor=floor)
    if device_type:
        qs = qs.filter(profile__device_type=device_type)
    if profile:
        qs = qs.filter(profile_id=profile)
    if online is not None:
        qs = qs.filter(online=online)
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(key__icontains=q) | Q(location__icontains=q))
    qs = qs.select_related("estate", "building", "profile", "room", "facility")
    if not ordering:
        return qs.order_by("path", "floor", "name", "pk")
    return apply_ordering(qs, ordering, ORDERING, "path")


def device_get(*, actor: Actor, pk) -> Device:
    device = (
        visible(actor)
        .select_related("estate", "building", "profile", "room", "facility")
        .filter(pk=id_or_404(pk))
        .first()
    )
    if device is None:
        raise NotFound()
    return device


def can_see_readings(actor: Actor, device: Device) -> bool:
    """R65: readings and events of health-sensitive devices only for carers / community workers."""
    return not device.profile.health_sensitive or actor.has(Perm.ALARMS_HEALTH_VIEW)


def _require_readings(actor: Actor, device: Device) -> None:
    if not can_see_readings(actor, device):
        raise PermissionDenied(_("该设备的数据属于健康信息，仅授权照护人员可见"))


def numeric_points_of(profile: DeviceProfile) -> list[dict]:
    return [p for p in profile.points if p.get("kind", "number") == "number"]


def numeric_points(device: Device) -> list[dict]:
    return numeric_points_of(device.profile)


def telemetry_series(
    *,
    actor: Actor,
    device: Device,
    point: str,
    since: datetime | None = None,
    until: datetime | None = None,
    max_points: int = SERIES_MAX_POINTS,
) -> dict:
    """One numeric point of a device over [since, until) (default: the last 24 h, at most 31 days),
    downsampled to at most ``max_points`` bucket averages (with each bucket's min and max).

    At most ``max_points`` readings: returned as they are (``bucket_seconds`` 0). More: the database
    averages them per bucket over the (device, ts) index range and returns ≤ ``max_points`` rows, so
    neither the transfer nor the Python work grows with the number of readings. Only the point's
    value is read, and a non-numeric value is skipped (never a cast error).
    """
    _require_readings(actor, device)
    spec = device.profile.point(point)
    if spec is None or spec.get("kind", "number") != "number":
        raise ValidationFailed(fields={"point": [_("不是该设备的数值监测点")]})
    bad_range = ValidationFailed(fields={"since": [_("时间范围无效（最长 31 天）")]})
    try:
        until = _aware(until) if until else timezone.now()
        since = _aware(since) if since else until - SERIES_DEFAULT_SPAN
    except (OverflowError, ValueError):
        raise bad_range from None
    if since >= until or until - since > SERIES_MAX_SPAN:
        raise bad_range
    max_points = max(1, min(max_points, SERIES_MAX_POINTS))
    start, end = since.timestamp(), until.timestamp()
    raw = _series_raw(device.pk, point, since, until, max_points + 1)
    if len(raw) <= max_points:
        bucket = 0
        out = [{"t": t, "value": v, "min": v, "max": v, "count": 1} for t, v in raw]
        raw_count = len(raw)
    else:
        bucket = max(1, math.ceil((end - start) / max_points))
        out = _series_buckets(device.pk, point, since, until, start, bucket)
        raw_count = sum(p["count"] for p in out)
    return {
        "device_id": device.pk,
        "point": point,
        "name": spec.get("name", point),
        "unit": spec.get("unit", ""),
        "min": spec.get("min"),
        "max": spec.get("max"),
        "since": since,
        "until": until,
        "bucket_seconds": bucket,
        "raw_count": raw_count,
        "points": [{**p, "ts": datetime.fromtimestamp(p["t"], tz=since.tzinfo)} for p in out],
    }


# The point's numeric value, NULL when the row lacks it or holds a non-number (never a cast error).
_VALUE_SQL = {
    "postgresql": "CASE WHEN jsonb_typeof(t.\"values\" -> %s) = 'number' "
    'THEN (t."values" ->> %s)::double precision END',
    "sqlite": "CASE WHEN json_type(t.\"values\", %s) IN ('integer', 'real') "
    'THEN CAST(json_extract(t."values", %s) AS REAL) END',
}
_EPOCH_SQL = {
    "postgresql": "EXTRACT(EPOCH FROM t.ts)::double precision",
    # Whole seconds plus milliseconds, exact (julianday arithmetic would be off by microseconds).
    "sqlite": "(CAST(strftime('%%s', t.ts) AS REAL)"
    " + strftime('%%f', t.ts) - CAST(strftime('%%S', t.ts) AS REAL))",
}


def _series_sql(point: str) -> tuple[str, str, list]:
    vendor = connection.vendor if connection.vendor in _VALUE_SQL else "sqlite"
    arg = point if vendor == "postgresql" else '$."' + point + '"'
    return _VALUE_SQL[vendor], _EPOCH_SQL[vendor], [arg, arg]


def _db_dt(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _series_raw(device_id: int, point: str, since: datetime, until: datetime, limit: int) -> list:
    """Up to ``limit`` raw (epoch seconds, value) pairs of the point, oldest first."""
    value, epoch, args = _series_sql(point)
    table = Telemetry._meta.db_table
    sql = (
        f"SELECT {epoch} AS e, v FROM (SELECT t.ts, {value} AS v FROM {table} t "  # noqa: S608
        "WHERE t.device_id = %s AND t.ts >= %s AND t.ts < %s) t WHERE v IS NOT NULL ORDER BY t.ts LIMIT %s"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*args, device_id, _db_dt(since), _db_dt(until), limit])
        return [(float(e), float(v)) for e, v in cur.fetchall() if math.isfinite(float(v))]


def _series_buckets(
    device_id: int, point: str, since: datetime, until: datetime, start: float, bucket: int
) -> list[dict]:
    """Average, min, max and count of the point per ``bucket`` seconds from ``start``, computed by
    the database over the (device, ts) index range: one row per non-empty bucket."""
    value, epoch, args = _series_sql(point)
    table = Telemetry._meta.db_table
    sql = (
        f"SELECT b, AVG(v), MIN(v), MAX(v), COUNT(v) FROM (SELECT FLOOR(({epoch} - %s) / %s) AS b, "  # noqa: S608
        f"{value} AS v FROM {table} t WHERE t.device_id = %s AND t.ts >= %s AND t.ts < %s) x "
        "WHERE v IS NOT NULL GROUP BY b ORDER BY b"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [start, bucket, *args, device_id, _db_dt(since), _db_dt(until)])
        rows = cur.fetchall()
    return [
        {"t": start + int(b) * bucket, "value": float(a), "min": float(lo), "max": float(hi), "count": int(n)}
        for b, a, lo, hi, n in rows
    ]


def _aware(moment: datetime) -> datetime:
    """Query datetimes without an offset are read in the server's time zone."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def device_events(*, actor: Actor, device: Device, limit: int | None = None) -> QuerySet[DeviceEvent]:
    _require_readings(actor, device)
    qs = DeviceEvent.objects.filter(device=device).order_by("-ts", "-id")
    return qs[:limit] if limit else qs


def device_telemetry_recent(*, actor: Actor, device: Device, limit: int = 10) -> list[Telemetry]:
    _require_readings(actor, device)
    return list(Telemetry.objects.filter(device=device).order_by("-ts", "-id")[:limit])


def rejected_messages(
    *, actor: Actor, device: Device | None = None, estate: int | None = None, limit: int | None = None
) -> QuerySet[RejectedMessage]:
    """Rejected-message samples of one device, or of every device in scope (optionally one estate).

    Samples without a known device (unknown key, forged topic) belong to no estate and are never
    listed here: they are platform operations data. Samples of health-sensitive devices may carry
    readings (R65): only for actors who may see those readings.
    """
    if device is not None:
        _require_readings(actor, device)
        qs = RejectedMessage.objects.filter(device=device)
    else:
        devices = visible(actor)
        if estate:
            devices = devices.filter(estate_id=estate)
        if not actor.has(Perm.ALARMS_HEALTH_VIEW):
            devices = devices.filter(profile__health_sensitive=False)
        qs = RejectedMessage.objects.filter(device__in=devices.values("pk"))
    qs = qs.select_related("device").order_by("-received_at", "-id")
    return qs[:limit] if limit else qs


# --- profiles ------------------------------------------------------------------------------------


def profile_list(*, actor: Actor, device_type: str | None = None) -> QuerySet[DeviceProfile]:
    """Profiles are shared catalogue data (no estate): every actor with ``devices.view`` sees them."""
    actor.require(Perm.DEVICES_VIEW)
    qs = DeviceProfile.objects.all()
    if device_type:
        qs = qs.filter(device_type=device_type)
    return qs.order_by("device_type", "key")


def profile_get(*, actor: Actor, pk) -> DeviceProfile:
    actor.require(Perm.DEVICES_VIEW)
    profile = DeviceProfile.objects.filter(pk=id_or_404(pk)).first()
    if profile is None:
        raise NotFound()
    return profile


# --- places the console filters by ---------------------------------------------------------------


def building_list(*, actor: Actor, estate: int | None = None) -> QuerySet[Region]:
    actor.require(Perm.DEVICES_VIEW)
    qs = actor.scoped(Region.objects.filter(level=RegionLevel.BUILDING), "path")
    if estate:
        qs = qs.filter(parent_id=estate)
    return qs.select_related("parent").order_by("path")


# --- console grouping ----------------------------------------------------------------------------


@dataclass
class FloorGroup:
    floor: int | None
    devices: list[Device] = field(default_factory=list)

    @property
    def online(self) -> int:
        return sum(1 for d in self.devices if d.online)


@dataclass
class BuildingGroup:
    estate: Region
    building: Region | None
    floors: list[FloorGroup] = field(default_factory=list)

    @property
    def devices(self) -> int:
        return sum(len(f.devices) for f in self.floors)

    @property
    def online(self) -> int:
        return sum(f.online for f in self.floors)


def devices_by_building(devices) -> list[BuildingGroup]:
    """Group devices (already ordered by path, floor, name) by building, then by floor (top first;
    devices without a floor last). Devices without a building form the estate's own group."""
    groups: dict[tuple[int, int | None], BuildingGroup] = {}
    for d in devices:
        g = groups.get((d.estate_id, d.building_id))
        if g is None:
            g = groups[(d.estate_id, d.building_id)] = BuildingGroup(estate=d.estate, building=d.building)
        if not g.floors or g.floors[-1].floor != d.floor:
            match = next((f for f in g.floors if f.floor == d.floor), None)
            if match is None:
                match = FloorGroup(floor=d.floor)
                g.floors.append(match)
        else:
            match = g.floors[-1]
        match.devices.append(d)
    out = list(groups.values())
    for g in out:
        g.floors.sort(key=lambda f: (f.floor is None, -(f.floor or 0)))
    out.sort(key=lambda g: (g.estate.path, g.building is not None, g.building.path if g.building else ""))
    return out


def device_counts(qs: QuerySet[Device]) -> dict:
    total = qs.count()
    online = qs.filter(online=True).count()
    return {"total": total, "online": online, "offline": total - online}


# --- imports -------------------------------------------------------------------------------------


def import_job_list(*, actor: Actor) -> QuerySet[ImportJob]:
    actor.require(Perm.DEVICES_MANAGE)
    qs = ImportJob.objects.filter(kind=DEVICES_IMPORT_KIND)
    return (
        actor.scoped(qs, "estate__path").select_related("estate", "created_by").order_by("-created_at", "-pk")
    )


# --- references of a new device --------------------------------------------------------------------


@dataclass
class Placement:
    estate: Region
    profile: DeviceProfile
    building: Region | None = None
    room: object | None = None
    facility: object | None = None


def placement_resolve(
    *,
    actor: Actor,
    estate: int,
    profile: int,
    building: int | None = None,
    room: int | None = None,
    facility: int | None = None,
) -> Placement:
    """The objects a new device refers to, each looked up in the actor's scope (404 otherwise).
    That they belong together (room in the building, building in the estate) is the service's check."""
    from linli.places.models import Facility, Room

    out = Placement(
        estate=estate_get(actor=actor, pk=estate, perm=Perm.DEVICES_VIEW),
        profile=profile_get(actor=actor, pk=profile),
    )
    if building:
        out.building = building_list(actor=actor).filter(pk=id_or_404(building)).first()
        if out.building is None:
            raise NotFound()
    if room:
        out.room = actor.scoped(Room.objects.all(), "path").filter(pk=id_or_404(room)).first()
        if out.room is None:
            raise NotFound()
    if facility:
        out.facility = (
            actor.scoped(Facility.objects.all(), "estate__path").filter(pk=id_or_404(facility)).first()
        )
        if out.facility is None:
            raise NotFound()
    return out
