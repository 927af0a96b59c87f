"""API schemas of the alarms app."""

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from ninja import Field, Schema

from linli.core.api import Id, ListFilters, PatchIn, QueryDateTime
from linli.core.listing import DayEnd, DayStart

SeverityCode = Literal["critical", "major", "minor", "warning"]
KindCode = Literal["threshold", "duration", "rate", "offline", "event", "combination"]
OperatorCode = Literal["gt", "ge", "lt", "le", "eq", "ne"]
ChannelCode = Literal["console", "sms", "webhook"]


class UserRef(Schema):
    id: int
    username: str
    display_name: str


class AlarmOut(Schema):
    id: int
    estate_id: int
    estate: str
    building_id: int | None
    device_id: int
    device_key: str
    device_name: str
    cause: str
    severity: str
    title: str
    first_at: datetime
    last_at: datetime
    count: int
    is_open: bool
    needs_ack: bool
    acked_at: datetime | None
    cleared_at: datetime | None
    clear_reason: str
    assignee: UserRef | None
    health_sensitive: bool
    workorder_id: int | None
    escalated_at: datetime | None


class HistoryOut(Schema):
    at: datetime
    kind: str
    actor: str | None
    note: str


class CommentOut(Schema):
    id: int
    author: str | None
    body: str
    created_at: datetime


class NotificationOut(Schema):
    channel: str
    target: str
    level: int
    status: str
    error: str
    sent_at: datetime


class AlarmDetailOut(AlarmOut):
    detail: dict
    rule_id: int | None
    device_location: str
    acked_by: str | None
    cleared_by: str | None
    history: list[HistoryOut]
    comments: list[CommentOut]
    notifications: list[NotificationOut]


class AlarmNoteIn(Schema):
    note: str = Field("", max_length=300)


class AlarmCommentIn(Schema):
    body: str = Field(..., min_length=1, max_length=2000)


class AlarmAssignIn(Schema):
    assignee_id: Id | None = None


class LiveOut(Schema):
    cursor: int
    items: list[AlarmOut]


class DayCount(Schema):
    day: date
    count: int


class AlarmStatsOut(Schema):
    since: datetime
    until: datetime
    total: int
    by_cause: dict[str, int]
    by_severity: dict[str, int]
    by_day: list[DayCount]
    mean_minutes_to_ack: float | None
    mean_minutes_to_clear: float | None


class DeviceTypeCount(Schema):
    device_type: str
    label: str
    total: int
    online: int


class HydrantOut(Schema):
    device_id: int
    name: str
    location: str
    pressure: float | None
    at: datetime | None
    status: Literal["normal", "low", "offline", "unknown"]


class FireCardOut(Schema):
    estate_id: int
    estate: str
    devices_total: int
    devices_online: int
    devices: list[DeviceTypeCount]
    open_alarms: dict[str, int]
    hydrants: list[HydrantOut]


class Schedule(Schema):
    days: list[Annotated[int, Field(ge=1, le=7)]] = []
    ranges: list[Annotated[list[Annotated[str, Field(max_length=5)]], Field(min_length=2, max_length=2)]] = []


class RuleOut(Schema):
    id: int
    profile_id: int
    profile_key: str
    device_id: int | None
    base_id: int | None
    cause: str
    name: str
    kind: str
    point: str
    operator: str
    value: float | None
    duration_s: int
    window_s: int
    event: str
    clear_event: str
    rise_point: str
    rise: float | None
    scope: str
    severity: str
    schedule: dict
    enabled: bool
    auto_clear: bool
    equipment_fault: bool
    escalate_after_minutes: int | None
    notify_channels: list[str]


class RuleFields(PatchIn):
    # Fields of a rule; one left out keeps its value (or the default). Only these may be null.
    nullable: ClassVar[frozenset[str]] = frozenset({"value", "rise", "schedule", "escalate_after_minutes"})

    cause: str | None = Field(None, max_length=48)
    name: str | None = Field(None, max_length=100)
    kind: KindCode | None = None
    point: str | None = Field(None, max_length=64)
    operator: OperatorCode | None = None
    value: float | None = Field(None, ge=-1e12, le=1e12)
    duration_s: int | None = Field(None, ge=0, le=7 * 86400)
    window_s: int | None = Field(None, ge=0, le=86400)
    event: str | None = Field(None, max_length=64)
    clear_event: str | None = Field(None, max_length=64)
    rise_point: str | None = Field(None, max_length=64)
    rise: float | None = Field(None, ge=0, le=1e6)
    scope: Literal["device", "room"] | None = None
    severity: SeverityCode | None = None
    schedule: Schedule | None = None
    enabled: bool | None = None
    auto_clear: bool | None = None
    equipment_fault: bool | None = None
    escalate_after_minutes: int | None = Field(None, ge=1, le=10080)
    notify_channels: list[ChannelCode] | None = None


class RuleIn(RuleFields):
    nullable: ClassVar[frozenset[str]] = RuleFields.nullable | {"device_id", "base_id"}

    profile_id: Id
    device_id: Id | None = None
    base_id: Id | None = None


class WebhookIn(Schema):
    estate_id: Id
    name: str = Field(..., min_length=1, max_length=100)
    url: str = Field(..., min_length=8, max_length=500)
    min_severity: SeverityCode = "warning"


class WebhookOut(Schema):
    id: int
    estate_id: int
    name: str
    url: str
    enabled: bool
    min_severity: str


class WebhookCreatedOut(WebhookOut):
    secret: str


class AlarmFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {
        "estate": "estate_id",
        "device": "device_id",
        "building": "building_id",
    }
    estate: Id | None = None
    state: Literal["open", "needs_ack", "cleared", "all"] = "all"
    severity: SeverityCode | None = None
    cause: str | None = Field(None, max_length=48)
    device: Id | None = None
    building: Id | None = None
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    ordering: str | None = Field(None, max_length=20)


class AlarmPageFilters(AlarmFilters):
    """The history page's filters: the API's, with days for the date inputs."""

    since: DayStart | None = None  # type: ignore[assignment]  # a day in, its first moment out
    until: DayEnd | None = None  # type: ignore[assignment]
