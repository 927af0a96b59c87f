"""Patrol pages. Console: completion dashboard, routes with their checkpoints and schedules, the
printable QR sheet, runs and their detail. Guard phone pages (/m/patrols/): my runs today, the scan
page opened by the phone camera from a checkpoint's QR code, and reporting a finding with photos."""

from __future__ import annotations

from datetime import time, timedelta

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from linli.core.errors import Conflict, DomainError, NotFound, PayloadTooLarge, PermissionDenied
from linli.core.listing import list_page
from linli.core.views import error_text, positive_int, staff_page
from linli.orgs.roles import Perm
from linli.patrols import qr, selectors, services
from linli.patrols.models import RunStatus
from linli.patrols.schemas import RunFilters
from linli.places import selectors as places_selectors
from linli.places.selectors import estate_get, estate_list

PAGE_SIZE = 20


def _time(value) -> time | None:
    try:
        return time.fromisoformat((value or "").strip()[:5])
    except ValueError:
        return None


# --- console -------------------------------------------------------------------------------------


@staff_page
def home(request, actor):
    """Completion dashboard: today's runs with their status; the last 30 days by route and by guard."""
    actor.require(Perm.PATROLS_VIEW)
    today = timezone.localdate()
    estate_id = positive_int(request.GET.get("estate"))
    runs = list(selectors.run_list(actor=actor, date_from=today, date_to=today, estate_id=estate_id))
    st = selectors.stats(
        actor=actor, date_from=today - timedelta(days=29), date_to=today, estate_id=estate_id
    )
    counts = dict.fromkeys(RunStatus.values, 0)
    for r in runs:
        counts[r.status] += 1
    return render(
        request,
        "patrols/home.html",
        {
            "runs": runs,
            "counts": [(RunStatus(s).label, n, s) for s, n in counts.items()],
            "stats": st,
            "estates": list(estate_list(actor=actor)),
            "estate_id": estate_id,
            "today": today,
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def routes(request, actor):
    actor.require(Perm.PATROLS_VIEW)
    can_manage = actor.has(Perm.PATROLS_MANAGE)
    error = ""
    if request.method == "POST":
        try:
            estate = estate_get(actor=actor, pk=positive_int(request.POST.get("estate")) or 0)
            route = services.route_create(
                actor=actor,
                estate=estate,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
            )
        except NotFound:
            error = _("请选择小区")
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            error = error_text(exc)
        else:
            messages.success(request, _("已创建路线“%(name)s”") % {"name": route.name})
            return redirect("patrols:route_detail", pk=route.pk)
    return render(
        request,
        "patrols/routes.html",
        {
            "routes": list(selectors.route_list(actor=actor)),
            "estates": list(estate_list(actor=actor)),
            "can_manage": can_manage,
            "error": error,
            "form": request.POST if request.method == "POST" else {},
        },
        status=400 if error else 200,
    )


def _route_post(request, actor, route) -> str:
    """One management action on a route page; returns an error text (empty on success)."""
    action = request.POST.get("action", "")
    p = request.POST
    try:
        if action == "route_update":
            services.route_update(
                actor=actor,
                route=route,
                name=p.get("name", ""),
                description=p.get("description", ""),
                active=p.get("active") == "on",
            )
        elif action == "checkpoint_add":
            places = selectors.checkpoint_places(
                route=route,
                building_id=positive_int(p.get("building")),
                facility_id=positive_int(p.get("facility")),
            )
            services.checkpoint_create(
                actor=actor,
                route=route,
                name=p.get("name", ""),
                order=positive_int(p.get("order")),
                location=p.get("location", ""),
                **places,
            )
        elif action in ("checkpoint_toggle", "checkpoint_regenerate"):
            cp = selectors.checkpoint_get(actor=actor, pk=positive_int(p.get("checkpoint")) or 0)
            if cp.route_id != route.pk:
                raise NotFound()
            if action == "checkpoint_toggle":
                services.checkpoint_update(actor=actor, checkpoint=cp, active=not cp.active)
            else:
                services.checkpoint_regenerate_code(actor=actor, checkpoint=cp)
        elif action == "schedule_add":
            start = _time(p.get("start_time"))
            if start is None:
                return _("请填写开始时间")
            guards = selectors.guards_by_ids(
                actor=actor, estate=route.estate, ids=[g for g in map(positive_int, p.getlist("guards")) if g]
            )
            services.schedule_create(
                actor=actor,
                route=route,
                start_time=start,
                weekdays="".join(p.getlist("weekdays")) or p.get("weekdays_text", ""),
                window_minutes=positive_int(p.get("window_minutes")) or 0,
                guards=guards,
            )
        elif action == "schedule_toggle":
            s = selectors.schedule_get(actor=actor, pk=positive_int(p.get("schedule")) or 0)
            if s.route_id != route.pk:
                raise NotFound()
            services.schedule_update(actor=actor, schedule=s, active=not s.active)
        else:
            return _("未知的操作")
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return error_text(exc)
    return ""


@staff_page
@require_http_methods(["GET", "POST"])
def route_detail(request, actor, pk: int):
    route = selectors.route_get(actor=actor, pk=pk)
    can_manage = actor.has(Perm.PATROLS_MANAGE)
    error = ""
    if request.method == "POST":
        actor.require(Perm.PATROLS_MANAGE, write=True)
        error = _route_post(request, actor, route)
        if not error:
            messages.success(request, _("已保存"))
            return redirect("patrols:route_detail", pk=route.pk)
        route = selectors.route_get(actor=actor, pk=pk)
    checkpoints = list(selectors.checkpoint_list(actor=actor, route_id=route.pk))
    schedules = list(selectors.schedule_list(actor=actor, route_id=route.pk))
    ctx = {
        "route": route,
        "checkpoints": checkpoints,
        "schedules": schedules,
        "can_manage": can_manage,
        "error": error,
        "weekday_choices": [(str(i), n) for i, n in enumerate(_("一二三四五六日"), 1)],
    }
    if can_manage:
        ctx["buildings"] = list(places_selectors.building_list(actor=actor, estate=route.estate_id))
        ctx["facilities"] = (
            list(places_selectors.facility_list(actor=actor, estate=route.estate_id))
            if actor.has(Perm.PLACES_VIEW)
            else []
        )
        ctx["guards"] = list(selectors.guard_choices(actor=actor, estate=route.estate))
    return render(request, "patrols/route_detail.html", ctx, status=400 if error else 200)


@staff_page
def qr_sheet(request, actor, pk: int):
    """Printable sheet: every active checkpoint of a route with its QR code (inline SVG) encoding the
    absolute URL of the scan page."""
    route, checkpoints = selectors.qr_sheet(actor=actor, route_pk=pk)
    labels = []
    for cp in checkpoints:
        url = request.build_absolute_uri(reverse("mpatrols:scan", args=[cp.code]))
        labels.append({"checkpoint": cp, "url": url, "svg": qr.svg(url)})
    response = render(request, "patrols/qr_sheet.html", {"route": route, "labels": labels})
    response["Cache-Control"] = "no-store"
    return response


@staff_page
def runs(request, actor):
    actor.require(Perm.PATROLS_VIEW)

    def clamped(f: RunFilters) -> RunFilters:  # the page reads a reversed range as its first day
        if f.date_from and f.date_to and f.date_from > f.date_to:
            return f.model_copy(update={"date_to": f.date_from})
        return f

    def run_rows(f: RunFilters):
        return selectors.run_list(actor=actor, **clamped(f).selector_args())

    listing = list_page(request, run_rows, RunFilters, page_size=PAGE_SIZE)
    return render(
        request,
        "patrols/runs.html",
        {
            "page": listing.page,
            "filters": clamped(listing.filters),
            "statuses": RunStatus.choices,
            "routes": list(selectors.route_list(actor=actor)),
            "query": listing.query,
        },
    )


@staff_page
def run_detail(request, actor, pk: int):
    run = selectors.run_get(actor=actor, pk=pk)
    return render(
        request,
        "patrols/run_detail.html",
        {"run": run, "steps": selectors.run_steps(run), "findings": list(run.findings.all())},
    )


@staff_page
def photo(request, actor, pk: int):
    p = selectors.photo_get(actor=actor, pk=pk)
    response = FileResponse(p.file.open("rb"), content_type=p.content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- guard phone pages (/m/patrols/) -------------------------------------------------------------

M_TABS = [("runs", "mpatrols:home", _("今日巡检"))]


def _m_context(**extra) -> dict:
    tabs = [{"key": key, "url": reverse(name), "label": label} for key, name, label in M_TABS]
    return {"h5_tabs": tabs, "h5_tab": "runs", **extra}


@staff_page
@never_cache
def m_home(request, actor):
    """My runs today, each with its progress."""
    runs_today = selectors.my_runs_today(actor=actor)
    now = timezone.now()
    rows = [
        {
            "run": r,
            "open": r.window_start <= now <= r.window_end,
            "percent": int(100 * r.checked / r.expected) if r.expected else 0,
        }
        for r in runs_today
    ]
    return render(request, "patrols/m_home.html", _m_context(rows=rows, today=timezone.localdate(now)))


@staff_page
@never_cache
def m_run(request, actor, pk: int):
    run = selectors.run_get(actor=actor, pk=pk)
    steps = selectors.run_steps(run)
    nxt = next((s.checkpoint for s in steps if s.checkin is None), None)
    return render(
        request,
        "patrols/m_run.html",
        _m_context(run=run, steps=steps, next_checkpoint=nxt, findings=list(run.findings.all())),
    )


@staff_page
@never_cache
def m_scan(request, actor, code: str):
    """Opened by the phone camera from a checkpoint's QR code: records the check-in (idempotent) and
    shows the next checkpoint."""
    try:
        result = services.checkin(actor=actor, code=code)
    except (NotFound, Conflict) as exc:
        return render(
            request,
            "patrols/m_scan.html",
            _m_context(error=exc.message),
            status=exc.status,
        )
    return render(request, "patrols/m_scan.html", _m_context(result=result))


@staff_page
@never_cache
@require_http_methods(["GET", "POST"])
def m_finding(request, actor, pk: int):
    """Report a problem seen on a run, with photos taken by the phone camera."""
    run = selectors.run_get(actor=actor, pk=pk)
    actor.require(Perm.PATROLS_CHECKIN)
    steps = selectors.run_steps(run)
    error, status = "", 200
    if request.method == "POST":
        cp_id = positive_int(request.POST.get("checkpoint"))
        checkpoint = next((s.checkpoint for s in steps if s.checkpoint.pk == cp_id), None)
        try:
            if cp_id and checkpoint is None:
                raise NotFound()
            finding = services.finding_report(
                actor=actor,
                run=run,
                checkpoint=checkpoint,
                description=request.POST.get("description", ""),
                photos=request.FILES.getlist("photos"),
            )
        except PayloadTooLarge as exc:
            error, status = exc.message, 413
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            error, status = error_text(exc), exc.status
        else:
            messages.success(request, _("问题已上报，已生成工单 #%(n)s") % {"n": finding.workorder_id})
            return redirect("mpatrols:run", pk=run.pk)
    return render(
        request,
        "patrols/m_finding.html",
        _m_context(run=run, steps=steps, error=error, form=request.POST),
        status=status,
    )
