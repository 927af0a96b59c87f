"""API authentication: ``Authorization: Bearer <token>`` or the signed-in browser session.

Both resolve the caller into an ``Actor`` (``request.auth``; read it with ``core.api.actor_of``).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer

from linli.accounts.services import token_authenticate
from linli.core.errors import PermissionDenied
from linli.core.scoping import Actor
from linli.orgs.selectors import actor_for_user


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>`` with a token from ``POST /api/v1/auth/token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        actor = token_authenticate(raw=token)
        if actor is not None and actor.read_only and request.method not in ("GET", "HEAD", "OPTIONS"):
            raise PermissionDenied(_("该令牌为只读令牌，不能执行写操作"))
        return actor


class SessionAuth(APIKeyCookie):
    """The signed-in browser session (console and H5 pages), with CSRF on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return actor_for_user(user, via="session")


AUTH = [BearerAuth(), SessionAuth(csrf=True)]
