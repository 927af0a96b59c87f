"""Idle timeout for signed-in sessions (R42): staff 15 min by default, residents longer."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout


class SessionTimeoutMiddleware:
    KEY = "linli_last_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            idle = (settings.RESIDENT_SESSION_IDLE_SECONDS if user.kind == "resident"
                    else settings.SESSION_IDLE_SECONDS)
            last = request.session.get(self.KEY)
            if last is not None and now - int(last) > idle:
                from linli.core import audit
                from linli.core.audit import Action

                audit.record(Action.SESSION_EXPIRED, actor=user)
                logout(request)
            elif last is None or now - int(last) >= 30:  # write the session at most every 30 s
                request.session[self.KEY] = now
        return self.get_response(request)
