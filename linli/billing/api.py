"""Billing API: fee items, meter readings (+ import), bill runs, bills, arrears, collection rate,
adjustments, payments (counter, online), the simulated provider's notify endpoint, refunds,
receipts, and the resident's own bills and payments under /billing/me/."""

from typing import Literal

from django.http import HttpResponse
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from linli.billing import receipts, selectors, services
from linli.billing.schemas import (
    AdjustmentDecisionIn,
    AdjustmentIn,
    AdjustmentOut,
    ApprovalCode,
    ArrearsOut,
    BillFilters,
    BillingImportJobOut,
    BillOut,
    BillRunIn,
    BillRunOut,
    BillStatusCode,
    CounterIn,
    FeeItemIn,
    FeeItemOut,
    FeeItemPatch,
    FeeKindCode,
    MonthCode,
    MyTotalsOut,
    NotifyIn,
    OnlineIn,
    Ordering,
    OrderOut,
    PaymentOut,
    PeriodCode,
    RateOut,
    ReadingIn,
    ReadingOut,
    RefundIn,
    RefundOut,
)
from linli.core.api import ERRORS, WRITE_ERRORS, ErrorOut, Id, Page, PkPath, actor_of
from linli.core.models import ImportJob
from linli.places.selectors import estate_get

router = Router()

PDF_RESPONSE = {
    "responses": {
        200: {
            "description": "PDF",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


# --- fee items and readings ----------------------------------------------------------------------


@router.get("/fee-items", response={200: list[FeeItemOut], **ERRORS}, summary="收费项目")
@paginate(Page)
def fee_item_list(request, estate: Id | None = None, kind: FeeKindCode | None = None):
    return selectors.fee_item_list(actor=actor_of(request), estate_id=estate, kind=kind)


@router.post("/fee-items", response={201: FeeItemOut, **WRITE_ERRORS}, summary="新增收费项目")
def fee_item_create(request, body: FeeItemIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    item = services.fee_item_create(actor=actor, estate=estate, **body.dict(exclude={"estate_id"}))
    return Status(201, item)


@router.get("/fee-items/{pk}", response={200: FeeItemOut, **ERRORS}, summary="收费项目详情")
def fee_item_get(request, pk: PkPath):
    return selectors.fee_item_get(actor=actor_of(request), pk=pk)


@router.patch("/fee-items/{pk}", response={200: FeeItemOut, **WRITE_ERRORS}, summary="修改收费项目")
def fee_item_update(request, pk: PkPath, body: FeeItemPatch):
    actor = actor_of(request)
    item = selectors.fee_item_get(actor=actor, pk=pk)
    return services.fee_item_update(actor=actor, fee_item=item, **body.dict(exclude_none=True))


@router.get("/meter-readings", response={200: list[ReadingOut], **ERRORS}, summary="抄表读数")
@paginate(Page)
def reading_list(request, estate: Id | None = None, room: Id | None = None, period: MonthCode | None = None):
    return selectors.meter_reading_list(
        actor=actor_of(request), estate_id=estate, room_id=room, period=period
    )


@router.post("/meter-readings", response={201: ReadingOut, **WRITE_ERRORS}, summary="录入抄表读数")
def reading_enter(request, body: ReadingIn):
    actor = actor_of(request)
    room = selectors.room_get(actor=actor, pk=body.room_id)
    reading = services.meter_reading_enter(
        actor=actor,
        room=room,
        kind=body.kind,
        period=body.period,
        previous=body.previous,
        current=body.current,
    )
    return Status(201, reading)


@router.post(
    "/meter-readings/import",
    response={201: BillingImportJobOut, 413: ErrorOut, 422: BillingImportJobOut, **WRITE_ERRORS},
    summary="导入抄表读数（XLSX/CSV，全部成功或全部不导入）",
)
def reading_import(request, estate: Id, file: File[UploadedFile]):
    actor = actor_of(request)
    estate_obj = estate_get(actor=actor, pk=estate)
    job = services.meter_readings_import(
        actor=actor, estate=estate_obj, file_name=file.name or "", data=file.read()
    )
    return Status(201 if job.status == ImportJob.Status.APPLIED else 422, job)


# --- bill runs and bills -------------------------------------------------------------------------


@router.post(
    "/bill-runs",
    response={202: BillRunOut, **WRITE_ERRORS},
    summary="开始出账（幂等：重复出账不产生重复账单）",
)
def bill_run_start(request, body: BillRunIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    run = services.bill_run_start(actor=actor, estate=estate, period=body.period)
    return Status(202, selectors.bill_run_get(actor=actor, pk=run.pk))


@router.get("/bill-runs", response={200: list[BillRunOut], **ERRORS}, summary="出账记录")
@paginate(Page)
def bill_run_list(request, estate: Id | None = None):
    return selectors.bill_run_list(actor=actor_of(request), estate_id=estate)


@router.get("/bill-runs/{pk}", response={200: BillRunOut, **ERRORS}, summary="出账进度")
def bill_run_get(request, pk: PkPath):
    return selectors.bill_run_get(actor=actor_of(request), pk=pk)


@router.get("/bills", response={200: list[BillOut], **ERRORS}, summary="账单列表")
@paginate(Page)
def bill_list(request, filters: Query[BillFilters]):
    return selectors.bill_list(actor=actor_of(request), **filters.selector_args())


@router.get("/bills/{pk}", response={200: BillOut, **ERRORS}, summary="账单详情")
def bill_get(request, pk: PkPath):
    return selectors.bill_get(actor=actor_of(request), pk=pk)


@router.get(
    "/arrears",
    response={200: list[ArrearsOut], **ERRORS},
    summary="欠费（按房屋，账龄 0–30/31–90/91–180/>180 天）",
)
@paginate(Page)
def arrears_list(request, estate: Id | None = None, building: Id | None = None):
    return selectors.arrears_list(actor=actor_of(request), estate_id=estate, building_id=building)


@router.get("/collection-rate", response={200: list[RateOut], **ERRORS}, summary="收缴率（按月、楼栋或小区）")
def collection_rate(
    request,
    estate: Id | None = None,
    group_by: Literal["period", "building", "estate"] = "period",
    period: PeriodCode | None = None,
):
    return selectors.collection_rate(
        actor=actor_of(request), estate_id=estate, group_by=group_by, period=period
    )


# --- adjustments ---------------------------------------------------------------------------------


@router.get("/adjustments", response={200: list[AdjustmentOut], **ERRORS}, summary="减免申请")
@paginate(Page)
def adjustment_list(request, estate: Id | None = None, status: ApprovalCode | None = None):
    return selectors.adjustment_list(actor=actor_of(request), estate_id=estate, status=status)


@router.post("/adjustments", response={201: AdjustmentOut, **WRITE_ERRORS}, summary="申请优惠或减免")
def adjustment_request(request, body: AdjustmentIn):
    actor = actor_of(request)
    bill = selectors.bill_get(actor=actor, pk=body.bill_id)
    adj = services.adjustment_request(
        actor=actor, bill=bill, kind=body.kind, amount_fen=body.amount_fen, reason=body.reason
    )
    return Status(201, adj)


@router.post(
    "/adjustments/{pk}/approve",
    response={200: AdjustmentOut, **WRITE_ERRORS},
    summary="批准减免（不能审批自己的申请）",
)
def adjustment_approve(request, pk: PkPath, body: AdjustmentDecisionIn):
    actor = actor_of(request)
    adj = selectors.adjustment_get(actor=actor, pk=pk)
    return services.adjustment_approve(actor=actor, adjustment=adj, note=body.note)


@router.post("/adjustments/{pk}/reject", response={200: AdjustmentOut, **WRITE_ERRORS}, summary="驳回减免")
def adjustment_reject(request, pk: PkPath, body: AdjustmentDecisionIn):
    actor = actor_of(request)
    adj = selectors.adjustment_get(actor=actor, pk=pk)
    return services.adjustment_reject(actor=actor, adjustment=adj, note=body.note)


# --- payments and refunds ------------------------------------------------------------------------


@router.get("/payments", response={200: list[PaymentOut], **ERRORS}, summary="收款记录")
@paginate(Page)
def payment_list(
    request,
    estate: Id | None = None,
    room: Id | None = None,
    channel: Literal["online", "cash", "transfer"] | None = None,
    ordering: Ordering | None = None,
):
    return selectors.payment_list(
        actor=actor_of(request), estate_id=estate, room_id=room, channel=channel, ordering=ordering
    )


@router.post(
    "/payments/counter", response={201: PaymentOut, **WRITE_ERRORS}, summary="柜台收款（现金、转账）"
)
def payment_counter(request, body: CounterIn):
    actor = actor_of(request)
    bills = selectors.bills_for_write(actor=actor, ids=body.bill_ids)
    payment = services.payment_record_counter(
        actor=actor, bills=bills, amount_fen=body.amount_fen, channel=body.channel, note=body.note
    )
    return Status(201, payment)


@router.post("/payments/online", response={201: OrderOut, **WRITE_ERRORS}, summary="创建在线支付订单（代缴）")
def payment_online(request, body: OnlineIn):
    actor = actor_of(request)
    bills = selectors.bills_for_write(actor=actor, ids=body.bill_ids)
    payment, order = services.payment_create_online(actor=actor, bills=bills)
    return Status(201, {"payment": payment, "pay_url": order.pay_url})


@router.get("/payments/{pk}", response={200: PaymentOut, **ERRORS}, summary="收款详情")
def payment_get(request, pk: PkPath):
    return selectors.payment_get(actor=actor_of(request), pk=pk)


@router.get(
    "/payments/{pk}/receipt",
    response={200: None, **WRITE_ERRORS},
    summary="收据 PDF",
    openapi_extra=PDF_RESPONSE,
)
def payment_receipt(request, pk: PkPath):
    return _pdf(selectors.payment_get(actor=actor_of(request), pk=pk))


def _pdf(payment) -> HttpResponse:
    response = HttpResponse(receipts.receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{payment.receipt_no}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "/providers/simulated/notify",
    auth=None,
    response={200: str, 400: ErrorOut, 404: ErrorOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    summary="模拟支付机构的支付结果通知（签名校验、防重放）",
)
def simulated_notify(request, body: NotifyIn):
    services.payment_notify_apply(provider_name="simulated", payload=body.dict())
    return HttpResponse("success", content_type="text/plain")


@router.get("/refunds", response={200: list[RefundOut], **ERRORS}, summary="退款")
@paginate(Page)
def refund_list(request, estate: Id | None = None, status: ApprovalCode | None = None):
    return selectors.refund_list(actor=actor_of(request), estate_id=estate, status=status)


@router.post("/refunds", response={201: RefundOut, **WRITE_ERRORS}, summary="申请退款")
def refund_request(request, body: RefundIn):
    actor = actor_of(request)
    payment = selectors.payment_get(actor=actor, pk=body.payment_id)
    return Status(
        201,
        services.refund_request(actor=actor, payment=payment, amount_fen=body.amount_fen, reason=body.reason),
    )


@router.post("/refunds/{pk}/approve", response={200: RefundOut, **WRITE_ERRORS}, summary="批准退款")
def refund_approve(request, pk: PkPath):
    actor = actor_of(request)
    return services.refund_approve(actor=actor, refund=selectors.refund_get(actor=actor, pk=pk))


@router.post("/refunds/{pk}/reject", response={200: RefundOut, **WRITE_ERRORS}, summary="驳回退款")
def refund_reject(request, pk: PkPath):
    actor = actor_of(request)
    return services.refund_reject(actor=actor, refund=selectors.refund_get(actor=actor, pk=pk))


# --- residents -----------------------------------------------------------------------------------


@router.get("/me/bills", response={200: list[BillOut], **ERRORS}, summary="我的账单（未缴在前）")
@paginate(Page)
def my_bills(request, status: BillStatusCode | None = None):
    return selectors.my_bills(actor=actor_of(request), status=status)


@router.get("/me/totals", response={200: MyTotalsOut, **ERRORS}, summary="我的待缴合计")
def my_totals(request):
    return selectors.my_totals(actor=actor_of(request))


@router.get("/me/bills/{pk}", response={200: BillOut, **ERRORS}, summary="我的账单详情")
def my_bill(request, pk: PkPath):
    return selectors.my_bill_get(actor=actor_of(request), pk=pk)


@router.post("/me/pay", response={201: OrderOut, **WRITE_ERRORS}, summary="缴纳我的账单（创建支付订单）")
def my_pay(request, body: OnlineIn):
    actor = actor_of(request)
    bills = selectors.my_bills_for_payment(actor=actor, ids=body.bill_ids)
    payment, order = services.payment_create_online(actor=actor, bills=bills)
    return Status(201, {"payment": payment, "pay_url": order.pay_url})


@router.get("/me/payments", response={200: list[PaymentOut], **ERRORS}, summary="我的缴费记录")
@paginate(Page)
def my_payments(request):
    return selectors.my_payments(actor=actor_of(request))


@router.get(
    "/me/payments/{pk}/receipt",
    response={200: None, **WRITE_ERRORS},
    summary="我的收据 PDF",
    openapi_extra=PDF_RESPONSE,
)
def my_receipt(request, pk: PkPath):
    return _pdf(selectors.my_payment_get(actor=actor_of(request), pk=pk))
