"""Request and response shapes of the organisations API."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from linli.core.api import MAX_ID


class OrgRegionRef(Schema):
    id: int
    name: str
    level: str


class OrganizationOut(Schema):
    id: int
    kind: str
    name: str
    credit_code: str
    is_active: bool
    regions: list[OrgRegionRef]

    @staticmethod
    def resolve_regions(obj) -> list[dict]:
        return [{"id": r.pk, "name": r.name, "level": r.level} for r in obj.regions.all()]


class MembershipOut(Schema):
    id: int
    user_id: int
    username: str
    display_name: str
    organization_id: int
    organization_name: str
    role: str
    is_active: bool
    scope_ids: list[int]
    created_at: datetime

    @staticmethod
    def resolve_username(obj) -> str:
        return obj.user.username

    @staticmethod
    def resolve_display_name(obj) -> str:
        return obj.user.display_name

    @staticmethod
    def resolve_organization_name(obj) -> str:
        return obj.organization.name

    @staticmethod
    def resolve_scope_ids(obj) -> list[int]:
        return sorted(r.pk for r in obj.scope.all())


class MembershipIn(Schema):
    user_id: int = Field(..., ge=1, le=MAX_ID)
    organization_id: int = Field(..., ge=1, le=MAX_ID)
    role: str = Field(..., max_length=32)
    scope_ids: list[int] = Field(default_factory=list, max_length=200)


class StaffCreateIn(Schema):
    username: str = Field(..., max_length=150)
    display_name: str = Field("", max_length=60)


class StaffCreatedOut(Schema):
    id: int
    username: str
    initial_password: str = Field(..., description="初始密码，仅此一次返回；首次登录须修改")


class DisableIn(Schema):
    reason: str = Field("", max_length=300)


class UserStateOut(Schema):
    id: int
    username: str
    is_active: bool
