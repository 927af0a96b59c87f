"""API shapes for work orders. Contact phones and reporter names are masked; residents see technicians
as "王师傅"."""

from datetime import date, datetime, time
from typing import Annotated, ClassVar, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

from linli.core.api import Id, ListFilters, LocalTime
from linli.core.pii import mask_name, mask_phone
from linli.workorders.models import Charge, Kind, Source, State

KindCode = Literal[tuple(Kind.values)]  # type: ignore[valid-type]
SourceCode = Literal[tuple(Source.values)]  # type: ignore[valid-type]
StateCode = Literal[tuple(State.values)]  # type: ignore[valid-type]
ChargeKind = Literal[tuple(Charge.LineKind.values)]  # type: ignore[valid-type]


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL")
    value.encode("utf-8")
    return value


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def Text(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)]


Moment = Annotated[datetime, Field(ge=datetime(2000, 1, 1), le=datetime(2200, 1, 1)), AfterValidator(_aware)]


Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))]


def technician_label(user) -> str:
    if user is None:
        return ""
    name = (user.display_name or "").strip()
    return f"{name[0]}师傅" if name else "维修师傅"


class UserBrief(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj)


class WorkOrderListOut(Schema):
    id: int
    estate_id: int
    kind: str
    source: str
    title: str
    state: str
    room_id: int | None
    room: str
    building_id: int | None
    location: str
    reporter: str = Field(description="报修人姓名（脱敏）")
    contact_phone: str = Field(description="联系电话（脱敏）")
    assignee: UserBrief | None
    preferred_time: datetime | None
    response_due_at: datetime | None
    completion_due_at: datetime | None
    response_breached: bool
    completion_breached: bool
    breached: bool
    rating: int | None
    reopen_count: int
    created_at: datetime

    @staticmethod
    def resolve_room(obj) -> str:
        return obj.room.standard_address if obj.room else ""

    @staticmethod
    def resolve_reporter(obj) -> str:
        return mask_name(obj.reporter.name) if obj.reporter else ""

    @staticmethod
    def resolve_contact_phone(obj) -> str:
        return mask_phone(obj.contact_phone)

    @staticmethod
    def resolve_response_breached(obj) -> bool:
        return obj.response_breached_at is not None

    @staticmethod
    def resolve_completion_breached(obj) -> bool:
        return obj.completion_breached_at is not None

    @staticmethod
    def resolve_breached(obj) -> bool:
        from linli.workorders.selectors import is_breached

        return is_breached(obj)


class EventOut(Schema):
    id: int
    at: datetime
    kind: str
    actor: str
    from_state: str
    to_state: str
    note: str

    @staticmethod
    def resolve_actor(obj) -> str:
        return str(obj.actor) if obj.actor else ""


class PhotoOut(Schema):
    id: int
    stage: str
    content_type: str
    width: int
    height: int
    size: int
    url: str

    @staticmethod
    def resolve_url(obj) -> str:
        return f"/api/v1/workorders/{obj.order_id}/photos/{obj.pk}"


class ChargeOut(Schema):
    id: int
    kind: str
    description: str
    quantity: int
    unit_price_fen: int
    amount_fen: int
    created_at: datetime


class WorkOrderOut(WorkOrderListOut):
    description: str
    assigned_at: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    done_at: datetime | None
    rated_at: datetime | None
    cancelled_at: datetime | None
    rating_comment: str
    billed_bill_id: int | None
    history: list[EventOut]
    photos: list[PhotoOut]
    charges: list[ChargeOut]

    @staticmethod
    def resolve_history(obj) -> list:
        return list(obj.events.select_related("actor").order_by("at", "pk"))

    @staticmethod
    def resolve_photos(obj) -> list:
        return list(obj.photos.order_by("pk"))

    @staticmethod
    def resolve_charges(obj) -> list:
        return list(obj.charges.order_by("pk"))


PUBLIC_NOTE_KINDS = ("comment", "finished", "cancelled", "reopened", "rated")


class MyEventOut(Schema):
    """An event as the reporter sees it: staff shown as 王师傅, internal notes left out."""

    at: datetime
    kind: str
    to_state: str
    who: str
    note: str

    @staticmethod
    def resolve_who(obj) -> str:
        if obj.actor is None:
            return ""
        return technician_label(obj.actor) if obj.actor.kind == "staff" else ""

    @staticmethod
    def resolve_note(obj) -> str:
        return obj.note if obj.kind in PUBLIC_NOTE_KINDS else ""


class MyWorkOrderOut(Schema):
    """A resident's own report: technician shown as 王师傅."""

    id: int
    kind: str
    title: str
    description: str
    state: str
    room: str
    location: str
    preferred_time: datetime | None
    technician: str
    rating: int | None
    rating_comment: str
    created_at: datetime
    done_at: datetime | None
    history: list[MyEventOut]
    photos: list[PhotoOut]
    charges: list[ChargeOut]

    @staticmethod
    def resolve_room(obj) -> str:
        return obj.room.standard_address if obj.room else ""

    @staticmethod
    def resolve_technician(obj) -> str:
        return technician_label(obj.assignee)

    @staticmethod
    def resolve_history(obj) -> list:
        hidden = ("response_breach", "completion_breach", "undispatched")
        return [e for e in obj.events.select_related("actor").order_by("at", "pk") if e.kind not in hidden]

    @staticmethod
    def resolve_photos(obj) -> list:
        return list(obj.photos.order_by("pk"))

    @staticmethod
    def resolve_charges(obj) -> list:
        return list(obj.charges.order_by("pk"))


class MyWorkOrderListOut(Schema):
    id: int
    kind: str
    title: str
    state: str
    technician: str
    created_at: datetime

    @staticmethod
    def resolve_technician(obj) -> str:
        return technician_label(obj.assignee)


class WorkOrderIn(Schema):
    estate_id: Id
    kind: KindCode
    title: Text(100, 1)
    description: Text(2000) = ""
    room_id: Id | None = None
    building_id: Id | None = None
    location: Text(200) = ""
    source: SourceCode = "staff"
    source_ref: Text(100) = ""
    contact_phone: Text(20) = ""
    preferred_time: Moment | None = None


class AssignIn(Schema):
    assignee_id: Id


class NoteIn(Schema):
    note: Text(500) = ""


class ReasonIn(Schema):
    reason: Text(300) = ""


class RateIn(Schema):
    rating: int = Field(ge=1, le=5)
    comment: Text(500) = ""


class CommentIn(Schema):
    text: Text(1000, 1)


class ChargeIn(Schema):
    kind: ChargeKind
    description: Text(100, 1)
    quantity: int = Field(1, ge=1, le=1000)
    unit_price_fen: int = Field(ge=1, le=10_000_000)


class BoardOrderOut(Schema):
    id: int
    title: str
    kind: str
    assignee: str
    completion_due_at: datetime | None
    breached: bool

    @staticmethod
    def resolve_assignee(obj) -> str:
        return str(obj.assignee) if obj.assignee else ""


class BoardColumnOut(Schema):
    state: str
    label: str
    count: int
    breached: int
    orders: list[BoardOrderOut]


class WorkloadOut(Schema):
    technician_id: int
    name: str
    open: int
    overdue: int
    in_progress: int
    done_7d: int


class RosterIn(Schema):
    estate_id: Id
    technician_id: Id
    weekday: int | None = Field(None, ge=0, le=6, description="0=周一 … 6=周日（与 date 二选一）")
    date: Day | None = None
    start_time: LocalTime
    end_time: LocalTime
    kinds: list[KindCode] = Field(default_factory=list, max_length=5)
    building_ids: list[Id] = Field(default_factory=list, max_length=100)


class RosterOut(Schema):
    id: int
    estate_id: int
    technician: UserBrief
    weekday: int | None
    date: date | None
    start_time: time
    end_time: time
    kinds: list[str]
    building_ids: list[int]

    @staticmethod
    def resolve_building_ids(obj) -> list[int]:
        return [b.pk for b in obj.buildings.all()]


class SlaIn(Schema):
    estate_id: Id
    kind: KindCode
    response_minutes: int = Field(ge=1, le=30 * 24 * 60)
    completion_minutes: int = Field(ge=1, le=90 * 24 * 60)


class SlaOut(Schema):
    estate_id: int
    kind: str
    label: str
    response_minutes: int
    completion_minutes: int
    is_default: bool


class BoardQuery(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id", "assignee": "assignee_id"}
    estate: Id | None = None
    kind: KindCode | None = None
    assignee: Id | None = None


class WorkOrderFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id", "assignee": "assignee_id"}
    estate: Id | None = None
    state: StateCode | None = None
    kind: KindCode | None = None
    assignee: Id | None = None
    breached: bool | None = None
    source: SourceCode | None = None
    q: Text(50) | None = Field(None, description="标题、位置或房屋地址包含的文字，或工单号")
    ordering: Annotated[str, Field(max_length=40, pattern=r"^-?[a-z_]+$")] | None = Field(
        None, description="id, created, state, kind, response_due, completion_due；前加 - 为倒序"
    )
