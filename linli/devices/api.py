"""Devices API: the device registry (list, detail with health, telemetry series, events, rejected
messages; register, rotate / revoke credentials, enable / disable, spreadsheet import), device
profiles with their point ranges, and HTTP ingest of NB-IoT cloud pushes (CTWing / AEP and OneNET).

A device's secret is returned only by ``POST ""`` (register), ``POST /{pk}/rotate`` and
``POST /import``, once; no other answer contains it.

The two ingest endpoints are ``auth=None`` for Linli users and authenticated by the cloud's own mechanism:

* OneNET signs every push: ``Base64(MD5(token + nonce + msg))`` with the token configured in
  OneNET's push settings and here as ``LINLI_ONENET_TOKEN``. Bad or missing signature → 403.
  Saving the push URL in OneNET sends ``GET ?msg=&nonce=&signature=``: answered with the bare ``msg``.
* CTWing (AEP) pushes carry no signature: each subscription URL holds a shared token,
  ``…/ingest/ctwing?token=<LINLI_CTWING_TOKEN>`` (or the ``X-Linli-Token`` header). Wrong token → 403.

Once authenticated, a push is answered **200** even when it names an unknown device or is malformed:
the clouds re-push until they get 200, so refusing would only repeat the same bad message. Such
messages are counted (on the device when known) and sampled in RejectedMessage instead.
"""

import hmac
from datetime import datetime

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.config import env
from linli.core.api import ERRORS, WRITE_ERRORS, ErrorOut, Page, PkPath, actor_of
from linli.core.models import ImportJob
from linli.core.tabular import check_size, template_download
from linli.devices import selectors, services
from linli.devices.canonical import Rejected
from linli.devices.ingest import record_rejected
from linli.devices.models import DeviceType
from linli.devices.schemas import (
    CredentialsOut,
    DeviceDetailOut,
    DeviceFilters,
    DeviceIn,
    DeviceOut,
    EventOut,
    Id,
    ImportAppliedOut,
    ImportRejectedOut,
    ProfileOut,
    RangesIn,
    RejectedOut,
    RevokeIn,
    SeriesOut,
)
from linli.orgs.roles import Perm

router = Router()
MAX_PUSH = 64 * 1024


def _token(name: str) -> str:
    return env.env_str(name, "")


def _result(result) -> JsonResponse:
    return JsonResponse(
        {"stored": result.stored, "duplicates": result.duplicates, "rejected": result.rejected}
    )


def _accept_rejected(adapter: str, exc: Rejected, raw: bytes) -> JsonResponse:
    record_rejected(reason=exc.reason, topic=f"http:{adapter}", sample=raw)
    return JsonResponse({"stored": 0, "duplicates": 0, "rejected": 1})


@router.post("/ingest/ctwing", auth=None, include_in_schema=True, url_name="ingest_ctwing")
def ingest_ctwing(request: HttpRequest):
    """CTWing / AEP subscription push (token in ``?token=`` or ``X-Linli-Token``)."""
    from linli.devices.adapters.ctwing import adapter

    expected = _token("LINLI_CTWING_TOKEN")
    given = request.GET.get("token") or request.headers.get("X-Linli-Token", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        return JsonResponse({"code": "forbidden", "message": "invalid token"}, status=403)
    raw = request.body
    if len(raw) > MAX_PUSH:
        return JsonResponse({"code": "payload_too_large", "message": "too large"}, status=413)
    try:
        return _result(adapter.handle(raw))
    except Rejected as exc:
        return _accept_rejected("ctwing", exc, raw)


@router.post("/ingest/hikvision/{token}", auth=None, url_name="ingest_hikvision")
def ingest_hikvision(request: HttpRequest, token: str):
    """Hikvision ISAPI listening-host push (access events, ANPR); per-device token in the path."""
    from linli.devices.adapters.hikvision.views import ingest_push

    return ingest_push(request, token)


@router.post("/ingest/dahua/{token}", auth=None, url_name="ingest_dahua")
def ingest_dahua(request: HttpRequest, token: str):
    """Dahua event HTTP upload / RPC event push; per-device token in the path."""
    from linli.devices.adapters.dahua.views import ingest_push

    return ingest_push(request, token)


@router.get("/ingest/onenet", auth=None, url_name="ingest_onenet_verify")
def onenet_verify(request: HttpRequest):
    """OneNET URL verification: echo ``msg`` when the signature matches the configured token."""
    from linli.devices.adapters.onenet import adapter

    echo = adapter.url_verification(
        token=_token("LINLI_ONENET_TOKEN"),
        msg=request.GET.get("msg", ""),
        nonce=request.GET.get("nonce", ""),
        signature=request.GET.get("signature", ""),
    )
    if echo is None:
        return JsonResponse({"code": "forbidden", "message": "invalid signature"}, status=403)
    return HttpResponse(echo, content_type="text/plain")


@router.post("/ingest/onenet", auth=None, url_name="ingest_onenet")
def ingest_onenet(request: HttpRequest):
    """OneNET push (classic or Studio), signed with the configured token."""
    from linli.devices.adapters.onenet import adapter

    raw = request.body
    if len(raw) > MAX_PUSH:
        return JsonResponse({"code": "payload_too_large", "message": "too large"}, status=413)
    try:
        return _result(adapter.handle(raw, token=_token("LINLI_ONENET_TOKEN")))
    except Rejected as exc:
        if exc.reason in ("bad_signature", "bad_json"):
            return JsonResponse({"code": "forbidden", "message": "invalid signature"}, status=403)
        return _accept_rejected("onenet", exc, raw)


# --- registry ------------------------------------------------------------------------------------

CSV_RESPONSE = {
    "responses": {
        200: {
            "description": "CSV",
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
}


class SeriesQuery(Schema):
    point: str = Field(..., max_length=64, pattern=r"^[a-z][a-z0-9_]*$", description="数值监测点标识")
    since: datetime | None = Field(None, description="默认：until 之前 24 小时")
    until: datetime | None = Field(None, description="默认：现在；区间最长 31 天")


class LimitQuery(Schema):
    limit: int = Field(50, ge=1, le=500)


class ProfileFilters(Schema):
    device_type: DeviceType | None = None


def _credentials(creds: services.Credentials) -> dict:
    device = creds.device
    return {
        "device": device,
        "key": device.key,
        "secret": creds.secret,
        "topic_prefix": creds.topic_prefix,
        "credential_version": device.credential_version,
    }


@router.get("", response={200: list[DeviceOut], **ERRORS}, summary="设备列表（分页、筛选、排序）")
@paginate(Page)
def device_list(request, filters: Query[DeviceFilters]):
    return selectors.device_list(actor=actor_of(request), **filters.selector_args())


@router.post(
    "",
    response={201: CredentialsOut, **WRITE_ERRORS},
    summary="登记设备（返回设备密钥，仅此一次）",
)
def device_create(request, body: DeviceIn):
    actor = actor_of(request)
    actor.require(Perm.DEVICES_MANAGE, write=True)
    refs = selectors.placement_resolve(
        actor=actor,
        estate=body.estate_id,
        profile=body.profile_id,
        building=body.building_id,
        room=body.room_id,
        facility=body.facility_id,
    )
    creds = services.device_create(
        actor=actor,
        estate=refs.estate,
        profile=refs.profile,
        name=body.name,
        key=body.key,
        building=refs.building,
        floor=body.floor,
        room=refs.room,
        facility=refs.facility,
        location=body.location,
        adapter=body.adapter,
        vendor_id=body.vendor_id,
    )
    return Status(201, _credentials(creds))


@router.get("/profiles", response={200: list[ProfileOut], **ERRORS}, summary="设备类型（监测点与事件定义）")
def profile_list(request, filters: Query[ProfileFilters]):
    return list(selectors.profile_list(actor=actor_of(request), device_type=filters.device_type))


@router.get("/profiles/{pk}", response={200: ProfileOut, **ERRORS}, summary="设备类型详情")
def profile_get(request, pk: PkPath):
    return selectors.profile_get(actor=actor_of(request), pk=pk)


@router.patch(
    "/profiles/{pk}/ranges", response={200: ProfileOut, **WRITE_ERRORS}, summary="修改数值监测点量程"
)
def profile_ranges(request, pk: PkPath, body: RangesIn):
    actor = actor_of(request)
    profile = selectors.profile_get(actor=actor, pk=pk)
    ranges = {k: (r.min, r.max) for k, r in body.ranges.items()}
    return services.profile_update_ranges(actor=actor, profile=profile, ranges=ranges)


@router.post(
    "/import",
    response={
        200: ImportAppliedOut,
        400: ImportRejectedOut | ErrorOut,
        **dict.fromkeys((401, 403, 404, 413), ErrorOut),
    },
    summary="批量登记设备（XLSX/CSV，整表校验，全部成功或全部不导入；返回各设备密钥，仅此一次）",
)
def devices_import(request, estate_id: Form[Id], file: File[UploadedFile]):
    actor = actor_of(request)
    actor.require(Perm.DEVICES_MANAGE, write=True)
    estate = selectors.estate_get(actor=actor, pk=estate_id)
    check_size(file.size)
    outcome = services.devices_import(actor=actor, estate=estate, file_name=file.name or "", data=file.read())
    job = outcome.job
    if job.status == ImportJob.Status.REJECTED:
        message = _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(job.errors)}
        return Status(400, {"error": {"code": "import_rejected", "message": message}, "job": job})
    credentials = [
        {"id": c.device.pk, "key": c.device.key, "name": c.device.name, "secret": c.secret}
        for c in outcome.credentials
    ]
    return Status(200, {"job": job, "credentials": credentials})


@router.get(
    "/import-template",
    response={401: ErrorOut, 403: ErrorOut},
    openapi_extra=CSV_RESPONSE,
    summary="下载设备导入模板（CSV）",
)
def import_template(request):
    actor_of(request).require(Perm.DEVICES_MANAGE)
    return template_download(services.import_template_csv(), "devices-template.csv")


class RejectedFilters(Schema):
    estate: Id | None = None


@router.get(
    "/rejected",
    response={200: list[RejectedOut], **ERRORS},
    summary="辖区内设备被拒绝的消息样本（可按小区筛选，最新在前）",
)
@paginate(Page)
def rejected_list(request, filters: Query[RejectedFilters]):
    return selectors.rejected_messages(actor=actor_of(request), estate=filters.estate)


@router.get(
    "/{pk}", response={200: DeviceDetailOut, **ERRORS}, summary="设备详情（含运行状态与收发计数，不含密钥）"
)
def device_get(request, pk: PkPath):
    return selectors.device_get(actor=actor_of(request), pk=pk)


@router.get(
    "/{pk}/telemetry",
    response={200: SeriesOut, **ERRORS},
    summary="监测点曲线（最多 500 个点，分段平均）",
    url_name="device_telemetry",
)
def device_telemetry(request, pk: PkPath, query: Query[SeriesQuery]):
    actor = actor_of(request)
    device = selectors.device_get(actor=actor, pk=pk)
    return selectors.telemetry_series(
        actor=actor, device=device, point=query.point, since=query.since, until=query.until
    )


@router.get("/{pk}/events", response={200: list[EventOut], **ERRORS}, summary="设备事件（最新在前）")
@paginate(Page)
def device_events(request, pk: PkPath):
    actor = actor_of(request)
    device = selectors.device_get(actor=actor, pk=pk)
    return selectors.device_events(actor=actor, device=device)


@router.get(
    "/{pk}/rejected", response={200: list[RejectedOut], **ERRORS}, summary="被拒绝的消息样本（最新在前）"
)
@paginate(Page)
def device_rejected(request, pk: PkPath):
    actor = actor_of(request)
    device = selectors.device_get(actor=actor, pk=pk)
    return selectors.rejected_messages(actor=actor, device=device)


@router.post(
    "/{pk}/rotate", response={200: CredentialsOut, **WRITE_ERRORS}, summary="轮换设备密钥（新密钥仅显示一次）"
)
def device_rotate(request, pk: PkPath):
    actor = actor_of(request)
    actor.require(Perm.DEVICES_MANAGE, write=True)
    device = selectors.device_get(actor=actor, pk=pk)
    return _credentials(services.device_rotate_credentials(actor=actor, device=device))


@router.post(
    "/{pk}/revoke", response={200: DeviceDetailOut, **WRITE_ERRORS}, summary="吊销设备凭据（不可恢复）"
)
def device_revoke(request, pk: PkPath, body: RevokeIn):
    actor = actor_of(request)
    actor.require(Perm.DEVICES_MANAGE, write=True)
    device = selectors.device_get(actor=actor, pk=pk)
    return services.device_revoke(actor=actor, device=device, reason=body.reason)


@router.post("/{pk}/enable", response={200: DeviceDetailOut, **WRITE_ERRORS}, summary="启用设备")
def device_enable(request, pk: PkPath):
    return _set_enabled(request, pk, True)


@router.post(
    "/{pk}/disable",
    response={200: DeviceDetailOut, **WRITE_ERRORS},
    summary="停用设备（保留凭据，消息被拒绝）",
)
def device_disable(request, pk: PkPath):
    return _set_enabled(request, pk, False)


def _set_enabled(request, pk: int, enabled: bool):
    actor = actor_of(request)
    actor.require(Perm.DEVICES_MANAGE, write=True)
    device = selectors.device_get(actor=actor, pk=pk)
    return services.device_set_enabled(actor=actor, device=device, enabled=enabled)
