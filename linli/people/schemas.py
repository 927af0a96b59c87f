"""API shapes for people. Outputs carry masked ID numbers, mobiles and (in lists) names; the full
value of a sensitive field only comes from the reveal endpoint."""

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

from linli.core.api import ErrorBody, Id, ListFilters, Ordering
from linli.core.pii import mask_id, mask_name, mask_phone
from linli.people.models import CareKind, Establishment, IdType, PopulationType, Relation

# Database ids are 64-bit; bounding them here turns absurd ids into a 400, not a database error.


def _storable(value: str) -> str:
    """Text the databases can store: no NUL byte (PostgreSQL refuses it), no lone surrogate."""
    if "\x00" in value:
        raise ValueError("NUL")
    value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on lone surrogates
    return value


def Text(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable)]


IdTypeCode = Literal[tuple(IdType.values)]  # type: ignore[valid-type]
PopulationCode = Literal[tuple(PopulationType.values)]  # type: ignore[valid-type]
RelationCode = Literal[tuple(Relation.values)]  # type: ignore[valid-type]
CareKindCode = Literal[tuple(CareKind.values)]  # type: ignore[valid-type]
EstablishmentKind = Literal[tuple(Establishment.Kind.values)]  # type: ignore[valid-type]
VehicleKind = Literal["car", "ev", "motorcycle"]
# Dates a person can plausibly live with; keeps date arithmetic away from year 9999.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))]


# --- persons -----------------------------------------------------------------------------------


class OccupancyBrief(Schema):
    id: int
    room_id: int
    room: str
    relation: str
    start_date: date

    @staticmethod
    def resolve_room(obj) -> str:
        return obj.room.standard_address


class PersonListOut(Schema):
    """A person in a list: name, ID number and mobile masked."""

    id: int
    estate_id: int
    name: str
    gender: str
    id_type: str
    id_number: str
    phone: str
    population_type: str
    rooms: list[OccupancyBrief]

    @staticmethod
    def resolve_name(obj) -> str:
        return mask_name(obj.name)

    @staticmethod
    def resolve_id_number(obj) -> str:
        return mask_id(obj.id_number)

    @staticmethod
    def resolve_phone(obj) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_rooms(obj) -> list:
        return getattr(obj, "current_occupancies", [])


def _age(birth: date | None) -> int | None:
    if birth is None:
        return None
    today = timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class PersonOut(Schema):
    """A person in detail: full name; ID number and mobile masked; age instead of the birth date (the
    birth date would fill in most of a masked ID number)."""

    id: int
    estate_id: int
    estate_name: str
    name: str
    gender: str
    age: int | None
    id_type: str
    id_number: str
    phone: str
    population_type: str
    hukou_address: str
    occupation: str
    workplace: str
    rooms: list[OccupancyBrief]
    has_account: bool

    @staticmethod
    def resolve_estate_name(obj) -> str:
        return obj.estate.name

    @staticmethod
    def resolve_age(obj) -> int | None:
        return _age(obj.birth_date)

    @staticmethod
    def resolve_id_number(obj) -> str:
        return mask_id(obj.id_number)

    @staticmethod
    def resolve_phone(obj) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_rooms(obj) -> list:
        return getattr(obj, "current_occupancies", [])

    @staticmethod
    def resolve_has_account(obj) -> bool:
        return obj.user_id is not None


class PersonIn(Schema):
    estate_id: Id
    name: Text(60, 1)
    id_type: IdTypeCode = IdType.RESIDENT_ID.value
    id_number: Text(40) = ""
    phone: Text(20) = ""
    population_type: PopulationCode = PopulationType.REGISTERED.value
    hukou_address: Text(200) = ""
    occupation: Text(100) = ""
    workplace: Text(150) = ""


class PersonPatchIn(Schema):
    """Only the fields sent are changed."""

    name: Text(60, 1) | None = None
    id_type: IdTypeCode | None = None
    id_number: Text(40) | None = None
    phone: Text(20) | None = None
    population_type: PopulationCode | None = None
    hukou_address: Text(200) | None = None
    occupation: Text(100) | None = None
    workplace: Text(150) | None = None


class RevealIn(Schema):
    field: Literal["id_number", "phone"]
    reason: Text(300) = Field(..., description="查看原因（至少 4 个字），写入审计日志")


class RevealOut(Schema):
    field: str
    value: str


# --- households and occupancy ------------------------------------------------------------------


class MemberOut(Schema):
    occupancy_id: int
    person_id: int
    name: str
    relation: str
    start_date: date

    @staticmethod
    def resolve_occupancy_id(obj) -> int:
        return obj.pk

    @staticmethod
    def resolve_name(obj) -> str:
        return mask_name(obj.person.name)


class HouseholdOut(Schema):
    id: int
    estate_id: int
    room_id: int
    room: str
    head_id: int | None
    head_name: str
    members: list[MemberOut]

    @staticmethod
    def resolve_room(obj) -> str:
        return obj.room.standard_address

    @staticmethod
    def resolve_head_name(obj) -> str:
        return mask_name(obj.head.name) if obj.head_id else ""

    @staticmethod
    def resolve_members(obj) -> list:
        return getattr(obj, "current_members", [])


class OccupancyIn(Schema):
    person_id: Id
    room_id: Id
    relation: RelationCode
    start_date: Day
    household_id: Id | None = None
    contract_end: Day | None = None
    landlord_id: Id | None = None


class OccupancyEndIn(Schema):
    end_date: Day


class PersonOccupancyOut(Schema):
    id: int
    estate_id: int
    person_id: int
    room_id: int
    household_id: int | None
    relation: str
    start_date: date
    end_date: date | None


# --- rentals, care tags, vehicles, establishments ----------------------------------------------


class RentalOut(Schema):
    id: int
    estate_id: int
    occupancy_id: int
    person_id: int
    person_name: str
    room: str
    contract_start: date
    contract_end: date | None
    guarantee_signed: bool
    report_deadline: date
    reported_at: datetime | None
    status: str
    overdue: bool

    @staticmethod
    def resolve_person_id(obj) -> int:
        return obj.occupancy.person_id

    @staticmethod
    def resolve_person_name(obj) -> str:
        return mask_name(obj.occupancy.person.name)

    @staticmethod
    def resolve_room(obj) -> str:
        return obj.occupancy.room.standard_address

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.status == "pending" and obj.report_deadline < timezone.localdate()


class RentalReportIn(Schema):
    guarantee_signed: bool | None = Field(None, description="治安责任保证书是否已签订")


class CareTagOut(Schema):
    id: int
    estate_id: int
    person_id: int
    person_name: str
    kind: str
    note: str
    start_date: date
    end_date: date | None

    @staticmethod
    def resolve_person_name(obj) -> str:
        return mask_name(obj.person.name)


class CareTagIn(Schema):
    person_id: Id
    kind: CareKindCode
    start_date: Day
    note: Text(1000) = ""


class CareTagEndIn(Schema):
    end_date: Day


class VehicleOut(Schema):
    id: int
    estate_id: int
    owner_id: int
    owner_name: str
    plate: str
    kind: str
    color: str
    brand: str

    @staticmethod
    def resolve_owner_name(obj) -> str:
        return mask_name(obj.owner.name)


class VehicleIn(Schema):
    owner_id: Id
    plate: Text(12, 1)
    kind: VehicleKind | None = None
    color: Text(16) = ""
    brand: Text(40) = ""


class EstablishmentOut(Schema):
    id: int
    estate_id: int
    room_id: int | None
    kind: str
    name: str
    credit_code: str
    industry: str
    contact_name: str
    contact_phone: str
    employees: int
    status: str

    @staticmethod
    def resolve_contact_name(obj) -> str:
        return mask_name(obj.contact_name)

    @staticmethod
    def resolve_contact_phone(obj) -> str:
        return mask_phone(obj.contact_phone)


class EstablishmentIn(Schema):
    estate_id: Id
    kind: EstablishmentKind
    name: Text(150, 1)
    room_id: Id | None = None
    credit_code: Text(18) = ""
    industry: Text(60) = ""
    contact_name: Text(60) = ""
    contact_phone: Text(20) = ""
    employees: int = Field(0, ge=0, le=1_000_000)


# --- imports and the resident's own view -------------------------------------------------------


class PeopleImportErrorOut(Schema):
    row: int
    column: str
    message: str


class PeopleImportJobOut(Schema):
    id: int
    kind: str
    estate_id: int
    file_name: str
    status: str
    total_rows: int
    created_count: int
    errors: list[PeopleImportErrorOut]
    created_at: datetime
    duration_ms: int


class PeopleImportJobListOut(Schema):
    """A job in a list: the error report is left out (open the job for it)."""

    id: int
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


class PeopleImportRejectedOut(Schema):
    """400 answer of an import with errors: the error envelope plus the rejected job and its rows."""

    error: ErrorBody
    job: PeopleImportJobOut


class MeOut(Schema):
    """The signed-in resident's own record and current household members (masked)."""

    person: PersonListOut | None
    households: list[HouseholdOut]


class PersonFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id", "building": "building_id", "room": "room_id"}
    estate: Id | None = None
    building: Id | None = None
    room: Id | None = None
    relation: RelationCode | None = None
    population_type: PopulationCode | None = None
    q: Text(50) | None = Field(None, description="姓名包含的文字，或完整的证件号码、手机号（精确匹配）")
    care_kind: CareKindCode | None = Field(None, description="关爱标签（需特殊人群查看权限，查询会记入审计）")
    ordering: Ordering | None = Field(None, description="name, created, birth_date, id；前加 - 为倒序")
