"""Who is asking and what they may see: the one place where scope is computed.

Every read of estate data goes through a selector that calls ``scope_filter`` (or
``actor.require``); a view never filters by hand. An object outside the caller's scope is simply
not found (404), so ids of other estates reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from linli.core.errors import NotFound, PermissionDenied, Unauthenticated

if TYPE_CHECKING:
    from linli.accounts.models import User


@dataclass
class Actor:
    """The authenticated caller: a user with roles over scope paths, or a resident."""

    user: User
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    scope_paths: tuple[str, ...] = ()
    is_platform: bool = False  # platform operator: every region
    read_only: bool = False  # API token limited to reads
    org_id: int | None = None
    primary_role: str = ""
    via: str = "session"
    extra: dict = field(default_factory=dict)

    @property
    def is_resident(self) -> bool:
        return self.user.kind == "resident"

    def has(self, perm: str) -> bool:
        return perm in self.permissions

    def require(self, perm: str, *, write: bool = False) -> None:
        if perm not in self.permissions:
            raise PermissionDenied()
        if write and self.read_only:
            raise PermissionDenied("该令牌为只读令牌")

    def path_q(self, path_field: str) -> Q:
        """Q limiting rows whose ``path_field`` (a materialised region path) lies in scope."""
        if self.is_platform:
            return Q()
        if not self.scope_paths:
            return Q(pk__in=[])
        q = Q()
        for p in self.scope_paths:
            q |= Q(**{f"{path_field}__startswith": p})
        return q

    def scoped(self, qs: QuerySet, path_field: str) -> QuerySet:
        return qs.filter(self.path_q(path_field))

    @cached_property
    def estate_ids(self) -> list[int]:
        """Ids of every estate the actor may see (platform operators: all)."""
        from linli.places.models import Region, RegionLevel

        qs = Region.objects.filter(level=RegionLevel.ESTATE)
        return list(self.scoped(qs, "path").values_list("pk", flat=True))

    def in_scope_path(self, path: str) -> bool:
        return self.is_platform or any(path.startswith(p) for p in self.scope_paths)


def build_actor(user, *, via: str = "session", read_only: bool = False) -> Actor:
    """Resolve a user's active memberships into an ``Actor``."""
    from linli.orgs.models import Membership
    from linli.orgs.roles import ROLE_PERMISSIONS, Role

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
        if m.role in (Role.PLATFORM_ADMIN, Role.AUDIT_ADMIN) and m.organization.kind == "platform_operator":
            platform = True
        for region in m.scope.all():
            paths.add(region.path)
    if user.kind == "resident":
        roles.add(Role.RESIDENT)
        primary = primary or Role.RESIDENT
    # Drop paths already covered by a shorter one.
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


def get_in_scope(qs: QuerySet, *, actor: Actor, path_field: str, **lookup):
    """Fetch one object within the actor's scope or raise ``NotFound`` (never 403: ids reveal nothing)."""
    obj = actor.scoped(qs, path_field).filter(**lookup).first()
    if obj is None:
        raise NotFound()
    return obj
