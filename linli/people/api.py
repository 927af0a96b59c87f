"""People API: persons (masked), reveal, households, occupancy, rental registration, care tags,
vehicles, establishments, resident imports, and the resident's own household (/people/me)."""

from typing import Annotated

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.core.api import ERRORS, WRITE_ERRORS, XLSX_RESPONSE, ErrorOut, Ordering, Page, PkPath, actor_of
from linli.core.models import ImportJob
from linli.core.tabular import template_download
from linli.people import selectors, services
from linli.people.schemas import (
    CareKindCode,
    CareTagEndIn,
    CareTagIn,
    CareTagOut,
    EstablishmentIn,
    EstablishmentKind,
    EstablishmentOut,
    HouseholdOut,
    Id,
    MeOut,
    OccupancyEndIn,
    OccupancyIn,
    PeopleImportJobListOut,
    PeopleImportJobOut,
    PeopleImportRejectedOut,
    PersonFilters,
    PersonIn,
    PersonListOut,
    PersonOccupancyOut,
    PersonOut,
    PersonPatchIn,
    RentalOut,
    RentalReportIn,
    RevealIn,
    RevealOut,
    Text,
    VehicleIn,
    VehicleOut,
)
from linli.places.selectors import estate_get

router = Router()


# --- persons -----------------------------------------------------------------------------------


@router.get(
    "/persons", response={200: list[PersonListOut], **ERRORS}, summary="住户列表（脱敏、分页、筛选、排序）"
)
@paginate(Page)
def person_list(request, filters: Query[PersonFilters]):
    return selectors.person_list(actor=actor_of(request), **filters.selector_args())


@router.post("/persons", response={201: PersonOut, **WRITE_ERRORS}, summary="登记住户")
def person_create(request, body: PersonIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    person = services.person_create(actor=actor, estate=estate, **body.dict(exclude={"estate_id"}))
    return Status(201, selectors.person_get(actor=actor, pk=person.pk))


@router.get("/persons/{pk}", response={200: PersonOut, **ERRORS}, summary="住户详情（证件号、手机号脱敏）")
def person_get(request, pk: PkPath):
    return selectors.person_get(actor=actor_of(request), pk=pk)


@router.patch("/persons/{pk}", response={200: PersonOut, **WRITE_ERRORS}, summary="修改住户信息")
def person_update(request, pk: PkPath, body: PersonPatchIn):
    actor = actor_of(request)
    person = selectors.person_for_write(actor=actor, pk=pk)
    services.person_update(actor=actor, person=person, **body.dict(exclude_unset=True, exclude_none=True))
    return selectors.person_get(actor=actor, pk=person.pk)


@router.post(
    "/persons/{pk}/reveal",
    response={200: RevealOut, **ERRORS},
    summary="查看完整证件号或手机号（需权限与原因，记入审计）",
)
def person_reveal(request, pk: PkPath, body: RevealIn, response: HttpResponse):
    actor = actor_of(request)
    person = selectors.person_for_write(actor=actor, pk=pk)
    value = services.person_reveal(actor=actor, person=person, field=body.field, reason=body.reason)
    response["Cache-Control"] = "no-store"
    return {"field": body.field, "value": value}


@router.get("/me", response={200: MeOut, **ERRORS}, summary="居民本人及同户成员（脱敏）")
def me(request):
    mine = selectors.my_household(actor_of(request))
    return {"person": mine.person, "households": mine.households}


# --- households and occupancy ------------------------------------------------------------------


class HouseholdFilters(Schema):
    estate: Id | None = None
    room: Id | None = None
    ordering: Ordering | None = Field(None, description="room, id；前加 - 为倒序")


@router.get("/households", response={200: list[HouseholdOut], **ERRORS}, summary="住户（户）列表")
@paginate(Page)
def household_list(request, filters: Query[HouseholdFilters]):
    f = filters.dict()
    return selectors.household_list(
        actor=actor_of(request), estate_id=f["estate"], room_id=f["room"], ordering=f["ordering"]
    )


@router.get("/households/{pk}", response={200: HouseholdOut, **ERRORS}, summary="户详情及成员")
def household_get(request, pk: PkPath):
    return selectors.household_get(actor=actor_of(request), pk=pk)


@router.post(
    "/occupancies",
    response={201: PersonOccupancyOut, **WRITE_ERRORS},
    summary="入住登记（业主/家属/租户/寄住）",
)
def occupancy_start(request, body: OccupancyIn):
    actor = actor_of(request)
    person = selectors.person_for_write(actor=actor, pk=body.person_id)
    room = selectors.room_get(actor=actor, pk=body.room_id)
    household = (
        selectors.household_for_write(actor=actor, pk=body.household_id) if body.household_id else None
    )
    landlord = selectors.person_for_write(actor=actor, pk=body.landlord_id) if body.landlord_id else None
    occupancy = services.occupancy_start(
        actor=actor,
        person=person,
        room=room,
        relation=body.relation,
        start_date=body.start_date,
        household=household,
        contract_end=body.contract_end,
        landlord=landlord,
    )
    return Status(201, occupancy)


@router.post("/occupancies/{pk}/end", response={200: PersonOccupancyOut, **WRITE_ERRORS}, summary="迁出登记")
def occupancy_end(request, pk: PkPath, body: OccupancyEndIn):
    actor = actor_of(request)
    occupancy = selectors.occupancy_for_write(actor=actor, pk=pk)
    return services.occupancy_end(actor=actor, occupancy=occupancy, end_date=body.end_date)


# --- rental registration -----------------------------------------------------------------------


class RentalFilters(Schema):
    estate: Id | None = None
    status: Annotated[str, Field(pattern=r"^(pending|overdue|reported|ended)$")] | None = Field(
        None, description="pending 待申报, overdue 逾期未申报, reported 已申报, ended 已注销"
    )


@router.get("/rentals", response={200: list[RentalOut], **ERRORS}, summary="出租登记（待申报、逾期）")
@paginate(Page)
def rental_list(request, filters: Query[RentalFilters]):
    f = filters.dict()
    return selectors.rental_list(actor=actor_of(request), status=f["status"], estate_id=f["estate"])


@router.post("/rentals/{pk}/report", response={200: RentalOut, **WRITE_ERRORS}, summary="标记已向派出所申报")
def rental_report(request, pk: PkPath, body: RentalReportIn | None = None):
    actor = actor_of(request)
    rental = selectors.rental_for_write(actor=actor, pk=pk)
    services.rental_report(
        actor=actor, rental=rental, guarantee_signed=body.guarantee_signed if body else None
    )
    return selectors.rental_get(actor=actor, pk=pk)


# --- special care ------------------------------------------------------------------------------


class CareTagFilters(Schema):
    person: Id | None = None
    kind: CareKindCode | None = None
    active: bool = True


@router.get(
    "/care-tags",
    response={200: list[CareTagOut], **ERRORS},
    summary="关爱标签（仅居委会、街道、派出所；每次查看记入审计）",
)
@paginate(Page)
def care_tag_list(request, filters: Query[CareTagFilters]):
    f = filters.dict()
    return selectors.care_tag_list(
        actor=actor_of(request), person_id=f["person"], kind=f["kind"], active_only=f["active"]
    )


@router.post("/care-tags", response={201: CareTagOut, **WRITE_ERRORS}, summary="添加关爱标签")
def care_tag_add(request, body: CareTagIn):
    actor = actor_of(request)
    person = selectors.person_for_write(actor=actor, pk=body.person_id)
    tag = services.care_tag_add(
        actor=actor, person=person, kind=body.kind, start_date=body.start_date, note=body.note
    )
    return Status(201, tag)


@router.post("/care-tags/{pk}/end", response={200: CareTagOut, **WRITE_ERRORS}, summary="结束关爱标签")
def care_tag_end(request, pk: PkPath, body: CareTagEndIn):
    actor = actor_of(request)
    tag = selectors.care_tag_for_write(actor=actor, pk=pk)
    return services.care_tag_end(actor=actor, tag=tag, end_date=body.end_date)


# --- vehicles and establishments ---------------------------------------------------------------


class VehicleFilters(Schema):
    owner: Id | None = None
    plate: Text(10) | None = None


@router.get("/vehicles", response={200: list[VehicleOut], **ERRORS}, summary="车辆列表")
@paginate(Page)
def vehicle_list(request, filters: Query[VehicleFilters]):
    f = filters.dict()
    return selectors.vehicle_list(actor=actor_of(request), owner_id=f["owner"], plate=f["plate"])


@router.post("/vehicles", response={201: VehicleOut, **WRITE_ERRORS}, summary="登记车辆（校验车牌）")
def vehicle_add(request, body: VehicleIn):
    actor = actor_of(request)
    owner = selectors.person_for_write(actor=actor, pk=body.owner_id)
    vehicle = services.vehicle_add(
        actor=actor, owner=owner, plate=body.plate, kind=body.kind or "", color=body.color, brand=body.brand
    )
    return Status(201, vehicle)


class EstablishmentFilters(Schema):
    estate: Id | None = None
    kind: EstablishmentKind | None = None
    q: Text(50) | None = None


@router.get("/establishments", response={200: list[EstablishmentOut], **ERRORS}, summary="实有单位列表")
@paginate(Page)
def establishment_list(request, filters: Query[EstablishmentFilters]):
    f = filters.dict()
    return selectors.establishment_list(
        actor=actor_of(request), estate_id=f["estate"], kind=f["kind"], q=f["q"]
    )


@router.post("/establishments", response={201: EstablishmentOut, **WRITE_ERRORS}, summary="登记实有单位")
def establishment_create(request, body: EstablishmentIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    room = selectors.room_get(actor=actor, pk=body.room_id) if body.room_id else None
    est = services.establishment_create(
        actor=actor, estate=estate, room=room, **body.dict(exclude={"estate_id", "room_id"})
    )
    return Status(201, est)


# --- resident import ---------------------------------------------------------------------------


@router.post(
    "/imports/residents",
    response={
        201: PeopleImportJobOut,
        400: PeopleImportRejectedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
    },
    summary="上传住户表格（XLSX/CSV），整表校验、全部成功才导入",
)
def residents_import(request, estate_id: Form[Id], file: File[UploadedFile]):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=estate_id)
    data = file.read(settings.IMPORT_MAX_BYTES + 1)
    job = services.residents_import(actor=actor, estate=estate, file_name=file.name or "", data=data)
    if job.status == ImportJob.Status.REJECTED:
        message = _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(job.errors)}
        return Status(400, {"error": {"code": "import_rejected", "message": message}, "job": job})
    return Status(201, job)


@router.get("/imports", response={200: list[PeopleImportJobListOut], **ERRORS}, summary="住户导入记录")
@paginate(Page)
def import_list(request):
    return selectors.import_list(actor=actor_of(request))


@router.get(
    "/imports/template.xlsx",
    response={401: ErrorOut, 403: ErrorOut},
    openapi_extra=XLSX_RESPONSE,
    summary="下载住户导入模板",
)
def import_template(request):
    return template_download(selectors.import_template(actor=actor_of(request)), "residents-template.xlsx")


@router.get("/imports/{pk}", response={200: PeopleImportJobOut, **ERRORS}, summary="导入结果与逐行错误")
def import_get(request, pk: PkPath):
    return selectors.import_get(actor=actor_of(request), pk=pk)
