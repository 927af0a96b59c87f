"""Devices API: the device registry (list, detail with health, telemetry series, events, rejected
messages; register, rotate / revoke credentials, enable / disable, spreadsheet import) and device
profiles with their point ranges.

A device's secret is returned only by ``POST ""`` (register), ``POST /{pk}/rotate`` and
``POST /import``, once; no other answer contains it.

The HTTP push endpoints of vendor clouds and devices (``/ingest/...``) belong to the adapters layer
and are mounted from their manifests (``linli.adapters.routes``, ADR 0009).
"""

from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.core.api import ERRORS, WRITE_ERRORS, ErrorOut, Page, PkPath, actor_of
from linli.core.models import ImportJob
from linli.core.tabular import check_size, template_download
from linli.devices import selectors, services
from linli.devices.models import DeviceType
from linli.devices.schemas import (
    CredentialsOut,
    DeviceDetailOut,
    DeviceEventOut,
    DeviceFilters,
    DeviceImportRejectedOut,
    DeviceIn,
    DeviceOut,
    DeviceRejectedOut,
    Id,
    ImportAppliedOut,
    ProfileOut,
    RangesIn,
    RevokeIn,
    SeriesOut,
)
from linli.orgs.roles import Perm
from linli.places.selectors import estate_get

router = Router()


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
        400: DeviceImportRejectedOut | ErrorOut,
        **dict.fromkeys((401, 403, 404, 413), ErrorOut),
    },
    summary="批量登记设备（XLSX/CSV，整表校验，全部成功或全部不导入；返回各设备密钥，仅此一次）",
)
def devices_import(request, estate_id: Form[Id], file: File[UploadedFile]):
    actor = actor_of(request)
    actor.require(Perm.DEVICES_MANAGE, write=True)
    estate = estate_get(actor=actor, pk=estate_id, perm=Perm.DEVICES_VIEW)
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
    response={200: list[DeviceRejectedOut], **ERRORS},
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


@router.get("/{pk}/events", response={200: list[DeviceEventOut], **ERRORS}, summary="设备事件（最新在前）")
@paginate(Page)
def device_events(request, pk: PkPath):
    actor = actor_of(request)
    device = selectors.device_get(actor=actor, pk=pk)
    return selectors.device_events(actor=actor, device=device)


@router.get(
    "/{pk}/rejected",
    response={200: list[DeviceRejectedOut], **ERRORS},
    summary="被拒绝的消息样本（最新在前）",
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
