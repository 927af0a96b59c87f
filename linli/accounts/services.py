"""Account services: password sign-in with lockout, API tokens. (Writes; every change is audited.)"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import ApiToken, LoginAttempt, TokenScope, User
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied, RateLimited, Unauthenticated
from linli.core.scoping import Actor, build_actor

TOKEN_PREFIX = "lnl_"


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def login_is_locked(*, username: str, ip: str) -> bool:
    """Locked while the username or the source has ``LIMIT`` failures inside the window (since its
    last success) and the newest of them is younger than the lockout time (R41)."""
    now = timezone.now()
    since = now - timedelta(seconds=max(settings.LOGIN_FAILURE_WINDOW_SECONDS, settings.LOGIN_LOCKOUT_SECONDS))
    for key, value in (("username", username.lower()), ("ip", ip)):
        if not value:
            continue
        attempts = LoginAttempt.objects.filter(**{key: value}, at__gte=since)
        last_success = attempts.filter(succeeded=True).order_by("-at").values_list("at", flat=True).first()
        fails = attempts.filter(succeeded=False)
        if last_success:
            fails = fails.filter(at__gt=last_success)
        recent = list(fails.order_by("-at").values_list("at", flat=True)[: settings.LOGIN_FAILURE_LIMIT])
        if len(recent) < settings.LOGIN_FAILURE_LIMIT:
            continue
        within_window = recent[0] - recent[-1] <= timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        if within_window and now - recent[0] < timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS):
            return True
    return False


def password_login(*, username: str, password: str, ip: str) -> User:
    """Check a staff password. Same error for unknown user, wrong password and lockout (R41)."""
    username = (username or "").strip()
    failure = Unauthenticated(_("用户名或密码错误，或账号已被临时锁定"), code="invalid_credentials")
    if login_is_locked(username=username, ip=ip):
        with transaction.atomic():
            LoginAttempt.objects.create(username=username.lower(), ip=ip, succeeded=False, at=timezone.now())
            audit.record(Action.LOCKOUT, result="failure", actor_label=username[:150], reason="locked")
        raise failure
    user = authenticate(username=username, password=password)
    with transaction.atomic():
        LoginAttempt.objects.create(username=username.lower(), ip=ip, succeeded=user is not None, at=timezone.now())
        if user is None or user.kind != "staff":
            audit.record(Action.LOGIN_FAILED, result="failure", actor_label=username[:150])
        else:
            audit.record(Action.LOGIN, actor=user)
    if user is None or user.kind != "staff":
        raise failure
    return user


@transaction.atomic
def token_issue(*, user: User, name: str = "api", scope: str = TokenScope.WRITE,
                ttl: timedelta | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token; the raw value is returned once and only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:80] or "api", prefix=raw[:12], key_hash=_sha256(raw), scope=scope,
        expires_at=timezone.now() + ttl if ttl else None,
    )
    audit.record(Action.TOKEN_CREATE, actor=user, obj=token, detail={"scope": scope})
    return token, raw


def token_authenticate(*, raw: str) -> Actor | None:
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (ApiToken.objects.select_related("user").filter(key_hash=_sha256(raw), revoked_at__isnull=True)
             .first())
    now = timezone.now()
    if token is None or (token.expires_at and token.expires_at <= now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return build_actor(token.user, via="token", read_only=token.scope == TokenScope.READ)


@transaction.atomic
def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=actor.user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound()
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(Action.TOKEN_REVOKE, actor=actor, obj=token)
    return token


def ensure_not_rate_limited(count: int, limit: int) -> None:
    if count >= limit:
        raise RateLimited()


__all__ = ["PermissionDenied", "password_login", "token_authenticate", "token_issue", "token_revoke"]
