"""API shapes for parking. Plates are shown in full: every staff endpoint needs ``parking.view`` (the
parking roles); owners' names are masked; plate pictures appear only as references."""

from datetime import date, datetime, time
from typing import Annotated, ClassVar, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

from linli.core.api import ListFilters, LocalTime, QueryDateTime
from linli.core.pii import mask_name
from linli.parking.models import Category, Decision, PermitKind, PermitStatus, PlateDirection, SessionStatus
from linli.people.schemas import Day, Id, Text

Fen = Annotated[int, Field(ge=0, le=10_000_000)]
Minutes = Annotated[int, Field(ge=0, le=7 * 24 * 60)]
PeriodMinutes = Annotated[int, Field(ge=1, le=1440)]
Months = Annotated[int, Field(ge=1, le=24)]
PermitKindCode = Literal[tuple(PermitKind.values)]  # type: ignore[valid-type]
PermitStatusCode = Literal[tuple(PermitStatus.values)]  # type: ignore[valid-type]
CategoryCode = Literal[tuple(Category.values)]  # type: ignore[valid-type]
DecisionCode = Literal[tuple(Decision.values)]  # type: ignore[valid-type]
DirectionCode = Literal[tuple(PlateDirection.values)]  # type: ignore[valid-type]
SessionStatusCode = Literal[tuple(SessionStatus.values)]  # type: ignore[valid-type]
PlateQuery = Annotated[str, Field(min_length=1, max_length=16)]


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if not 2000 <= value.year <= 2200:
        raise ValueError("2000–2200")
    return value


# A body datetime: real-world offsets only (±14:00, see ``QueryDateTime``), naive = local time.
AwareDateTime = Annotated[QueryDateTime, AfterValidator(_aware)]


# --- fee rules ---------------------------------------------------------------------------------


class FeeRuleIn(Schema):
    estate_id: Id
    name: Text(100, 1)
    free_minutes: Minutes = 15
    first_period_minutes: PeriodMinutes = 60
    first_period_fen: Fen = 500
    next_period_minutes: PeriodMinutes = 60
    next_period_fen: Fen = 200
    daily_cap_fen: Fen = 3000
    night_start: LocalTime | None = None
    night_end: LocalTime | None = None
    night_fen: Fen = 0
    visitor_free_minutes: Minutes = 120
    monthly_permit_fen: Fen = 30000
    yearly_permit_fen: Fen = 300000
    activate: bool = Field(True, description="创建后立即启用（停用本小区其他标准）")


class FeeRuleOut(Schema):
    id: int
    estate_id: int
    name: str
    free_minutes: int
    first_period_minutes: int
    first_period_fen: int
    next_period_minutes: int
    next_period_fen: int
    daily_cap_fen: int
    night_start: time | None
    night_end: time | None
    night_fen: int
    visitor_free_minutes: int
    monthly_permit_fen: int
    yearly_permit_fen: int
    active: bool
    activated_at: datetime | None
    created_at: datetime


class QuoteOut(Schema):
    rule_id: int
    fee_fen: int
    windows: list[int]
    free: bool


# --- permits -----------------------------------------------------------------------------------


class PermitIn(Schema):
    vehicle_id: Id
    kind: PermitKindCode
    valid_from: Day
    months: Months = Field(1, description="月数（年租为年数）；产权车位不限期")
    space_id: Id | None = None
    price_fen: Fen | None = Field(None, description="每月（年租为每年）价格，默认取收费标准")


class RenewIn(Schema):
    months: Months = 1


class ReasonIn(Schema):
    reason: Text(200, 1)


class PermitOut(Schema):
    id: int
    estate_id: int
    vehicle_id: int
    plate: str
    owner_name: str
    kind: str
    space_id: int | None
    space_code: str
    room_id: int | None
    valid_from: date
    valid_until: date
    price_fen: int
    status: str
    cancelled_at: datetime | None
    cancel_reason: str

    @staticmethod
    def resolve_plate(obj) -> str:
        return obj.vehicle.plate

    @staticmethod
    def resolve_owner_name(obj) -> str:
        return mask_name(obj.vehicle.owner.name)

    @staticmethod
    def resolve_space_code(obj) -> str:
        return obj.space.code if obj.space_id else ""


# --- block list --------------------------------------------------------------------------------


class BlockedIn(Schema):
    estate_id: Id
    plate: Text(16, 1)
    reason: Text(200, 1)
    until: AwareDateTime | None = None


class BlockedOut(Schema):
    id: int
    estate_id: int
    plate: str
    reason: str
    until: datetime | None
    active: bool
    created_at: datetime
    lifted_at: datetime | None


# --- plate events and sessions -----------------------------------------------------------------


class EventOut(Schema):
    id: int
    estate_id: int
    access_point_id: int | None
    access_point_name: str
    plate: str
    plate_valid: bool
    plate_color: str
    direction: str
    occurred_at: datetime
    confidence: int | None
    category: str
    decision: str
    reason: str
    session_id: int | None
    vehicle_id: int | None
    permit_id: int | None
    picture_refs: list[str]
    released_at: datetime | None
    release_reason: str

    @staticmethod
    def resolve_access_point_name(obj) -> str:
        return obj.access_point.name if obj.access_point_id else ""


class EventPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[EventOut]


class SessionOut(Schema):
    id: int
    estate_id: int
    plate: str
    category: str
    vehicle_id: int | None
    entered_at: datetime
    exited_at: datetime | None
    entry_point_id: int | None
    exit_point_id: int | None
    rule_id: int | None
    fee_fen: int
    status: str
    paid_at: datetime | None
    bill_id: int | None
    payment_id: int | None
    receipt_no: str
    released_at: datetime | None
    release_reason: str
    waived_at: datetime | None
    waive_reason: str

    @staticmethod
    def resolve_receipt_no(obj) -> str:
        return (obj.payment.receipt_no or "") if obj.payment_id else ""


class SessionPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[SessionOut]


class SettleIn(Schema):
    channel: Literal["cash", "transfer"]
    note: Text(200) = ""


class OnlineOrderOut(Schema):
    session: SessionOut
    out_trade_no: str
    pay_url: str
    amount_fen: int


class ReleaseIn(Schema):
    access_point_id: Id
    reason: Text(200, 1)
    event_id: Id | None = Field(None, description="被拒绝的识别记录（可选）")


class ReleaseOut(Schema):
    access_point_id: int
    event_id: int | None
    session_id: int | None


class OccupancyOut(Schema):
    estate_id: int
    estate_name: str
    spaces_owned: int
    spaces_rented: int
    spaces_temporary: int
    permits_fixed: int
    permits_floating: int
    floating_inside: int
    open_sessions: int
    temporary_used: int
    temporary_free: int


# --- residents ---------------------------------------------------------------------------------


class MyVehicleOut(Schema):
    id: int
    plate: str
    kind: str
    color: str
    brand: str


class MyPermitOut(Schema):
    id: int
    vehicle_id: int
    plate: str
    kind: str
    space_code: str
    valid_from: date
    valid_until: date
    price_fen: int
    status: str

    @staticmethod
    def resolve_plate(obj) -> str:
        return obj.vehicle.plate

    @staticmethod
    def resolve_space_code(obj) -> str:
        return obj.space.code if obj.space_id else ""


class MyParkingOut(Schema):
    vehicles: list[MyVehicleOut]
    permits: list[MyPermitOut]


class MySessionOut(Schema):
    id: int
    plate: str
    category: str
    entered_at: datetime
    exited_at: datetime | None
    entry_point: str
    exit_point: str
    fee_fen: int
    status: str
    paid_at: datetime | None

    @staticmethod
    def resolve_entry_point(obj) -> str:
        return obj.entry_point.name if obj.entry_point_id else ""

    @staticmethod
    def resolve_exit_point(obj) -> str:
        return obj.exit_point.name if obj.exit_point_id else ""


class PermitFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id"}
    estate: Id | None = None
    status: PermitStatusCode | None = None
    kind: PermitKindCode | None = None
    plate: PlateQuery | None = None


class PlateEventFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id", "access_point": "access_point_id"}
    estate: Id | None = None
    plate: PlateQuery | None = None
    category: CategoryCode | None = None
    decision: DecisionCode | None = None
    direction: DirectionCode | None = None
    access_point: Id | None = None
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None


class ParkingSessionFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id"}
    estate: Id | None = None
    status: SessionStatusCode | None = None
    category: CategoryCode | None = None
    plate: PlateQuery | None = None
    released: bool | None = Field(None, description="仅人工放行未缴费的（true）")
