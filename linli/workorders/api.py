"""Work-orders API: orders (list, detail with history, create, transitions, comments, charges, photos),
duty rosters, SLA policies, the board and technician workload; the resident's own reports under /me."""

from typing import Annotated

from django.http import HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.core.api import ERRORS, UPLOAD_ERRORS, WRITE_ERRORS, Page, PkPath, actor_of
from linli.core.errors import ValidationFailed
from linli.orgs.roles import Perm
from linli.places.selectors import estate_get
from linli.workorders import selectors, services
from linli.workorders.schemas import (
    BoardColumnOut,
    BoardQuery,
    ChargeIn,
    ChargeOut,
    Id,
    KindCode,
    MyWorkOrderListOut,
    MyWorkOrderOut,
    PhotoOut,
    RateIn,
    RosterIn,
    RosterOut,
    SlaIn,
    SlaOut,
    StateCode,
    Text,
    WorkloadOut,
    WorkOrderAssignIn,
    WorkOrderCommentIn,
    WorkOrderEventOut,
    WorkOrderFilters,
    WorkOrderIn,
    WorkOrderListOut,
    WorkOrderNoteIn,
    WorkOrderOut,
    WorkOrderReasonIn,
)

router = Router()

MAX_READ = 64 * 1024 * 1024
IMAGE_RESPONSE = {
    "responses": {
        200: {
            "description": "图片（JPEG、PNG 或 WebP）",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("image/jpeg", "image/png", "image/webp")
            },
        }
    }
}


def _read(files) -> list[bytes]:
    return [f.read(MAX_READ) for f in files or ()]


class EstateQuery(Schema):
    estate: Id | None = None


# --- resident: my reports ----------------------------------------------------------------------


class MyFilters(Schema):
    state: StateCode | None = None


@router.get(
    "/me", response={200: list[MyWorkOrderListOut], **ERRORS}, summary="我的报修（居民本人提交的工单）"
)
@paginate(Page)
def my_list(request, filters: Query[MyFilters]):
    return selectors.my_workorders(actor=actor_of(request), state=filters.state)


class MyWorkOrderIn(Schema):
    kind: KindCode = "repair_private"
    title: Text(100, 1)
    description: Text(2000) = ""
    room_id: Id | None = None
    location: Text(200) = ""
    preferred_time: Annotated[str, Field(max_length=40)] | None = Field(
        None, description="期望上门时间（ISO 8601，如 2026-03-04T10:00+08:00）"
    )


def _parse_moment(value: str | None):
    from datetime import datetime

    from django.utils import timezone

    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(fields={"preferred_time": ["时间格式不正确"]}) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@router.post(
    "/me",
    response={201: MyWorkOrderOut, **UPLOAD_ERRORS},
    summary="居民报修（文字、照片、期望上门时间；multipart 表单）",
)
def my_create(request, body: Form[MyWorkOrderIn], photos: File[list[UploadedFile]] = None):
    actor = actor_of(request)
    estate = selectors.my_estate(actor=actor)
    if estate is None:
        raise ValidationFailed(fields={"room_id": ["您的账号尚未关联住户信息"]})
    room = None
    if body.room_id is not None:
        room = next((r for r in selectors.my_rooms(actor=actor) if r.pk == body.room_id), None)
        if room is None:
            raise ValidationFailed(fields={"room_id": ["请选择您本人的房屋"]})
    order = services.workorder_create(
        actor=actor,
        estate=estate,
        kind=body.kind,
        title=body.title,
        description=body.description,
        room=room,
        location=body.location,
        source="resident",
        preferred_time=_parse_moment(body.preferred_time),
        photos=_read(photos),
    )
    return Status(201, selectors.my_workorder_get(actor=actor, pk=order.pk))


@router.get("/me/{pk}", response={200: MyWorkOrderOut, **ERRORS}, summary="我的报修详情（含处理记录）")
def my_get(request, pk: PkPath):
    return selectors.my_workorder_get(actor=actor_of(request), pk=pk)


@router.post("/me/{pk}/rate", response={200: MyWorkOrderOut, **WRITE_ERRORS}, summary="评价已完成的报修")
def my_rate(request, pk: PkPath, body: RateIn):
    actor = actor_of(request)
    order = selectors.my_workorder_get(actor=actor, pk=pk)
    services.workorder_rate(actor=actor, order=order, rating=body.rating, comment=body.comment)
    return selectors.my_workorder_get(actor=actor, pk=pk)


@router.post(
    "/me/{pk}/reopen", response={200: MyWorkOrderOut, **WRITE_ERRORS}, summary="重新打开（完成后 7 天内）"
)
def my_reopen(request, pk: PkPath, body: WorkOrderReasonIn):
    actor = actor_of(request)
    order = selectors.my_workorder_get(actor=actor, pk=pk)
    services.workorder_reopen(actor=actor, order=order, reason=body.reason)
    return selectors.my_workorder_get(actor=actor, pk=pk)


@router.post("/me/{pk}/cancel", response={200: MyWorkOrderOut, **WRITE_ERRORS}, summary="取消我的报修")
def my_cancel(request, pk: PkPath, body: WorkOrderReasonIn):
    actor = actor_of(request)
    order = selectors.my_workorder_get(actor=actor, pk=pk)
    services.workorder_cancel(actor=actor, order=order, reason=body.reason)
    return selectors.my_workorder_get(actor=actor, pk=pk)


# --- board, workload, rosters, SLA -------------------------------------------------------------


@router.get(
    "/board", response={200: list[BoardColumnOut], **ERRORS}, summary="工单看板（按状态分列，超时标红）"
)
def board(request, filters: Query[BoardQuery]):
    return selectors.board(actor=actor_of(request), **filters.selector_args())


@router.get("/workload", response={200: list[WorkloadOut], **ERRORS}, summary="技师工作量（未完成、超时）")
def workload(request, filters: Query[EstateQuery]):
    return selectors.workload(actor=actor_of(request), estate_id=filters.estate)


class RosterQuery(Schema):
    estate: Id | None = None
    technician: Id | None = None


@router.get("/rosters", response={200: list[RosterOut], **ERRORS}, summary="值班排班")
@paginate(Page)
def roster_list(request, filters: Query[RosterQuery]):
    return selectors.roster_list(
        actor=actor_of(request), estate_id=filters.estate, technician_id=filters.technician
    )


def _roster_args(actor, body: RosterIn, estate) -> dict:
    return {
        "technician": selectors.technician_get(actor=actor, pk=body.technician_id, estate=estate),
        "weekday": body.weekday,
        "date": body.date,
        "start_time": body.start_time,
        "end_time": body.end_time,
        "kinds": list(body.kinds),
        "buildings": [selectors.building_get(actor=actor, pk=b, estate=estate) for b in body.building_ids],
    }


@router.post("/rosters", response={201: RosterOut, **WRITE_ERRORS}, summary="新增排班")
def roster_create(request, body: RosterIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id, perm=Perm.WORKORDERS_VIEW)
    roster = services.roster_create(actor=actor, estate=estate, **_roster_args(actor, body, estate))
    return Status(201, selectors.roster_get(actor=actor, pk=roster.pk))


@router.get("/rosters/{pk}", response={200: RosterOut, **ERRORS}, summary="排班详情")
def roster_get(request, pk: PkPath):
    return selectors.roster_get(actor=actor_of(request), pk=pk)


@router.put("/rosters/{pk}", response={200: RosterOut, **WRITE_ERRORS}, summary="修改排班")
def roster_update(request, pk: PkPath, body: RosterIn):
    actor = actor_of(request)
    roster = selectors.roster_get(actor=actor, pk=pk)
    if body.estate_id != roster.estate_id:
        raise ValidationFailed(fields={"estate_id": ["排班所属小区不能修改"]})
    services.roster_update(actor=actor, roster=roster, **_roster_args(actor, body, roster.estate))
    return selectors.roster_get(actor=actor, pk=pk)


@router.delete("/rosters/{pk}", response={204: None, **WRITE_ERRORS}, summary="删除排班")
def roster_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.roster_delete(actor=actor, roster=selectors.roster_get(actor=actor, pk=pk))
    return Status(204, None)


class SlaQuery(Schema):
    estate: Id


@router.get("/sla-policies", response={200: list[SlaOut], **ERRORS}, summary="小区各类工单的响应与完成时限")
def sla_list(request, filters: Query[SlaQuery]):
    actor = actor_of(request)
    return selectors.sla_policies(
        actor=actor, estate=estate_get(actor=actor, pk=filters.estate, perm=Perm.WORKORDERS_VIEW)
    )


@router.put("/sla-policies", response={200: list[SlaOut], **WRITE_ERRORS}, summary="设置某类工单的时限")
def sla_set(request, body: SlaIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id, perm=Perm.WORKORDERS_VIEW)
    services.sla_policy_set(
        actor=actor,
        estate=estate,
        kind=body.kind,
        response_minutes=body.response_minutes,
        completion_minutes=body.completion_minutes,
    )
    return selectors.sla_policies(actor=actor, estate=estate)


# --- orders ------------------------------------------------------------------------------------


@router.get("", response={200: list[WorkOrderListOut], **ERRORS}, summary="工单列表（筛选、排序、分页）")
@paginate(Page)
def order_list(request, filters: Query[WorkOrderFilters]):
    return selectors.workorder_list(actor=actor_of(request), **filters.selector_args())


@router.post("", response={201: WorkOrderOut, **WRITE_ERRORS}, summary="受理工单（物业人员）")
def order_create(request, body: WorkOrderIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id, perm=Perm.WORKORDERS_VIEW)
    room = selectors.room_get(actor=actor, pk=body.room_id, estate=estate) if body.room_id else None
    building = (
        selectors.building_get(actor=actor, pk=body.building_id, estate=estate) if body.building_id else None
    )
    order = services.workorder_create(
        actor=actor,
        estate=estate,
        kind=body.kind,
        title=body.title,
        description=body.description,
        room=room,
        building=building,
        location=body.location,
        source=body.source,
        source_ref=body.source_ref,
        contact_phone=body.contact_phone,
        preferred_time=body.preferred_time,
    )
    return Status(201, selectors.workorder_get(actor=actor, pk=order.pk))


@router.get("/{pk}", response={200: WorkOrderOut, **ERRORS}, summary="工单详情（含处理记录、照片、费用）")
def order_get(request, pk: PkPath):
    return selectors.workorder_get(actor=actor_of(request), pk=pk)


def _order(request, pk: int):
    actor = actor_of(request)
    return actor, selectors.workorder_get(actor=actor, pk=pk)


def _fresh(actor, pk: int):
    return selectors.workorder_get(actor=actor, pk=pk)


@router.post("/{pk}/assign", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="派单或改派")
def order_assign(request, pk: PkPath, body: WorkOrderAssignIn):
    actor, order = _order(request, pk)
    services.workorder_assign(
        actor=actor,
        order=order,
        assignee=selectors.technician_get(actor=actor, pk=body.assignee_id, estate=order.estate),
    )
    return _fresh(actor, pk)


@router.post("/{pk}/accept", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="接单（被派单的技师）")
def order_accept(request, pk: PkPath):
    actor, order = _order(request, pk)
    services.workorder_accept(actor=actor, order=order)
    return _fresh(actor, pk)


@router.post("/{pk}/start", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="开始处理")
def order_start(request, pk: PkPath):
    actor, order = _order(request, pk)
    services.workorder_start(actor=actor, order=order)
    return _fresh(actor, pk)


@router.post(
    "/{pk}/finish", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="完成（户内维修费用生成账单）"
)
def order_finish(request, pk: PkPath, body: WorkOrderNoteIn):
    actor, order = _order(request, pk)
    services.workorder_finish(actor=actor, order=order, note=body.note)
    return _fresh(actor, pk)


@router.post("/{pk}/cancel", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="取消工单")
def order_cancel(request, pk: PkPath, body: WorkOrderReasonIn):
    actor, order = _order(request, pk)
    services.workorder_cancel(actor=actor, order=order, reason=body.reason)
    return _fresh(actor, pk)


@router.post("/{pk}/reopen", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="重新打开已完成的工单")
def order_reopen(request, pk: PkPath, body: WorkOrderReasonIn):
    actor, order = _order(request, pk)
    services.workorder_reopen(actor=actor, order=order, reason=body.reason)
    return _fresh(actor, pk)


@router.post("/{pk}/rate", response={200: WorkOrderOut, **WRITE_ERRORS}, summary="评价（报修居民）")
def order_rate(request, pk: PkPath, body: RateIn):
    actor, order = _order(request, pk)
    services.workorder_rate(actor=actor, order=order, rating=body.rating, comment=body.comment)
    return _fresh(actor, pk)


@router.post("/{pk}/comment", response={201: WorkOrderEventOut, **WRITE_ERRORS}, summary="添加处理备注")
def order_comment(request, pk: PkPath, body: WorkOrderCommentIn):
    actor, order = _order(request, pk)
    return Status(201, services.workorder_comment(actor=actor, order=order, text=body.text))


@router.get("/{pk}/charges", response={200: list[ChargeOut], **ERRORS}, summary="维修费用明细")
def charge_list(request, pk: PkPath):
    _actor, order = _order(request, pk)
    return selectors.workorder_charges(order=order)


@router.post(
    "/{pk}/charges", response={201: ChargeOut, **WRITE_ERRORS}, summary="添加材料费或人工费（户内维修）"
)
def charge_add(request, pk: PkPath, body: ChargeIn):
    actor, order = _order(request, pk)
    charge = services.workorder_add_charge(
        actor=actor,
        order=order,
        kind=body.kind,
        description=body.description,
        unit_price_fen=body.unit_price_fen,
        quantity=body.quantity,
    )
    return Status(201, charge)


@router.post("/{pk}/photos", response={201: PhotoOut, **UPLOAD_ERRORS}, summary="上传照片（JPEG/PNG/WebP）")
def photo_upload(request, pk: PkPath, photo: File[UploadedFile]):
    actor, order = _order(request, pk)
    return Status(201, services.workorder_photo_add(actor=actor, order=order, data=photo.read(MAX_READ)))


@router.get(
    "/{pk}/photos/{photo_pk}",
    response={200: None, **ERRORS},
    summary="下载照片（仅有权查看工单者）",
    openapi_extra=IMAGE_RESPONSE,
)
def photo_download(request, pk: PkPath, photo_pk: PkPath):
    photo = selectors.workorder_photo_get(actor=actor_of(request), order_pk=pk, pk=photo_pk)
    with photo.image.open("rb") as fh:
        data = fh.read()
    response = HttpResponse(data, content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
