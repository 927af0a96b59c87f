"""Who is asking and what they may see: the one place where scope is computed.

Every read of estate data goes through a selector that applies ``actor.scoped`` / ``get_in_scope``; a
view never filters by hand. An object outside the caller's scope is simply not found (404), so ids of
other estates reveal nothing; the permission is checked after the scope (403). Estates named in a
request go through ``places.selectors.estate_get`` / ``require_estate``, which keep that order.
The kernel imports no app: ``resolve_actor`` reaches ``orgs`` through settings (ADR 0010).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.module_loading import import_string

from linli.core.errors import NotFound, PermissionDenied


@dataclass
class Actor:
    """The authenticated caller: a user with roles over scope paths, or a resident."""

    user: Any  # accounts.User (core does not import the apps)
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

    def in_scope_path(self, path: str) -> bool:
        return self.is_platform or any(path.startswith(p) for p in self.scope_paths)

    def require_path(self, path: str) -> None:
        """``NotFound`` (404) unless ``path`` lies in scope: a service's own check of an object it was
        handed (objects normally come from a scoped selector; checking again keeps the service safe)."""
        if not self.in_scope_path(path):
            raise NotFound()


def resolve_actor(user, *, via: str = "session", read_only: bool = False) -> Actor:
    """The ``Actor`` of a signed-in user, for the kernel's page and API plumbing.

    Roles and scopes are memberships, which live in ``orgs`` above the kernel; the function that turns
    a user into an actor is named by ``settings.ACTOR_RESOLVER`` (``orgs.selectors.actor_for_user``)
    so that core never imports a domain app. Domain code calls ``actor_for_user`` directly.
    """
    return import_string(settings.ACTOR_RESOLVER)(user, via=via, read_only=read_only)


MAX_ID = 2**63 - 1  # the largest primary key the database holds


def id_or_404(value) -> int:
    """An id from a request as the database can hold it; anything else cannot exist: ``NotFound``
    (404, never a database error or a 500)."""
    if isinstance(value, bool | float):
        raise NotFound()
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 1 <= pk <= MAX_ID:
        raise NotFound()
    return pk


def get_in_scope(qs: QuerySet, *, actor: Actor, path_field: str, perm: str | None = None, **lookup):
    """Fetch one object within the actor's scope or raise ``NotFound``; then, with ``perm``, require it.

    Scope first: an id outside the scope is 404 whatever the actor's permissions (ids reveal nothing);
    only an object in scope can answer 403 to an actor lacking ``perm``.
    """
    obj = actor.scoped(qs, path_field).filter(**lookup).first()
    if obj is None:
        raise NotFound()
    if perm is not None:
        actor.require(perm)
    return obj
