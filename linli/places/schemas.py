"""API shapes for places. Server-controlled fields (path, address code, estate) are read-only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict

from linli.core.api import ErrorBody, Id, ListFilters

# Database ids are 64-bit; bounding them in the schema turns absurd ids into a 400, not a database error.
Floor = Annotated[int, Field(ge=-32768, le=32767)]
Text = Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")]
Choice = Annotated[str, Field(max_length=16, pattern=r"^[a-z_]*$")]
Area = Annotated[Decimal, Field(gt=0, lt=100000, max_digits=7, decimal_places=2)]


class RegionNodeOut(Schema):
    id: int
    level: str
    level_label: str
    name: str
    code: str
    in_scope: bool = Field(description="False: an ancestor shown only for context")
    room_count: int | None = None
    children: list[RegionNodeOut] = []


class PlaceRegionRef(Schema):
    id: int
    level: str
    name: str


class RegionOut(Schema):
    id: int
    level: str
    name: str
    code: str
    parent_id: int | None
    depth: int
    address: str
    full_name: str
    children: list[PlaceRegionRef]
    room_count: int


class RoomOut(Schema):
    id: int
    estate_id: int
    estate_name: str = Field(alias="estate.name")
    building_id: int
    building_name: str = Field(alias="building.name")
    unit_id: int | None
    unit_name: str | None = None
    floor: int
    number: str
    area: Decimal
    use: str
    status: str
    address_code: str
    standard_address: str
    updated_at: datetime

    @staticmethod
    def resolve_unit_name(obj) -> str | None:
        return obj.unit.name if obj.unit_id else None


class RoomPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    area: Area | None = None
    use: str | None = Field(None, max_length=16)
    status: str | None = Field(None, max_length=16)


class ParkingOut(Schema):
    id: int
    estate_id: int
    code: str
    zone: str
    kind: str
    room_id: int | None


class FacilityOut(Schema):
    id: int
    estate_id: int
    building_id: int | None
    kind: str
    name: str
    location: str
    status: str
    updated_at: datetime


class FacilityIn(Schema):
    model_config = ConfigDict(extra="forbid")

    estate_id: Id
    building_id: Id | None = None
    kind: str = Field(max_length=16)
    name: str = Field(min_length=1, max_length=100)
    location: str = Field("", max_length=200)
    status: str = Field("normal", max_length=16)


class PlacesImportErrorOut(Schema):
    row: int
    column: str
    message: str


class PlacesImportJobOut(Schema):
    id: int
    kind: str
    estate_id: int
    file_name: str
    status: str
    total_rows: int
    created_count: int
    errors: list[PlacesImportErrorOut]
    created_by: str | None = None
    created_at: datetime
    duration_ms: int

    @staticmethod
    def resolve_created_by(obj) -> str | None:
        return obj.created_by.username if obj.created_by_id else None


class PlacesImportJobListOut(Schema):
    """A job in a list: the error report is left out (open the job for it)."""

    id: int
    kind: str
    estate_id: int
    file_name: str
    status: str
    total_rows: int
    created_count: int
    error_count: int
    created_at: datetime

    @staticmethod
    def resolve_error_count(obj) -> int:
        return len(obj.errors or [])


class PlacesImportRejectedOut(Schema):
    """400 answer of an import with errors: the error envelope plus the rejected job and its rows."""

    error: ErrorBody
    job: PlacesImportJobOut


class RoomFilters(ListFilters):
    estate: Id | None = None
    building: Id | None = None
    unit: Id | None = None
    floor: Floor | None = None
    status: Choice | None = None
    use: Choice | None = None
    q: Text | None = Field(None, description="房号或标准地址包含的文字")
    ordering: str | None = Field(
        None,
        max_length=40,
        pattern=r"^-?[a-z_]+$",
        description="location, number, floor, area, status, use, address, created_at, id；前加 - 为倒序",
    )


class ImportFilters(ListFilters):
    estate: Id | None = None
