"""Reads of organisations and memberships, limited to what the actor's scope touches.

An organisation (or a membership) is visible when one of its regions overlaps the actor's scope:
the region lies inside a scope node, or a scope node lies inside the region (a sub-district office
covering the street above an estate is visible to that estate's staff). Platform operators see all.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from linli.core.errors import NotFound
from linli.core.scoping import Actor
from linli.orgs.models import Membership, Organization, OrgKind
from linli.orgs.roles import Perm
from linli.places.models import Region


def _ancestor_paths(path: str) -> list[str]:
    """'/1/4/9/' → ['/1/', '/1/4/', '/1/4/9/']."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def overlap_q(actor: Actor, region_path_field: str) -> Q:
    """Rows having a region (``region_path_field``, a path) that overlaps the actor's scope."""
    if actor.is_platform:
        return Q()
    if not actor.scope_paths:
        return Q(pk__in=[])
    q = Q()
    for path in actor.scope_paths:
        q |= Q(**{f"{region_path_field}__startswith": path})
        q |= Q(**{f"{region_path_field}__in": _ancestor_paths(path)})
    return q


def organization_list(
    *, actor: Actor, kind: str | None = None, q: str | None = None
) -> QuerySet[Organization]:
    """Organisations overlapping the actor's scope, plus the actor's own organisations."""
    actor.require(Perm.ORGS_VIEW)
    visible = overlap_q(actor, "regions__path")
    if not actor.is_platform:
        visible |= Q(memberships__user=actor.user, memberships__is_active=True)
    ids = Organization.objects.filter(visible).values("pk")
    qs = Organization.objects.filter(pk__in=ids).prefetch_related("regions")
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("kind", "name", "pk")


def organization_get(*, actor: Actor, org_id: int) -> Organization:
    obj = organization_list(actor=actor).filter(pk=org_id).first()
    if obj is None:
        raise NotFound()
    return obj


def membership_list(
    *,
    actor: Actor,
    organization_id: int | None = None,
    user_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> QuerySet[Membership]:
    """Memberships whose scope overlaps the actor's scope (platform operators: all)."""
    actor.require(Perm.ORGS_VIEW)
    ids = Membership.objects.filter(overlap_q(actor, "scope__path")).values("pk")
    qs = (
        Membership.objects.filter(pk__in=ids).select_related("user", "organization").prefetch_related("scope")
    )
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if role:
        qs = qs.filter(role=role)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("organization__name", "user__username", "pk")


def membership_get(*, actor: Actor, membership_id: int) -> Membership:
    obj = membership_list(actor=actor).filter(pk=membership_id).first()
    if obj is None:
        raise NotFound()
    return obj


def property_company_of(estate: Region) -> Organization | None:
    """The active property company serving ``estate`` (its name goes on receipts and notices)."""
    return (
        Organization.objects.filter(kind=OrgKind.PROPERTY_COMPANY, is_active=True, regions=estate)
        .order_by("pk")
        .first()
    )
