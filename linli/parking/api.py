"""Parking API (/api/v1/parking): occupancy, fee rules, permits, the block list, plate events and
sessions (movement traces: reads tied to a resident's vehicle are audited), booth operations (settle,
pay online, manual release), and the resident's own vehicles, permits and sessions (/parking/me)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from linli.core.api import ERRORS, WRITE_ERRORS, Page, PkPath, QueryDateTime, actor_of
from linli.core.errors import ValidationFailed
from linli.parking import selectors, services
from linli.parking.fees import compute
from linli.parking.schemas import (
    BlockedIn,
    BlockedOut,
    EventPage,
    FeeRuleIn,
    FeeRuleOut,
    MyParkingOut,
    MySessionOut,
    OnlineOrderOut,
    ParkingEventOut,
    ParkingOccupancyOut,
    ParkingReasonIn,
    ParkingSessionFilters,
    PermitFilters,
    PermitIn,
    PermitOut,
    PlateEventFilters,
    QuoteOut,
    ReleaseIn,
    ReleaseOut,
    RenewIn,
    SessionOut,
    SessionPage,
    SettleIn,
)
from linli.people.schemas import Id
from linli.places.selectors import estate_get

router = Router()


class PageIn(Schema):
    page: int = Field(1, ge=1, le=100000)
    page_size: int = Field(20, ge=1, le=100)


PAGE_FIELDS = tuple(PageIn.model_fields)


def _aware(value):
    """A query datetime without offset is local time."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _audited_page(request, qs, pagination: PageIn, kind: str) -> dict:
    """One page of movement traces; the rows shown that belong to residents' vehicles are audited."""
    offset = (pagination.page - 1) * pagination.page_size
    items = list(qs[offset : offset + pagination.page_size])
    selectors.audit_passage_read(actor=actor_of(request), rows=items, kind=kind)
    return {"count": qs.count(), "page": pagination.page, "page_size": pagination.page_size, "items": items}


# --- residents ---------------------------------------------------------------------------------


@router.get("/me", response={200: MyParkingOut, **ERRORS}, summary="我的车辆与停车许可（住户）")
def my_parking(request):
    mine = selectors.my_parking(actor=actor_of(request))
    return {"vehicles": mine.vehicles, "permits": mine.permits}


@router.get("/me/sessions", response={200: list[MySessionOut], **ERRORS}, summary="我的车辆停车记录（住户）")
@paginate(Page)
def my_sessions(request):
    return selectors.my_sessions(actor=actor_of(request))


# --- occupancy ---------------------------------------------------------------------------------


@router.get(
    "/occupancy", response={200: ParkingOccupancyOut, **ERRORS}, summary="车位占用：车位数、许可、在场临停"
)
def occupancy(request, estate: Query[Id]):
    return selectors.occupancy(actor=actor_of(request), estate_id=estate)


# --- fee rules ---------------------------------------------------------------------------------


@router.get("/fee-rules", response={200: list[FeeRuleOut], **ERRORS}, summary="临停收费标准（含历史版本）")
@paginate(Page)
def fee_rule_list(request, estate: Id | None = None):
    return selectors.fee_rule_list(actor=actor_of(request), estate_id=estate)


@router.post("/fee-rules", response={201: FeeRuleOut, **WRITE_ERRORS}, summary="新建收费标准版本")
def fee_rule_create(request, body: FeeRuleIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    rule = services.fee_rule_create(actor=actor, estate=estate, **body.dict(exclude={"estate_id"}))
    return Status(201, rule)


@router.get("/fee-rules/{pk}", response={200: FeeRuleOut, **ERRORS}, summary="收费标准详情")
def fee_rule_get(request, pk: PkPath):
    return selectors.fee_rule_get(actor=actor_of(request), pk=pk)


@router.post("/fee-rules/{pk}/activate", response={200: FeeRuleOut, **WRITE_ERRORS}, summary="启用此收费标准")
def fee_rule_activate(request, pk: PkPath):
    actor = actor_of(request)
    return services.fee_rule_activate(actor=actor, rule=selectors.fee_rule_get(actor=actor, pk=pk))


class QuoteQuery(Schema):
    entered_at: QueryDateTime
    exited_at: QueryDateTime
    visitor: bool = False


@router.get("/fee-rules/{pk}/quote", response={200: QuoteOut, **ERRORS}, summary="按此标准试算停车费")
def fee_rule_quote(request, pk: PkPath, q: Query[QuoteQuery]):
    rule = selectors.fee_rule_get(actor=actor_of(request), pk=pk)
    entered, exited = _aware(q.entered_at), _aware(q.exited_at)
    if exited < entered:
        raise ValidationFailed(fields={"exited_at": [_("须不早于入场时间")]})
    fee = compute(
        services.fee_spec(rule, visitor=q.visitor), entered, exited, timezone.get_default_timezone()
    )
    return {"rule_id": rule.pk, "fee_fen": fee.total_fen, "windows": list(fee.windows), "free": fee.free}


# --- permits -----------------------------------------------------------------------------------


@router.get("/permits", response={200: list[PermitOut], **ERRORS}, summary="停车许可列表")
@paginate(Page)
def permit_list(request, filters: Query[PermitFilters]):
    return selectors.permit_list(actor=actor_of(request), **filters.selector_args())


@router.post(
    "/permits", response={201: PermitOut, **WRITE_ERRORS}, summary="办理停车许可（首期费用出账到车主房屋）"
)
def permit_create(request, body: PermitIn):
    actor = actor_of(request)
    vehicle = selectors.vehicle_get(actor=actor, pk=body.vehicle_id)
    space = selectors.space_get(actor=actor, pk=body.space_id) if body.space_id else None
    permit = services.permit_create(
        actor=actor,
        vehicle=vehicle,
        kind=body.kind,
        valid_from=body.valid_from,
        months=body.months,
        space=space,
        price_fen=body.price_fen,
    )
    return Status(201, selectors.permit_get(actor=actor, pk=permit.pk))


@router.get("/permits/{pk}", response={200: PermitOut, **ERRORS}, summary="停车许可详情")
def permit_get(request, pk: PkPath):
    return selectors.permit_get(actor=actor_of(request), pk=pk)


@router.post(
    "/permits/{pk}/renew", response={200: PermitOut, **WRITE_ERRORS}, summary="续期（新一期费用出账）"
)
def permit_renew(request, pk: PkPath, body: RenewIn):
    actor = actor_of(request)
    permit = services.permit_renew(
        actor=actor, permit=selectors.permit_get(actor=actor, pk=pk), months=body.months
    )
    return selectors.permit_get(actor=actor, pk=permit.pk)


@router.post("/permits/{pk}/cancel", response={200: PermitOut, **WRITE_ERRORS}, summary="注销停车许可")
def permit_cancel(request, pk: PkPath, body: ParkingReasonIn):
    actor = actor_of(request)
    services.permit_cancel(actor=actor, permit=selectors.permit_get(actor=actor, pk=pk), reason=body.reason)
    return selectors.permit_get(actor=actor, pk=pk)


# --- block list --------------------------------------------------------------------------------


@router.get("/blocked", response={200: list[BlockedOut], **ERRORS}, summary="禁入车辆名单")
@paginate(Page)
def blocked_list(request, estate: Id | None = None, active: bool | None = None):
    return selectors.blocked_list(actor=actor_of(request), estate_id=estate, active=active)


@router.post("/blocked", response={201: BlockedOut, **WRITE_ERRORS}, summary="加入禁入名单")
def blocked_add(request, body: BlockedIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    row = services.blocked_plate_add(
        actor=actor, estate=estate, plate=body.plate, reason=body.reason, until=body.until
    )
    return Status(201, row)


@router.post("/blocked/{pk}/lift", response={200: BlockedOut, **WRITE_ERRORS}, summary="解除禁入")
def blocked_lift(request, pk: PkPath):
    actor = actor_of(request)
    return services.blocked_plate_lift(actor=actor, blocked=selectors.blocked_get(actor=actor, pk=pk))


# --- plate events ------------------------------------------------------------------------------


class ParkingEventFilters(PlateEventFilters, PageIn):  # the page's fields come first in the query
    pass


@router.get("/events", response={200: EventPage, **ERRORS}, summary="车辆出入记录（涉及住户车辆的读取留痕）")
def event_list(request, filters: Query[ParkingEventFilters]):
    args = filters.selector_args(exclude=PAGE_FIELDS)
    qs = selectors.event_list(
        actor=actor_of(request), **{**args, "since": _aware(filters.since), "until": _aware(filters.until)}
    )
    return _audited_page(request, qs, filters, "plateevent")


@router.get("/events/{pk}", response={200: ParkingEventOut, **ERRORS}, summary="出入记录详情")
def event_get(request, pk: PkPath):
    return selectors.event_get(actor=actor_of(request), pk=pk)


# --- sessions and booth operations -------------------------------------------------------------


class SessionFilters(ParkingSessionFilters, PageIn):
    pass


@router.get("/sessions", response={200: SessionPage, **ERRORS}, summary="临停记录（涉及住户车辆的读取留痕）")
def session_list(request, filters: Query[SessionFilters]):
    qs = selectors.session_list(actor=actor_of(request), **filters.selector_args(exclude=PAGE_FIELDS))
    return _audited_page(request, qs, filters, "parkingsession")


@router.get("/sessions/{pk}", response={200: SessionOut, **ERRORS}, summary="临停记录详情")
def session_get(request, pk: PkPath):
    return selectors.session_get(actor=actor_of(request), pk=pk)


@router.post(
    "/sessions/{pk}/settle", response={200: SessionOut, **WRITE_ERRORS}, summary="岗亭收费（现金或转账）"
)
def session_settle(request, pk: PkPath, body: SettleIn):
    actor = actor_of(request)
    session = selectors.session_for_write(actor=actor, pk=pk)
    services.session_settle(actor=actor, session=session, channel=body.channel, note=body.note)
    return selectors.session_for_write(actor=actor, pk=pk)


@router.post(
    "/sessions/{pk}/pay-online", response={201: OnlineOrderOut, **WRITE_ERRORS}, summary="生成在线支付订单"
)
def session_pay_online(request, pk: PkPath):
    actor = actor_of(request)
    session = selectors.session_for_write(actor=actor, pk=pk)
    session, payment, order = services.session_pay_online(actor=actor, session=session)
    return Status(
        201,
        {
            "session": selectors.session_for_write(actor=actor, pk=pk),
            "out_trade_no": payment.out_trade_no,
            "pay_url": order.pay_url,
            "amount_fen": payment.amount_fen,
        },
    )


@router.post("/sessions/{pk}/waive", response={200: SessionOut, **WRITE_ERRORS}, summary="免收停车费（管理）")
def session_waive(request, pk: PkPath, body: ParkingReasonIn):
    actor = actor_of(request)
    session = selectors.session_for_write(actor=actor, pk=pk)
    services.session_waive(actor=actor, session=session, reason=body.reason)
    return selectors.session_for_write(actor=actor, pk=pk)


@router.post(
    "/release", response={200: ReleaseOut, **WRITE_ERRORS}, summary="人工抬杆放行（须填写原因，留痕）"
)
def barrier_release(request, body: ReleaseIn):
    actor = actor_of(request)
    point = selectors.access_point_get(actor=actor, pk=body.access_point_id)
    event = selectors.event_for_release(actor=actor, pk=body.event_id) if body.event_id else None
    event = services.barrier_release(actor=actor, access_point=point, reason=body.reason, event=event)
    return {
        "access_point_id": point.pk,
        "event_id": event.pk if event is not None else None,
        "session_id": event.session_id if event is not None else None,
    }
