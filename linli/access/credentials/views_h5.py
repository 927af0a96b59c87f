"""Resident phone pages of 一码通: the rotating personal QR code, the ways in without a phone (cards and
PINs on request) and the QR image drawing shared with the visitor pages.

QR images are inline SVG drawn on the server (``qrcode``): no CDN and no JavaScript library. A small
inline script refreshes the code and counts down; without JavaScript the page reloads itself.
"""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.access import pages
from linli.access.credentials import services as credentials
from linli.core.errors import Conflict, DomainError, ValidationFailed
from linli.core.views import resident_page


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


# --- 一码通 ------------------------------------------------------------------------------------


@resident_page
def code(request, actor):
    """The resident's rotating QR code, large and readable, and the ways in without a phone."""
    error = ""
    code_text, expires_at, refresh_s = "", None, 20
    try:
        code_text, expires_at, refresh_s = credentials.qr_code_for(actor=actor)
    except DomainError as exc:
        error = pages.error(exc)
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
    kind = request.POST.get("kind", "")
    try:
        _row, created = credentials.credential_request(actor=actor, kind=kind)
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, pages.error(exc))
    else:
        messages.success(
            request,
            _("申请已提交，物业工作人员会联系您发放。") if created else _("您已提交过申请，请等待物业发放。"),
        )
    return redirect("h5access:code")


urlpatterns = [
    path("", code, name="code"),
    path("request/", request_alternative, name="request_alternative"),
]
