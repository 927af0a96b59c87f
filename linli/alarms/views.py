"""Alarm console pages: the live list (htmx poll every 2 s), detail with ack/clear/comment/assign,
history with statistics, rules, and the fire-safety overview per estate."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from linli.alarms import selectors, services
from linli.alarms.models import Severity
from linli.alarms.schemas import AlarmPageFilters
from linli.core.errors import DomainError, NotFound, PermissionDenied
from linli.core.listing import list_page
from linli.core.views import error_text, positive_int, staff_page
from linli.orgs.roles import Perm, Role
from linli.places.selectors import estate_list

PAGE_SIZE = 30


@staff_page
@never_cache
def live(request, actor):
    estate_id = positive_int(request.GET.get("estate"))
    items = selectors.alarm_live(actor=actor, estate_id=estate_id, limit=100)
    ctx = {
        "items": items,
        "estate_id": estate_id,
        "can_handle": actor.has(Perm.ALARMS_HANDLE),
        "estates": list(estate_list(actor=actor)[:100]),
    }
    if request.headers.get("HX-Request"):
        return render(request, "alarms/_live_rows.html", ctx)
    return render(request, "alarms/live.html", ctx)


@staff_page
def detail(request, actor, pk: int):
    alarm = selectors.alarm_get(actor=actor, pk=pk)
    return render(
        request,
        "alarms/detail.html",
        {
            "alarm": alarm,
            "history": selectors.alarm_history(alarm=alarm),
            "comments": selectors.alarm_comments(alarm=alarm),
            "notifications": selectors.alarm_notifications(alarm=alarm),
            "can_handle": actor.has(Perm.ALARMS_HANDLE),
        },
    )


@staff_page
@require_POST
def act(request, actor, pk: int, op: str):
    alarm = selectors.alarm_get(actor=actor, pk=pk)
    try:
        if op == "ack":
            services.alarm_ack(actor=actor, alarm=alarm, note=request.POST.get("note", ""))
        elif op == "clear":
            services.alarm_clear(actor=actor, alarm=alarm, note=request.POST.get("note", ""))
        elif op == "comment":
            services.alarm_comment(actor=actor, alarm=alarm, body=request.POST.get("body", ""))
        elif op == "assign":
            services.alarm_assign(
                actor=actor, alarm=alarm, assignee_id=positive_int(request.POST.get("assignee_id"))
            )
        else:
            raise Http404()
    except DomainError as exc:
        if isinstance(exc, PermissionDenied | NotFound):
            raise
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("已保存"))
    if request.headers.get("HX-Request"):
        return live(request)
    target = request.POST.get("next")
    return redirect(
        "alarms:live" if target == "live" else "alarms:detail", *([] if target == "live" else [pk])
    )


@staff_page
def history(request, actor):
    def alarms(f: AlarmPageFilters):  # the history page keeps the selector's own order
        return selectors.alarm_list(actor=actor, **f.selector_args(exclude={"ordering"}))

    listing = list_page(request, alarms, AlarmPageFilters, page_size=PAGE_SIZE)
    f = listing.filters
    try:
        stats = selectors.alarm_stats(actor=actor, since=f.since, until=f.until, estate_id=f.estate)
    except DomainError:
        stats = None
    return render(
        request,
        "alarms/history.html",
        {
            "page": listing.page,
            "stats": stats,
            "state": f.state,
            "severity": f.severity,
            "severities": Severity.choices,
            "query": listing.query,
            "f": request.GET,
        },
    )


@staff_page
def rules(request, actor):
    qs = selectors.rule_list(
        actor=actor,
        profile_id=positive_int(request.GET.get("profile")),
        device_id=positive_int(request.GET.get("device")),
    )
    return render(
        request, "alarms/rules.html", {"rules": qs[:500], "can_edit_device": actor.has(Perm.ALARMS_RULES)}
    )


@staff_page
@require_http_methods(["POST"])
def rule_toggle(request, actor, pk: int):
    rule = selectors.rule_get(actor=actor, pk=pk)
    try:
        services.rule_update(actor=actor, rule=rule, enabled=not rule.enabled)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("alarms:rules")


def may_trigger_demo(actor) -> bool:
    """The fire-scenario button of the demo (``linli.demo.views``) for those who may handle alarms."""
    return bool(actor.roles & {Role.PLATFORM_ADMIN, Role.PROPERTY_ADMIN}) and actor.has(Perm.ALARMS_HANDLE)


@staff_page
def fire_overview(request, actor):
    cards = selectors.fire_overview(actor=actor, estate_id=positive_int(request.GET.get("estate")))
    return render(
        request, "alarms/fire_overview.html", {"cards": cards, "demo_button": may_trigger_demo(actor)}
    )
