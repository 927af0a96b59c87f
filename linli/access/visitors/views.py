"""The gate console (门岗): today's visitors in scope, walk-in registration, delivery and service
passes, revocation and staff-assisted entry (R23: a visitor without a phone can always be let in by
a guard, and the entry is recorded as an access event).

Every page needs ``access.guard``; reading today's visitors is audited (visitor arrivals tied to a
name are whereabouts, R17). A new walk-in or staff pass shows its printable code once.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.access import pages
from linli.access.credentials.views_h5 import qr_svg
from linli.access.models import VisitorKind, VisitorPassStatus
from linli.access.visitors import entry as staff_entry
from linli.access.visitors import selectors, services
from linli.core.errors import Conflict, NotFound, ValidationFailed
from linli.core.pii import mask_name, mask_phone
from linli.core.views import positive_int, staff_page
from linli.orgs.roles import Perm
from linli.places.selectors import estate_list

PRINT_KEY = "linli_guard_printable"  # pass id + link token of the pass just issued (shown once)
STATUS_LABELS = dict(VisitorPassStatus.choices)
ROOMS_MAX = 3000  # the room picker lists at most this many rooms of one estate


# Stable deny reasons of access decisions (issue #5 contract) as guards read them.
REASON_TEXT = {
    "ok": gettext_lazy("放行"),
    "malformed": gettext_lazy("二维码格式无效"),
    "unknown_key": gettext_lazy("二维码不是本小区签发的"),
    "forged": gettext_lazy("二维码被篡改"),
    "expired": gettext_lazy("已过有效期"),
    "not_yet_valid": gettext_lazy("尚未生效"),
    "replayed": gettext_lazy("该二维码已在此处使用过"),
    "revoked": gettext_lazy("已被撤销"),
    "unknown_credential": gettext_lazy("凭证不存在"),
    "not_allowed": gettext_lazy("通行规则不允许此时在此处通行"),
    "outside_window": gettext_lazy("不在有效时间内"),
    "used_up": gettext_lazy("进入次数已用完"),
    "method_not_allowed": gettext_lazy("此出入口不支持该通行方式"),
    "point_disabled": gettext_lazy("出入口已停用"),
    "blocked": gettext_lazy("已被列入禁止通行名单"),
    "moved_out": gettext_lazy("已迁出"),
}


def _reason_text(reason: str) -> str:
    return str(REASON_TEXT.get(reason, reason))


def _estate_id(estates, value) -> int | None:
    wanted = positive_int(value)
    if wanted and any(e.pk == wanted for e in estates):
        return wanted
    return estates[0].pk if estates else None


def _back(estate_id) -> str:
    url = reverse("access:visitors")
    return f"{url}?estate={estate_id}" if estate_id else url


def _printable(request, actor):
    """The pass issued just before this page load, with its code as a QR (popped: shown once)."""
    held = request.session.pop(PRINT_KEY, None)
    if not held:
        return None
    try:
        p = selectors.visitor_pass_get(actor=actor, pk=held["id"])
        code, expires_at = selectors.visitor_printable_code(p)
    except (NotFound, selectors.PassUnavailable):
        return None
    link = request.build_absolute_uri(reverse("visit:pass", args=[held["link"]]))
    return {"p": p, "svg": qr_svg(code, box_size=6), "expires_at": expires_at, "link": link}


@staff_page
def visitor_console(request, actor):
    actor.require(Perm.ACCESS_GUARD)
    estates = list(estate_list(actor=actor, perm=Perm.ACCESS_GUARD))
    estate_id = _estate_id(estates, request.GET.get("estate"))
    now = timezone.now()
    passes = list(selectors.visitors_today(actor=actor, estate_id=estate_id, now=now)[:500])
    selectors.visitors_today_audit(actor=actor, estate_id=estate_id, count=len(passes))
    rows = [
        {
            "p": p,
            "name": mask_name(p.visitor_name),
            "phone": mask_phone(p.visitor_phone),
            "status": selectors.effective_status(p, now),
            "status_label": STATUS_LABELS[selectors.effective_status(p, now)],
            "usable": selectors.unavailable_reason(p, now) is None,
            "entries_left": selectors.entries_left(p),
        }
        for p in passes
    ]
    rooms = list(selectors.guard_rooms(actor=actor, estate_id=estate_id)[:ROOMS_MAX]) if estate_id else []
    return render(
        request,
        "access/guard/visitors.html",
        {
            "estates": estates,
            "estate_id": estate_id,
            "rows": rows,
            "rooms": rooms,
            "points": selectors.guard_access_points(actor=actor, estate_id=estate_id) if estate_id else [],
            "printable": _printable(request, actor),
            "staff_kinds": [(k, VisitorKind(k).label) for k in services.STAFF_PASS_MINUTES_MAX],
            "entries_choices": range(services.ENTRIES_MIN, services.ENTRIES_MAX + 1),
            "walk_in_hours_max": services.WALK_IN_HOURS_MAX,
        },
    )


def _fields(post) -> dict:
    return {k: post.get(k, "")[:200] for k in ("visitor_name", "visitor_phone", "plate", "purpose")}


def _hold(request, issued: services.IssuedPass) -> None:
    request.session[PRINT_KEY] = {"id": issued.visitor_pass.pk, "link": issued.link_token}


@require_POST
@staff_page
def walk_in(request, actor):
    p = request.POST
    estate_id = positive_int(p.get("estate"))
    try:
        issued = services.visitor_walk_in_register(
            actor=actor,
            room_id=positive_int(p.get("room_id")) or 0,
            hours=positive_int(p.get("hours")) or 0,
            max_entries=positive_int(p.get("max_entries")) or 0,
            **_fields(p),
        )
    except (ValidationFailed, NotFound) as exc:
        messages.error(request, _("登记未成功：") + pages.error(exc))
    else:
        _hold(request, issued)
        messages.success(
            request, _("已登记临时访客 %(name)s") % {"name": mask_name(issued.visitor_pass.visitor_name)}
        )
    return redirect(_back(estate_id))


@require_POST
@staff_page
def staff_pass(request, actor):
    p = request.POST
    estate_id = positive_int(p.get("estate"))
    try:
        issued = services.visitor_staff_pass_issue(
            actor=actor,
            estate_id=estate_id or 0,
            kind=p.get("kind", ""),
            minutes=positive_int(p.get("minutes")) or 0,
            max_entries=positive_int(p.get("max_entries")) or 0,
            room_id=positive_int(p.get("room_id")),
            **_fields(p),
        )
    except (ValidationFailed, NotFound) as exc:
        messages.error(request, _("签发未成功：") + pages.error(exc))
    else:
        _hold(request, issued)
        messages.success(
            request, _("已签发 %(kind)s 通行证") % {"kind": issued.visitor_pass.get_kind_display()}
        )
    return redirect(_back(estate_id))


@require_POST
@staff_page
def entry(request, actor, pk: int):
    visitor_pass = selectors.visitor_pass_get(actor=actor, pk=pk)
    try:
        result = staff_entry.visitor_staff_entry(
            actor=actor,
            visitor_pass=visitor_pass,
            access_point_id=positive_int(request.POST.get("access_point")) or 0,
        )
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, pages.error(exc))
    else:
        if result.result == "allow":
            messages.success(request, _("已人工核验放行，并记入通行记录"))
        else:
            messages.error(
                request,
                _("不能放行：%(reason)s") % {"reason": _reason_text(result.reason)},
            )
    return redirect(_back(visitor_pass.estate_id))


@require_POST
@staff_page
def revoke(request, actor, pk: int):
    visitor_pass = selectors.visitor_pass_get(actor=actor, pk=pk)
    try:
        services.visitor_pass_revoke(actor=actor, visitor_pass=visitor_pass)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销该访客通行证"))
    return redirect(_back(visitor_pass.estate_id))


urlpatterns = [
    path("visitors/", visitor_console, name="visitors"),
    path("visitors/walk-in/", walk_in, name="visitor_walk_in"),
    path("visitors/staff-pass/", staff_pass, name="visitor_staff_pass"),
    path("visitors/<int:pk>/entry/", entry, name="visitor_entry"),
    path("visitors/<int:pk>/revoke/", revoke, name="visitor_revoke"),
]
