"""API schemas of the privacy app."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema


class CatalogRowOut(Schema):
    app_label: str
    model: str
    table: str
    model_verbose: str
    field: str
    column: str
    field_verbose: str
    purpose: str
    basis: str
    basis_label: str
    level: int
    pi: str
    category: str
    encrypted: bool
    retention: str
    recipients: str
    note: str


class AuditQuery(Schema):
    action: str = Field("", max_length=64)
    actor: str = Field("", max_length=150, description="操作人用户名（精确匹配）")
    object_type: str = Field("", max_length=64)
    object_id: str = Field("", max_length=64)
    subject_person_id: int | None = Field(None, ge=1, le=2**62)
    date_from: date | None = None
    date_to: date | None = None
    result: Literal["", "success", "failure", "denied"] = ""


class AuditEventOut(Schema):
    id: int
    at: datetime
    action: str
    result: str
    actor_id: int | None
    actor_label: str
    actor_role: str
    actor_org_id: int | None
    ip: str
    request_id: str
    object_type: str
    object_id: str
    subject_person_id: int | None
    estate_id: int | None
    reason: str
    detail: dict


class ConsentOut(Schema):
    purpose: str
    name: str
    version: int
    sensitive: bool
    notice: str
    granted: bool
    notice_version: int | None
    granted_at: datetime | None
    needs_reconsent: bool
    by_guardian: bool


class ConsentIn(Schema):
    purpose: str = Field(..., min_length=1, max_length=48)
    person_id: int | None = Field(None, ge=1, le=2**62, description="代不满十四周岁的同户子女同意时填写")


class ConsentWithdrawIn(Schema):
    person_id: int | None = Field(None, ge=1, le=2**62)
