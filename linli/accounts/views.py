"""Staff sign-in (password, then TOTP when enabled), sign-out, and the account security pages."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from linli.accounts import forms, services
from linli.accounts.models import User
from linli.core.errors import DomainError, ValidationFailed
from linli.core.middleware import client_ip
from linli.orgs.roles import Perm
from linli.orgs.selectors import actor_for_user

PENDING_KEY = "linli_2fa_pending"
PENDING_SECONDS = 300
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _finish_login(request: HttpRequest, user: User, next_url: str):
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=BACKEND)  # new session id (no fixation)
    if user.must_change_password:
        return redirect("accounts:password_change")
    return redirect(next_url or "console:home")


def _apply_errors(form, exc: ValidationFailed) -> None:
    for name, errors in (exc.fields or {"__all__": [exc.message]}).items():
        for err in errors:
            form.add_error(name if name in form.fields else None, err)


@never_cache
def login_view(request: HttpRequest):
    if request.user.is_authenticated:
        return redirect("console:home")
    next_url = _next_url(request)
    if request.method == "GET" and next_url and next_url.startswith("/h5/"):
        # Resident pages send anonymous visitors here (settings.LOGIN_URL); they sign in by phone.
        return redirect(f"{reverse('h5:login')}?{urlencode({'next': next_url})}")
    ip = client_ip(request)
    pending = request.session.get(PENDING_KEY)
    if pending and time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        pending = None

    if request.method == "POST" and request.POST.get("step") == "totp" and pending:
        form = forms.CodeForm(request.POST)
        user = services.second_factor_user(user_id=pending["uid"])
        if form.is_valid() and user is not None:
            try:
                services.totp_login(user=user, code=form.cleaned_data["code"], ip=ip)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return _finish_login(request, user, pending.get("next", ""))
        return render(request, "accounts/login.html", {"step": "totp", "form": form, "next": next_url})

    form = forms.LoginForm(
        request.POST if request.method == "POST" and request.POST.get("step") != "totp" else None
    )
    if form.is_bound and form.is_valid():
        try:
            user = services.password_verify(
                username=form.cleaned_data["username"], password=form.cleaned_data["password"], ip=ip
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if user.totp_confirmed:
                request.session[PENDING_KEY] = {"uid": user.pk, "at": int(time.time()), "next": next_url}
                return render(
                    request,
                    "accounts/login.html",
                    {"step": "totp", "form": forms.CodeForm(), "next": next_url},
                )
            services.login_complete(user=user, ip=ip, method="password")
            return _finish_login(request, user, next_url)
    return render(request, "accounts/login.html", {"step": "password", "form": form, "next": next_url})


@require_POST
def logout_view(request: HttpRequest):
    """Sign out: the server-side session is deleted and the browser told to drop its state (R53)."""
    if request.user.is_authenticated:
        services.logout_record(user=request.user)
    logout(request)
    response = redirect("accounts:login")
    response["Clear-Site-Data"] = '"cookies", "storage"'
    return response


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@never_cache
@login_required
def security(request: HttpRequest):
    user = request.user
    code_form = forms.CodeForm()
    if request.method == "POST" and request.POST.get("action") == "totp_disable":
        code_form = forms.CodeForm(request.POST)
        if code_form.is_valid():
            try:
                services.totp_disable(user=user, code=code_form.cleaned_data["code"])
            except ValidationFailed as exc:
                _apply_errors(code_form, exc)
            else:
                messages.success(request, _("已停用动态口令"))
                return redirect("accounts:security")
    return render(
        request,
        "accounts/security.html",
        {
            "code_form": code_form,
            "attempts": services.login_attempt_list(user=user),
        },
    )


@never_cache
@login_required
def totp_setup(request: HttpRequest):
    user = request.user
    if user.totp_confirmed:
        return redirect("accounts:security")
    form = forms.CodeForm()
    if request.method == "POST" and request.POST.get("action") == "begin":
        services.totp_begin(user=user)
    elif request.method == "POST":
        form = forms.CodeForm(request.POST)
        if form.is_valid():
            try:
                services.totp_confirm(user=user, code=form.cleaned_data["code"])
            except ValidationFailed as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("已启用动态口令，下次登录时需输入动态口令"))
                return redirect("accounts:security")
    if not user.totp_secret:
        return redirect("accounts:security")
    uri = services.totp_uri(user=user)
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "form": form,
            "uri": uri,
            "secret": user.totp_secret,
            "qr_svg": mark_safe(_qr_svg(uri)),  # noqa: S308
        },
    )


@never_cache
@login_required
def password_change(request: HttpRequest):
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改"))
            return redirect("console:home")
    return render(
        request, "accounts/password_change.html", {"form": form, "forced": request.user.must_change_password}
    )


@never_cache
@login_required
def tokens(request: HttpRequest):
    actor = actor_for_user(request.user)
    form = forms.TokenCreateForm()
    created_raw = ""
    if request.method == "POST" and request.POST.get("action") == "revoke":
        try:
            services.token_revoke(actor=actor, token_id=int(request.POST.get("token_id", "0") or 0))
        except (DomainError, ValueError):
            messages.error(request, _("令牌不存在或已吊销"))
        else:
            messages.success(request, _("令牌已吊销"))
        return redirect("accounts:tokens")
    if request.method == "POST":
        form = forms.TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                _token, created_raw = services.token_create(
                    actor=actor,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires_in_days=form.cleaned_data["expires_in_days"]
                    or services.INTEGRATION_TOKEN_DEFAULT_DAYS,
                )
            except ValidationFailed as exc:
                _apply_errors(form, exc)
            except DomainError as exc:
                return HttpResponse(exc.message, status=exc.status)
            else:
                form = forms.TokenCreateForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "created_raw": created_raw,
            "tokens": services.token_list(actor=actor),
            "can_create": actor.has(Perm.TOKENS_MANAGE),
        },
    )
