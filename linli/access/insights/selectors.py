"""Reads of entry-and-exit insights, always through the actor's scope.

* Access events are whereabouts tied to people (R17, 行踪轨迹): ``access.events_view``; every call of
  ``event_list`` / ``event_get`` writes one ``SENSITIVE_READ`` audit record (one per request, never
  one per row). Names are masked by the pages and the API, never here.
* Anomalies: security anomalies for gate duty and analysis roles; ``not_seen`` care anomalies (an
  elderly person living alone not seen at any gate) are health data (R65) and exist only for actors
  with ``people.special_view`` (community workers, sub-district officers, police): absent from lists
  and counts, 404 in detail for everyone else.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.access.models import (
    AccessAnomaly,
    AccessEvent,
    AccessResult,
    AnomalyKind,
    Method,
)
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor, get_in_scope, id_or_404
from linli.orgs.roles import Perm

CARE_KINDS = (AnomalyKind.NOT_SEEN,)
EVENT_ORDERING = {"occurred_at": "occurred_at", "id": "id"}
ANOMALY_ORDERING = {"last_at": "last_at", "first_at": "first_at", "count": "count", "id": "id"}


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
    event = get_in_scope(
        AccessEvent.objects.select_related("access_point", "person", "visitor_pass"),
        actor=actor,
        path_field="path",
        pk=id_or_404(pk),
    )
    _audit_events_read(
        actor,
        view="detail",
        estate_id=event.estate_id,
        person_id=event.person_id,
        detail={"event_id": event.pk},
    )
    return event


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
        .filter(pk=id_or_404(pk))
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
