"""Resident H5 pages: sign-in by phone and SMS code, sign-out, and the "我的家" home page."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from linli.accounts import services as accounts
from linli.core.errors import DomainError, RateLimited
from linli.core.pii import InvalidIdentifier, mask_phone, parse_mobile
from linli.core.views import error_text
from linli.h5.selectors import resident_home
from linli.orgs.selectors import actor_for_user

PHONE_KEY = "linli_h5_phone"
BACKEND = "django.contrib.auth.backends.ModelBackend"


NEXT_KEY = "h5_login_next"


@never_cache
def login_view(request: HttpRequest):
    if request.user.is_authenticated:
        return redirect("h5:home" if request.user.kind == "resident" else "console:home")
    wanted = request.GET.get("next", "")
    if wanted.startswith("/h5/") and "//" not in wanted and "\\" not in wanted:
        request.session[NEXT_KEY] = wanted[:300]  # back to the H5 page that asked for sign-in
    phone = request.session.get(PHONE_KEY, "")
    step = "code" if phone else "phone"
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "send":
            try:
                phone = parse_mobile(request.POST.get("phone", ""))
                accounts.otp_request(phone=phone)
            except InvalidIdentifier as exc:
                error, step = str(exc), "phone"
            except RateLimited as exc:
                request.session[PHONE_KEY] = phone
                error, step = exc.message, "code"
            except DomainError as exc:
                error, step = error_text(exc), "phone"
            else:
                request.session[PHONE_KEY] = phone
                step = "code"
        elif action == "verify" and phone:
            try:
                user = accounts.otp_verify(phone=phone, code=request.POST.get("code", "")[:12])
            except DomainError as exc:
                error, step = error_text(exc), "code"
            else:
                login(request, user, backend=BACKEND)  # new session id
                request.session.pop(PHONE_KEY, None)
                return redirect(request.session.pop(NEXT_KEY, None) or "h5:home")
        elif action == "change":
            request.session.pop(PHONE_KEY, None)
            phone, step = "", "phone"
    return render(
        request,
        "h5/login.html",
        {
            "step": step,
            "error": error,
            "phone_masked": mask_phone(phone),
            "sent_note": _("如该手机号已登记为居民账号，验证码已发送。") if step == "code" else "",
        },
    )


@require_POST
def logout_view(request: HttpRequest):
    if request.user.is_authenticated:
        accounts.logout_record(user=request.user)
    logout(request)
    response = redirect("h5:login")
    response["Clear-Site-Data"] = '"cookies", "storage"'
    return response


@never_cache
@login_required(login_url="h5:login")
def home(request: HttpRequest):
    if request.user.kind != "resident":
        return redirect("console:home")
    data = resident_home(actor=actor_for_user(request.user))
    return render(request, "h5/home.html", {"home": data, "h5_tab": "home"})
