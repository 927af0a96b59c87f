"""Reads of the access console and the admin API, always through the actor's scope: buildings,
controlling devices, access points, policies, holidays and settings (``access.view`` over the estate;
an id outside the actor's scope is a 404). Estates are read with ``places.selectors.estate_get`` /
``estate_list``; events and anomalies in ``access.insights.selectors``."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from linli.access.models import (
    AccessPoint,
    AccessPointKind,
    AccessPolicy,
    AccessSettings,
    Audience,
    Holiday,
)
from linli.core.errors import ValidationFailed
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor, get_in_scope, id_or_404
from linli.orgs.roles import Perm
from linli.places.models import Region, RegionLevel
from linli.places.selectors import estate_get, estate_list

POINT_ORDERING = {"path": "path", "name": "name", "code": "code", "kind": "kind", "id": "id"}
POLICY_ORDERING = {"path": "path", "name": "name", "audience": "audience", "id": "id"}


# --- buildings and devices ----------------------------------------------------------------------


def building_list(*, actor: Actor, estate_id: int | None = None) -> QuerySet[Region]:
    qs = actor.scoped(Region.objects.filter(level=RegionLevel.BUILDING), "path")
    if estate_id:
        qs = qs.filter(parent_id=estate_id)
    return qs.select_related("parent").order_by("path")


def building_get(*, actor: Actor, pk) -> Region:
    return get_in_scope(
        Region.objects.filter(level=RegionLevel.BUILDING).select_related("parent"),
        actor=actor,
        path_field="path",
        pk=id_or_404(pk),
    )


def device_get(*, actor: Actor, pk):
    """A device the actor may link to an access point (in scope; other estates' ids are a 404)."""
    from linli.devices.models import Device

    return get_in_scope(
        Device.objects.select_related("estate"), actor=actor, path_field="path", pk=id_or_404(pk)
    )


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
    return get_in_scope(
        AccessPoint.objects.select_related("estate", "building", "device"),
        actor=actor,
        path_field="path",
        pk=id_or_404(pk),
    )


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
    return get_in_scope(
        AccessPolicy.objects.select_related("estate").prefetch_related("access_points"),
        actor=actor,
        path_field="path",
        pk=id_or_404(pk),
    )


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
    return get_in_scope(
        Holiday.objects.filter(estate__isnull=False).select_related("estate"),
        actor=actor,
        path_field="estate__path",
        pk=id_or_404(pk),
    )


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
