"""Reads of entry and exit for the console and the admin API, always through the actor's scope.

* Access points, policies, holidays and settings: ``access.view`` over the estate (an id outside the
  actor's scope is a 404).
* Access events are whereabouts tied to people (R17, 行踪轨迹): ``access.events_view``; every call of
  ``event_list`` / ``event_get`` writes one ``SENSITIVE_READ`` audit record (one per request, never
  one per row). Names are masked by the pages and the API, never here.
* Anomalies: security anomalies for gate duty and analysis roles; ``not_seen`` care anomalies (an
  elderly person living alone not seen at any gate) are health data (R65) and exist only for actors
  with ``people.special_view`` (community workers, sub-district officers, police): absent from lists
  and counts, 404 in detail for everyone else.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from linli.access.models import (
    AccessAnomaly,
    AccessEvent,
    AccessPoint,
    AccessPointKind,
    AccessPolicy,
    AccessResult,
    AccessSettings,
    AnomalyKind,
    Audience,
    Holiday,
    Method,
)
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Region, RegionLevel

MAX_ID = 2**63 - 1
CARE_KINDS = (AnomalyKind.NOT_SEEN,)

POINT_ORDERING = {"path": "path", "name": "name", "code": "code", "kind": "kind", "id": "id"}
POLICY_ORDERING = {"path": "path", "name": "name", "audience": "audience", "id": "id"}
EVENT_ORDERING = {"occurred_at": "occurred_at", "id": "id"}
ANOMALY_ORDERING = {"last_at": "last_at", "first_at": "first_at", "count": "count", "id": "id"}


def _pk(value) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 1 <= n <= MAX_ID else None


def _require_any(actor: Actor, *perms: str) -> None:
    if not any(actor.has(p) for p in perms):
        raise PermissionDenied()


# --- estates and buildings ----------------------------------------------------------------------


def estate_list(*, actor: Actor) -> QuerySet[Region]:
    """Estates in the actor's scope (for filters and forms)."""
    return actor.scoped(Region.objects.filter(level=RegionLevel.ESTATE), "path").order_by("path")


def estate_get(*, actor: Actor, pk) -> Region:
    estate = estate_list(actor=actor).filter(pk=_pk(pk) or 0).first()
    if estate is None:
        raise NotFound()
    return estate


def building_list(*, actor: Actor, estate_id: int | None = None) -> QuerySet[Region]:
    qs = actor.scoped(Region.objects.filter(level=RegionLevel.BUILDING), "path")
    if estate_id:
        qs = qs.filter(parent_id=estate_id)
    return qs.select_related("parent").order_by("path")


def building_get(*, actor: Actor, pk) -> Region:
    building = building_list(actor=actor).filter(pk=_pk(pk) or 0).first()
    if building is None:
        raise NotFound()
    return building


def device_get(*, actor: Actor, pk):
    """A device the actor may link to an access point (in scope; other estates' ids are a 404)."""
    from linli.devices.models import Device

    device = actor.scoped(Device.objects.select_related("estate"), "path").filter(pk=_pk(pk) or 0).first()
    if device is None:
        raise NotFound()
    return device


def device_choices(*, actor: Actor, estate_id: int | None = None) -> QuerySet:
    """Active devices of the estates in scope (the access point form's choice list)."""
    from linli.devices.models import Device, DeviceStatus

    qs = actor.scoped(Device.objects.exclude(status=DeviceStatus.REVOKED), "path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    return qs.select_related("estate").order_by("estate__path", "name", "pk")


# --- access points ------------------------------------------------------------------------------


def access_point_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    building_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    ordering: str | None = None,
) -> QuerySet[AccessPoint]:
    actor.require(Perm.ACCESS_VIEW)
    if kind and kind not in AccessPointKind.values:
        raise ValidationFailed(fields={"kind": [_("无效的选项")]})
    if status and status not in AccessPoint.Status.values:
        raise ValidationFailed(fields={"status": [_("无效的选项")]})
    qs = actor.scoped(AccessPoint.objects.all(), "path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if building_id:
        qs = qs.filter(building_id=building_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    qs = qs.select_related("estate", "building", "device")
    return apply_ordering(qs, ordering, POINT_ORDERING, "path")


def access_point_get(*, actor: Actor, pk) -> AccessPoint:
    actor.require(Perm.ACCESS_VIEW)
    point = (
        actor.scoped(AccessPoint.objects.select_related("estate", "building", "device"), "path")
        .filter(pk=_pk(pk) or 0)
        .first()
    )
    if point is None:
        raise NotFound()
    return point


# --- policies -----------------------------------------------------------------------------------


def policy_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    audience: str | None = None,
    active: bool | None = None,
    ordering: str | None = None,
) -> QuerySet[AccessPolicy]:
    actor.require(Perm.ACCESS_VIEW)
    if audience and audience not in Audience.values:
        raise ValidationFailed(fields={"audience": [_("无效的选项")]})
    qs = actor.scoped(AccessPolicy.objects.all(), "path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if audience:
        qs = qs.filter(audience=audience)
    if active is not None:
        qs = qs.filter(is_active=active)
    qs = qs.select_related("estate").prefetch_related("access_points")
    return apply_ordering(qs, ordering, POLICY_ORDERING, "path")


def policy_get(*, actor: Actor, pk) -> AccessPolicy:
    actor.require(Perm.ACCESS_VIEW)
    policy = (
        actor.scoped(AccessPolicy.objects.select_related("estate"), "path")
        .prefetch_related("access_points")
        .filter(pk=_pk(pk) or 0)
        .first()
    )
    if policy is None:
        raise NotFound()
    return policy


# --- holidays -----------------------------------------------------------------------------------


def holiday_list(*, actor: Actor, estate_id: int | None = None, year: int | None = None) -> QuerySet[Holiday]:
    """National (estate empty) and estate holidays of the estates in scope."""
    actor.require(Perm.ACCESS_VIEW)
    estates = estate_list(actor=actor)
    if estate_id:
        estates = estates.filter(pk=estate_id)
    qs = Holiday.objects.filter(Q(estate__isnull=True) | Q(estate__in=estates))
    if year:
        qs = qs.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
    return qs.select_related("estate").order_by("date", "estate_id", "pk")


def holiday_get(*, actor: Actor, pk) -> Holiday:
    """An estate holiday in scope (national rows are maintained by the platform, not from here)."""
    actor.require(Perm.ACCESS_VIEW)
    holiday = (
        Holiday.objects.filter(estate__in=estate_list(actor=actor), pk=_pk(pk) or 0)
        .select_related("estate")
        .first()
    )
    if holiday is None:
        raise NotFound()
    return holiday


# --- settings -----------------------------------------------------------------------------------


def settings_for(estate_id: int) -> AccessSettings:
    """The estate's access settings (created with the defaults on first use). System use only."""
    row, _created = AccessSettings.objects.get_or_create(estate_id=estate_id)
    return row


def access_settings_get(*, actor: Actor, estate_id) -> AccessSettings:
    actor.require(Perm.ACCESS_VIEW)
    estate = estate_get(actor=actor, pk=estate_id)
    row = settings_for(estate.pk)
    row.estate = estate
    return row


# --- events (whereabouts: audited) --------------------------------------------------------------


def _audit_events_read(
    actor: Actor, *, view: str, estate_id: int | None, person_id: int | None, detail: dict
) -> None:
    audit.record(
        Action.SENSITIVE_READ,
        actor=actor,
        object_type=AccessEvent._meta.label_lower,
        object_id=detail.pop("event_id", ""),
        estate_id=estate_id,
        subject_person_id=person_id,
        detail={"view": view, **{k: v for k, v in detail.items() if v not in (None, "")}},
    )


def event_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    access_point_id: int | None = None,
    result: str | None = None,
    method: str | None = None,
    subject_kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    person_id: int | None = None,
    ordering: str | None = None,
) -> QuerySet[AccessEvent]:
    """Access events in scope, filtered; writes one audit record per call (R17)."""
    actor.require(Perm.ACCESS_EVENTS_VIEW)
    errors: dict[str, list[str]] = {}
    if result and result not in AccessResult.values:
        errors["result"] = [_("无效的选项")]
    if method and method not in Method.values:
        errors["method"] = [_("无效的选项")]
    if subject_kind and subject_kind not in ("resident", "staff", "visitor", "unknown"):
        errors["subject_kind"] = [_("无效的选项")]
    if since and until and since >= until:
        errors["until"] = [_("结束时间须晚于开始时间")]
    if errors:
        raise ValidationFailed(fields=errors)
    qs = actor.scoped(AccessEvent.objects.all(), "path")
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if access_point_id:
        qs = qs.filter(access_point_id=access_point_id)
    if result:
        qs = qs.filter(result=result)
    if method:
        qs = qs.filter(method=method)
    if subject_kind:
        qs = qs.filter(subject_kind=subject_kind)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    if person_id:
        qs = qs.filter(person_id=person_id)
    qs = qs.select_related("access_point", "person", "visitor_pass")
    qs = apply_ordering(qs, ordering, EVENT_ORDERING, "-occurred_at")
    _audit_events_read(
        actor,
        view="list",
        estate_id=estate_id,
        person_id=person_id,
        detail={
            "access_point": access_point_id,
            "result": result,
            "method": method,
            "subject_kind": subject_kind,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "person": person_id,
        },
    )
    return qs


def event_get(*, actor: Actor, pk) -> AccessEvent:
    actor.require(Perm.ACCESS_EVENTS_VIEW)
    event = (
        actor.scoped(AccessEvent.objects.select_related("access_point", "person", "visitor_pass"), "path")
        .filter(pk=_pk(pk) or 0)
        .first()
    )
    if event is None:
        raise NotFound()
    _audit_events_read(
        actor,
        view="detail",
        estate_id=event.estate_id,
        person_id=event.person_id,
        detail={"event_id": event.pk},
    )
    return event


# --- anomalies ----------------------------------------------------------------------------------


def can_see_care(actor: Actor) -> bool:
    return actor.has(Perm.PEOPLE_SPECIAL_VIEW)


def anomalies_visible(actor: Actor) -> QuerySet[AccessAnomaly]:
    """Anomalies the actor may see: security ones with gate duty or analysis permission, care ones
    (R65) only with the special-care view."""
    care = can_see_care(actor) and actor.has(Perm.ACCESS_ANALYSIS)
    security = (
        actor.has(Perm.ACCESS_GUARD) or actor.has(Perm.ACCESS_ANALYSIS) or actor.has(Perm.ACCESS_MANAGE)
    )
    if not security and not care:
        raise PermissionDenied()
    qs = actor.scoped(AccessAnomaly.objects.all(), "path")
    if not care:
        qs = qs.filter(health_sensitive=False).exclude(kind__in=CARE_KINDS)
    return qs


def anomaly_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    access_point_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    ordering: str | None = None,
) -> QuerySet[AccessAnomaly]:
    errors: dict[str, list[str]] = {}
    if kind and kind not in AnomalyKind.values:
        errors["kind"] = [_("无效的选项")]
    if status and status not in AccessAnomaly.Status.values:
        errors["status"] = [_("无效的选项")]
    if errors:
        raise ValidationFailed(fields=errors)
    qs = anomalies_visible(actor)
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if access_point_id:
        qs = qs.filter(access_point_id=access_point_id)
    if since:
        qs = qs.filter(last_at__gte=since)
    if until:
        qs = qs.filter(first_at__lt=until)
    qs = qs.select_related("estate", "access_point", "person", "handled_by")
    return apply_ordering(qs, ordering, ANOMALY_ORDERING, "-last_at")


def anomaly_get(*, actor: Actor, pk) -> AccessAnomaly:
    anomaly = (
        anomalies_visible(actor)
        .select_related("estate", "access_point", "person", "handled_by")
        .filter(pk=_pk(pk) or 0)
        .first()
    )
    if anomaly is None:
        raise NotFound()
    return anomaly


def person_home_labels(person_ids: list[int]) -> dict[int, str]:
    """person id → "1号楼1单元101" of their current home (for care anomalies, shown to care roles)."""
    from linli.people.models import Occupancy

    labels: dict[int, str] = {}
    rows = (
        Occupancy.objects.filter(person_id__in=person_ids, end_date__isnull=True)
        .select_related("room__building", "room__unit")
        .order_by("start_date", "pk")
    )
    for occ in rows:
        room = occ.room
        unit = room.unit.name if room.unit_id else ""
        labels.setdefault(occ.person_id, f"{room.building.name}{unit}{room.number}")
    return labels
