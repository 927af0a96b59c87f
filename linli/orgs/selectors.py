"""Reads of organisations and memberships, limited to what the actor's scope touches.

An organisation (or a membership) is visible when one of its regions overlaps the actor's scope:
the region lies inside a scope node, or a scope node lies inside the region (a sub-district office
covering the street above an estate is visible to that estate's staff). Platform operators see all.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from linli.accounts.models import User, UserKind
from linli.core.errors import NotFound, Unauthenticated
from linli.core.scoping import Actor
from linli.orgs.models import Membership, Organization, OrgKind
from linli.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from linli.places.models import Region, ancestor_paths


def actor_for_user(user, *, via: str = "session", read_only: bool = False) -> Actor:
    """Resolve a user's active memberships (of active organisations) into an ``Actor``.

    Permissions are the union of the roles' grants; the scope is the set of membership regions with
    paths already covered by a shorter one dropped. Only the platform operator's platform and audit
    administrators see every region. Raises ``Unauthenticated`` for no user or an inactive one.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        raise Unauthenticated()
    roles: set[str] = set()
    perms: set[str] = set()
    paths: set[str] = set()
    platform = False
    org_id = None
    primary = ""
    memberships = (
        Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
        .select_related("organization")
        .prefetch_related("scope")
        .order_by("pk")
    )
    for m in memberships:
        roles.add(m.role)
        perms |= ROLE_PERMISSIONS.get(m.role, frozenset())
        if not primary:
            primary, org_id = m.role, m.organization_id
        if (
            m.role in (Role.PLATFORM_ADMIN, Role.AUDIT_ADMIN)
            and m.organization.kind == OrgKind.PLATFORM_OPERATOR
        ):
            platform = True
        for region in m.scope.all():
            paths.add(region.path)
    if user.kind == UserKind.RESIDENT:
        roles.add(Role.RESIDENT)
        primary = primary or Role.RESIDENT
    minimal = tuple(sorted(p for p in paths if not any(p != o and p.startswith(o) for o in paths)))
    return Actor(
        user=user,
        roles=frozenset(roles),
        permissions=frozenset(perms),
        scope_paths=minimal,
        is_platform=platform,
        read_only=read_only,
        org_id=org_id,
        primary_role=primary,
        via=via,
    )


def staff_over(estate: Region, *, roles: Iterable[str] = (), perm: str | None = None) -> QuerySet[User]:
    """Active users acting over ``estate``: an active membership of an active organisation whose scope
    is the estate or a region above it, in one of ``roles`` and/or a role granting ``perm``.

    Both given: the roles among ``roles`` that grant ``perm``. The recipients of notifications
    (alarms, escalations, anomalies, missed patrols); ordered by id.
    """
    eligible = set(roles) or set(ROLE_PERMISSIONS)
    if perm is not None:
        eligible = {r for r in eligible if perm in ROLE_PERMISSIONS.get(r, ())}
    return (
        User.objects.filter(
            is_active=True,
            memberships__role__in=sorted(eligible),
            memberships__is_active=True,
            memberships__organization__is_active=True,
            memberships__scope__path__in=estate.ancestor_paths(),
        )
        .distinct()
        .order_by("pk")
    )


def overlap_q(actor: Actor, region_path_field: str) -> Q:
    """Rows having a region (``region_path_field``, a path) that overlaps the actor's scope."""
    if actor.is_platform:
        return Q()
    if not actor.scope_paths:
        return Q(pk__in=[])
    q = Q()
    for path in actor.scope_paths:
        q |= Q(**{f"{region_path_field}__startswith": path})
        q |= Q(**{f"{region_path_field}__in": ancestor_paths(path)})
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


# Levels whose names a member of staff is likely to build a password from (R40 context words).
_CONTEXT_LEVELS = ("street", "community", "estate")
_CONTEXT_LIMIT = 200


def password_context_words(user) -> list[str]:
    """Names and codes a guesser would try first against ``user``'s password (R40): the user's
    organisations and the streets, communities and estates of their memberships (scope nodes, the
    communities above them and at most ``_CONTEXT_LIMIT`` estates below them)."""
    if user is None or not getattr(user, "pk", None):
        return []
    memberships = Membership.objects.filter(user=user, is_active=True)
    words: list[str] = list(
        Organization.objects.filter(memberships__in=memberships).values_list("name", flat=True).distinct()
    )
    scope = list(Region.objects.filter(memberships__in=memberships).distinct())
    if not scope:
        return words
    q = Q(pk__in=[r.pk for r in scope])
    for region in scope:
        q |= Q(path__in=region.ancestor_paths(), level__in=_CONTEXT_LEVELS)
        q |= Q(path__startswith=region.path, level__in=_CONTEXT_LEVELS)
    for name, code in (
        Region.objects.filter(q).order_by("depth", "pk").values_list("name", "code")[:_CONTEXT_LIMIT]
    ):
        words.extend(w for w in (name, code) if w)
    return words
