"""Patrols API: routes, checkpoints and schedules (CRUD), runs, guard check-ins by QR code, findings
with photos (they become work orders) and completion statistics."""

from django.http import FileResponse
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.core.api import DELETED, ERRORS, UPLOAD_ERRORS, WRITE_ERRORS, ErrorOut, Page, PkPath, actor_of
from linli.patrols import selectors, services
from linli.patrols.schemas import (
    CheckInIn,
    CheckInResultOut,
    CheckpointIn,
    CheckpointOut,
    CheckpointPatchIn,
    Day,
    FindingOut,
    Id,
    PatrolStatsOut,
    RouteIn,
    RouteOut,
    RoutePatchIn,
    RunDetailOut,
    RunFilters,
    RunOut,
    ScheduleIn,
    ScheduleOut,
    SchedulePatchIn,
    Text,
)
from linli.places.selectors import estate_get

router = Router()


def _checkpoint_out(actor, cp) -> dict:
    show = selectors.can_see_codes(actor)
    return {
        "id": cp.pk,
        "route_id": cp.route_id,
        "order": cp.order,
        "name": cp.name,
        "location": cp.location,
        "building_id": cp.building_id,
        "facility_id": cp.facility_id,
        "active": cp.active,
        "code": cp.code if show else None,
        "scan_path": reverse("mpatrols:scan", args=[cp.code]) if show else None,
    }


# --- routes --------------------------------------------------------------------------------------


class RouteFilters(Schema):
    estate: Id | None = None
    active: bool | None = None


@router.get("/routes", response={200: list[RouteOut], **ERRORS}, summary="巡检路线列表")
@paginate(Page)
def route_list(request, filters: Query[RouteFilters]):
    return selectors.route_list(actor=actor_of(request), estate_id=filters.estate, active=filters.active)


@router.post("/routes", response={201: RouteOut, **WRITE_ERRORS}, summary="新建巡检路线")
def route_create(request, body: RouteIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    route = services.route_create(
        actor=actor, estate=estate, name=body.name, description=body.description, active=body.active
    )
    return Status(201, selectors.route_get(actor=actor, pk=route.pk))


@router.get("/routes/{pk}", response={200: RouteOut, **ERRORS}, summary="巡检路线详情")
def route_get(request, pk: PkPath):
    return selectors.route_get(actor=actor_of(request), pk=pk)


@router.patch("/routes/{pk}", response={200: RouteOut, **WRITE_ERRORS}, summary="修改巡检路线")
def route_update(request, pk: PkPath, body: RoutePatchIn):
    actor = actor_of(request)
    route = selectors.route_get(actor=actor, pk=pk)
    services.route_update(actor=actor, route=route, **body.dict(exclude_unset=True, exclude_none=True))
    return selectors.route_get(actor=actor, pk=pk)


@router.delete("/routes/{pk}", response=DELETED, summary="删除巡检路线（已有巡检记录时不能删除）")
def route_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.route_delete(actor=actor, route=selectors.route_get(actor=actor, pk=pk))
    return Status(204, None)


# --- checkpoints ---------------------------------------------------------------------------------


class CheckpointFilters(Schema):
    route: Id | None = None
    estate: Id | None = None
    active: bool | None = None


@router.get("/checkpoints", response={200: list[CheckpointOut], **ERRORS}, summary="巡检点列表")
@paginate(Page)
def checkpoint_list(request, filters: Query[CheckpointFilters]):
    actor = actor_of(request)
    qs = selectors.checkpoint_list(
        actor=actor, route_id=filters.route, estate_id=filters.estate, active=filters.active
    )
    return _LazyMap(qs, lambda cp: _checkpoint_out(actor, cp))


class _LazyMap:
    """A queryset whose page rows are converted after slicing (pagination counts and slices it)."""

    def __init__(self, qs, func):
        self.qs, self.func = qs, func

    def count(self) -> int:
        return self.qs.count()

    def __getitem__(self, item):
        return [self.func(x) for x in self.qs[item]]


@router.post(
    "/checkpoints", response={201: CheckpointOut, **WRITE_ERRORS}, summary="新建巡检点（生成二维码）"
)
def checkpoint_create(request, body: CheckpointIn):
    actor = actor_of(request)
    route = selectors.route_get(actor=actor, pk=body.route_id)
    places = selectors.checkpoint_places(
        route=route, building_id=body.building_id, facility_id=body.facility_id
    )
    cp = services.checkpoint_create(
        actor=actor,
        route=route,
        name=body.name,
        order=body.order,
        location=body.location,
        active=body.active,
        **places,
    )
    return Status(201, _checkpoint_out(actor, cp))


@router.get("/checkpoints/{pk}", response={200: CheckpointOut, **ERRORS}, summary="巡检点详情")
def checkpoint_get(request, pk: PkPath):
    actor = actor_of(request)
    return _checkpoint_out(actor, selectors.checkpoint_get(actor=actor, pk=pk))


@router.patch("/checkpoints/{pk}", response={200: CheckpointOut, **WRITE_ERRORS}, summary="修改巡检点")
def checkpoint_update(request, pk: PkPath, body: CheckpointPatchIn):
    actor = actor_of(request)
    cp = selectors.checkpoint_get(actor=actor, pk=pk)
    data = body.dict(exclude_unset=True, exclude_none=True)
    places = selectors.checkpoint_places(
        route=cp.route, building_id=data.pop("building_id", None), facility_id=data.pop("facility_id", None)
    )
    cp = services.checkpoint_update(actor=actor, checkpoint=cp, **data, **places)
    return _checkpoint_out(actor, cp)


@router.delete("/checkpoints/{pk}", response=DELETED, summary="删除巡检点（已有签到时不能删除）")
def checkpoint_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.checkpoint_delete(actor=actor, checkpoint=selectors.checkpoint_get(actor=actor, pk=pk))
    return Status(204, None)


@router.post(
    "/checkpoints/{pk}/regenerate-code",
    response={200: CheckpointOut, **WRITE_ERRORS},
    summary="重新生成巡检点二维码（旧码立即作废）",
)
def checkpoint_regenerate(request, pk: PkPath):
    actor = actor_of(request)
    cp = services.checkpoint_regenerate_code(
        actor=actor, checkpoint=selectors.checkpoint_get(actor=actor, pk=pk)
    )
    return _checkpoint_out(actor, cp)


# --- schedules -----------------------------------------------------------------------------------


class ScheduleFilters(Schema):
    route: Id | None = None
    estate: Id | None = None


@router.get("/schedules", response={200: list[ScheduleOut], **ERRORS}, summary="巡检计划列表")
@paginate(Page)
def schedule_list(request, filters: Query[ScheduleFilters]):
    return selectors.schedule_list(actor=actor_of(request), route_id=filters.route, estate_id=filters.estate)


@router.post("/schedules", response={201: ScheduleOut, **WRITE_ERRORS}, summary="新建巡检计划")
def schedule_create(request, body: ScheduleIn):
    actor = actor_of(request)
    route = selectors.route_get(actor=actor, pk=body.route_id)
    guards = selectors.guards_by_ids(actor=actor, estate=route.estate, ids=body.guard_ids)
    schedule = services.schedule_create(
        actor=actor,
        route=route,
        start_time=body.start_time,
        weekdays=body.weekdays,
        window_minutes=body.window_minutes,
        guards=guards,
        active=body.active,
    )
    return Status(201, selectors.schedule_get(actor=actor, pk=schedule.pk))


@router.get("/schedules/{pk}", response={200: ScheduleOut, **ERRORS}, summary="巡检计划详情")
def schedule_get(request, pk: PkPath):
    return selectors.schedule_get(actor=actor_of(request), pk=pk)


@router.patch("/schedules/{pk}", response={200: ScheduleOut, **WRITE_ERRORS}, summary="修改巡检计划")
def schedule_update(request, pk: PkPath, body: SchedulePatchIn):
    actor = actor_of(request)
    schedule = selectors.schedule_get(actor=actor, pk=pk)
    data = body.dict(exclude_unset=True, exclude_none=True)
    if "guard_ids" in data:
        data["guards"] = selectors.guards_by_ids(
            actor=actor, estate=schedule.route.estate, ids=data.pop("guard_ids")
        )
    services.schedule_update(actor=actor, schedule=schedule, **data)
    return selectors.schedule_get(actor=actor, pk=pk)


@router.delete("/schedules/{pk}", response=DELETED, summary="删除巡检计划（已有巡检记录时不能删除）")
def schedule_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.schedule_delete(actor=actor, schedule=selectors.schedule_get(actor=actor, pk=pk))
    return Status(204, None)


# --- runs and check-ins --------------------------------------------------------------------------


@router.get(
    "/runs", response={200: list[RunOut], **ERRORS}, summary="巡检记录列表（按日期、状态、路线、保安筛选）"
)
@paginate(Page)
def run_list(request, filters: Query[RunFilters]):
    return selectors.run_list(actor=actor_of(request), **filters.selector_args())


@router.get("/runs/{pk}", response={200: RunDetailOut, **ERRORS}, summary="巡检记录详情（签到与发现的问题）")
def run_get(request, pk: PkPath):
    return selectors.run_get(actor=actor_of(request), pk=pk)


@router.post(
    "/checkins",
    response={200: CheckInResultOut, 201: CheckInResultOut, **WRITE_ERRORS},
    summary="扫码签到（201 新签到；200 重复扫码，返回已有签到）",
)
def checkin(request, body: CheckInIn):
    result = services.checkin(actor=actor_of(request), code=body.code, note=body.note)
    out = {
        "created": result.created,
        "checkin": result.checkin,
        "run": result.run,
        "done": result.done,
        "total": result.total,
        "next_checkpoint_id": result.next_checkpoint.pk if result.next_checkpoint else None,
        "next_checkpoint": result.next_checkpoint.name if result.next_checkpoint else None,
    }
    return Status(201 if result.created else 200, out)


# --- findings ------------------------------------------------------------------------------------


class FindingFilters(Schema):
    run: Id | None = None
    estate: Id | None = None


@router.get("/findings", response={200: list[FindingOut], **ERRORS}, summary="巡检发现的问题")
@paginate(Page)
def finding_list(request, filters: Query[FindingFilters]):
    return selectors.finding_list(actor=actor_of(request), run_id=filters.run, estate_id=filters.estate)


@router.post(
    "/findings",
    response={201: FindingOut, **UPLOAD_ERRORS},
    summary="上报巡检发现的问题（可附照片，自动生成公共维修工单）",
)
def finding_create(
    request,
    run_id: Form[Id],
    description: Form[Text(2000, 1)],  # type: ignore[valid-type]
    checkpoint_id: Form[Id | None] = None,
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
):
    actor = actor_of(request)
    run = selectors.run_get(actor=actor, pk=run_id)
    checkpoint = selectors.checkpoint_get(actor=actor, pk=checkpoint_id) if checkpoint_id else None
    finding = services.finding_report(
        actor=actor, run=run, checkpoint=checkpoint, description=description, photos=photos or []
    )
    return Status(201, selectors.finding_get(actor=actor, pk=finding.pk))


@router.get("/findings/{pk}", response={200: FindingOut, **ERRORS}, summary="巡检问题详情")
def finding_get(request, pk: PkPath):
    return selectors.finding_get(actor=actor_of(request), pk=pk)


@router.get(
    "/photos/{pk}",
    response={401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    openapi_extra={
        "responses": {
            200: {
                "description": "图片",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}}
                    for t in ("image/jpeg", "image/png", "image/webp")
                },
            }
        }
    },
    summary="巡检问题照片",
)
def photo_get(request, pk: PkPath):
    photo = selectors.photo_get(actor=actor_of(request), pk=pk)
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- statistics ----------------------------------------------------------------------------------


class PatrolStatsFilters(Schema):
    date_from: Day | None = Field(None, description="默认：30 天前")
    date_to: Day | None = Field(None, description="默认：今天")
    estate: Id | None = None


@router.get("/stats", response={200: PatrolStatsOut, **ERRORS}, summary="巡检完成率（按路线、按保安）")
def stats(request, filters: Query[PatrolStatsFilters]):
    return selectors.stats(
        actor=actor_of(request),
        date_from=filters.date_from,
        date_to=filters.date_to,
        estate_id=filters.estate,
    )
