"""Session policy for signed-in browsers.

* Idle timeout (R42): staff 15 min by default, residents longer.
* First sign-in: a staff user with an initial password sees only the password change page.
* Areas: a resident never reaches staff pages (console, account pages, admin) and is sent to the
  resident H5 home; a staff user opening resident H5 pages is sent to the console.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

# Path prefixes of each area (kept in step with linli/config/urls.py).
STAFF_AREAS = ("/console/", "/accounts/", "/admin/", "/m/")
RESIDENT_AREAS = ("/h5/",)
# Pages open to both kinds: signing out must always work.
OPEN_PATHS = ("/accounts/logout/", "/h5/logout/")


def area_redirect(user, path: str):
    """The redirect that keeps ``user`` in its own area, or None when ``path`` is allowed."""
    if path.startswith(OPEN_PATHS):
        return None
    if user.kind == "resident" and path.startswith(STAFF_AREAS):
        return redirect("h5:home")
    if user.kind != "resident" and path.startswith(RESIDENT_AREAS):
        return redirect("console:home")
    if (
        user.must_change_password
        and path.startswith(STAFF_AREAS)
        and path != reverse("accounts:password_change")
    ):
        return redirect("accounts:password_change")  # first sign-in with an initial password (R39)
    return None


class SessionTimeoutMiddleware:
    KEY = "linli_last_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            idle = (
                settings.RESIDENT_SESSION_IDLE_SECONDS
                if user.kind == "resident"
                else settings.SESSION_IDLE_SECONDS
            )
            last = request.session.get(self.KEY)
            if last is not None and now - int(last) > idle:
                from linli.core import audit
                from linli.core.audit import Action

                audit.record(Action.SESSION_EXPIRED, actor=user)
                logout(request)
            else:
                if last is None or now - int(last) >= 30:  # write the session at most every 30 s
                    request.session[self.KEY] = now
                response = area_redirect(user, request.path_info)
                if response is not None:
                    return response
        return self.get_response(request)
