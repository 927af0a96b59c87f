"""Places API: region tree, rooms, parking spaces, facilities and room spreadsheet imports."""

from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.core.api import ERRORS, XLSX_RESPONSE, ErrorOut, Page, PkPath, actor_of
from linli.core.models import ImportJob
from linli.core.permissions import Perm
from linli.core.tabular import check_size, template_download
from linli.places import selectors, services
from linli.places.schemas import (
    Choice,
    FacilityIn,
    FacilityOut,
    Id,
    ImportFilters,
    ParkingOut,
    PlacesImportJobListOut,
    PlacesImportJobOut,
    PlacesImportRejectedOut,
    RegionNodeOut,
    RegionOut,
    RoomFilters,
    RoomOut,
    RoomPatchIn,
    Text,
)

router = Router()

# Query text: bounded, and never a NUL byte (PostgreSQL refuses those in string literals).


class ParkingFilters(Schema):
    estate: Id | None = None
    room: Id | None = None
    kind: Choice | None = None
    q: Text | None = None


class FacilityFilters(Schema):
    estate: Id | None = None
    building: Id | None = None
    kind: Choice | None = None
    status: Choice | None = None


@router.get(
    "/regions", response={200: list[RegionNodeOut], **ERRORS}, summary="区域树（本人管辖范围及其上级）"
)
def region_tree(request):
    return selectors.region_tree(actor=actor_of(request))


@router.get("/regions/{pk}", response={200: RegionOut, **ERRORS}, summary="区域节点详情")
def region_get(request, pk: PkPath):
    return selectors.region_detail(actor=actor_of(request), pk=pk)


@router.get("/rooms", response={200: list[RoomOut], **ERRORS}, summary="房屋列表（分页、筛选、排序）")
@paginate(Page)
def room_list(request, filters: Query[RoomFilters]):
    return selectors.room_list(actor=actor_of(request), **filters.selector_args())


@router.get("/rooms/{pk}", response={200: RoomOut, **ERRORS}, summary="房屋详情")
def room_get(request, pk: PkPath):
    return selectors.room_get(actor=actor_of(request), pk=pk)


@router.patch("/rooms/{pk}", response={200: RoomOut, **ERRORS}, summary="修改房屋面积、用途或状态")
def room_update(request, pk: PkPath, body: RoomPatchIn):
    actor = actor_of(request)
    room = selectors.room_get(actor=actor, pk=pk)
    return services.room_update(actor=actor, room=room, **body.dict(exclude_unset=True))


@router.get("/parking", response={200: list[ParkingOut], **ERRORS}, summary="车位列表")
@paginate(Page)
def parking_list(request, filters: Query[ParkingFilters]):
    return selectors.parking_list(actor=actor_of(request), **filters.dict())


@router.get("/facilities", response={200: list[FacilityOut], **ERRORS}, summary="公共设施列表")
@paginate(Page)
def facility_list(request, filters: Query[FacilityFilters]):
    return selectors.facility_list(actor=actor_of(request), **filters.dict())


@router.post("/facilities", response={201: FacilityOut, **ERRORS}, summary="登记公共设施")
def facility_create(request, body: FacilityIn):
    actor = actor_of(request)
    estate = selectors.estate_get(actor=actor, pk=body.estate_id, perm=Perm.PLACES_VIEW)
    building = (
        selectors.region_get(actor=actor, pk=body.building_id) if body.building_id is not None else None
    )
    facility = services.facility_create(
        actor=actor,
        estate=estate,
        building=building,
        kind=body.kind,
        name=body.name,
        location=body.location,
        status=body.status,
    )
    return Status(201, facility)


@router.post(
    "/imports/rooms",
    summary="上传房屋表格（XLSX/CSV），整表校验、全部成功才导入",
    response={
        200: PlacesImportJobOut,
        400: PlacesImportRejectedOut | ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        413: ErrorOut,
    },
)
def rooms_import(request, estate_id: Form[Id], file: File[UploadedFile]):
    actor = actor_of(request)
    estate = selectors.estate_get(actor=actor, pk=estate_id, perm=Perm.PLACES_VIEW)
    check_size(file.size)
    job = services.rooms_import(actor=actor, estate=estate, file_name=file.name or "", data=file.read())
    if job.status == ImportJob.Status.REJECTED:
        message = _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(job.errors)}
        return Status(400, {"error": {"code": "import_rejected", "message": message}, "job": job})
    return Status(200, job)


@router.get("/imports", response={200: list[PlacesImportJobListOut], **ERRORS}, summary="房屋导入记录")
@paginate(Page)
def import_list(request, filters: Query[ImportFilters]):
    return selectors.import_job_list(actor=actor_of(request), **filters.selector_args())


@router.get(
    "/imports/template.xlsx",
    response={401: ErrorOut, 403: ErrorOut},
    openapi_extra=XLSX_RESPONSE,
    summary="下载房屋导入模板",
)
def import_template(request):
    return template_download(selectors.import_template(actor=actor_of(request)), "rooms-template.xlsx")


@router.get("/imports/{pk}", response={200: PlacesImportJobOut, **ERRORS}, summary="导入结果与逐行错误")
def import_get(request, pk: PkPath):
    return selectors.import_job_get(actor=actor_of(request), pk=pk)
