"""Resident phone pages of entry and exit: 一码通 (the rotating personal QR code) and visitor
invitations (list, new invitation, the share page that shows the visitor's link once).

QR images are inline SVG drawn on the server (``qrcode``): no CDN and no JavaScript library. A small
inline script refreshes the code and counts down; without JavaScript the page reloads itself.
"""

from __future__ import annotations

from datetime import timedelta

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.access import visitors
from linli.access.models import VisitorPassStatus
from linli.core.errors import Conflict, DomainError, ValidationFailed
from linli.core.views import positive_int, resident_page
from linli.notices.views import parse_local_datetime
from linli.people.validators import mask_phone

STATUS_LABELS = dict(VisitorPassStatus.choices)
SHARE_KEY = "linli_visitor_links"  # pass id → link token, popped by the share page (shown once)


def qr_svg(data: str, *, box_size: int = 10) -> SafeString:
    """An inline ``<svg>`` drawing ``data`` as a QR code (error correction M, quiet zone 4 modules so
    phone cameras and gate scanners find it on any background)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=4,
        image_factory=qrcode.image.svg.SvgPathFillImage,
    )
    code.add_data(data)
    code.make(fit=True)
    text = code.make_image().to_string(encoding="unicode")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :]
    # Drawn here from a signed code or our own URL (escaped by ElementTree), never user markup.
    return mark_safe(text.strip())  # noqa: S308


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _error_text(exc: DomainError) -> str:
    if exc.fields:
        return "；".join(m for ms in exc.fields.values() for m in ms)
    return exc.message


# --- 一码通 ------------------------------------------------------------------------------------


@resident_page
def code(request, actor):
    """The resident's rotating QR code, large and readable, and the ways in without a phone."""
    from linli.access import credentials

    error = ""
    code_text, expires_at, refresh_s = "", None, 20
    try:
        code_text, expires_at, refresh_s = credentials.qr_code_for(actor=actor)
    except DomainError as exc:
        error = _error_text(exc)
    seconds_left = max(0, int((expires_at - timezone.now()).total_seconds())) if expires_at else 0
    return render(
        request,
        "access/h5/code.html",
        {
            "h5_tab": "access",
            "error": error,
            "code": code_text,
            "svg": qr_svg(code_text) if code_text else "",
            "expires_at": expires_at,
            "refresh_s": max(5, int(refresh_s)),
            "seconds_left": seconds_left,
            "api_url": "/api/v1/access/credentials/me/qr",
            "requests": _my_requests(actor),
            "biometrics_url": _url_or_empty("h5access:biometrics"),
        },
    )


def _my_requests(actor) -> dict[str, str]:
    """kind → status label of the resident's own cards and PINs (requested or issued)."""
    from linli.access import credentials

    try:
        rows = credentials.my_credentials(actor=actor)
    except DomainError:
        return {}
    out: dict[str, str] = {}
    for row in rows:
        if row.kind in credentials.REQUESTABLE and row.kind not in out and row.status != "revoked":
            out[row.kind] = credentials.status_label(row.status)
    return out


@require_POST
@resident_page
def request_alternative(request, actor):
    """R22: a resident asks for an IC card or a PIN (no face, no phone needed at the door)."""
    from linli.access import credentials

    kind = request.POST.get("kind", "")
    try:
        _row, created = credentials.credential_request(actor=actor, kind=kind)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("申请已提交，物业工作人员会联系您发放。") if created else _("您已提交过申请，请等待物业发放。"),
        )
    return redirect("h5access:code")


# --- visitors ----------------------------------------------------------------------------------


@resident_page
def visitor_list(request, actor):
    now = timezone.now()
    rows = [
        {
            "p": p,
            "status": visitors.effective_status(p, now),
            "status_label": STATUS_LABELS[visitors.effective_status(p, now)],
            "entries_left": visitors.entries_left(p),
            "phone": mask_phone(p.visitor_phone),
        }
        for p in visitors.visitor_pass_list_mine(actor=actor)[:50]
    ]
    return render(request, "access/h5/visitors.html", {"h5_tab": "access", "rows": rows})


def _default_window() -> tuple[str, str]:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M"), (now + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")


@resident_page
def visitor_new(request, actor):
    rooms = visitors.resident_rooms(actor=actor)
    start, end = _default_window()
    values: dict = {"valid_from": start, "valid_until": end, "max_entries": 1}
    errors: dict = {}
    if request.method == "POST":
        p = request.POST
        values = {k: p.get(k, "")[:200] for k in (*visitors.FORM_FIELDS, "room_id")}
        try:
            issued = visitors.visitor_pass_create(
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
            "entries_choices": range(visitors.ENTRIES_MIN, visitors.ENTRIES_MAX + 1),
        },
    )


@resident_page
def visitor_share(request, actor, pk: int):
    """The visitor's link, shown once after the invitation (only its hash is stored)."""
    p = visitors.visitor_pass_get_mine(actor=actor, pk=pk)
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
            "entries_left": visitors.entries_left(p),
        },
    )


@require_POST
@resident_page
def visitor_revoke(request, actor, pk: int):
    p = visitors.visitor_pass_get_mine(actor=actor, pk=pk)
    try:
        visitors.visitor_pass_revoke(actor=actor, visitor_pass=p)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销，该访客码不能再使用"))
    return redirect("h5access:visitors")


urlpatterns = [
    path("", code, name="code"),
    path("request/", request_alternative, name="request_alternative"),
    path("visitors/", visitor_list, name="visitors"),
    path("visitors/new/", visitor_new, name="visitor_new"),
    path("visitors/<int:pk>/share/", visitor_share, name="visitor_share"),
    path("visitors/<int:pk>/revoke/", visitor_revoke, name="visitor_revoke"),
]
