"""Console pages for work orders (board, list, detail with actions, technician's orders, rosters, SLA,
workload, new order) and the resident's H5 repair pages. Views parse, call one service or selector and
render; every read goes through the selectors (scope → 404)."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from linli.core.errors import DomainError, NotFound, PayloadTooLarge, PermissionDenied, ValidationFailed
from linli.core.listing import known_ordering, list_page, page_filters
from linli.core.pii import mask_name, mask_phone
from linli.core.views import error_text, positive_int, resident_page, staff_page
from linli.orgs.roles import Perm
from linli.places.selectors import estate_get, estate_list
from linli.workorders import selectors, services
from linli.workorders.models import OPEN_STATES, Charge, Kind, Source, State
from linli.workorders.schemas import BoardQuery, WorkOrderFilters, technician_label

PAGE_SIZE = 20
MAX_UPLOAD_READ = 64 * 1024 * 1024


def _choice(value, choices) -> str | None:
    return value if value in choices.values else None


def _text(value, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def _order_row(order) -> dict:
    return {
        "order": order,
        "reporter": mask_name(order.reporter.name) if order.reporter else "",
        "phone": mask_phone(order.contact_phone),
        "breached": selectors.is_breached(order),
    }


# --- console -----------------------------------------------------------------------------------


@staff_page
def board(request, actor):
    f, _warnings = page_filters(request, BoardQuery)
    columns = selectors.board(actor=actor, **f.selector_args())
    context = {
        "columns": columns,
        "filters": f,
        "estates": list(estate_list(actor=actor, perm=Perm.WORKORDERS_VIEW)),
        "kinds": Kind.choices,
        "technicians": selectors.technicians(actor=actor, estate_id=f.estate),
        "query": request.GET.urlencode(),
        "can_manage": actor.has(Perm.WORKORDERS_MANAGE),
    }
    if request.headers.get("HX-Request"):
        return render(request, "workorders/_board_columns.html", context)
    return render(request, "workorders/board.html", context)


@staff_page
def order_list(request, actor):
    def orders(f: WorkOrderFilters):  # an unknown sort key falls back to the newest first
        ordering = known_ordering(f.ordering, selectors.WORKORDER_ORDERING, "-created")
        return selectors.workorder_list(
            actor=actor, **f.selector_args(exclude={"ordering"}), ordering=ordering
        )

    listing = list_page(request, orders, WorkOrderFilters, page_size=PAGE_SIZE)
    return render(
        request,
        "workorders/list.html",
        {
            "page": listing.page,
            "rows": [_order_row(o) for o in listing.page.object_list],
            "filters": listing.filters,
            "estates": list(estate_list(actor=actor, perm=Perm.WORKORDERS_VIEW)),
            "kinds": Kind.choices,
            "states": State.choices,
            "sources": Source.choices,
            "query": listing.query,
        },
    )


@staff_page
def my_orders(request, actor):
    """The technician's own open orders and recent completions, laid out for a phone."""
    actor.require(Perm.WORKORDERS_WORK)
    qs = selectors.workorder_list(actor=actor, assignee_id=actor.user.pk, ordering="completion_due")
    open_rows = [_order_row(o) for o in qs.filter(state__in=[s.value for s in State if s in OPEN_STATES])]
    done = list(qs.filter(state__in=[State.DONE, State.RATED]).order_by("-done_at", "-pk")[:10])
    return render(request, "workorders/mine.html", {"rows": open_rows, "done": done})


def _detail_context(actor, order) -> dict:
    is_tech = order.assignee_id == actor.user.pk and actor.has(Perm.WORKORDERS_WORK)
    manage = actor.has(Perm.WORKORDERS_MANAGE)
    actions = []
    for action, (sources, _target) in services.TRANSITIONS.items():
        allowed = (action in ("accept", "start", "finish") and is_tech) or (
            action in ("assign", "cancel", "reopen") and manage
        )
        if allowed and order.state in sources:
            actions.append((action, services.ACTION_LABELS[action]))
    return {
        "order": order,
        "row": _order_row(order),
        "history": selectors.workorder_history(order=order),
        "photos": selectors.workorder_photos(order=order),
        "charges": selectors.workorder_charges(order=order),
        "charge_total": sum(c.amount_fen for c in selectors.workorder_charges(order=order)),
        "actions": actions,
        "technicians": selectors.technicians(actor=actor, estate_id=order.estate_id) if manage else [],
        "can_charge": order.kind == Kind.REPAIR_PRIVATE
        and order.state in OPEN_STATES
        and order.billed_bill_id is None
        and (manage or is_tech),
        "can_photo": manage or is_tech,
        "charge_kinds": Charge.LineKind.choices,
    }


@staff_page
def detail(request, actor, pk: int):
    order = selectors.workorder_get(actor=actor, pk=pk)
    if actor.is_resident and not actor.has(Perm.WORKORDERS_VIEW):
        raise Http404()
    return render(request, "workorders/detail.html", _detail_context(actor, order))


@staff_page
@require_POST
def action(request, actor, pk: int):
    """One POST endpoint for the detail page's forms: the transition, comment, charge or photo."""
    order = selectors.workorder_get(actor=actor, pk=pk)
    if actor.is_resident and not actor.has(Perm.WORKORDERS_VIEW):
        raise Http404()
    p = request.POST
    name = p.get("action", "")
    try:
        if name == "assign":
            tech = selectors.technician_get(
                actor=actor, pk=positive_int(p.get("assignee")) or 0, estate=order.estate
            )
            services.workorder_assign(actor=actor, order=order, assignee=tech)
        elif name == "accept":
            services.workorder_accept(actor=actor, order=order)
        elif name == "start":
            services.workorder_start(actor=actor, order=order)
        elif name == "finish":
            services.workorder_finish(actor=actor, order=order, note=_text(p.get("note"), 500))
        elif name == "cancel":
            services.workorder_cancel(actor=actor, order=order, reason=_text(p.get("reason"), 300))
        elif name == "reopen":
            services.workorder_reopen(actor=actor, order=order, reason=_text(p.get("reason"), 300))
        elif name == "comment":
            services.workorder_comment(actor=actor, order=order, text=_text(p.get("text"), 1000))
        elif name == "charge":
            yuan = _text(p.get("unit_price"), 20).strip()
            try:
                fen = round(float(yuan) * 100) if yuan else 0
            except ValueError:
                fen = 0
            services.workorder_add_charge(
                actor=actor,
                order=order,
                kind=_text(p.get("kind"), 10),
                description=_text(p.get("description"), 100),
                unit_price_fen=max(0, min(fen, services.MAX_CHARGE_FEN + 1)),
                quantity=positive_int(p.get("quantity")) or 0,
            )
        elif name == "photo":
            upload = request.FILES.get("photo")
            if upload is None:
                raise ValidationFailed(fields={"photo": [_("请选择照片")]})
            services.workorder_photo_add(actor=actor, order=order, data=upload.read(MAX_UPLOAD_READ))
        else:
            raise ValidationFailed(fields={"action": [_("无效的操作")]})
    except (NotFound, PermissionDenied):
        raise
    except PayloadTooLarge as exc:
        messages.error(request, exc.message)
        return render(request, "workorders/detail.html", _detail_context(actor, order), status=413)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return render(request, "workorders/detail.html", _detail_context(actor, order), status=exc.status)
    messages.success(request, _("操作成功"))
    return redirect("workorders:detail", pk=order.pk)


def _photo_response(photo):
    response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_page
def photo(request, actor, pk: int, photo_pk: int):
    return _photo_response(selectors.workorder_photo_get(actor=actor, order_pk=pk, pk=photo_pk))


@staff_page
@require_http_methods(["GET", "POST"])
def create(request, actor):
    """A staff-entered order (phone call at the service desk)."""
    actor.require(Perm.WORKORDERS_MANAGE)
    estates = list(estate_list(actor=actor, perm=Perm.WORKORDERS_VIEW))
    errors: dict = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            estate = estate_get(
                actor=actor, pk=positive_int(values.get("estate")) or 0, perm=Perm.WORKORDERS_VIEW
            )
            room_id = positive_int(values.get("room"))
            room = selectors.room_get(actor=actor, pk=room_id, estate=estate) if room_id else None
            order = services.workorder_create(
                actor=actor,
                estate=estate,
                kind=_text(values.get("kind"), 20),
                title=_text(values.get("title"), 200),
                description=_text(values.get("description"), 4000),
                room=room,
                location=_text(values.get("location"), 400),
                source=Source.STAFF,
                contact_phone=_text(values.get("contact_phone"), 30),
                photos=[f.read(MAX_UPLOAD_READ) for f in request.FILES.getlist("photos")],
            )
        except NotFound:
            errors = {"estate": [_("请选择小区")]}
        except DomainError as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            messages.success(request, _("工单已创建"))
            return redirect("workorders:detail", pk=order.pk)
    return render(
        request,
        "workorders/create.html",
        {"estates": estates, "kinds": Kind.choices, "errors": errors, "values": values},
        status=400 if errors else 200,
    )


@staff_page
def workload(request, actor):
    estate_id = positive_int(request.GET.get("estate"))
    rows = selectors.workload(actor=actor, estate_id=estate_id)
    return render(
        request,
        "workorders/workload.html",
        {
            "rows": rows,
            "estates": list(estate_list(actor=actor, perm=Perm.WORKORDERS_VIEW)),
            "estate_id": estate_id,
        },
    )


def _parse_time(value) -> time | None:
    try:
        return time.fromisoformat((value or "").strip()[:8])
    except ValueError:
        return None


@staff_page
@require_http_methods(["GET", "POST"])
def rosters(request, actor):
    estates = list(estate_list(actor=actor, perm=Perm.WORKORDERS_VIEW))
    estate_id = positive_int(request.GET.get("estate") or request.POST.get("estate")) or (
        estates[0].pk if estates else None
    )
    errors: dict = {}
    if request.method == "POST":
        p = request.POST
        try:
            if p.get("action") == "delete":
                roster = selectors.roster_get(actor=actor, pk=positive_int(p.get("roster")) or 0)
                services.roster_delete(actor=actor, roster=roster)
            else:
                estate = estate_get(actor=actor, pk=estate_id or 0, perm=Perm.WORKORDERS_VIEW)
                tech = selectors.technician_get(
                    actor=actor, pk=positive_int(p.get("technician")) or 0, estate=estate
                )
                day = None
                if p.get("date"):
                    try:
                        day = datetime.strptime(p["date"][:10], "%Y-%m-%d").date()
                    except ValueError:
                        raise ValidationFailed(fields={"date": [_("日期格式应为 YYYY-MM-DD")]}) from None
                start, end = _parse_time(p.get("start_time")), _parse_time(p.get("end_time"))
                if start is None or end is None:
                    raise ValidationFailed(fields={"start_time": [_("请填写开始和结束时间")]})
                services.roster_create(
                    actor=actor,
                    estate=estate,
                    technician=tech,
                    weekday=None if day else (int(p["weekday"]) if p.get("weekday", "").isdigit() else None),
                    date=day,
                    start_time=start,
                    end_time=end,
                    kinds=[k for k in p.getlist("kinds") if k in Kind.values],
                    buildings=[
                        selectors.building_get(actor=actor, pk=b, estate=estate)
                        for b in (positive_int(x) for x in p.getlist("buildings"))
                        if b
                    ],
                )
        except DomainError as exc:
            if isinstance(exc, (NotFound, PermissionDenied)):
                raise
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            messages.success(request, _("排班已保存"))
            return redirect(f"{request.path}?estate={estate_id}")
    rows = list(selectors.roster_list(actor=actor, estate_id=estate_id)) if estate_id else []
    from linli.places.models import Region, RegionLevel

    return render(
        request,
        "workorders/rosters.html",
        {
            "rows": rows,
            "estates": estates,
            "estate_id": estate_id,
            "technicians": selectors.technicians(actor=actor, estate_id=estate_id) if estate_id else [],
            "buildings": list(
                Region.objects.filter(parent_id=estate_id, level=RegionLevel.BUILDING).order_by(
                    "sort", "name"
                )
            )
            if estate_id
            else [],
            "kinds": Kind.choices,
            "weekdays": [
                (0, _("周一")),
                (1, _("周二")),
                (2, _("周三")),
                (3, _("周四")),
                (4, _("周五")),
                (5, _("周六")),
                (6, _("周日")),
            ],
            "kind_labels": dict(Kind.choices),
            "errors": errors,
            "can_manage": actor.has(Perm.WORKORDERS_MANAGE),
        },
        status=400 if errors else 200,
    )


@staff_page
@require_http_methods(["GET", "POST"])
def sla(request, actor):
    estates = list(estate_list(actor=actor, perm=Perm.WORKORDERS_VIEW))
    estate_id = positive_int(request.GET.get("estate") or request.POST.get("estate")) or (
        estates[0].pk if estates else None
    )
    errors: dict = {}
    estate = estate_get(actor=actor, pk=estate_id, perm=Perm.WORKORDERS_VIEW) if estate_id else None
    if request.method == "POST":
        if estate is None:
            raise Http404()
        try:
            services.sla_policy_set(
                actor=actor,
                estate=estate,
                kind=_text(request.POST.get("kind"), 20),
                response_minutes=positive_int(request.POST.get("response_minutes")) or 0,
                completion_minutes=positive_int(request.POST.get("completion_minutes")) or 0,
            )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            messages.success(request, _("时限已保存"))
            return redirect(f"{request.path}?estate={estate.pk}")
    return render(
        request,
        "workorders/sla.html",
        {
            "rows": selectors.sla_policies(actor=actor, estate=estate) if estate else [],
            "estates": estates,
            "estate_id": estate_id,
            "errors": errors,
            "can_manage": actor.has(Perm.WORKORDERS_MANAGE),
        },
        status=400 if errors else 200,
    )


# --- resident H5 -------------------------------------------------------------------------------


def _h5(request, template: str, context: dict, status: int = 200):
    return render(request, template, {"h5_tab": "repairs", **context}, status=status)


def _h5_row(order) -> dict:
    return {"order": order, "technician": technician_label(order.assignee)}


@resident_page
def h5_home(request, actor):
    orders = list(selectors.my_workorders(actor=actor)[:50])
    return _h5(request, "workorders/h5_home.html", {"rows": [_h5_row(o) for o in orders]})


@resident_page
@require_http_methods(["GET", "POST"])
def h5_new(request, actor):
    rooms = selectors.my_rooms(actor=actor)
    estate = selectors.my_estate(actor=actor)
    errors: dict = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        if estate is None:
            raise Http404()
        room_id = positive_int(values.get("room"))
        room = next((r for r in rooms if r.pk == room_id), None)
        preferred = None
        raw_time = _text(values.get("preferred_time"), 20)
        try:
            if raw_time:
                preferred = timezone.make_aware(datetime.strptime(raw_time, "%Y-%m-%dT%H:%M"))
            order = services.workorder_create(
                actor=actor,
                estate=estate,
                kind=_choice(values.get("kind"), Kind) or Kind.REPAIR_PRIVATE,
                title=_text(values.get("title"), 200),
                description=_text(values.get("description"), 4000),
                room=room,
                location=_text(values.get("location"), 400),
                source=Source.RESIDENT,
                preferred_time=preferred,
                photos=[f.read(MAX_UPLOAD_READ) for f in request.FILES.getlist("photos")],
            )
        except ValueError:
            errors = {"preferred_time": [_("时间格式不正确")]}
        except PayloadTooLarge as exc:
            return _h5(
                request,
                "workorders/h5_new.html",
                {"rooms": rooms, "errors": {"photos": [exc.message]}, "values": values, "kinds": _H5_KINDS},
                status=413,
            )
        except DomainError as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            messages.success(request, _("报修已提交"))
            return redirect("h5repairs:detail", pk=order.pk)
    return _h5(
        request,
        "workorders/h5_new.html",
        {"rooms": rooms, "errors": errors, "values": values, "kinds": _H5_KINDS, "estate": estate},
        status=400 if errors else 200,
    )


_H5_KINDS = [
    (Kind.REPAIR_PRIVATE, Kind.REPAIR_PRIVATE.label),
    (Kind.REPAIR_COMMON, Kind.REPAIR_COMMON.label),
    (Kind.COMPLAINT, Kind.COMPLAINT.label),
    (Kind.SUGGESTION, Kind.SUGGESTION.label),
]


def _h5_detail_context(order) -> dict:
    return {
        "order": order,
        "technician": technician_label(order.assignee),
        "history": [
            {"event": e, "who": technician_label(e.actor) if e.actor and e.actor.kind == "staff" else ""}
            for e in selectors.workorder_history(order=order)
            if e.kind not in ("response_breach", "completion_breach", "undispatched", "charge")
        ],
        "photos": selectors.workorder_photos(order=order),
        "charges": selectors.workorder_charges(order=order),
        "can_cancel": order.state in services.TRANSITIONS["cancel"][0],
        "can_rate": order.state == State.DONE,
        "can_reopen": order.state in services.TRANSITIONS["reopen"][0],
    }


@resident_page
@require_http_methods(["GET", "POST"])
def h5_detail(request, actor, pk: int):
    order = selectors.my_workorder_get(actor=actor, pk=pk)
    if request.method == "POST":
        p = request.POST
        name = p.get("action", "")
        try:
            if name == "rate":
                services.workorder_rate(
                    actor=actor,
                    order=order,
                    rating=positive_int(p.get("rating")) or 0,
                    comment=_text(p.get("comment"), 500),
                )
            elif name == "reopen":
                services.workorder_reopen(actor=actor, order=order, reason=_text(p.get("reason"), 300))
            elif name == "cancel":
                services.workorder_cancel(actor=actor, order=order, reason=_text(p.get("reason"), 300))
            else:
                raise ValidationFailed(fields={"action": [_("无效的操作")]})
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            messages.error(request, error_text(exc))
            order = selectors.my_workorder_get(actor=actor, pk=pk)
            return _h5(request, "workorders/h5_detail.html", _h5_detail_context(order), status=exc.status)
        messages.success(request, _("操作成功"))
        return redirect("h5repairs:detail", pk=order.pk)
    return _h5(request, "workorders/h5_detail.html", _h5_detail_context(order))


@resident_page
def h5_photo(request, actor, pk: int, photo_pk: int):
    order = selectors.my_workorder_get(actor=actor, pk=pk)
    photo = order.photos.filter(pk=photo_pk).first()
    if photo is None:
        raise Http404()
    return _photo_response(photo)
