"""Credentials API (``/api/v1/access/credentials/…``): 一码通, IC cards and PINs.

Staff (``access.view`` to list, ``access.manage`` to issue, suspend, revoke, reactivate) work within
their scope: an id of another estate is 404. Residents use the ``/me`` endpoints: their QR code (a
fresh signed code, its expiry and the refresh interval), their own credentials (masked), a request for
a card or PIN instead of face recognition (R22), and ``POST /{id}/suspend`` to report their own card
lost. Card numbers are masked everywhere (last 4 digits); a PIN is returned once, when issued.
"""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from linli.access.credentials import services as svc
from linli.core.api import ERRORS, WRITE_ERRORS, Id, Page, PkPath, QueryDateTime, actor_of
from linli.orgs.roles import Perm

router = Router()

KindCode = Literal["qr", "card", "pin"]
StatusCode = Literal["active", "suspended", "revoked", "requested"]


class CredentialOut(Schema):
    id: int
    estate_id: int
    person_id: int
    person_name: str
    kind: str
    label: str
    number_masked: str
    status: str
    status_label: str
    valid_until: datetime | None
    revoked_at: datetime | None
    revoked_reason: str
    created_at: datetime


class MyCredentialOut(Schema):
    id: int
    kind: str
    label: str
    number_masked: str
    status: str
    status_label: str
    valid_until: datetime | None
    created_at: datetime


class QrOut(Schema):
    code: str
    expires_at: datetime
    refresh_seconds: int


class CardIn(Schema):
    person_id: Id
    number: str = Field(..., min_length=1, max_length=40, description="卡号：4–20 位数字或十六进制字符")
    label: str = Field("", max_length=50)
    valid_until: QueryDateTime | None = None
    request_id: Id | None = Field(None, description="发放住户的申请（可选）")


class PinIn(Schema):
    person_id: Id
    label: str = Field("", max_length=50)
    request_id: Id | None = None


class PinOut(Schema):
    credential: CredentialOut
    pin: str = Field(..., description="仅此一次显示，服务器不保存")


class QrIssueIn(Schema):
    person_id: Id


class CredentialReasonIn(Schema):
    reason: str = Field("", max_length=100)


class RequestIn(Schema):
    kind: Literal["card", "pin"]
    note: str = Field("", max_length=50, description="说明，例如：不使用人脸识别、没有智能手机")


class RequestOut(Schema):
    request: MyCredentialOut
    created: bool


def credential_out(c) -> dict:
    return {
        "id": c.pk,
        "estate_id": c.estate_id,
        "person_id": c.person_id,
        "person_name": c.person.name,
        "kind": c.kind,
        "label": c.label,
        "number_masked": svc.masked_number(c),
        "status": c.status,
        "status_label": svc.status_label(c.status),
        "valid_until": c.valid_until,
        "revoked_at": c.revoked_at,
        "revoked_reason": c.revoked_reason,
        "created_at": c.created_at,
    }


def my_out(c) -> dict:
    return {
        "id": c.pk,
        "kind": c.kind,
        "label": c.label,
        "number_masked": svc.masked_number(c),
        "status": c.status,
        "status_label": svc.status_label(c.status),
        "valid_until": c.valid_until,
        "created_at": c.created_at,
    }


def _out_for(actor, c) -> dict:
    return my_out(c) if actor.is_resident and not actor.has(Perm.ACCESS_VIEW) else credential_out(c)


class ListFilters(Schema):
    estate_id: Id | None = None
    person_id: Id | None = None
    kind: KindCode | None = None
    status: StatusCode | None = None
    q: str | None = Field(None, max_length=50)


# --- resident -------------------------------------------------------------------------------------


@router.get("/me", response={200: list[MyCredentialOut], **ERRORS}, url_name="access_my_credentials")
def my_credentials(request: HttpRequest):
    """The signed-in resident's own credentials (card numbers masked)."""
    return [my_out(c) for c in svc.my_credentials(actor=actor_of(request))]


@router.get("/me/qr", response={200: QrOut, **WRITE_ERRORS}, url_name="access_my_qr")
def my_qr(request: HttpRequest):
    """A fresh 一码通 code: show it until ``expires_at``, fetch a new one every ``refresh_seconds``."""
    code, expires_at, refresh = svc.qr_code_for(actor=actor_of(request))
    return {"code": code, "expires_at": expires_at, "refresh_seconds": refresh}


@router.post(
    "/me/request", response={200: RequestOut, 201: RequestOut, **WRITE_ERRORS}, url_name="access_request"
)
def request_alternative(request: HttpRequest, body: RequestIn):
    """Ask the property office for an IC card or a PIN (no face, no phone needed at the door)."""
    row, created = svc.credential_request(actor=actor_of(request), kind=body.kind, note=body.note)
    return Status(201 if created else 200, {"request": my_out(row), "created": created})


# --- staff ----------------------------------------------------------------------------------------


class CredentialsPage(Page):
    """``Page`` over the credential queryset, each item masked by ``credential_out``."""

    def paginate_queryset(self, queryset, pagination, **params):
        out = super().paginate_queryset(queryset, pagination, **params)
        out["items"] = [credential_out(c) for c in out["items"]]
        return out


@router.get("", response={200: list[CredentialOut], **ERRORS}, url_name="access_credentials")
@paginate(CredentialsPage)
def list_credentials(request: HttpRequest, filters: Query[ListFilters]):
    """Credentials in scope, newest first; card numbers masked."""
    return svc.credential_list(actor=actor_of(request), **filters.dict())


@router.get(
    "/{int:pk}", response={200: CredentialOut | MyCredentialOut, **ERRORS}, url_name="access_credential"
)
def get_credential(request: HttpRequest, pk: PkPath):
    actor = actor_of(request)
    return _out_for(actor, svc.credential_get(actor=actor, pk=pk))


def _request_row(actor, request_id):
    return None if request_id is None else svc.credential_get(actor=actor, pk=request_id)


@router.post("/cards", response={201: CredentialOut, **WRITE_ERRORS}, url_name="access_issue_card")
def issue_card(request: HttpRequest, body: CardIn):
    actor = actor_of(request)
    person = svc.person_for_issue(actor=actor, person_id=body.person_id)
    row = svc.credential_issue_card(
        actor=actor,
        person=person,
        number=body.number,
        label=body.label,
        valid_until=body.valid_until,
        request=_request_row(actor, body.request_id),
    )
    return Status(201, credential_out(row))


@router.post("/pins", response={201: PinOut, **WRITE_ERRORS}, url_name="access_issue_pin")
def issue_pin(request: HttpRequest, body: PinIn):
    actor = actor_of(request)
    person = svc.person_for_issue(actor=actor, person_id=body.person_id)
    row, pin = svc.credential_issue_pin(
        actor=actor, person=person, label=body.label, request=_request_row(actor, body.request_id)
    )
    return Status(201, {"credential": credential_out(row), "pin": pin})


@router.post("/qr", response={201: CredentialOut, **WRITE_ERRORS}, url_name="access_issue_qr")
def issue_qr(request: HttpRequest, body: QrIssueIn):
    """Issue or re-issue a person's 一码通 identity (codes of the previous one stop working)."""
    actor = actor_of(request)
    person = svc.person_for_issue(actor=actor, person_id=body.person_id)
    return Status(201, credential_out(svc.credential_issue_qr(actor=actor, person=person)))


@router.post(
    "/{int:pk}/suspend",
    response={200: CredentialOut | MyCredentialOut, **WRITE_ERRORS},
    url_name="access_suspend",
)
def suspend(request: HttpRequest, pk: PkPath, body: CredentialReasonIn):
    """挂失: staff for any credential in scope; a resident for their own card."""
    actor = actor_of(request)
    row = svc.credential_suspend(
        actor=actor, credential=svc.credential_get(actor=actor, pk=pk), reason=body.reason
    )
    return _out_for(actor, row)


@router.post("/{int:pk}/revoke", response={200: CredentialOut, **WRITE_ERRORS}, url_name="access_revoke")
def revoke(request: HttpRequest, pk: PkPath, body: CredentialReasonIn):
    actor = actor_of(request)
    row = svc.credential_revoke(
        actor=actor, credential=svc.credential_get(actor=actor, pk=pk), reason=body.reason
    )
    return credential_out(row)


@router.post(
    "/{int:pk}/reactivate", response={200: CredentialOut, **WRITE_ERRORS}, url_name="access_reactivate"
)
def reactivate(request: HttpRequest, pk: PkPath):
    actor = actor_of(request)
    row = svc.credential_reactivate(actor=actor, credential=svc.credential_get(actor=actor, pk=pk))
    return credential_out(row)
