"""The access console's API for access points, policies, holidays and per-estate settings (mounted at
``/api/v1/access``; events, analysis and anomalies are in ``access.insights.api``). Lists are
paginated (``page``, ``page_size`` ≤ 100), filterable and sortable (``ordering=-field``)."""

from datetime import date, time
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from linli.access.models import AccessPointKind
from linli.access.points import selectors, services
from linli.access.schemas import MethodCode, Ordering
from linli.core.api import ERRORS, WRITE_ERRORS, Id, LocalTime, MappedPage, PkPath, actor_of
from linli.places.selectors import estate_get

router = Router()

KindCode = Literal["estate_gate", "pedestrian_gate", "unit_door", "garage_barrier", "lift", "other"]
DirectionCode = Literal["in", "out", "both"]
AudienceCode = Literal["residents", "staff", "visitors", "service"]
HolidayModeCode = Literal["same", "closed", "only"]
StaffRoleCode = Literal[
    "property_admin",
    "customer_service",
    "technician",
    "guard",
    "community_worker",
    "subdistrict_officer",
    "police_officer",
    "service_provider",
    "platform_admin",
    "audit_admin",
]
Day = date  # the schemas below have a field named ``date``
Weekday = Annotated[int, Field(ge=0, le=6)]

KIND_LABELS = dict(AccessPointKind.choices)


# --- schemas ------------------------------------------------------------------------------------


class PointOut(Schema):
    id: int
    estate_id: int
    estate: str
    building_id: int | None
    building: str | None
    kind: str
    kind_label: str
    name: str
    code: str
    direction: str
    allowed_methods: list[str]
    device_id: int | None
    device_key: str | None
    device_name: str | None
    device_online: bool | None
    door_no: int
    offline_decisions: bool
    status: str


class PointPatch(Schema):
    kind: KindCode | None = None
    name: str | None = Field(None, max_length=100)
    code: str | None = Field(None, max_length=48)
    building_id: Id | None = None
    direction: DirectionCode | None = None
    allowed_methods: list[MethodCode] | None = Field(None, max_length=8)
    device_id: Id | None = None
    door_no: int | None = Field(None, ge=1, le=64)
    offline_decisions: bool | None = None


class PointIn(Schema):
    estate_id: Id
    kind: KindCode
    name: str = Field(max_length=100)
    code: str = Field(max_length=48)
    building_id: Id | None = None
    direction: DirectionCode = "both"
    allowed_methods: list[MethodCode] = Field(max_length=8)
    device_id: Id | None = None
    door_no: int = Field(1, ge=1, le=64)
    offline_decisions: bool = True


class StatusIn(Schema):
    reason: str = Field("", max_length=300)


class PolicyOut(Schema):
    id: int
    estate_id: int
    name: str
    audience: str
    roles: list[str]
    own_building_only: bool
    access_point_ids: list[int]
    weekdays: list[int]
    start_time: time | None
    end_time: time | None
    holiday_mode: str
    is_active: bool


class PolicyPatch(Schema):
    name: str | None = Field(None, max_length=100)
    audience: AudienceCode | None = None
    roles: list[StaffRoleCode] | None = Field(None, max_length=20)
    own_building_only: bool | None = None
    access_point_ids: list[Id] | None = Field(None, max_length=500)
    weekdays: list[Weekday] | None = Field(None, max_length=7)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    holiday_mode: HolidayModeCode | None = None
    is_active: bool | None = None


class PolicyIn(Schema):
    estate_id: Id
    name: str = Field(max_length=100)
    audience: AudienceCode
    roles: list[StaffRoleCode] = Field([], max_length=20)
    own_building_only: bool = True
    access_point_ids: list[Id] = Field([], max_length=500)
    weekdays: list[Weekday] = Field([], max_length=7)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    holiday_mode: HolidayModeCode = "same"
    is_active: bool = True


class HolidayOut(Schema):
    id: int
    estate_id: int | None
    date: Day
    name: str
    is_workday: bool


class HolidayIn(Schema):
    estate_id: Id
    date: Day
    name: str = Field(max_length=50)
    is_workday: bool = False


class HolidayPatch(Schema):
    date: Day | None = None
    name: str | None = Field(None, max_length=50)
    is_workday: bool | None = None


class HolidayImportIn(Schema):
    estate_id: Id
    year: int = Field(2026, ge=2000, le=2100)


class HolidayImportOut(Schema):
    created: int
    skipped: int


Knob = Annotated[int | None, Field(None, ge=0, le=1_000_000)]


class SettingsOut(Schema):
    estate_id: int
    qr_ttl_seconds: int
    qr_refresh_seconds: int
    rapid_reuse_seconds: int
    denial_threshold: int
    denial_window_minutes: int
    not_seen_hours: int
    visitor_retention_days: int
    event_retention_days: int


class SettingsPatch(Schema):
    qr_ttl_seconds: Knob = None
    qr_refresh_seconds: Knob = None
    rapid_reuse_seconds: Knob = None
    denial_threshold: Knob = None
    denial_window_minutes: Knob = None
    not_seen_hours: Knob = None
    visitor_retention_days: Knob = None
    event_retention_days: Knob = None


# --- mapping --------------------------------------------------------------------------------------


def point_out(p) -> dict:
    d = p.device
    return {
        "id": p.pk,
        "estate_id": p.estate_id,
        "estate": p.estate.name,
        "building_id": p.building_id,
        "building": p.building.name if p.building_id else None,
        "kind": p.kind,
        "kind_label": str(KIND_LABELS.get(p.kind, p.kind)),
        "name": p.name,
        "code": p.code,
        "direction": p.direction,
        "allowed_methods": list(p.allowed_methods or []),
        "device_id": p.device_id,
        "device_key": d.key if d else None,
        "device_name": d.name if d else None,
        "device_online": d.online if d else None,
        "door_no": p.door_no,
        "offline_decisions": p.offline_decisions,
        "status": p.status,
    }


def policy_out(p) -> dict:
    return {
        "id": p.pk,
        "estate_id": p.estate_id,
        "name": p.name,
        "audience": p.audience,
        "roles": list(p.roles or []),
        "own_building_only": p.own_building_only,
        "access_point_ids": sorted(a.pk for a in p.access_points.all()),
        "weekdays": list(p.weekdays or []),
        "start_time": p.start_time,
        "end_time": p.end_time,
        "holiday_mode": p.holiday_mode,
        "is_active": p.is_active,
    }


def holiday_out(h) -> dict:
    return {"id": h.pk, "estate_id": h.estate_id, "date": h.date, "name": h.name, "is_workday": h.is_workday}


def settings_out(s) -> dict:
    return {"estate_id": s.estate_id, **{k: getattr(s, k) for k in services.SETTINGS_BOUNDS}}


PointsPage = MappedPage.of(point_out)


PoliciesPage = MappedPage.of(policy_out)


HolidaysPage = MappedPage.of(holiday_out)


# --- access points ------------------------------------------------------------------------------


class PointFilters(Schema):
    estate: Id | None = None
    building: Id | None = None
    kind: KindCode | None = None
    status: Literal["active", "disabled"] | None = None
    q: str | None = Field(None, max_length=100)
    ordering: Ordering = None


@router.get("/points", response={200: list[PointOut], **ERRORS}, summary="出入口列表")
@paginate(PointsPage)
def point_list(request, filters: Query[PointFilters]):
    return selectors.access_point_list(
        actor=actor_of(request),
        estate_id=filters.estate,
        building_id=filters.building,
        kind=filters.kind,
        status=filters.status,
        q=(filters.q or "").replace("\x00", "").strip() or None,
        ordering=filters.ordering,
    )


def _point_refs(actor, data: dict) -> dict:
    if "building_id" in data:
        bid = data.pop("building_id")
        data["building"] = selectors.building_get(actor=actor, pk=bid) if bid else None
    if "device_id" in data:
        did = data.pop("device_id")
        data["device"] = selectors.device_get(actor=actor, pk=did) if did else None
    return data


@router.post(
    "/points",
    response={201: PointOut, **WRITE_ERRORS},
    summary="登记出入口（须支持非人脸方式及无需手机和生物识别的方式，R22/R23）",
)
def point_create(request, body: PointIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    data = _point_refs(actor, body.dict(exclude={"estate_id"}))
    point = services.access_point_create(actor=actor, estate=estate, **data)
    return Status(201, point_out(selectors.access_point_get(actor=actor, pk=point.pk)))


@router.get("/points/{pk}", response={200: PointOut, **ERRORS}, summary="出入口详情")
def point_get(request, pk: PkPath):
    return point_out(selectors.access_point_get(actor=actor_of(request), pk=pk))


@router.patch("/points/{pk}", response={200: PointOut, **WRITE_ERRORS}, summary="修改出入口")
def point_update(request, pk: PkPath, body: PointPatch):
    actor = actor_of(request)
    point = selectors.access_point_get(actor=actor, pk=pk)
    data = body.dict(exclude_unset=True)
    for k in ("kind", "name", "code", "direction", "allowed_methods", "door_no", "offline_decisions"):
        if k in data and data[k] is None:
            data.pop(k)
    services.access_point_update(actor=actor, point=point, **_point_refs(actor, data))
    return point_out(selectors.access_point_get(actor=actor, pk=pk))


@router.post("/points/{pk}/disable", response={200: PointOut, **WRITE_ERRORS}, summary="停用出入口")
def point_disable(request, pk: PkPath, body: StatusIn):
    actor = actor_of(request)
    point = selectors.access_point_get(actor=actor, pk=pk)
    services.access_point_set_status(actor=actor, point=point, enabled=False, reason=body.reason)
    return point_out(selectors.access_point_get(actor=actor, pk=pk))


@router.post("/points/{pk}/enable", response={200: PointOut, **WRITE_ERRORS}, summary="启用出入口")
def point_enable(request, pk: PkPath, body: StatusIn):
    actor = actor_of(request)
    point = selectors.access_point_get(actor=actor, pk=pk)
    services.access_point_set_status(actor=actor, point=point, enabled=True, reason=body.reason)
    return point_out(selectors.access_point_get(actor=actor, pk=pk))


# --- policies -----------------------------------------------------------------------------------


class PolicyFilters(Schema):
    estate: Id | None = None
    audience: AudienceCode | None = None
    active: bool | None = None
    ordering: Ordering = None


@router.get("/policies", response={200: list[PolicyOut], **ERRORS}, summary="通行规则列表")
@paginate(PoliciesPage)
def policy_list(request, filters: Query[PolicyFilters]):
    return selectors.policy_list(
        actor=actor_of(request),
        estate_id=filters.estate,
        audience=filters.audience,
        active=filters.active,
        ordering=filters.ordering,
    )


@router.post("/policies", response={201: PolicyOut, **WRITE_ERRORS}, summary="新建通行规则")
def policy_create(request, body: PolicyIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    policy = services.policy_create(actor=actor, estate=estate, **body.dict(exclude={"estate_id"}))
    return Status(201, policy_out(selectors.policy_get(actor=actor, pk=policy.pk)))


@router.get("/policies/{pk}", response={200: PolicyOut, **ERRORS}, summary="通行规则详情")
def policy_get(request, pk: PkPath):
    return policy_out(selectors.policy_get(actor=actor_of(request), pk=pk))


@router.patch("/policies/{pk}", response={200: PolicyOut, **WRITE_ERRORS}, summary="修改通行规则")
def policy_update(request, pk: PkPath, body: PolicyPatch):
    actor = actor_of(request)
    data = body.dict(exclude_unset=True)
    for k in (
        "name",
        "audience",
        "roles",
        "own_building_only",
        "access_point_ids",
        "weekdays",
        "holiday_mode",
        "is_active",
    ):
        if k in data and data[k] is None:
            data.pop(k)
    services.policy_update(actor=actor, policy=selectors.policy_get(actor=actor, pk=pk), **data)
    return policy_out(selectors.policy_get(actor=actor, pk=pk))


@router.delete("/policies/{pk}", response={204: None, **WRITE_ERRORS}, summary="删除通行规则")
def policy_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.policy_delete(actor=actor, policy=selectors.policy_get(actor=actor, pk=pk))
    return Status(204, None)


# --- holidays -----------------------------------------------------------------------------------


class HolidayFilters(Schema):
    estate: Id | None = None
    year: int | None = Field(None, ge=2000, le=2100)


@router.get("/holidays", response={200: list[HolidayOut], **ERRORS}, summary="节假日与调休（全国及本小区）")
@paginate(HolidaysPage)
def holiday_list(request, filters: Query[HolidayFilters]):
    return selectors.holiday_list(actor=actor_of(request), estate_id=filters.estate, year=filters.year)


@router.post("/holidays", response={201: HolidayOut, **WRITE_ERRORS}, summary="新增本小区节假日或调休上班日")
def holiday_create(request, body: HolidayIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    h = services.holiday_create(
        actor=actor, estate=estate, date=body.date, name=body.name, is_workday=body.is_workday
    )
    return Status(201, holiday_out(h))


@router.post(
    "/holidays/import-national",
    response={200: HolidayImportOut, **WRITE_ERRORS},
    summary="导入全国法定节假日安排（含调休上班日）到本小区",
)
def holiday_import(request, body: HolidayImportIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    created, skipped = services.holidays_import_national(actor=actor, estate=estate, year=body.year)
    return {"created": created, "skipped": skipped}


@router.patch("/holidays/{pk}", response={200: HolidayOut, **WRITE_ERRORS}, summary="修改本小区节假日")
def holiday_update(request, pk: PkPath, body: HolidayPatch):
    actor = actor_of(request)
    data = {k: v for k, v in body.dict(exclude_unset=True).items() if v is not None}
    h = services.holiday_update(actor=actor, holiday=selectors.holiday_get(actor=actor, pk=pk), **data)
    return holiday_out(h)


@router.delete("/holidays/{pk}", response={204: None, **WRITE_ERRORS}, summary="删除本小区节假日")
def holiday_delete(request, pk: PkPath):
    actor = actor_of(request)
    services.holiday_delete(actor=actor, holiday=selectors.holiday_get(actor=actor, pk=pk))
    return Status(204, None)


# --- settings -----------------------------------------------------------------------------------


@router.get("/settings/{estate_id}", response={200: SettingsOut, **ERRORS}, summary="小区出入管理参数")
def settings_get(request, estate_id: PkPath):
    return settings_out(selectors.access_settings_get(actor=actor_of(request), estate_id=estate_id))


@router.patch(
    "/settings/{estate_id}",
    response={200: SettingsOut, **WRITE_ERRORS},
    summary="修改小区出入管理参数（二维码有效期、异常规则、保存期限）",
)
def settings_update(request, estate_id: PkPath, body: SettingsPatch):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=estate_id)
    changes = {k: v for k, v in body.dict(exclude_unset=True).items() if v is not None}
    return settings_out(services.access_settings_update(actor=actor, estate=estate, **changes))
