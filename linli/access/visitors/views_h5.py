"""Resident phone pages of visitor invitations: the list, a new invitation and the share page that
shows the visitor's link once (the QR image is drawn like the 一码通 page's, ``qr_svg``)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.access.credentials.views_h5 import qr_svg
from linli.access.models import VisitorPassStatus
from linli.access.visitors import selectors, services
from linli.core.errors import Conflict, ValidationFailed
from linli.core.pii import mask_phone
from linli.core.views import positive_int, resident_page
from linli.notices.views import parse_local_datetime

STATUS_LABELS = dict(VisitorPassStatus.choices)
SHARE_KEY = "linli_visitor_links"  # pass id → link token, popped by the share page (shown once)


@resident_page
def visitor_list(request, actor):
    now = timezone.now()
    rows = [
        {
            "p": p,
            "status": selectors.effective_status(p, now),
            "status_label": STATUS_LABELS[selectors.effective_status(p, now)],
            "entries_left": selectors.entries_left(p),
            "phone": mask_phone(p.visitor_phone),
        }
        for p in selectors.visitor_pass_list_mine(actor=actor)[:50]
    ]
    return render(request, "access/h5/visitors.html", {"h5_tab": "access", "rows": rows})


def _default_window() -> tuple[str, str]:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M"), (now + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")


@resident_page
def visitor_new(request, actor):
    rooms = selectors.resident_rooms(actor=actor)
    start, end = _default_window()
    values: dict = {"valid_from": start, "valid_until": end, "max_entries": 1}
    errors: dict = {}
    if request.method == "POST":
        p = request.POST
        values = {k: p.get(k, "")[:200] for k in (*services.FORM_FIELDS, "room_id")}
        try:
            issued = services.visitor_pass_create(
                actor=actor,
                visitor_name=values["visitor_name"],
                visitor_phone=values["visitor_phone"],
                valid_from=parse_local_datetime(values["valid_from"]),
                valid_until=parse_local_datetime(values["valid_until"]),
                max_entries=positive_int(values["max_entries"]) or 0,
                plate=values["plate"],
                purpose=values["purpose"],
                room_id=positive_int(values["room_id"]),
            )
        except ValidationFailed as exc:
            errors = exc.fields or {"__all__": [exc.message]}
        else:
            links = request.session.get(SHARE_KEY, {})
            links = dict(list(links.items())[-4:])  # keep at most a few unseen links
            links[str(issued.visitor_pass.pk)] = issued.link_token
            request.session[SHARE_KEY] = links
            return redirect("h5access:visitor_share", pk=issued.visitor_pass.pk)
    return render(
        request,
        "access/h5/visitor_new.html",
        {
            "h5_tab": "access",
            "rooms": rooms,
            "values": values,
            "errors": errors,
            "entries_choices": range(services.ENTRIES_MIN, services.ENTRIES_MAX + 1),
        },
    )


@resident_page
def visitor_share(request, actor, pk: int):
    """The visitor's link, shown once after the invitation (only its hash is stored)."""
    p = selectors.visitor_pass_get_mine(actor=actor, pk=pk)
    links = request.session.get(SHARE_KEY, {})
    token = links.pop(str(p.pk), None)
    request.session[SHARE_KEY] = links
    link = request.build_absolute_uri(reverse("visit:pass", args=[token])) if token else ""
    return render(
        request,
        "access/h5/visitor_share.html",
        {
            "h5_tab": "access",
            "p": p,
            "link": link,
            "link_svg": qr_svg(link, box_size=6) if link else "",
            "entries_left": selectors.entries_left(p),
        },
    )


@require_POST
@resident_page
def visitor_revoke(request, actor, pk: int):
    p = selectors.visitor_pass_get_mine(actor=actor, pk=pk)
    try:
        services.visitor_pass_revoke(actor=actor, visitor_pass=p)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销，该访客码不能再使用"))
    return redirect("h5access:visitors")


urlpatterns = [
    path("visitors/", visitor_list, name="visitors"),
    path("visitors/new/", visitor_new, name="visitor_new"),
    path("visitors/<int:pk>/share/", visitor_share, name="visitor_share"),
    path("visitors/<int:pk>/revoke/", visitor_revoke, name="visitor_revoke"),
]
