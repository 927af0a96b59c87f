"""Shared plumbing of every page: who may open it, and how domain errors become pages.

``staff_page`` and ``resident_page`` resolve the signed-in user into an ``Actor`` and pass it to the
view. Out of scope (``NotFound``) becomes a 404 page and a missing permission a 403 page, so ids of
other estates reveal nothing; any other domain error (invalid filter, illegal state change) renders
the error page with its status and message. Staff and residents are sent to their own side.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache

from linli.core.errors import DomainError, NotFound, PermissionDenied
from linli.core.scoping import resolve_actor


def _call(request, view, template: str, extra: dict, *args, **kwargs):
    actor = resolve_actor(request.user)
    try:
        return view(request, actor, *args, **kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except DomainError as exc:
        return render(request, template, {"error": exc, **extra}, status=exc.status)


def staff_page(view):
    """A console (or guard phone) page for staff; residents go to their H5 home."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.kind != "staff":
            return redirect("h5:home")
        return _call(request, view, "linli/error.html", {}, *args, **kwargs)

    return wrapper


def resident_page(view):
    """A resident H5 page (sign-in by phone); staff go to the console. Never cached (personal data)."""

    @never_cache
    @login_required(login_url="h5:login")
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.kind != "resident":
            return redirect("console:home")
        return _call(request, view, "linli/h5_error.html", {}, *args, **kwargs)

    return wrapper


def positive_int(value) -> int | None:
    """A query/form value as a database id (1 … 2⁶³−1), or None when absent or malformed."""
    try:
        number = int(str(value or "").strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 2**63 - 1 else None


def error_text(exc: DomainError) -> str:
    """A domain error as one line for a page message: its field messages, or its message."""
    if exc.fields:
        return "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    return exc.message


def bad_request(request, exception=None):
    """``handler400``: Django answers every body it refused with 400; a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 (under /api/ the envelope middleware makes it JSON)."""
    if isinstance(exception, RequestDataTooBig):
        return HttpResponse(_("上传的文件过大"), status=413, content_type="text/plain; charset=utf-8")
    return defaults.bad_request(request, exception)
