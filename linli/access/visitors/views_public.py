"""The visitor's page ``/v/<link token>/``: no sign-in, the link token is the credential.

It shows the visitor's masked name, the host building (never the room), the window and the entries
left, and the rotating visitor code while the pass is usable. After the window, when used up or
revoked it says so and shows no code. Responses are never cached and send no referrer, so the link
does not leak into caches or other sites' logs.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from linli.access.credentials.views_h5 import qr_svg
from linli.access.visitors import selectors
from linli.core.errors import NotFound, RateLimited
from linli.core.pii import mask_name


def _private(response):
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def visitor_pass_page(request, token: str):
    try:
        selectors.link_rate_check(token)
        p = selectors.pass_for_link(token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except RateLimited as exc:
        return _private(
            render(
                request, "access/public/pass.html", {"rate_limited": True, "message": exc.message}, status=429
            )
        )
    now = timezone.now()
    reason = selectors.unavailable_reason(p, now)
    code, svg, expires_at, refresh_s = "", "", None, 20
    if reason is None:
        try:
            code, expires_at, refresh_s = selectors.visitor_code(p, now=now)
        except selectors.PassUnavailable as exc:  # the window closed between the two checks
            reason = exc.reason
        else:
            svg = qr_svg(code)
    building = p.host_room.building.name if p.host_room_id else ""
    return _private(
        render(
            request,
            "access/public/pass.html",
            {
                "p": p,
                "name": mask_name(p.visitor_name),
                "estate": p.estate.name,
                "building": building,
                "reason": reason,
                "entries_left": selectors.entries_left(p),
                "code": code,
                "svg": svg,
                "expires_at": expires_at,
                "refresh_s": max(5, int(refresh_s)),
                "api_url": reverse("api-v1:visitor_link_code", args=[token]),
            },
        )
    )


urlpatterns = [
    path("<str:token>/", visitor_pass_page, name="pass"),
]
