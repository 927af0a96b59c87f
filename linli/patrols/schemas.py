"""API shapes for patrols. A checkpoint's ``code`` is present only for ``patrols.manage`` holders."""

from datetime import date, datetime, time
from typing import Annotated, ClassVar, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from linli.core.api import Id, ListFilters, LocalTime
from linli.patrols.models import RunStatus

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
RunStatusCode = Literal[tuple(RunStatus.values)]  # type: ignore[valid-type]
Weekdays = Annotated[str, Field(min_length=1, max_length=7, pattern=r"^[1-7]{1,7}$")]


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL")
    value.encode("utf-8")
    return value


def Text(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)]


# --- routes --------------------------------------------------------------------------------------


class RouteIn(Schema):
    estate_id: Id
    name: Text(100, 1)  # type: ignore[valid-type]
    description: Text(2000) = ""  # type: ignore[valid-type]
    active: bool = True


class RoutePatchIn(Schema):
    name: Text(100, 1) | None = None  # type: ignore[valid-type]
    description: Text(2000) | None = None  # type: ignore[valid-type]
    active: bool | None = None


class RouteOut(Schema):
    id: int
    estate_id: int
    estate: str
    name: str
    description: str
    active: bool
    checkpoint_count: int | None = None

    @staticmethod
    def resolve_estate(obj) -> str:
        return obj.estate.name

    @staticmethod
    def resolve_checkpoint_count(obj) -> int | None:
        return getattr(obj, "checkpoint_count", None)


# --- checkpoints ---------------------------------------------------------------------------------


class CheckpointIn(Schema):
    route_id: Id
    name: Text(100, 1)  # type: ignore[valid-type]
    order: int | None = Field(None, ge=1, le=999)
    location: Text(200) = ""  # type: ignore[valid-type]
    building_id: Id | None = None
    facility_id: Id | None = None
    active: bool = True


class CheckpointPatchIn(Schema):
    name: Text(100, 1) | None = None  # type: ignore[valid-type]
    order: int | None = Field(None, ge=1, le=999)
    location: Text(200) | None = None  # type: ignore[valid-type]
    building_id: Id | None = None
    facility_id: Id | None = None
    active: bool | None = None


class CheckpointOut(Schema):
    id: int
    route_id: int
    order: int
    name: str
    location: str
    building_id: int | None
    facility_id: int | None
    active: bool
    code: str | None = Field(None, description="二维码令牌（仅巡检管理权限可见）")
    scan_path: str | None = Field(None, description="扫码签到页路径（仅巡检管理权限可见）")


# --- schedules -----------------------------------------------------------------------------------


class ScheduleIn(Schema):
    route_id: Id
    start_time: LocalTime
    weekdays: Weekdays = "1234567"
    window_minutes: int = Field(60, ge=5, le=1440)
    guard_ids: list[Id] = Field(default_factory=list, max_length=100)
    active: bool = True


class SchedulePatchIn(Schema):
    start_time: LocalTime | None = None
    weekdays: Weekdays | None = None
    window_minutes: int | None = Field(None, ge=5, le=1440)
    guard_ids: list[Id] | None = Field(None, max_length=100)
    active: bool | None = None


class ScheduleOut(Schema):
    id: int
    route_id: int
    route: str
    weekdays: str
    start_time: time
    window_minutes: int
    guard_ids: list[int]
    active: bool

    @staticmethod
    def resolve_route(obj) -> str:
        return obj.route.name

    @staticmethod
    def resolve_guard_ids(obj) -> list[int]:
        return sorted(g.pk for g in obj.guards.all())


# --- runs ----------------------------------------------------------------------------------------


class RunOut(Schema):
    id: int
    schedule_id: int
    route_id: int
    route: str
    estate_id: int
    date: date
    window_start: datetime
    window_end: datetime
    status: str
    started_by: str | None
    started_at: datetime | None
    finished_at: datetime | None
    expected: int
    checked: int

    @staticmethod
    def resolve_route(obj) -> str:
        return obj.route.name

    @staticmethod
    def resolve_started_by(obj) -> str | None:
        return obj.started_by.username if obj.started_by_id else None


class CheckInOut(Schema):
    id: int
    run_id: int
    checkpoint_id: int
    checkpoint: str
    guard: str
    at: datetime
    source: str
    note: str

    @staticmethod
    def resolve_checkpoint(obj) -> str:
        return obj.checkpoint.name

    @staticmethod
    def resolve_guard(obj) -> str:
        return obj.guard.username


class FindingBrief(Schema):
    id: int
    checkpoint_id: int | None
    description: str
    workorder_id: int | None
    photo_ids: list[int]
    created_at: datetime

    @staticmethod
    def resolve_photo_ids(obj) -> list[int]:
        return [p.pk for p in obj.photos.all()]


class RunDetailOut(RunOut):
    checkins: list[CheckInOut]
    findings: list[FindingBrief]

    @staticmethod
    def resolve_checkins(obj):
        return list(obj.checkins.all())

    @staticmethod
    def resolve_findings(obj):
        return list(obj.findings.all())


class CheckInIn(Schema):
    code: Text(43, 1)  # type: ignore[valid-type]
    note: Text(200) = ""  # type: ignore[valid-type]


class CheckInResultOut(Schema):
    created: bool
    checkin: CheckInOut
    run: RunOut
    done: int
    total: int
    next_checkpoint_id: int | None
    next_checkpoint: str | None


class FindingOut(FindingBrief):
    run_id: int
    route: str
    reporter: str

    @staticmethod
    def resolve_route(obj) -> str:
        return obj.run.route.name

    @staticmethod
    def resolve_reporter(obj) -> str:
        return obj.reporter.username


# --- statistics ----------------------------------------------------------------------------------


class StatRowOut(Schema):
    id: int | None
    label: str
    runs: int
    completed: int
    partial: int
    missed: int
    expected: int
    checked: int
    run_rate: float | None
    checkpoint_rate: float | None

    @staticmethod
    def resolve_id(obj) -> int | None:
        return obj.key or None


class StatsOut(Schema):
    date_from: date
    date_to: date
    total: StatRowOut
    routes: list[StatRowOut]
    guards: list[StatRowOut]


class RunFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id", "route": "route_id", "guard": "guard_id"}
    date_from: Day | None = None
    date_to: Day | None = None
    status: RunStatusCode | None = None  # type: ignore[valid-type]
    route: Id | None = None
    guard: Id | None = None
    estate: Id | None = None
