"""Console pages for billing (dashboard with bill runs, fee items, meter readings, bills, arrears,
approvals, counter payments, refunds, receipts) and the resident's H5 pages (my bills, pay,
simulated cashier, history)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from linli.billing import imports, receipts, selectors, services
from linli.billing.models import Adjustment, ApprovalStatus, BillStatus, Channel, FeeKind
from linli.billing.money import month_of, months_back, parse_period, yuan
from linli.billing.providers import get_provider
from linli.billing.schemas import BillFilters
from linli.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ValidationFailed,
)
from linli.core.listing import known_ordering, list_page, page_of
from linli.core.models import ImportJob
from linli.core.tabular import check_size, template_download
from linli.core.views import error_text, positive_int, resident_page, staff_page
from linli.orgs.roles import Perm
from linli.places import selectors as places_selectors
from linli.places.selectors import estate_choice, estate_get, estate_list

PAGE_SIZE = 20


def _ids(values: list[str]) -> list[int]:
    return [n for n in (positive_int(v) for v in values[:200]) if n is not None]


def _fen_from_yuan(text: str) -> int | None:
    try:
        d = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    if not d.is_finite() or d <= 0 or d != d.quantize(Decimal("0.01")) or d > Decimal("10000000000"):
        return None
    return int(d * 100)


def _estate_choice(request, actor):
    chosen = positive_int(request.GET.get("estate") or request.POST.get("estate"))
    return estate_choice(actor=actor, pk=chosen)


def _paged(request, qs):
    return page_of(request, qs, page_size=PAGE_SIZE)


# --- console -------------------------------------------------------------------------------------


@staff_page
def dashboard(request, actor):
    actor.require(Perm.BILLING_VIEW)
    estates, estate = _estate_choice(request, actor)
    context = {"estates": estates, "estate": estate, "can_manage": actor.has(Perm.BILLING_MANAGE)}
    if estate is not None:
        by_month = selectors.collection_rate(actor=actor, estate_id=estate.pk, group_by="period")[-12:]
        last = by_month[-1]["key"] if by_month else None
        context.update(
            by_month=by_month,
            period=last,
            by_building=selectors.collection_rate(
                actor=actor, estate_id=estate.pk, group_by="building", period=last
            )
            if last
            else [],
            ageing=selectors.arrears_ageing(actor=actor, estate_id=estate.pk),
            recent=selectors.recent_payments(actor=actor, estate_id=estate.pk),
            runs=list(selectors.bill_run_list(actor=actor, estate_id=estate.pk)[:5]),
            next_period=month_of(timezone.localdate()),
            previous_period=months_back(timezone.localdate(), 1)[0],
        )
    return render(request, "billing/dashboard.html", context)


@staff_page
@require_POST
def run_start(request, actor):
    estate = estate_get(actor=actor, pk=positive_int(request.POST.get("estate")) or 0)
    try:
        run = services.bill_run_start(actor=actor, estate=estate, period=request.POST.get("period", "")[:10])
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(f"{reverse('billing:dashboard')}?estate={estate.pk}")
    return redirect(f"{reverse('billing:dashboard')}?estate={estate.pk}&run={run.pk}")


@staff_page
def run_progress(request, actor, pk: int):
    run = selectors.bill_run_get(actor=actor, pk=pk)
    return render(request, "billing/_run_progress.html", {"run": run})


@staff_page
@require_http_methods(["GET", "POST"])
def fee_items(request, actor):
    actor.require(Perm.BILLING_VIEW)
    estates, estate = _estate_choice(request, actor)
    error = ""
    if request.method == "POST":
        try:
            if estate is None:
                raise NotFound()
            services.fee_item_create(
                actor=actor,
                estate=estate,
                name=request.POST.get("name", "")[:100],
                kind=request.POST.get("kind", ""),
                unit_price=request.POST.get("unit_price", "")[:20],
                due_days=positive_int(request.POST.get("due_days")) or 0,
                late_fee_per_mille=request.POST.get("late_fee_per_mille", "0")[:10] or "0",
                late_fee_grace_days=positive_int(request.POST.get("late_fee_grace_days")) or 0,
                one_off_period=request.POST.get("one_off_period", "")[:10],
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            error = error_text(exc)
        else:
            messages.success(request, _("收费项目已创建"))
            return redirect(f"{reverse('billing:fee_items')}?estate={estate.pk}")
    items = selectors.fee_item_list(actor=actor, estate_id=estate.pk if estate else None)
    return render(
        request,
        "billing/fee_items.html",
        {
            "estates": estates,
            "estate": estate,
            "items": items,
            "kinds": [(k.value, k.label) for k in FeeKind if k != FeeKind.CHARGE],
            "error": error,
            "can_manage": actor.has(Perm.BILLING_MANAGE),
        },
    )


READING_KINDS = {FeeKind.WATER.value: gettext_lazy("水表"), FeeKind.ELECTRICITY.value: gettext_lazy("电表")}


def _reading_filters(request, actor) -> dict:
    """Estate (an id outside the scope is a 404), month, meter kind and building of the readings page."""
    src = request.POST if request.method == "POST" else request.GET
    estates = list(estate_list(actor=actor).order_by("name", "pk"))
    estate_id = positive_int(src.get("estate"))
    if estate_id is not None:
        estate = estate_get(actor=actor, pk=estate_id)
    else:
        estate = estates[0] if estates else None
    raw_period = (src.get("period") or "").strip()[:10]
    p = parse_period(raw_period) if raw_period else None
    period_error = ""
    if p is not None and p.month_count == 1:
        period = p.code
    else:
        period = months_back(timezone.localdate(), 1)[0]
        if raw_period:
            period_error = _("月份格式为 2026-10")
    kind = src.get("kind") if src.get("kind") in READING_KINDS else FeeKind.WATER.value
    return {
        "estates": estates,
        "estate": estate,
        "period": period,
        "period_error": period_error,
        "kind": kind,
        "building_id": positive_int(src.get("building")),
        "page_number": positive_int(src.get("page")) or 1,
    }


def _reading_query(f: dict, **extra) -> str:
    params = {"estate": f["estate"].pk if f["estate"] else "", "period": f["period"], "kind": f["kind"]}
    if f["building_id"]:
        params["building"] = f["building_id"]
    params.update(extra)
    return urlencode(params)


def _reading_enter(request, actor, f: dict):
    """Enter or correct one room's reading through the service. Returns (room_id, posted, errors, status)
    on failure, or a redirect."""
    room = selectors.room_get(actor=actor, pk=positive_int(request.POST.get("room")) or 0)
    posted = {
        "previous": request.POST.get("previous", "").strip()[:30],
        "current": request.POST.get("current", "").strip()[:30],
    }
    try:
        services.meter_reading_enter(
            actor=actor,
            room=room,
            kind=request.POST.get("kind", "")[:20],
            period=request.POST.get("period", "")[:10],
            previous=posted["previous"],
            current=posted["current"],
        )
    except PermissionDenied:
        raise
    except DomainError as exc:
        errors = [m for msgs in exc.fields.values() for m in msgs] if exc.fields else [exc.message]
        return room.pk, posted, errors, 409 if isinstance(exc, Conflict) else 400
    messages.success(
        request,
        _("已保存 %(room)s %(period)s 的读数") % {"room": room.standard_address, "period": f["period"]},
    )
    return redirect(f"{reverse('billing:readings')}?{_reading_query(f, page=f['page_number'])}")


def _reading_import(request, actor, f: dict):
    """Upload a spreadsheet to the all-or-nothing import service. Returns (job, error, status) or a
    redirect."""
    upload = request.FILES.get("file")
    if upload is None or f["estate"] is None:
        return None, _("请选择要上传的文件"), 400
    try:
        check_size(upload.size)
        job = services.meter_readings_import(
            actor=actor, estate=f["estate"], file_name=upload.name or "", data=upload.read()
        )
    except PayloadTooLarge as exc:
        return None, exc.message, 413
    if job.status != ImportJob.Status.APPLIED:
        return job, _("文件有 %(n)d 处错误，未导入任何数据") % {"n": len(job.errors)}, 422
    messages.success(request, _("导入成功：新增 %(n)d 条读数") % {"n": job.created_count})
    return redirect(f"{reverse('billing:readings')}?{_reading_query(f)}")


@staff_page
@require_http_methods(["GET", "POST"])
def readings(request, actor):
    """抄表: pick estate, month and meter kind; enter or correct each room's reading (read-only once
    billed) and import a spreadsheet (all or nothing, every rejected row listed)."""
    actor.require(Perm.BILLING_VIEW)
    f = _reading_filters(request, actor)
    estate = f["estate"]
    status = 200
    failed_room, posted, row_errors = None, {}, []
    job, import_error = None, ""
    if request.method == "POST":
        actor.require(Perm.BILLING_MANAGE, write=True)
        if request.POST.get("action") == "import":
            result = _reading_import(request, actor, f)
            if not isinstance(result, tuple):
                return result
            job, import_error, status = result
        else:
            result = _reading_enter(request, actor, f)
            if not isinstance(result, tuple):
                return result
            failed_room, posted, row_errors, status = result
    context = {
        **f,
        "kinds": list(READING_KINDS.items()),
        "can_manage": actor.has(Perm.BILLING_MANAGE) and not actor.read_only,
        "job": job,
        "import_error": import_error,
        "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        "max_rows": settings.IMPORT_MAX_ROWS,
        "columns": [h for h, _a in imports.COLUMNS.values()],
    }
    if estate is not None:
        rooms_qs = places_selectors.room_list(actor=actor, estate=estate.pk, building=f["building_id"])
        page = Paginator(rooms_qs, PAGE_SIZE).get_page(f["page_number"])
        rows = selectors.meter_reading_sheet(
            actor=actor, estate=estate, period=f["period"], kind=f["kind"], rooms=list(page)
        )
        for row in rows:
            if row["room"].pk == failed_room:
                row.update(
                    form_previous=posted["previous"], form_current=posted["current"], errors=row_errors
                )
        if failed_room is not None and failed_room not in {row["room"].pk for row in rows}:
            context["enter_error"] = "；".join(row_errors)  # the room is not on this page: show it on top
        context.update(
            buildings=list(places_selectors.building_list(actor=actor, estate=estate.pk)),
            page=page,
            rows=rows,
            query=_reading_query(f),
        )
    return render(request, "billing/readings.html", context, status=status)


@staff_page
def readings_template(request, actor):
    """The import spreadsheet template, with the headers ``imports.parse_readings`` expects."""
    actor.require(Perm.BILLING_MANAGE)
    return template_download(imports.template_xlsx(), "meter-readings-template.xlsx")


@staff_page
def bills(request, actor):
    actor.require(Perm.BILLING_VIEW)

    def bill_rows(f: BillFilters):  # an unknown sort key falls back to the selector's order
        ordering = known_ordering(f.ordering, selectors.BILL_ORDERING, None)
        return selectors.bill_list(actor=actor, **f.selector_args(exclude={"ordering"}), ordering=ordering)

    listing = list_page(request, bill_rows, BillFilters, page_size=PAGE_SIZE)
    return render(
        request,
        "billing/bills.html",
        {
            "page": listing.page,
            "filters": listing.filters,
            "estates": list(estate_list(actor=actor).order_by("name", "pk")),
            "statuses": BillStatus.choices,
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def bill_detail(request, actor, pk: int):
    bill = selectors.bill_get(actor=actor, pk=pk)
    if request.method == "POST":
        try:
            amount = _fen_from_yuan(request.POST.get("amount", ""))
            if amount is None:
                raise ValidationFailed(fields={"amount": [_("请输入大于 0、最多两位小数的金额")]})
            services.adjustment_request(
                actor=actor,
                bill=bill,
                kind=request.POST.get("kind", ""),
                amount_fen=amount,
                reason=request.POST.get("reason", "")[:300],
            )
        except PermissionDenied:
            raise
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("减免申请已提交，等待其他有审批权限的人员审批"))
        return redirect("billing:bill_detail", pk=bill.pk)
    return render(
        request,
        "billing/bill_detail.html",
        {
            "bill": bill,
            "ledger": selectors.bill_ledger(bill=bill),
            "kinds": Adjustment.Kind.choices,
            "can_manage": actor.has(Perm.BILLING_MANAGE),
        },
    )


@staff_page
def arrears(request, actor):
    estates, estate = _estate_choice(request, actor)
    actor.require(Perm.BILLING_VIEW)
    qs = selectors.arrears_list(
        actor=actor,
        estate_id=estate.pk if estate else None,
        building_id=positive_int(request.GET.get("building")),
    )
    return render(
        request, "billing/arrears.html", {"estates": estates, "estate": estate, "page": _paged(request, qs)}
    )


@staff_page
@require_http_methods(["GET", "POST"])
def adjustments(request, actor):
    actor.require(Perm.BILLING_VIEW)
    if request.method == "POST":
        adj = selectors.adjustment_get(actor=actor, pk=positive_int(request.POST.get("id")) or 0)
        decide = (
            services.adjustment_approve
            if request.POST.get("decision") == "approve"
            else services.adjustment_reject
        )
        try:
            decide(actor=actor, adjustment=adj, note=request.POST.get("note", "")[:300])
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("已处理"))
        return redirect("billing:adjustments")
    status = request.GET.get("status", ApprovalStatus.PENDING)
    status = status if status in ApprovalStatus.values else ApprovalStatus.PENDING
    qs = selectors.adjustment_list(actor=actor, status=status)
    return render(
        request,
        "billing/adjustments.html",
        {
            "page": _paged(request, qs),
            "status": status,
            "statuses": ApprovalStatus.choices,
            "can_approve": actor.has(Perm.BILLING_APPROVE),
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def counter(request, actor):
    actor.require(Perm.BILLING_MANAGE)
    room_id = positive_int(request.GET.get("room") or request.POST.get("room"))
    room = selectors.room_get(actor=actor, pk=room_id) if room_id else None
    if request.method == "POST" and room is not None:
        try:
            bills_ = selectors.bills_for_write(actor=actor, ids=_ids(request.POST.getlist("bill")))
            amount = _fen_from_yuan(request.POST.get("amount", ""))
            if amount is None:
                raise ValidationFailed(fields={"amount": [_("请输入大于 0、最多两位小数的金额")]})
            payment = services.payment_record_counter(
                actor=actor,
                bills=bills_,
                amount_fen=amount,
                channel=request.POST.get("channel", ""),
                note=request.POST.get("note", "")[:200],
            )
        except NotFound:
            messages.error(request, _("请选择本房屋的账单"))
        except PermissionDenied:
            raise
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("已收款，收据编号 %(no)s") % {"no": payment.receipt_no})
            return redirect("billing:payments")
        return redirect(f"{reverse('billing:counter')}?room={room.pk}")
    open_bills = (
        selectors.bill_list(actor=actor, room_id=room.pk, ordering="due_date").filter(
            status__in=["unpaid", "partial"]
        )
        if room
        else []
    )
    return render(
        request,
        "billing/counter.html",
        {
            "room": room,
            "bills": open_bills,
            "channels": [(Channel.CASH, _("现金")), (Channel.TRANSFER, _("转账"))],
        },
    )


@staff_page
def payments(request, actor):
    actor.require(Perm.BILLING_VIEW)
    qs = selectors.payment_list(actor=actor, estate_id=positive_int(request.GET.get("estate")))
    return render(
        request,
        "billing/payments.html",
        {"page": _paged(request, qs), "can_manage": actor.has(Perm.BILLING_MANAGE)},
    )


@staff_page
@require_http_methods(["GET", "POST"])
def refunds(request, actor):
    actor.require(Perm.BILLING_VIEW)
    if request.method == "POST":
        try:
            if request.POST.get("decision"):
                refund = selectors.refund_get(actor=actor, pk=positive_int(request.POST.get("id")) or 0)
                if request.POST["decision"] == "approve":
                    services.refund_approve(actor=actor, refund=refund)
                else:
                    services.refund_reject(actor=actor, refund=refund)
            else:
                payment = selectors.payment_get(
                    actor=actor, pk=positive_int(request.POST.get("payment")) or 0
                )
                amount = _fen_from_yuan(request.POST.get("amount", ""))
                if amount is None:
                    raise ValidationFailed(fields={"amount": [_("请输入大于 0、最多两位小数的金额")]})
                services.refund_request(
                    actor=actor,
                    payment=payment,
                    amount_fen=amount,
                    reason=request.POST.get("reason", "")[:300],
                )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("已提交"))
        return redirect("billing:refunds")
    qs = selectors.refund_list(actor=actor)
    return render(
        request,
        "billing/refunds.html",
        {"page": _paged(request, qs), "can_approve": actor.has(Perm.BILLING_APPROVE)},
    )


def _pdf(payment) -> HttpResponse:
    response = HttpResponse(receipts.receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{payment.receipt_no}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@staff_page
def receipt(request, actor, pk: int):
    payment = selectors.payment_get(actor=actor, pk=pk)
    try:
        return _pdf(payment)
    except DomainError as exc:
        raise Http404(exc.message) from exc


# --- resident H5 ---------------------------------------------------------------------------------


@resident_page
def h5_home(request, actor):
    return render(
        request,
        "billing/h5_home.html",
        {
            "h5_tab": "billing",
            "bills": list(selectors.my_bills(actor=actor)[:100]),
            "totals": selectors.my_totals(actor=actor),
            "reminders": selectors.my_reminders(actor=actor),
        },
    )


@resident_page
@require_POST
def h5_pay(request, actor):
    try:
        bills_ = selectors.my_bills_for_payment(actor=actor, ids=_ids(request.POST.getlist("bill")))
        _payment, order = services.payment_create_online(actor=actor, bills=bills_)
    except NotFound:
        messages.error(request, _("请选择要缴纳的账单"))
        return redirect("h5billing:home")
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("h5billing:home")
    return redirect(order.pay_url)


@resident_page
@require_http_methods(["GET", "POST"])
def h5_cashier(request, actor, out_trade_no: str):
    """The simulated provider's cashier: confirming makes the provider send its signed notification."""
    payment = selectors.my_payment_by_trade_no(actor=actor, out_trade_no=out_trade_no[:64])
    if request.method == "POST" and payment.status == payment.Status.PENDING:
        provider = get_provider(payment.provider)
        note = provider.notification_for(out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen)
        services.payment_notify_apply(provider_name=provider.name, payload=note)
        messages.success(request, _("支付成功"))
        return redirect("h5billing:payments")
    return render(
        request,
        "billing/h5_cashier.html",
        {"h5_tab": "billing", "payment": payment, "amount": yuan(payment.amount_fen)},
    )


@resident_page
def h5_payments(request, actor):
    return render(
        request,
        "billing/h5_payments.html",
        {"h5_tab": "billing", "payments": list(selectors.my_payments(actor=actor)[:100])},
    )


@resident_page
def h5_receipt(request, actor, pk: int):
    payment = selectors.my_payment_get(actor=actor, pk=pk)
    try:
        return _pdf(payment)
    except DomainError as exc:
        raise Http404(exc.message) from exc
