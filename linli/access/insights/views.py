"""Access console pages of insights: access events (masked names, every view audited), flow and visitor
analysis (uPlot chart), and anomalies (care anomalies only for care roles, R65). Every read goes
through ``selectors``, every change through ``services``."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from linli.access import pages
from linli.access.insights import analysis, selectors, services
from linli.access.insights.anomalies import ALARM_LABELS
from linli.access.models import (
    AccessPointKind,
    AccessResult,
    AnomalyKind,
    Direction,
    Method,
    SubjectKind,
    VisitorChannel,
    VisitorKind,
)
from linli.access.points import selectors as points_selectors
from linli.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from linli.core.pii import mask_name
from linli.core.views import positive_int, staff_page
from linli.orgs.roles import Perm

_SAFE_QUERY = re.compile(r"^[A-Za-z0-9_=&%.\-]{1,300}$")
EVENTS_PAGE = 50
ANOMALIES_PAGE = 50
# Decision reasons (``AccessEvent.reason``, the stable codes of the decision service) for staff.
REASON_LABELS = {
    "ok": _lazy("通过"),
    "malformed": _lazy("码格式错误"),
    "unknown_key": _lazy("未知的签名密钥"),
    "forged": _lazy("伪造的码"),
    "expired": _lazy("已过期"),
    "not_yet_valid": _lazy("尚未生效"),
    "replayed": _lazy("重复使用"),
    "revoked": _lazy("已注销或挂失"),
    "unknown_credential": _lazy("未登记的凭证"),
    "not_allowed": _lazy("无此出入口的通行权限"),
    "outside_window": _lazy("不在通行时段"),
    "used_up": _lazy("次数已用完"),
    "method_not_allowed": _lazy("该出入口不支持此方式"),
    "point_disabled": _lazy("出入口已停用"),
    "blocked": _lazy("黑名单"),
    "moved_out": _lazy("已迁出"),
}


def _day(value, *, end: bool = False) -> datetime | None:
    try:
        d = datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    moment = timezone.make_aware(datetime.combine(d, time.min))
    return moment + timedelta(days=1) if end else moment


# --- events ---------------------------------------------------------------------------------------


@staff_page
def events(request, actor):
    g = request.GET
    estates, estate_id = pages.estate_filter(actor, g)
    qs = selectors.event_list(
        actor=actor,
        estate_id=estate_id,
        access_point_id=positive_int(g.get("access_point")),
        result=pages.choice(g.get("result"), AccessResult.values),
        method=pages.choice(g.get("method"), Method.values),
        subject_kind=pages.choice(g.get("subject_kind"), SubjectKind.values),
        since=_day(g.get("since")),
        until=_day(g.get("until"), end=True),
        person_id=positive_int(g.get("person")),
    )
    page = Paginator(qs, EVENTS_PAGE).get_page(g.get("page"))
    labels = {
        "method": dict(Method.choices),
        "direction": dict(Direction.choices),
        "subject": dict(SubjectKind.choices),
    }
    rows = [
        {
            "e": e,
            "who": mask_name(e.person.name)
            if e.person_id
            else (mask_name(e.visitor_pass.visitor_name) if e.visitor_pass_id else ""),
            "method": labels["method"].get(e.method, e.method),
            "direction": labels["direction"].get(e.direction, e.direction),
            "subject": labels["subject"].get(e.subject_kind, e.subject_kind),
            "reason": REASON_LABELS.get(e.reason, ""),
        }
        for e in page.object_list
    ]
    return render(
        request,
        "access/console/events.html",
        {
            "rows": rows,
            "page": page,
            "query": pages.query(g),
            "f": g,
            "estates": estates,
            "points": points_selectors.access_point_list(actor=actor, estate_id=estate_id)
            if actor.has(Perm.ACCESS_VIEW)
            else [],
            "methods": Method.choices,
            "subjects": SubjectKind.choices,
        },
    )


# --- analysis -------------------------------------------------------------------------------------


@staff_page
def analysis_page(request, actor):
    g = request.GET
    estates, estate_id = pages.estate_filter(actor, g)
    since, until = _day(g.get("since")), _day(g.get("until"), end=True)
    level = g.get("level") if g.get("level") in analysis.LEVELS else "gates"
    error = None
    try:
        flows = analysis.flows(actor=actor, since=since, until=until, estate_id=estate_id, level=level)
        visitors = analysis.visitor_stats(actor=actor, since=since, until=until, estate_id=estate_id)
    except ValidationFailed as exc:
        error = pages.error(exc)
        flows = analysis.flows(actor=actor, estate_id=estate_id, level=level)
        visitors = analysis.visitor_stats(actor=actor, estate_id=estate_id)
    kind_labels = dict(AccessPointKind.choices)
    for row in flows["by_point"]:
        row["kind_label"] = kind_labels.get(row["kind"], row["kind"])
    chart = {
        "hours": [r["hour"] for r in flows["by_hour"]],
        "entries": [r["entries"] for r in flows["by_hour"]],
        "exits": [r["exits"] for r in flows["by_hour"]],
        "denied": [r["denied"] for r in flows["by_hour"]],
        "labels": {"hour": _("时段"), "entries": _("进"), "exits": _("出"), "denied": _("被拒")},
    }
    kinds, channels = dict(VisitorKind.choices), dict(VisitorChannel.choices)
    return render(
        request,
        "access/console/analysis.html",
        {
            "flows": flows,
            "visitors": visitors,
            "visitor_kinds": [(kinds[k], n) for k, n in visitors["by_kind"].items()],
            "visitor_channels": [(channels[k], n) for k, n in visitors["by_channel"].items()],
            "denied_reasons": [
                (REASON_LABELS.get(k, ""), k, n) for k, n in visitors["denied_by_reason"].items()
            ],
            "chart": chart,
            "error": error,
            "f": g,
            "estates": estates,
            "since_day": timezone.localtime(flows["since"]).date().isoformat(),
            "until_day": (timezone.localtime(flows["until"]) - timedelta(microseconds=1)).date().isoformat(),
        },
    )


# --- anomalies ------------------------------------------------------------------------------------


@staff_page
def anomalies(request, actor):
    g = request.GET
    estates, estate_id = pages.estate_filter(actor, g)
    qs = selectors.anomaly_list(
        actor=actor,
        estate_id=estate_id,
        kind=pages.choice(g.get("kind"), AnomalyKind.values),
        status=pages.choice(g.get("status"), ("open", "closed")),
    )
    page = Paginator(qs, ANOMALIES_PAGE).get_page(g.get("page"))
    care = selectors.can_see_care(actor)
    homes = (
        selectors.person_home_labels(
            [a.person_id for a in page.object_list if a.person_id and a.health_sensitive]
        )
        if care
        else {}
    )
    kind_labels = dict(AnomalyKind.choices)
    rows = []
    for a in page.object_list:
        alarm = (a.detail or {}).get("alarm")
        rows.append(
            {
                "a": a,
                "label": ALARM_LABELS.get(alarm) or kind_labels.get(a.kind, a.kind),
                "who": mask_name(a.person.name) if a.person_id else "",
                "home": homes.get(a.person_id, "") if a.health_sensitive else "",
                "critical": (a.detail or {}).get("priority") == "critical",
                "can_close": a.status == "open" and services.can_handle(actor, a),
            }
        )
    kinds = [(k, v) for k, v in AnomalyKind.choices if care or k != AnomalyKind.NOT_SEEN]
    return render(
        request,
        "access/console/anomalies.html",
        {
            "rows": rows,
            "page": page,
            "query": pages.query(g),
            "f": g,
            "estates": estates,
            "kinds": kinds,
            "care": care,
        },
    )


@staff_page
@require_POST
def anomaly_close(request, actor, pk: int):
    anomaly = selectors.anomaly_get(actor=actor, pk=pk)
    try:
        services.anomaly_close(actor=actor, anomaly=anomaly, note=request.POST.get("note", ""))
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, pages.error(exc))
    else:
        messages.success(request, _("已处理"))
    target = pages.url("access:anomalies")
    back = request.POST.get("next", "")
    return redirect(f"{target}?{back}" if _SAFE_QUERY.match(back) else target)


urlpatterns = [
    path("events/", events, name="events"),
    path("analysis/", analysis_page, name="analysis"),
    path("anomalies/", anomalies, name="anomalies"),
    path("anomalies/<int:pk>/close/", anomaly_close, name="anomaly_close"),
]
