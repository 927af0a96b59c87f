"""Test data for organisations, users and memberships."""

from __future__ import annotations

import itertools

from linli.accounts.models import User, UserKind
from linli.orgs.models import Membership, Organization, OrgKind
from linli.orgs.roles import Role

_seq = itertools.count(1)
PASSWORD = "Correct-Horse-9-Battery"

ROLE_ORG_KIND = {
    Role.PROPERTY_ADMIN: OrgKind.PROPERTY_COMPANY,
    Role.CUSTOMER_SERVICE: OrgKind.PROPERTY_COMPANY,
    Role.TECHNICIAN: OrgKind.PROPERTY_COMPANY,
    Role.GUARD: OrgKind.PROPERTY_COMPANY,
    Role.COMMUNITY_WORKER: OrgKind.COMMUNITY_COMMITTEE,
    Role.SUBDISTRICT_OFFICER: OrgKind.SUBDISTRICT_OFFICE,
    Role.POLICE_OFFICER: OrgKind.POLICE_STATION,
    Role.SERVICE_PROVIDER: OrgKind.SERVICE_PROVIDER,
    Role.PLATFORM_ADMIN: OrgKind.PLATFORM_OPERATOR,
    Role.AUDIT_ADMIN: OrgKind.PLATFORM_OPERATOR,
}


def organization(
    *, kind: str = OrgKind.PROPERTY_COMPANY, name: str | None = None, regions: list | None = None
) -> Organization:
    org = Organization.objects.create(kind=kind, name=name or f"测试组织{next(_seq)}")
    if regions:
        org.regions.set(regions)
    return org


def user(
    *, username: str | None = None, kind: str = UserKind.STAFF, password: str = PASSWORD, **kwargs
) -> User:
    u = User(username=username or f"user{next(_seq)}", kind=kind, **kwargs)
    u.set_password(password)
    u.save()
    return u


def staff(*, role: str, scope: list, org: Organization | None = None, username: str | None = None) -> User:
    """A staff user with one membership over ``scope`` (region nodes)."""
    u = user(username=username)
    org = org or organization(kind=ROLE_ORG_KIND[Role(role)])
    m = Membership.objects.create(user=u, organization=org, role=role)
    m.scope.set(scope)
    return u
