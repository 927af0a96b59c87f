"""Device-facing access API (``/api/v1/access/device/…``), signed with the device's secret
(``access.gate.device_auth``: ``X-Linli-Device``, ``X-Linli-Timestamp``, ``X-Linli-Signature``).

* ``POST /decisions`` — a credential presented at a door → ``{"result", "reason", "event_id",
  "display"}``. A refusal is a decision (200, ``result`` deny); 4xx means the request itself was bad.
* ``POST /events`` — up to 500 decisions the gate made offline, each with the gate's own sequence
  number: stored once per (device, seq); repeats are counted as duplicates, not errors.
* ``GET /keys`` — the estate's public keys, the refused subject tokens and the tolerated skew, so a
  gate can verify QR codes while the network is down.
"""

from datetime import datetime, timedelta
from typing import Annotated, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema
from ninja.security import APIKeyHeader
from pydantic import BeforeValidator

from linli.access.gate import decision, device_auth
from linli.access.models import AccessPoint, SubjectKind
from linli.core.api import ErrorOut, QueryDateTime
from linli.core.errors import NotFound, PayloadTooLarge, ValidationFailed
from linli.core.scoping import MAX_ID


class DeviceAuth(APIKeyHeader):
    """HMAC-signed device requests (see ``linli.access.gate.device_auth``)."""

    param_name = device_auth.HEADER_DEVICE

    def authenticate(self, request: HttpRequest, key: str | None):
        try:
            body = request.body
        except RequestDataTooBig:
            raise PayloadTooLarge() from None
        return device_auth.authenticate(
            key=key, method=request.method or "", path=request.path, headers=request.headers, body=body
        )


router = Router(auth=DeviceAuth())

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut}


def _local_if_naive(value):
    """Gates often send local time without an offset: read it in the platform's time zone."""
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # pydantic reports the error
        if parsed.tzinfo is None:
            return timezone.make_aware(parsed).isoformat()
    return value


DeviceTime = Annotated[QueryDateTime, BeforeValidator(_local_if_naive)]
PointCode = Annotated[str, Field(min_length=1, max_length=48)]
DoorNo = Annotated[int, Field(ge=1, le=32767)]
Seq = Annotated[int, Field(ge=0, le=MAX_ID)]
DecidableMethod = Literal["qr", "card", "pin"]
AnyMethod = Literal["qr", "card", "pin", "face", "voice", "staff", "remote", "plate"]
# How far a device's own timestamp of an online decision may lag the request (a queued scan).
ONLINE_LAG = timedelta(seconds=60)


class AccessDecisionIn(Schema):
    access_point: PointCode | None = Field(None, description="出入口编码；与 door_no 二选一")
    door_no: DoorNo | None = Field(None, description="本设备上的门号（默认 1）")
    method: DecidableMethod
    credential: str = Field(..., max_length=decision.MAX_CREDENTIAL_LEN, description="二维码文本、卡号或密码")
    direction: Literal["in", "out"] | None = None
    occurred_at: DeviceTime | None = Field(None, description="刷码时刻（设备时钟，须在 60 秒内）")


class DecisionOut(Schema):
    result: Literal["allow", "deny"]
    reason: str
    event_id: int | None
    display: str


class OfflineEventIn(Schema):
    seq: Seq
    access_point: PointCode | None = None
    door_no: DoorNo | None = None
    method: AnyMethod
    credential: str = Field("", max_length=decision.MAX_CREDENTIAL_LEN)
    result: Literal["allow", "deny"]
    reason: str = Field("", max_length=32)
    direction: Literal["in", "out"] | None = None
    occurred_at: DeviceTime


class OfflineBatchIn(Schema):
    events: list[OfflineEventIn] = Field(..., max_length=500)


class OfflineRejectedOut(Schema):
    seq: int
    reason: str


class OfflineOut(Schema):
    stored: int
    duplicates: int
    rejected: list[OfflineRejectedOut]


class KeyOut(Schema):
    kid: str
    public_key: str
    active: bool


class KeysOut(Schema):
    estate_id: int
    keys: list[KeyOut]
    revoked_subjects: list[str]
    skew_seconds: int
    server_time: datetime


_ALLOW_TEXT = {
    SubjectKind.RESIDENT: gettext_lazy("欢迎回家"),
    SubjectKind.STAFF: gettext_lazy("请通行"),
    SubjectKind.VISITOR: gettext_lazy("访客请通行"),
}
_DENY_TEXT = {
    "malformed": gettext_lazy("无法识别的凭证"),
    "unknown_key": gettext_lazy("无效的二维码"),
    "forged": gettext_lazy("无效的二维码"),
    "expired": gettext_lazy("二维码已过期，请刷新"),
    "not_yet_valid": gettext_lazy("二维码时间异常，请校准手机时间"),
    "replayed": gettext_lazy("二维码已使用，请刷新"),
    "revoked": gettext_lazy("凭证已停用，请联系物业"),
    "unknown_credential": gettext_lazy("未登记的凭证"),
    "not_allowed": gettext_lazy("无此门通行权限"),
    "outside_window": gettext_lazy("不在有效时间内"),
    "used_up": gettext_lazy("通行次数已用完"),
    "method_not_allowed": gettext_lazy("此门不支持该通行方式"),
    "point_disabled": gettext_lazy("此出入口已停用"),
    "blocked": gettext_lazy("禁止通行"),
    "moved_out": gettext_lazy("住户信息已失效，请联系物业"),
}


def display_text(d: decision.Decision) -> str:
    """Short zh-Hans text for the gate's screen."""
    if d.allowed:
        return str(_ALLOW_TEXT.get(d.subject_kind, _ALLOW_TEXT[SubjectKind.STAFF]))
    return str(_DENY_TEXT.get(d.reason, _DENY_TEXT["blocked"]))


def _point(device, *, code: str | None, door_no: int | None) -> AccessPoint:
    # Both lookups hit a unique constraint: no ordering needed.
    if code:
        rows = AccessPoint.objects.filter(estate_id=device.estate_id, code=code).order_by()[:1]
    else:
        rows = AccessPoint.objects.filter(device=device, door_no=door_no or 1).order_by()[:1]
    point = next(iter(rows), None)
    if point is None:
        raise NotFound(_("该设备没有对应的出入口"))
    return point


@router.post("/decisions", response={200: DecisionOut, **ERRORS}, url_name="access_device_decide")
def decide(request: HttpRequest, body: AccessDecisionIn):
    """Decide a credential presented at a door of this device (or at ``access_point`` of its estate)."""
    device = request.auth
    now = timezone.now()
    at = None
    if body.occurred_at is not None:
        if not (now - ONLINE_LAG <= body.occurred_at <= now + timedelta(seconds=10)):
            raise ValidationFailed(
                fields={"occurred_at": [_("时间与服务器相差过大；离线记录请通过 /device/events 补传")]}
            )
        at = body.occurred_at
    point = _point(device, code=body.access_point, door_no=body.door_no)
    d = decision.decide(
        access_point=point,
        method=body.method,
        credential_text=body.credential,
        at=at,
        device=device,
        direction=body.direction,
    )
    return {"result": d.result, "reason": d.reason, "event_id": d.event_id, "display": display_text(d)}


@router.post("/events", response={200: OfflineOut, **ERRORS}, url_name="access_device_events")
def offline_events(request: HttpRequest, body: OfflineBatchIn):
    """Upload decisions made offline (at most 500 per call); each (device, seq) is stored once."""
    items = [
        decision.OfflineDecision(
            seq=e.seq,
            occurred_at=e.occurred_at,
            method=e.method,
            result=e.result,
            credential=e.credential,
            reason=e.reason,
            direction=e.direction,
            access_point=e.access_point,
            door_no=e.door_no,
        )
        for e in body.events
    ]
    return decision.record_offline(device=request.auth, decisions=items)


@router.get("/keys", response={200: KeysOut, **ERRORS}, url_name="access_device_keys")
def public_keys(request: HttpRequest):
    """Public keys and refused subjects of the device's estate, for offline verification."""
    return decision.offline_bundle(estate_id=request.auth.estate_id)
