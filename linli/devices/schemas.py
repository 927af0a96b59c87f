"""Request and response shapes of the devices API. A device's secret appears in exactly two shapes:
``CredentialsOut`` (answer of register / rotate) and ``ImportAppliedOut`` (answer of an import) —
each shown once; every other shape leaves it out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema

from linli.core.api import ErrorBody, Id, ListFilters
from linli.devices.models import DeviceStatus, DeviceType
from linli.devices.selectors import ORDERING

FloorNo = Annotated[int, Field(ge=-20, le=300)]
Text = Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")]
Slug = Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_-]*$")]


class DeviceRegionRef(Schema):
    id: int
    name: str


class ProfileRef(Schema):
    id: int
    key: str
    name: str
    device_type: str
    health_sensitive: bool


class DeviceOut(Schema):
    id: int
    key: str
    name: str
    estate: DeviceRegionRef
    building: DeviceRegionRef | None = None
    floor: int | None = None
    room_id: int | None = None
    room_number: str | None = None
    facility_id: int | None = None
    location: str
    profile: ProfileRef
    adapter: str
    vendor_id: str
    status: str
    online: bool
    last_seen_at: datetime | None = None
    battery: int | None = None
    signal: int | None = None

    @staticmethod
    def resolve_room_number(obj) -> str | None:
        return obj.room.number if obj.room_id else None


class DeviceDetailOut(DeviceOut):
    """A device with its health and counters (never its secret)."""

    credential_version: int
    last_seq: int
    accepted_count: int
    rejected_count: int
    topic_prefix: str
    created_at: datetime

    @staticmethod
    def resolve_topic_prefix(obj) -> str:
        from linli.devices.canonical import topic_root
        from linli.devices.models import estate_code_of

        return f"{topic_root()}/{estate_code_of(obj.estate)}/{obj.key}/"


class CredentialsOut(Schema):
    """Shown ONCE: the device's secret (MQTT password and HMAC key) is not retrievable afterwards."""

    device: DeviceDetailOut
    key: str
    secret: str
    topic_prefix: str
    credential_version: int


class DeviceIn(Schema):
    estate_id: Id
    profile_id: Id
    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[^\x00]*$")
    key: Slug = ""
    building_id: Id | None = None
    floor: FloorNo | None = None
    room_id: Id | None = None
    facility_id: Id | None = None
    location: str = Field("", max_length=200, pattern=r"^[^\x00]*$")
    adapter: Slug = "generic"
    vendor_id: str = Field("", max_length=64, pattern=r"^[^\x00]*$")


class RevokeIn(Schema):
    reason: str = Field("", max_length=300, pattern=r"^[^\x00]*$")


class SeriesPointOut(Schema):
    ts: datetime
    value: float
    min: float
    max: float
    count: int


class SeriesOut(Schema):
    device_id: int
    point: str
    name: str
    unit: str
    min: float | None = None
    max: float | None = None
    since: datetime
    until: datetime
    bucket_seconds: int = Field(..., description="0：原始数据点；否则为每个平均值覆盖的秒数")
    raw_count: int
    points: list[SeriesPointOut]


class DeviceEventOut(Schema):
    id: int
    seq: int
    ts: datetime
    received_at: datetime
    event: str
    data: dict


class DeviceRejectedOut(Schema):
    id: int
    device_id: int | None = None
    reason: str
    topic: str
    received_at: datetime
    sample: str


class DevicePointOut(Schema):
    key: str
    name: str
    unit: str = ""
    kind: str = "number"
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None


class ProfileEventOut(Schema):
    key: str
    name: str = ""
    severity: str = ""


class ProfileOut(Schema):
    id: int
    key: str
    name: str
    device_type: str
    points: list[DevicePointOut]
    events: list[ProfileEventOut]
    offline_after_minutes: int
    health_sensitive: bool
    builtin: bool


class RangeIn(Schema):
    min: float | None = Field(None, ge=-1e12, le=1e12)
    max: float | None = Field(None, ge=-1e12, le=1e12)


class RangesIn(Schema):
    ranges: dict[Annotated[str, Field(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")], RangeIn] = Field(
        ..., description="监测点标识 → {min, max}（null 表示不限）"
    )


class DeviceImportErrorOut(Schema):
    row: int
    column: str
    message: str


class DeviceImportJobOut(Schema):
    id: int
    kind: str
    estate_id: int
    file_name: str
    status: str
    total_rows: int
    created_count: int
    errors: list[DeviceImportErrorOut]
    created_at: datetime
    duration_ms: int


class ImportedCredentialOut(Schema):
    id: int
    key: str
    name: str
    secret: str


class ImportAppliedOut(Schema):
    """200 answer of an import: the job and each new device's secret (shown once)."""

    job: DeviceImportJobOut
    credentials: list[ImportedCredentialOut]


class DeviceImportRejectedOut(Schema):
    """400 answer of an import with errors: the error envelope plus the rejected job and its rows."""

    error: ErrorBody
    job: DeviceImportJobOut


class DeviceFilters(ListFilters):
    estate: Id | None = None
    building: Id | None = None
    floor: FloorNo | None = None
    device_type: DeviceType | None = None
    profile: Id | None = None
    online: bool | None = None
    status: DeviceStatus | None = None
    q: Text | None = Field(None, description="名称、设备标识或位置包含的文字")
    ordering: str | None = Field(
        None,
        max_length=40,
        pattern=r"^-?[a-z_]+$",
        description=", ".join(sorted(ORDERING)) + "；前加 - 为倒序",
    )
