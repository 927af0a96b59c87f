"""Organisations API: organisations and memberships in scope; account and role administration."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from linli.core.api import ErrorOut, Page, PkPath, actor_of
from linli.orgs import selectors, services
from linli.orgs.schemas import (
    MAX_ID,
    DisableIn,
    MembershipIn,
    MembershipOut,
    OrganizationOut,
    StaffCreatedOut,
    StaffCreateIn,
    UserStateOut,
)

router = Router()
_DENIED = {401: ErrorOut, 403: ErrorOut}


@router.get("/organizations", response={200: list[OrganizationOut], **_DENIED})
@paginate(Page)
def list_organizations(
    request: HttpRequest,
    kind: str | None = Query(None, max_length=32),
    q: str | None = Query(None, max_length=100),
):
    """Organisations whose regions overlap the caller's scope (and the caller's own)."""
    return selectors.organization_list(actor=actor_of(request), kind=kind, q=q)


@router.get("/organizations/{org_id}", response={200: OrganizationOut, 404: ErrorOut, **_DENIED})
def get_organization(request: HttpRequest, org_id: PkPath):
    return selectors.organization_get(actor=actor_of(request), org_id=org_id)


@router.get("/memberships", response={200: list[MembershipOut], **_DENIED})
@paginate(Page)
def list_memberships(
    request: HttpRequest,
    organization_id: int | None = Query(None, ge=1, le=MAX_ID),
    user_id: int | None = Query(None, ge=1, le=MAX_ID),
    role: str | None = Query(None, max_length=32),
    active: bool | None = None,
):
    """Memberships whose scope overlaps the caller's scope."""
    return selectors.membership_list(
        actor=actor_of(request), organization_id=organization_id, user_id=user_id, role=role, active=active
    )


@router.post(
    "/memberships", response={201: MembershipOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **_DENIED}
)
def grant_membership(request: HttpRequest, body: MembershipIn):
    """Grant a role over region nodes (platform administrators only; audited)."""
    membership = services.membership_grant(
        actor=actor_of(request),
        user_id=body.user_id,
        organization_id=body.organization_id,
        role=body.role,
        scope_ids=body.scope_ids,
    )
    return Status(201, membership)


@router.delete("/memberships/{membership_id}", response={204: None, 404: ErrorOut, 409: ErrorOut, **_DENIED})
def revoke_membership(request: HttpRequest, membership_id: PkPath):
    """End a membership (platform administrators only; audited)."""
    services.membership_revoke(actor=actor_of(request), membership_id=membership_id)
    return Status(204, None)


@router.post("/users", response={201: StaffCreatedOut, 400: ErrorOut, 409: ErrorOut, **_DENIED})
def create_staff(request: HttpRequest, body: StaffCreateIn):
    """Create a staff account; its random initial password is returned once."""
    user, password = services.staff_account_create(
        actor=actor_of(request), username=body.username, display_name=body.display_name
    )
    return Status(201, {"id": user.pk, "username": user.username, "initial_password": password})


@router.post(
    "/users/{user_id}/disable", response={200: UserStateOut, 404: ErrorOut, 409: ErrorOut, **_DENIED}
)
def disable_user(request: HttpRequest, body: DisableIn, user_id: PkPath):
    """Disable an account: sessions end and tokens are revoked."""
    return services.account_disable(actor=actor_of(request), user_id=user_id, reason=body.reason)
