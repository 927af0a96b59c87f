"""Access console pages of access points (by estate and building, with the controlling device's online
state), policies with the holiday calendar and the estate's settings. Events, analysis and anomalies
are in ``access.insights.views``. Every read goes through ``selectors``, every change through
``services``."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, time

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from linli.access import pages
from linli.access.models import (
    AccessPointKind,
    Audience,
    Direction,
    HolidayMode,
    Method,
)
from linli.access.points import selectors, services
from linli.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from linli.core.views import positive_int, staff_page
from linli.orgs.roles import STAFF_ROLES, Perm, Role
from linli.places.selectors import estate_get, estate_list

POINTS_PAGE = 300
WEEKDAYS = [
    (0, _lazy("周一")),
    (1, _lazy("周二")),
    (2, _lazy("周三")),
    (3, _lazy("周四")),
    (4, _lazy("周五")),
    (5, _lazy("周六")),
    (6, _lazy("周日")),
]


def _time(value, field: str, errors: dict) -> time | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        errors[field] = [_("时间格式应为 HH:MM")]
        return None


# --- access points ------------------------------------------------------------------------------


@staff_page
def points(request, actor):
    g = request.GET
    estates, estate_id = pages.estate_filter(actor, g)
    qs = selectors.access_point_list(
        actor=actor,
        estate_id=estate_id,
        building_id=positive_int(g.get("building")),
        kind=pages.choice(g.get("kind"), AccessPointKind.values),
        status=pages.choice(g.get("status"), ("active", "disabled")),
        q=(g.get("q") or "").replace("\x00", "").strip()[:100] or None,
    )
    page = Paginator(qs, POINTS_PAGE).get_page(g.get("page"))
    groups: OrderedDict = OrderedDict()
    for p in page.object_list:
        key = (p.estate_id, p.building_id or 0)
        if key not in groups:
            groups[key] = {"estate": p.estate, "building": p.building, "points": []}
        groups[key]["points"].append(p)
    method_labels = dict(Method.choices)
    for grp in groups.values():
        for p in grp["points"]:
            p.method_labels = [method_labels.get(m, m) for m in p.allowed_methods or []]
    return render(
        request,
        "access/console/points.html",
        {
            "groups": list(groups.values()),
            "page": page,
            "query": pages.query(g),
            "f": g,
            "estates": estates,
            "kinds": AccessPointKind.choices,
            "can_manage": actor.has(Perm.ACCESS_MANAGE),
        },
    )


def _point_form_ctx(actor, form: dict, *, point=None, errors=None) -> dict:
    estate_id = positive_int(form.get("estate")) or (point.estate_id if point else None)
    return {
        "form": form,
        "point": point,
        "errors": errors or {},
        "estates": estate_list(actor=actor),
        "buildings": selectors.building_list(actor=actor, estate_id=estate_id),
        "devices": selectors.device_choices(actor=actor, estate_id=estate_id),
        "kinds": AccessPointKind.choices,
        "directions": Direction.choices,
        "methods": Method.choices,
    }


def _point_data(actor, post) -> dict:
    building_id, device_id = positive_int(post.get("building")), positive_int(post.get("device"))
    door_no = positive_int(post.get("door_no")) or 1
    return {
        "kind": post.get("kind", ""),
        "name": post.get("name", ""),
        "code": post.get("code", ""),
        "direction": post.get("direction") or Direction.BOTH,
        "allowed_methods": post.getlist("methods"),
        "building": selectors.building_get(actor=actor, pk=building_id) if building_id else None,
        "device": selectors.device_get(actor=actor, pk=device_id) if device_id else None,
        "door_no": door_no if door_no <= 1000 else 1000,
        "offline_decisions": post.get("offline_decisions") == "1",
    }


def _form_of_point(p) -> dict:
    return {
        "estate": str(p.estate_id),
        "kind": p.kind,
        "name": p.name,
        "code": p.code,
        "direction": p.direction,
        "methods": list(p.allowed_methods or []),
        "building": str(p.building_id or ""),
        "device": str(p.device_id or ""),
        "door_no": str(p.door_no),
        "offline_decisions": "1" if p.offline_decisions else "",
    }


def _form_of_post(post) -> dict:
    form = {
        k: post.get(k, "")
        for k in (
            "estate",
            "kind",
            "name",
            "code",
            "direction",
            "building",
            "device",
            "door_no",
            "offline_decisions",
        )
    }
    form["methods"] = post.getlist("methods")
    return form


@staff_page
def point_create(request, actor):
    actor.require(Perm.ACCESS_MANAGE)
    if request.method == "POST":
        form = _form_of_post(request.POST)
        try:
            estate = estate_get(actor=actor, pk=form["estate"])
            point = services.access_point_create(
                actor=actor, estate=estate, **_point_data(actor, request.POST)
            )
        except ValidationFailed as exc:
            ctx = _point_form_ctx(actor, form, errors=exc.fields or {"__all__": [exc.message]})
            return render(request, "access/console/point_form.html", ctx, status=400)
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            ctx = _point_form_ctx(actor, form, errors=exc.fields or {"__all__": [exc.message]})
            return render(request, "access/console/point_form.html", ctx, status=exc.status)
        messages.success(request, _("已登记出入口「%(n)s」") % {"n": point.name})
        return redirect("access:points")
    form = {
        "estate": request.GET.get("estate", ""),
        "direction": Direction.BOTH,
        "methods": ["qr", "card", "staff"],
        "door_no": "1",
        "offline_decisions": "1",
    }
    return render(request, "access/console/point_form.html", _point_form_ctx(actor, form))


@staff_page
def point_edit(request, actor, pk: int):
    point = selectors.access_point_get(actor=actor, pk=pk)
    actor.require(Perm.ACCESS_MANAGE)
    if request.method == "POST":
        form = _form_of_post(request.POST)
        form["estate"] = str(point.estate_id)
        try:
            services.access_point_update(actor=actor, point=point, **_point_data(actor, request.POST))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            ctx = _point_form_ctx(actor, form, point=point, errors=exc.fields or {"__all__": [exc.message]})
            return render(request, "access/console/point_form.html", ctx, status=exc.status)
        messages.success(request, _("已保存"))
        return redirect("access:points")
    return render(
        request, "access/console/point_form.html", _point_form_ctx(actor, _form_of_point(point), point=point)
    )


@staff_page
@require_POST
def point_status(request, actor, pk: int, op: str):
    if op not in ("disable", "enable"):
        raise Http404()
    point = selectors.access_point_get(actor=actor, pk=pk)
    try:
        services.access_point_set_status(
            actor=actor, point=point, enabled=op == "enable", reason=request.POST.get("reason", "")[:300]
        )
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, pages.error(exc))
    else:
        messages.success(request, _("已启用出入口") if op == "enable" else _("已停用出入口"))
    return redirect("access:points")


# --- policies, holidays, settings ---------------------------------------------------------------


@staff_page
def policies(request, actor):
    g = request.GET
    estates, estate_id = pages.estate_filter(actor, g)
    estate_id = estate_id or (estates[0].pk if estates else None)
    year = positive_int(g.get("year"))
    year = year if year and 2000 <= year <= 2100 else timezone.localdate().year
    rows = list(selectors.policy_list(actor=actor, estate_id=estate_id)) if estate_id else []
    audience_labels, mode_labels = dict(Audience.choices), dict(HolidayMode.choices)
    role_labels = dict(Role.choices)
    for p in rows:
        p.audience_label = audience_labels.get(p.audience, p.audience)
        p.mode_label = mode_labels.get(p.holiday_mode, p.holiday_mode)
        p.role_labels = [role_labels.get(r, r) for r in p.roles or []]
        p.day_labels = [label for d, label in WEEKDAYS if d in (p.weekdays or [])]
        p.point_names = [a.name for a in p.access_points.all()]
    settings_row = selectors.access_settings_get(actor=actor, estate_id=estate_id) if estate_id else None
    return render(
        request,
        "access/console/policies.html",
        {
            "policies": rows,
            "holidays": selectors.holiday_list(actor=actor, estate_id=estate_id, year=year)
            if estate_id
            else [],
            "settings": settings_row,
            "settings_rows": _settings_rows(settings_row) if settings_row else [],
            "estates": estates,
            "estate_id": estate_id,
            "year": year,
            "years": sorted(services.NATIONAL_HOLIDAYS),
            "can_manage": actor.has(Perm.ACCESS_MANAGE),
        },
    )


SETTING_LABELS = {
    "qr_ttl_seconds": _lazy("一码通二维码有效期（秒）"),
    "qr_refresh_seconds": _lazy("二维码刷新间隔（秒，须短于有效期）"),
    "rapid_reuse_seconds": _lazy("同一凭证在两个大门间隔少于此秒数视为异常"),
    "denial_threshold": _lazy("多次被拒阈值（次）"),
    "denial_window_minutes": _lazy("多次被拒统计时长（分钟）"),
    "not_seen_hours": _lazy("独居老人超过此小时数未出入，提醒社区工作者"),
    "visitor_retention_days": _lazy("访客记录保存天数（最长 180 天）"),
    "event_retention_days": _lazy("通行记录保存天数（至少 30 天）"),
}


def _settings_rows(row) -> list[dict]:
    return [
        {"key": k, "label": SETTING_LABELS[k], "value": getattr(row, k), "lo": lo, "hi": hi}
        for k, (lo, hi) in services.SETTINGS_BOUNDS.items()
    ]


def _policy_form_ctx(actor, form: dict, *, estate_id, policy=None, errors=None) -> dict:
    return {
        "form": form,
        "policy": policy,
        "errors": errors or {},
        "estates": estate_list(actor=actor),
        "points": selectors.access_point_list(actor=actor, estate_id=estate_id) if estate_id else [],
        "audiences": Audience.choices,
        "modes": HolidayMode.choices,
        "roles": [(r.value, r.label) for r in STAFF_ROLES],
        "weekdays": WEEKDAYS,
    }


def _policy_data(post) -> dict:
    errors: dict = {}
    data = {
        "name": post.get("name", ""),
        "audience": post.get("audience", ""),
        "roles": post.getlist("roles"),
        "own_building_only": post.get("own_building_only") == "1",
        "access_point_ids": [n for n in map(positive_int, post.getlist("access_points")) if n],
        "weekdays": [d for d, _label in WEEKDAYS if str(d) in post.getlist("weekdays")],
        "start_time": _time(post.get("start_time"), "start_time", errors),
        "end_time": _time(post.get("end_time"), "end_time", errors),
        "holiday_mode": post.get("holiday_mode") or HolidayMode.SAME,
        "is_active": post.get("is_active") == "1",
    }
    if errors:
        raise ValidationFailed(fields=errors)
    return data


def _form_of_policy(p) -> dict:
    return {
        "estate": str(p.estate_id),
        "name": p.name,
        "audience": p.audience,
        "roles": list(p.roles or []),
        "own_building_only": "1" if p.own_building_only else "",
        "access_points": [str(a.pk) for a in p.access_points.all()],
        "weekdays": [str(d) for d in p.weekdays or []],
        "start_time": p.start_time.strftime("%H:%M") if p.start_time else "",
        "end_time": p.end_time.strftime("%H:%M") if p.end_time else "",
        "holiday_mode": p.holiday_mode,
        "is_active": "1" if p.is_active else "",
    }


def _form_of_policy_post(post) -> dict:
    form = {
        k: post.get(k, "")
        for k in (
            "estate",
            "name",
            "audience",
            "own_building_only",
            "start_time",
            "end_time",
            "holiday_mode",
            "is_active",
        )
    }
    form.update(
        roles=post.getlist("roles"),
        access_points=post.getlist("access_points"),
        weekdays=post.getlist("weekdays"),
    )
    return form


@staff_page
def policy_create(request, actor):
    actor.require(Perm.ACCESS_MANAGE)
    if request.method == "POST":
        form = _form_of_policy_post(request.POST)
        estate = estate_get(actor=actor, pk=form["estate"])
        try:
            services.policy_create(actor=actor, estate=estate, **_policy_data(request.POST))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            ctx = _policy_form_ctx(
                actor, form, estate_id=estate.pk, errors=exc.fields or {"__all__": [exc.message]}
            )
            return render(request, "access/console/policy_form.html", ctx, status=exc.status)
        messages.success(request, _("已新建通行规则"))
        return redirect(f"{pages.url('access:policies')}?estate={estate.pk}")
    estates = list(estate_list(actor=actor))
    estate_id = positive_int(request.GET.get("estate")) or (estates[0].pk if estates else None)
    form = {
        "estate": str(estate_id or ""),
        "own_building_only": "1",
        "is_active": "1",
        "holiday_mode": "same",
    }
    return render(
        request, "access/console/policy_form.html", _policy_form_ctx(actor, form, estate_id=estate_id)
    )


@staff_page
def policy_edit(request, actor, pk: int):
    policy = selectors.policy_get(actor=actor, pk=pk)
    actor.require(Perm.ACCESS_MANAGE)
    if request.method == "POST":
        form = _form_of_policy_post(request.POST)
        form["estate"] = str(policy.estate_id)
        try:
            services.policy_update(actor=actor, policy=policy, **_policy_data(request.POST))
        except (PermissionDenied, NotFound):
            raise
        except DomainError as exc:
            ctx = _policy_form_ctx(
                actor,
                form,
                estate_id=policy.estate_id,
                policy=policy,
                errors=exc.fields or {"__all__": [exc.message]},
            )
            return render(request, "access/console/policy_form.html", ctx, status=exc.status)
        messages.success(request, _("已保存"))
        return redirect(f"{pages.url('access:policies')}?estate={policy.estate_id}")
    ctx = _policy_form_ctx(actor, _form_of_policy(policy), estate_id=policy.estate_id, policy=policy)
    return render(request, "access/console/policy_form.html", ctx)


@staff_page
@require_POST
def policy_delete(request, actor, pk: int):
    policy = selectors.policy_get(actor=actor, pk=pk)
    estate_id = policy.estate_id
    services.policy_delete(actor=actor, policy=policy)
    messages.success(request, _("已删除通行规则"))
    return redirect(f"{pages.url('access:policies')}?estate={estate_id}")


@staff_page
@require_POST
def holiday_add(request, actor):
    estate = estate_get(actor=actor, pk=request.POST.get("estate"))
    try:
        day = date.fromisoformat((request.POST.get("date") or "").strip())
    except ValueError:
        day = None
    try:
        if day is None:
            raise ValidationFailed(fields={"date": [_("日期无效")]})
        services.holiday_create(
            actor=actor,
            estate=estate,
            date=day,
            name=request.POST.get("name", ""),
            is_workday=request.POST.get("is_workday") == "1",
        )
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, pages.error(exc))
    else:
        messages.success(request, _("已添加"))
    return redirect(f"{pages.url('access:policies')}?estate={estate.pk}&year={day.year if day else ''}")


@staff_page
@require_POST
def holiday_delete(request, actor, pk: int):
    holiday = selectors.holiday_get(actor=actor, pk=pk)
    estate_id = holiday.estate_id
    services.holiday_delete(actor=actor, holiday=holiday)
    messages.success(request, _("已删除"))
    return redirect(f"{pages.url('access:policies')}?estate={estate_id}&year={holiday.date.year}")


@staff_page
@require_POST
def holidays_import(request, actor):
    estate = estate_get(actor=actor, pk=request.POST.get("estate"))
    year = positive_int(request.POST.get("year")) or 0
    try:
        created, skipped = services.holidays_import_national(actor=actor, estate=estate, year=year)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, pages.error(exc))
    else:
        messages.success(request, _("已导入 %(c)s 天，跳过已有的 %(s)s 天") % {"c": created, "s": skipped})
    return redirect(f"{pages.url('access:policies')}?estate={estate.pk}&year={year}")


@staff_page
@require_POST
def settings_save(request, actor, estate_id: int):
    estate = estate_get(actor=actor, pk=estate_id)
    changes = {}
    bad = {}
    for k in services.SETTINGS_BOUNDS:
        raw = (request.POST.get(k) or "").strip()
        if not raw:
            continue
        try:
            changes[k] = int(raw)
        except ValueError:
            bad[k] = [_("须为整数")]
    try:
        if bad:
            raise ValidationFailed(fields=bad)
        services.access_settings_update(actor=actor, estate=estate, **changes)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, pages.error(exc))
    else:
        messages.success(request, _("已保存"))
    return redirect(f"{pages.url('access:policies')}?estate={estate.pk}")


# --- events -------------------------------------------------------------------------------------


# --- analysis -----------------------------------------------------------------------------------


# --- anomalies ----------------------------------------------------------------------------------


urlpatterns = [
    path("points/", points, name="points"),
    path("points/new/", point_create, name="point_create"),
    path("points/<int:pk>/edit/", point_edit, name="point_edit"),
    path("points/<int:pk>/<str:op>/", point_status, name="point_status"),
    path("policies/", policies, name="policies"),
    path("policies/new/", policy_create, name="policy_create"),
    path("policies/<int:pk>/edit/", policy_edit, name="policy_edit"),
    path("policies/<int:pk>/delete/", policy_delete, name="policy_delete"),
    path("policies/holidays/add/", holiday_add, name="holiday_add"),
    path("policies/holidays/import/", holidays_import, name="holidays_import"),
    path("policies/holidays/<int:pk>/delete/", holiday_delete, name="holiday_delete"),
    path("policies/settings/<int:estate_id>/", settings_save, name="settings_save"),
]
