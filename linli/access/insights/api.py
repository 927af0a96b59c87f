"""The insights part of the access console's API (mounted at ``/api/v1/access``): access events
(whereabouts: ``access.events_view``, every read audited, names masked), flow and visitor analysis
(aggregates only) and anomalies (care anomalies only for care roles, R65). Lists are paginated
(``page``, ``page_size`` ≤ 100), filterable and sortable (``ordering=-field``)."""

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from linli.access.insights import analysis, selectors, services
from linli.access.insights.anomalies import ALARM_LABELS
from linli.access.models import AnomalyKind
from linli.access.schemas import MethodCode, Ordering
from linli.core.api import ERRORS, WRITE_ERRORS, Id, MappedPage, PkPath, QueryDateTime, actor_of
from linli.core.pii import mask_name

router = Router()
AnomalyKindCode = Literal[
    "rapid_reuse", "repeated_denials", "tailgating", "forced", "reverse", "climbing", "duress", "not_seen"
]
ANOMALY_LABELS = dict(AnomalyKind.choices)


# --- schemas --------------------------------------------------------------------------------------


class AccessEventOut(Schema):
    id: int
    estate_id: int
    access_point_id: int | None
    access_point: str | None
    occurred_at: datetime
    received_at: datetime
    direction: str
    method: str
    result: str
    reason: str
    subject_kind: str
    person_id: int | None
    person_name: str | None
    visitor_pass_id: int | None
    visitor_name: str | None
    source: str
    device_id: int | None


class EventDetailOut(AccessEventOut):
    detail: dict[str, Any]


class CountsOut(Schema):
    entries: int
    exits: int
    allowed: int
    denied: int


class HourCountsOut(CountsOut):
    hour: int


class DayCountsOut(CountsOut):
    day: date


class PointCountsOut(CountsOut):
    access_point_id: int | None
    name: str
    kind: str


class FlowsOut(Schema):
    since: datetime
    until: datetime
    time_zone: str
    level: str
    totals: CountsOut
    by_hour: list[HourCountsOut]
    by_point: list[PointCountsOut]
    daily: list[DayCountsOut]


class VisitorHourOut(Schema):
    hour: int
    entries: int


class VisitorDayOut(Schema):
    day: date
    passes: int
    entries: int


class VisitorStatsOut(Schema):
    since: datetime
    until: datetime
    time_zone: str
    passes: int
    by_kind: dict[str, int]
    by_channel: dict[str, int]
    entries_used: int
    arrived: int
    no_show: int
    entries: int
    denied: int
    denied_by_reason: dict[str, int]
    by_hour: list[VisitorHourOut]
    peak_hours: list[int]
    average_stay_minutes: float | None
    stays_measured: int
    daily: list[VisitorDayOut]


class AnomalyOut(Schema):
    id: int
    estate_id: int
    kind: str
    kind_label: str
    alarm: str | None
    status: str
    person_id: int | None
    person_name: str | None
    access_point_id: int | None
    access_point: str | None
    first_at: datetime
    last_at: datetime
    count: int
    health_sensitive: bool
    detail: dict[str, Any]
    handled_by: str | None
    handled_at: datetime | None
    note: str


class AnomalyCloseIn(Schema):
    note: str = Field(max_length=300)


# --- mapping --------------------------------------------------------------------------------------


def event_out(e) -> dict:
    return {
        "id": e.pk,
        "estate_id": e.estate_id,
        "access_point_id": e.access_point_id,
        "access_point": e.access_point.name if e.access_point_id else None,
        "occurred_at": e.occurred_at,
        "received_at": e.received_at,
        "direction": e.direction,
        "method": e.method,
        "result": e.result,
        "reason": e.reason,
        "subject_kind": e.subject_kind,
        "person_id": e.person_id,
        "person_name": mask_name(e.person.name) if e.person_id else None,
        "visitor_pass_id": e.visitor_pass_id,
        "visitor_name": mask_name(e.visitor_pass.visitor_name) if e.visitor_pass_id else None,
        "source": e.source,
        "device_id": e.device_id,
    }


def anomaly_out(a) -> dict:
    alarm = (a.detail or {}).get("alarm")
    return {
        "id": a.pk,
        "estate_id": a.estate_id,
        "kind": a.kind,
        "kind_label": str(ALARM_LABELS.get(alarm) or ANOMALY_LABELS.get(a.kind, a.kind)),
        "alarm": alarm,
        "status": a.status,
        "person_id": a.person_id,
        "person_name": mask_name(a.person.name) if a.person_id else None,
        "access_point_id": a.access_point_id,
        "access_point": a.access_point.name if a.access_point_id else None,
        "first_at": a.first_at,
        "last_at": a.last_at,
        "count": a.count,
        "health_sensitive": a.health_sensitive,
        "detail": a.detail or {},
        "handled_by": a.handled_by.username if a.handled_by_id else None,
        "handled_at": a.handled_at,
        "note": a.note,
    }


EventsPage = MappedPage.of(event_out)


AnomaliesPage = MappedPage.of(anomaly_out)


# --- events ---------------------------------------------------------------------------------------


class AccessEventFilters(Schema):
    estate: Id | None = None
    access_point: Id | None = None
    result: Literal["allow", "deny"] | None = None
    method: MethodCode | None = None
    subject_kind: Literal["resident", "staff", "visitor", "unknown"] | None = None
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    person: Id | None = None
    ordering: Ordering = None


@router.get(
    "/events",
    response={200: list[AccessEventOut], **ERRORS},
    summary="通行记录（行踪信息：需通行记录权限，每次查询留痕，姓名脱敏）",
)
@paginate(EventsPage)
def event_list(request, filters: Query[AccessEventFilters]):
    return selectors.event_list(
        actor=actor_of(request),
        estate_id=filters.estate,
        access_point_id=filters.access_point,
        result=filters.result,
        method=filters.method,
        subject_kind=filters.subject_kind,
        since=filters.since,
        until=filters.until,
        person_id=filters.person,
        ordering=filters.ordering,
    )


@router.get("/events/{pk}", response={200: EventDetailOut, **ERRORS}, summary="通行记录详情（留痕）")
def event_get(request, pk: PkPath):
    e = selectors.event_get(actor=actor_of(request), pk=pk)
    return {**event_out(e), "detail": e.detail or {}}


# --- analysis -------------------------------------------------------------------------------------


class FlowFilters(Schema):
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    estate: Id | None = None
    access_point: Id | None = None
    level: Literal["all", "gates", "buildings"] = "all"


@router.get(
    "/analysis/flows", response={200: FlowsOut, **ERRORS}, summary="出入流量：按小时、出入口、日期统计"
)
def analysis_flows(request, filters: Query[FlowFilters]):
    return analysis.flows(
        actor=actor_of(request),
        since=filters.since,
        until=filters.until,
        estate_id=filters.estate,
        access_point_id=filters.access_point,
        level=filters.level,
    )


class VisitorFilters(Schema):
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    estate: Id | None = None


@router.get("/analysis/visitors", response={200: VisitorStatsOut, **ERRORS}, summary="访客统计")
def analysis_visitors(request, filters: Query[VisitorFilters]):
    return analysis.visitor_stats(
        actor=actor_of(request), since=filters.since, until=filters.until, estate_id=filters.estate
    )


# --- anomalies ------------------------------------------------------------------------------------


class AnomalyFilters(Schema):
    estate: Id | None = None
    kind: AnomalyKindCode | None = None
    status: Literal["open", "closed"] | None = None
    access_point: Id | None = None
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    ordering: Ordering = None


@router.get(
    "/anomalies",
    response={200: list[AnomalyOut], **ERRORS},
    summary="出入异常（独居老人未出入提醒仅社区关爱角色可见）",
)
@paginate(AnomaliesPage)
def anomaly_list(request, filters: Query[AnomalyFilters]):
    return selectors.anomaly_list(
        actor=actor_of(request),
        estate_id=filters.estate,
        kind=filters.kind,
        status=filters.status,
        access_point_id=filters.access_point,
        since=filters.since,
        until=filters.until,
        ordering=filters.ordering,
    )


@router.get("/anomalies/{pk}", response={200: AnomalyOut, **ERRORS}, summary="出入异常详情")
def anomaly_get(request, pk: PkPath):
    return anomaly_out(selectors.anomaly_get(actor=actor_of(request), pk=pk))


@router.post(
    "/anomalies/{pk}/close", response={200: AnomalyOut, **WRITE_ERRORS}, summary="处理并关闭出入异常"
)
def anomaly_close(request, pk: PkPath, body: AnomalyCloseIn):
    actor = actor_of(request)
    services.anomaly_close(actor=actor, anomaly=selectors.anomaly_get(actor=actor, pk=pk), note=body.note)
    return anomaly_out(selectors.anomaly_get(actor=actor, pk=pk))
