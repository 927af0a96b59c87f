"""Visitor passes API (R63, R66).

* residents (``/me``): invite a visitor (the link token is in the answer once), list and revoke own
  passes;
* guards (ACCESS_GUARD): today's visitors in scope, walk-in registration, delivery / service passes,
  revocation and staff-assisted entry;
* public: ``GET /link/{token}/code`` — the visitor's page fetches the current signed code; the link
  token is the credential (no session), rate limited per link.
"""

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from linli.access.credentials.views_h5 import qr_svg
from linli.access.models import VisitorKind
from linli.access.visitors import selectors, services
from linli.access.visitors.entry import visitor_staff_entry
from linli.core.api import ERRORS, WRITE_ERRORS, ErrorOut, Id, Page, PkPath, actor_of
from linli.core.pii import mask_name, mask_phone
from linli.notices.schemas import DateTime
from linli.people.schemas import Text

router = Router()

LinkPath = Annotated[str, Path(min_length=1, max_length=64)]
StaffKind = Literal[VisitorKind.DELIVERY.value, VisitorKind.SERVICE.value]  # type: ignore[valid-type]


# --- shapes ------------------------------------------------------------------------------------


class VisitorPassIn(Schema):
    """R63 minimal fields: name or surname, mobile (optional), window, entries, plate, purpose. No ID
    number, no face."""

    visitor_name: Text(services.NAME_MAX, 1) = Field(..., description="访客姓名或姓氏")
    visitor_phone: Text(20) = Field("", description="访客手机号（可选）")
    valid_from: DateTime
    valid_until: DateTime = Field(..., description="最长 7 天")
    max_entries: int = Field(1, ge=services.ENTRIES_MIN, le=services.ENTRIES_MAX)
    plate: Text(12) = Field("", description="驾车来访时的车牌（可选）")
    purpose: Text(services.PURPOSE_MAX) = ""
    room_id: Id | None = Field(None, description="本人入住的房屋；不填为第一处")


class WalkInIn(Schema):
    room_id: Id
    visitor_name: Text(services.NAME_MAX, 1)
    visitor_phone: Text(20) = ""
    hours: int = Field(4, ge=1, le=services.WALK_IN_HOURS_MAX)
    max_entries: int = Field(1, ge=services.ENTRIES_MIN, le=services.ENTRIES_MAX)
    plate: Text(12) = ""
    purpose: Text(services.PURPOSE_MAX) = ""


class StaffPassIn(Schema):
    estate_id: Id
    kind: StaffKind
    visitor_name: Text(services.NAME_MAX, 1) = Field(..., description="如：顺丰快递 王")
    visitor_phone: Text(20) = ""
    minutes: int = Field(
        30, ge=1, le=max(services.STAFF_PASS_MINUTES_MAX.values()), description="快递≤120，服务≤720"
    )
    max_entries: int = Field(1, ge=services.ENTRIES_MIN, le=services.ENTRIES_MAX)
    room_id: Id | None = None
    plate: Text(12) = ""
    purpose: Text(services.PURPOSE_MAX) = ""


class EntryIn(Schema):
    access_point_id: Id


class VisitorPassOut(Schema):
    """A pass as residents and guards see it: mobile masked, no link (only its hash is stored)."""

    id: int
    estate_id: int
    kind: str
    channel: str
    visitor_name: str
    visitor_phone: str
    plate: str
    purpose: str
    room: str
    valid_from: datetime
    valid_until: datetime
    max_entries: int
    entries_used: int
    status: str = Field(..., description="active / used_up / revoked / expired（已过结束时间即为 expired）")
    created_at: datetime

    @staticmethod
    def resolve_visitor_phone(obj) -> str:
        return mask_phone(obj.visitor_phone)

    @staticmethod
    def resolve_room(obj) -> str:
        return obj.host_room.standard_address if obj.host_room_id else ""

    @staticmethod
    def resolve_status(obj) -> str:
        return selectors.effective_status(obj)


class GuardVisitorOut(VisitorPassOut):
    """Guards see the visitor's name masked too (lists are masked, R20)."""

    @staticmethod
    def resolve_visitor_name(obj) -> str:
        return mask_name(obj.visitor_name)


class IssuedOut(Schema):
    visitor_pass: VisitorPassOut
    link_token: str = Field(..., description="访客链接令牌，仅此一次返回")
    link_url: str = Field(..., description="发给访客的链接（相对路径）")


class PrintableOut(Schema):
    visitor_pass: VisitorPassOut
    link_token: str
    link_url: str
    code: str = Field(..., description="有效至通行证结束时间的访客码（供无手机访客打印或出示）")
    code_expires_at: datetime


class EntryOut(Schema):
    result: str
    reason: str
    event_id: int | None
    entries_left: int


class CodeOut(Schema):
    code: str
    svg: str = Field(..., description="访客码二维码（内联 SVG）")
    expires_at: datetime
    refresh_s: int
    entries_left: int
    valid_until: datetime


def _issued(issued: services.IssuedPass) -> dict:
    return {
        "visitor_pass": issued.visitor_pass,
        "link_token": issued.link_token,
        "link_url": reverse("visit:pass", args=[issued.link_token]),
    }


def _printable(issued: services.IssuedPass) -> dict:
    code, expires_at = selectors.visitor_printable_code(issued.visitor_pass)
    return {**_issued(issued), "code": code, "code_expires_at": expires_at}


# --- residents ---------------------------------------------------------------------------------


@router.post(
    "/me", response={201: IssuedOut, **WRITE_ERRORS, 429: ErrorOut}, summary="邀请访客（每日最多 20 张）"
)
def invite(request, body: VisitorPassIn):
    issued = services.visitor_pass_create(actor=actor_of(request), **body.dict())
    return Status(201, _issued(issued))


@router.get("/me", response={200: list[VisitorPassOut], **ERRORS}, summary="我邀请的访客")
@paginate(Page)
def my_passes(request):
    return selectors.visitor_pass_list_mine(actor=actor_of(request))


@router.post("/me/{pk}/revoke", response={200: VisitorPassOut, **WRITE_ERRORS}, summary="撤销我邀请的访客")
def revoke_mine(request, pk: PkPath):
    actor = actor_of(request)
    return services.visitor_pass_revoke(
        actor=actor, visitor_pass=selectors.visitor_pass_get_mine(actor=actor, pk=pk)
    )


# --- guards ------------------------------------------------------------------------------------


@router.get("/today", response={200: list[GuardVisitorOut], **ERRORS}, summary="今日访客（门岗）")
@paginate(Page)
def today(request, estate_id: Annotated[Id | None, Query()] = None):
    actor = actor_of(request)
    qs = selectors.visitors_today(actor=actor, estate_id=estate_id)
    selectors.visitors_today_audit(actor=actor, estate_id=estate_id, count=qs.count())
    return qs


@router.post(
    "/walk-in", response={201: PrintableOut, **WRITE_ERRORS, 429: ErrorOut}, summary="登记临时访客（门岗）"
)
def walk_in(request, body: WalkInIn):
    issued = services.visitor_walk_in_register(actor=actor_of(request), **body.dict())
    return Status(201, _printable(issued))


@router.post(
    "/staff-passes",
    response={201: PrintableOut, **WRITE_ERRORS, 429: ErrorOut},
    summary="签发快递、服务人员通行证",
)
def staff_pass(request, body: StaffPassIn):
    issued = services.visitor_staff_pass_issue(actor=actor_of(request), **body.dict())
    return Status(201, _printable(issued))


@router.post(
    "/{pk}/revoke", response={200: GuardVisitorOut, **WRITE_ERRORS}, summary="撤销访客通行证（门岗）"
)
def revoke(request, pk: PkPath):
    actor = actor_of(request)
    return services.visitor_pass_revoke(
        actor=actor, visitor_pass=selectors.visitor_pass_get(actor=actor, pk=pk)
    )


@router.post("/{pk}/entry", response={200: EntryOut, **WRITE_ERRORS}, summary="人工核验放行访客")
def staff_entry(request, pk: PkPath, body: EntryIn):
    actor = actor_of(request)
    p = selectors.visitor_pass_get(actor=actor, pk=pk)
    result = visitor_staff_entry(actor=actor, visitor_pass=p, access_point_id=body.access_point_id)
    p.refresh_from_db(fields=["entries_used", "max_entries"])
    return {
        "result": result.result,
        "reason": result.reason,
        "event_id": result.event_id,
        "entries_left": selectors.entries_left(p),
    }


# --- the visitor's link (public) -----------------------------------------------------------------


@router.get(
    "/link/{token}/code",
    auth=None,
    response={200: CodeOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut},
    summary="访客链接的当前访客码（无需登录，链接即凭证）",
    url_name="visitor_link_code",
    description="409 的 code 说明原因：visitor_pass_revoked / used_up / expired / not_yet_valid。",
)
def link_code(request, token: LinkPath, response: HttpResponse):
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    selectors.link_rate_check(token)
    code, expires_at, refresh_s, p = selectors.visitor_code_for_link(token)
    return {
        "code": code,
        "svg": str(qr_svg(code)),
        "expires_at": expires_at,
        "refresh_s": refresh_s,
        "entries_left": selectors.entries_left(p),
        "valid_until": p.valid_until,
    }
