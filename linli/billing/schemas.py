"""Request and response shapes of the billing API (also the filters its console pages read)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from ninja import Field, Schema

from linli.core.api import Id, ListFilters, Ordering

Fen = Annotated[int, Field(ge=1, le=10**12, description="金额（分）")]
PeriodCode = Annotated[
    str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$", description="2026-10 或 2026-Q4")
]
MonthCode = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="2026-10")]
Reason = Annotated[str, Field(min_length=1, max_length=300)]
Reading = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999"), max_digits=12, decimal_places=2)]
FeeKindCode = Literal["property_fee", "parking", "water", "electricity", "one_off"]
BillStatusCode = Literal["unpaid", "partial", "paid", "waived"]
ApprovalCode = Literal["pending", "approved", "rejected"]


class FeeItemIn(Schema):
    estate_id: Id
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: FeeKindCode
    unit_price: Annotated[Decimal, Field(ge=0, le=100000, max_digits=12, decimal_places=4)]
    due_days: Annotated[int, Field(ge=0, le=365)] = 15
    late_fee_per_mille: Annotated[Decimal, Field(ge=0, le=10, max_digits=6, decimal_places=3)] = Decimal(0)
    late_fee_grace_days: Annotated[int, Field(ge=0, le=365)] = 0
    one_off_period: MonthCode | Literal[""] = ""
    active: bool = True


class FeeItemPatch(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    unit_price: Annotated[Decimal, Field(ge=0, le=100000, max_digits=12, decimal_places=4)] | None = None
    due_days: Annotated[int, Field(ge=0, le=365)] | None = None
    late_fee_per_mille: Annotated[Decimal, Field(ge=0, le=10, max_digits=6, decimal_places=3)] | None = None
    late_fee_grace_days: Annotated[int, Field(ge=0, le=365)] | None = None
    active: bool | None = None


class FeeItemOut(Schema):
    id: int
    estate_id: int
    name: str
    kind: str
    unit_price: Decimal
    due_days: int
    late_fee_per_mille: Decimal
    late_fee_grace_days: int
    one_off_period: str
    active: bool


class ReadingIn(Schema):
    room_id: Id
    kind: Literal["water", "electricity"]
    period: MonthCode
    previous: Reading
    current: Reading


class ReadingOut(Schema):
    id: int
    room_id: int
    kind: str
    period: str
    previous: Decimal
    current: Decimal


class BillingImportJobOut(Schema):
    id: int
    status: str
    total_rows: int
    created_count: int
    errors: list[dict]


class BillRunIn(Schema):
    estate_id: Id
    period: PeriodCode


class BillRunOut(Schema):
    id: int
    estate_id: int
    period: str
    status: str
    total: int
    done: int
    percent: int
    created_count: int
    started_at: datetime | None
    finished_at: datetime | None


class BillOut(Schema):
    id: int
    estate_id: int
    room_id: int | None
    room_address: str = ""
    fee_item_id: int | None
    kind: str
    title: str
    period: str
    quantity: Decimal
    unit_price: Decimal
    amount_fen: int
    late_fee_fen: int
    paid_fen: int
    adjusted_fen: int
    outstanding_fen: int
    due_date: date
    status: str

    @staticmethod
    def resolve_room_address(obj) -> str:
        return obj.room.standard_address if obj.room_id else ""


class ArrearsOut(Schema):
    room_id: int
    room_address: str = Field(alias="room__standard_address")
    total_fen: int
    d0_30: int
    d31_90: int
    d91_180: int
    d180_plus: int


class RateOut(Schema):
    key: str
    label: str
    receivable_fen: int
    paid_fen: int
    rate: float


class AdjustmentIn(Schema):
    bill_id: Id
    kind: Literal["discount", "waiver"]
    amount_fen: Fen
    reason: Reason


class AdjustmentDecisionIn(Schema):
    note: Annotated[str, Field(max_length=300)] = ""


class AdjustmentOut(Schema):
    id: int
    bill_id: int
    kind: str
    amount_fen: int
    reason: str
    status: str
    requested_by_id: int | None
    decided_by_id: int | None


class CounterIn(Schema):
    bill_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    amount_fen: Fen
    channel: Literal["cash", "transfer"]
    note: Annotated[str, Field(max_length=200)] = ""


class OnlineIn(Schema):
    bill_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]


class PaymentOut(Schema):
    id: int
    room_id: int | None
    amount_fen: int
    excess_fen: int
    channel: str
    out_trade_no: str
    status: str
    paid_at: datetime | None
    receipt_no: str | None


class OrderOut(Schema):
    payment: PaymentOut
    pay_url: str


class NotifyIn(Schema):
    notification_id: Annotated[str, Field(min_length=1, max_length=64)]
    out_trade_no: Annotated[str, Field(min_length=1, max_length=64)]
    trade_no: Annotated[str, Field(max_length=64)]
    amount_fen: Annotated[int, Field(ge=0, le=10**12)]
    status: Annotated[str, Field(max_length=16)]
    sign: Annotated[str, Field(max_length=128)]


class RefundIn(Schema):
    payment_id: Id
    amount_fen: Fen
    reason: Reason


class RefundOut(Schema):
    id: int
    payment_id: int
    amount_fen: int
    reason: str
    status: str
    refund_no: str


class MyTotalsOut(Schema):
    owed_fen: int
    open_count: int


class BillFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id", "building": "building_id", "room": "room_id"}
    estate: Id | None = None
    building: Id | None = None
    room: Id | None = None
    period: PeriodCode | None = None
    status: BillStatusCode | None = None
    ordering: Ordering | None = Field(
        None, description="period, due_date, amount, room, status, id；前加 - 为倒序"
    )
