"""Account services: staff sign-in (password, lockout, TOTP), resident sign-in by SMS code, passwords,
and API tokens. Writes; every change is audited in the same transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from linli.accounts.models import ApiToken, LoginAttempt, OneTimeCode, TokenKind, TokenScope, User, UserKind
from linli.accounts.sms import get_sender
from linli.core import audit, crypto
from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied, RateLimited, Unauthenticated, ValidationFailed
from linli.core.pii import InvalidIdentifier, mask_phone, parse_mobile
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.orgs.selectors import actor_for_user

TOKEN_PREFIX = "lnl_"  # noqa: S105 (a public marker, not a secret)
TOTP_ISSUER = "Linli"
OTP_PURPOSE = "otp"
OTP_MAX_ATTEMPTS = 5
RESIDENT_TOKEN_TTL = timedelta(hours=12)
# Live sign-in tokens per user and kind (R42): signing in again from the same client (same token name)
# replaces its token; beyond this many clients the oldest token is revoked.
MAX_SIGN_IN_TOKENS = 3
INTEGRATION_TOKEN_DEFAULT_DAYS = 90
INTEGRATION_TOKEN_MAX_DAYS = 365
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _credentials_error() -> Unauthenticated:
    # One text, one code, one status for unknown user, wrong password, wrong code and lockout (R41).
    return Unauthenticated(_("用户名或密码错误，或账号已被临时锁定"), code="invalid_credentials")


# ---------------------------------------------------------------------------------------------------
# Staff sign-in


def login_is_locked(*, username: str, ip: str) -> bool:
    """Locked while the username or the source has ``LIMIT`` failures inside the window (since its
    last success) and the newest of them is younger than the lockout time (R41)."""
    now = timezone.now()
    horizon = max(settings.LOGIN_FAILURE_WINDOW_SECONDS, settings.LOGIN_LOCKOUT_SECONDS)
    since = now - timedelta(seconds=horizon)
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


def _record_attempt(*, username: str, ip: str, succeeded: bool) -> None:
    LoginAttempt.objects.create(
        username=username.lower()[:150], ip=ip[:45], succeeded=succeeded, at=timezone.now()
    )


@transaction.atomic
def _record_failure(*, username: str, ip: str, user: User | None, reason: str) -> None:
    """A failed attempt: counted, audited, and the lock itself audited when this one trips it."""
    _record_attempt(username=username, ip=ip, succeeded=False)
    audit.record(Action.LOGIN_FAILED, actor=user, result="failure", actor_label=username, reason=reason)
    if login_is_locked(username=username, ip=ip):
        audit.record(Action.LOCKOUT, actor=user, result="failure", actor_label=username, reason="threshold")


@transaction.atomic
def _record_locked(*, username: str, ip: str, user: User | None) -> None:
    _record_attempt(username=username, ip=ip, succeeded=False)
    audit.record(Action.LOCKOUT, actor=user, result="failure", actor_label=username, reason="locked")


def password_verify(*, username: str, password: str, ip: str) -> User:
    """First factor only: lockout, then the password. A failure is recorded and audited; a success is
    not yet a login (``login_complete`` or ``totp_login`` records it), so a second-factor failure
    cannot reset the failure counter."""
    username = (username or "").strip()[:150]
    if login_is_locked(username=username, ip=ip):
        _record_locked(username=username, ip=ip, user=None)
        raise _credentials_error()
    user = authenticate(username=username, password=password or "")
    if user is None or user.kind != UserKind.STAFF:
        _record_failure(username=username, ip=ip, user=None, reason="password")
        raise _credentials_error()
    return user


@transaction.atomic
def login_complete(*, user: User, ip: str, method: str) -> None:
    """Record a completed sign-in (all factors passed)."""
    _record_attempt(username=user.username, ip=ip, succeeded=True)
    audit.record(Action.LOGIN, actor=user, detail={"method": method})


def password_login(*, username: str, password: str, ip: str, otp: str | None = None) -> User:
    """Sign a staff user in with a password, plus the TOTP code if the user has confirmed TOTP.
    Same error for unknown user, wrong password, wrong or missing code and lockout (R41)."""
    user = password_verify(username=username, password=password, ip=ip)
    if user.totp_confirmed:
        return totp_login(user=user, code=otp or "", ip=ip)
    login_complete(user=user, ip=ip, method="password")
    return user


def _totp(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(user.totp_secret, issuer=TOTP_ISSUER, name=user.username)


def _totp_accept(user: User, code: str) -> bool:
    """Check a code against the current step ±1 and burn its step (a used code cannot be replayed)."""
    code = (code or "").strip().replace(" ", "")
    if not user.totp_secret or len(code) != 6 or not code.isdigit():
        return False
    try:
        step = _totp(user).verify_and_get_timecode(code, valid_window=1)
    except pyotp.exceptions.OTPVerificationError:
        return False
    # Conditional update: of two concurrent uses of one code only one wins.
    burned = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if burned:
        user.totp_last_step = step
    return bool(burned)


def second_factor_user(*, user_id: int) -> User | None:
    """The staff user whose password was verified earlier in this browser session (id kept server-side)."""
    return User.objects.filter(pk=user_id, is_active=True, kind=UserKind.STAFF, totp_confirmed=True).first()


def totp_login(*, user: User, code: str, ip: str) -> User:
    """Second factor for a user whose password was just verified. Failures count toward lockout."""
    if login_is_locked(username=user.username, ip=ip):
        _record_locked(username=user.username, ip=ip, user=user)
        raise _credentials_error()
    if not _totp_accept(user, code):
        _record_failure(username=user.username, ip=ip, user=user, reason="totp")
        raise _credentials_error()
    login_complete(user=user, ip=ip, method="password+totp")
    return user


# ---------------------------------------------------------------------------------------------------
# TOTP devices and passwords


@transaction.atomic
def totp_begin(*, user: User) -> str:
    """Start enrolment: a fresh secret, unconfirmed until a code from the app is entered. Returns the
    otpauth:// URI. Refused while TOTP is on (disable it first, with a code)."""
    if user.totp_confirmed:
        raise ValidationFailed(_("已启用动态口令，如需更换请先停用"), code="totp_already_enabled")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = 0
    user.save(update_fields=["totp_secret", "totp_last_step"])
    return totp_uri(user=user)


def totp_uri(*, user: User) -> str:
    return _totp(user).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


@transaction.atomic
def totp_confirm(*, user: User, code: str) -> None:
    if user.totp_confirmed or not user.totp_secret:
        raise ValidationFailed(_("请先开始绑定动态口令"), code="totp_not_pending")
    if not _totp_accept(user, code):
        raise ValidationFailed(fields={"code": [_("动态口令不正确")]})
    user.totp_confirmed = True
    user.save(update_fields=["totp_confirmed"])
    audit.record(Action.TOTP_ENABLE, actor=user, obj=user)


@transaction.atomic
def totp_disable(*, user: User, code: str) -> None:
    if not user.totp_confirmed:
        raise ValidationFailed(_("尚未启用动态口令"), code="totp_not_enabled")
    if not _totp_accept(user, code):
        raise ValidationFailed(fields={"code": [_("动态口令不正确")]})
    user.totp_secret = ""
    user.totp_confirmed = False
    user.save(update_fields=["totp_secret", "totp_confirmed"])
    audit.record(Action.TOTP_DISABLE, actor=user, obj=user)


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    """Change one's own password: the current one, then Django's validators (R40). Clears the
    first-login flag. Other sessions of the user end (their session hash no longer matches)."""
    if not user.check_password(old_password or ""):
        raise ValidationFailed(fields={"old_password": [_("当前密码不正确")]})
    if new_password == old_password:
        raise ValidationFailed(fields={"new_password": [_("新密码不能与当前密码相同")]})
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"new_password": list(exc.messages)}) from exc
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    tokens = tokens_revoke_all(user=user)  # a stolen token must not outlive the password (R42)
    audit.record(Action.PASSWORD_CHANGE, actor=user, obj=user, detail={"tokens_revoked": tokens})


def logout_record(*, user: User) -> None:
    audit.record(Action.LOGOUT, actor=user)


def login_attempt_list(*, user: User, limit: int = 20) -> list[LoginAttempt]:
    """The user's own recent sign-in attempts (time, source, outcome)."""
    return list(LoginAttempt.objects.filter(username=user.username.lower()).order_by("-at")[:limit])


# ---------------------------------------------------------------------------------------------------
# Residents: phone + one-time code


def _phone_or_error(phone: str) -> str:
    try:
        return parse_mobile(phone)
    except InvalidIdentifier as exc:
        raise ValidationFailed(fields={"phone": [str(exc)]}) from exc


def _otp_hash(code: str, phone: str) -> str:
    return crypto.blind_index(code + phone, purpose=OTP_PURPOSE)


def resident_for_phone(phone_hash: str) -> User | None:
    """The active resident account for a phone: its own number, or the number of its linked person."""
    residents = User.objects.filter(kind=UserKind.RESIDENT, is_active=True)
    user = residents.filter(phone_hash=phone_hash).first()
    if user is None:
        user = residents.filter(person__phone_hash=phone_hash).order_by("pk").first()
    return user


def _lock_phone(phone_hash: str) -> None:
    # Serialise code requests for one phone so the hourly quota is not a check-then-act race.
    # (SQLite already serialises writers: transactions BEGIN IMMEDIATE.)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [int(phone_hash[:15], 16)])


@transaction.atomic
def otp_request(*, phone: str) -> None:
    """Send a 6-digit sign-in code if the phone belongs to a resident account. The answer, the quota
    and the stored rows are the same for known and unknown numbers, so nothing can be enumerated."""
    phone = _phone_or_error(phone)
    phone_hash = crypto.blind_index(phone, purpose=crypto.INDEX_PHONE)
    _lock_phone(phone_hash)
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    recent = OneTimeCode.objects.filter(phone_hash=phone_hash, created_at__gte=hour_ago).count()
    if recent >= settings.OTP_MAX_PER_HOUR:
        raise RateLimited(_("验证码发送过于频繁，请稍后再试"))
    code = f"{secrets.randbelow(1_000_000):06d}"
    OneTimeCode.objects.create(
        phone_hash=phone_hash,
        code_hash=_otp_hash(code, phone),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
    )
    user = resident_for_phone(phone_hash)
    if user is None:
        return  # a row was stored (quota) but nothing is sent: that code can never be used
    audit.record(Action.OTP_SENT, actor=user)
    minutes = max(1, settings.OTP_TTL_SECONDS // 60)
    message = _("【邻里】您的登录验证码为 %(code)s，%(minutes)d 分钟内有效。如非本人操作，请忽略本短信。") % {
        "code": code,
        "minutes": minutes,
    }
    transaction.on_commit(lambda: get_sender().send(phone, message))


def otp_verify(*, phone: str, code: str) -> User:
    """Check a sign-in code: newest unexpired unused code for the phone, at most 5 tries, single use."""
    phone = _phone_or_error(phone)
    phone_hash = crypto.blind_index(phone, purpose=crypto.INDEX_PHONE)
    failure = Unauthenticated(_("验证码错误或已失效"), code="invalid_code")
    now = timezone.now()
    otp = (
        OneTimeCode.objects.filter(phone_hash=phone_hash, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-pk")
        .first()
    )
    user = resident_for_phone(phone_hash) if otp else None
    ok = False
    if otp is not None:
        # Count the try first (committed even when the code is wrong), then check and burn it.
        tried = OneTimeCode.objects.filter(pk=otp.pk, attempts__lt=OTP_MAX_ATTEMPTS).update(
            attempts=F("attempts") + 1
        )
        code = (code or "").strip()
        if tried and hmac.compare_digest(otp.code_hash, _otp_hash(code, phone)):
            ok = bool(OneTimeCode.objects.filter(pk=otp.pk, used_at__isnull=True).update(used_at=now))
    with transaction.atomic():
        if ok and user is not None:
            audit.record(Action.LOGIN, actor=user, detail={"method": "sms"})
            return user
        audit.record(
            Action.LOGIN_FAILED,
            actor=user,
            result="failure",
            actor_label=mask_phone(phone),
            reason="sms_code",
        )
    raise failure


@transaction.atomic
def resident_phone_set(*, user: User, phone: str) -> User:
    """Store a resident account's own mobile number (encrypted + blind index)."""
    phone = _phone_or_error(phone)
    user.phone = phone
    user.phone_hash = crypto.blind_index(phone, purpose=crypto.INDEX_PHONE)
    user.save(update_fields=["phone", "phone_hash"])
    return user


# ---------------------------------------------------------------------------------------------------
# API tokens


@transaction.atomic
def token_issue(
    *,
    user: User,
    name: str = "api",
    scope: str = TokenScope.WRITE,
    ttl: timedelta | None = None,
    kind: str = TokenKind.LOGIN,
) -> tuple[ApiToken, str]:
    """Create a bearer token; the raw value is returned once and only its hash is kept. Sign-in kinds
    expire with the session's absolute lifetime at the latest."""
    if scope not in TokenScope.values:
        raise ValidationFailed(fields={"scope": [_("可选值：read, write")]})
    if kind != TokenKind.INTEGRATION:
        lifetime = timedelta(seconds=settings.SESSION_COOKIE_AGE)
        ttl = min(ttl, lifetime) if ttl else lifetime
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=(name or "")[:80] or "api",
        prefix=raw[:12],
        key_hash=_sha256(raw),
        scope=scope,
        kind=kind,
        password_hmac=user.get_session_auth_hash(),
        expires_at=timezone.now() + ttl if ttl else None,
    )
    audit.record(Action.TOKEN_CREATE, actor=user, obj=token, detail={"scope": scope, "kind": kind})
    return token, raw


@transaction.atomic
def _sign_in_token_issue(
    *, user: User, name: str, kind: str, ttl: timedelta | None = None
) -> tuple[ApiToken, str]:
    """A sign-in token that replaces the one the same client got before, keeping at most
    ``MAX_SIGN_IN_TOKENS`` live per user and kind (signing in again does not pile tokens up)."""
    name = (name or "")[:80] or "api"
    live = list(
        ApiToken.objects.select_for_update()
        .filter(user=user, kind=kind, revoked_at__isnull=True)
        .order_by("-created_at", "-pk")
    )
    others = [t for t in live if t.name != name]
    stale = [t.pk for t in live if t.name == name] + [t.pk for t in others[MAX_SIGN_IN_TOKENS - 1 :]]
    if stale:
        ApiToken.objects.filter(pk__in=stale).update(revoked_at=timezone.now())
    return token_issue(user=user, name=name, kind=kind, ttl=ttl)


def login_token_issue(*, user: User, name: str = "api") -> tuple[ApiToken, str]:
    """A token right after a password sign-in; refused while the initial password is unchanged (R39).
    It lives like a staff session: idle timeout, absolute lifetime, rotated on the next sign-in."""
    if user.must_change_password:
        raise PermissionDenied(_("请先登录管理后台修改初始密码"), code="password_change_required")
    return _sign_in_token_issue(user=user, name=name, kind=TokenKind.LOGIN)


def resident_token_issue(*, user: User) -> tuple[ApiToken, str]:
    """A 12-hour token right after a resident's SMS sign-in, replacing the previous one."""
    return _sign_in_token_issue(user=user, name="h5", kind=TokenKind.RESIDENT, ttl=RESIDENT_TOKEN_TTL)


def token_create(
    *, actor: Actor, name: str, scope: str, expires_in_days: int = INTEGRATION_TOKEN_DEFAULT_DAYS
) -> tuple[ApiToken, str]:
    """A named token for an integration, created by a user allowed to manage tokens. It has no idle
    timeout and survives sign-ins, so it always has the expiry its creator chose (at most a year)."""
    actor.require(Perm.TOKENS_MANAGE, write=True)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(fields={"name": [_("请填写令牌名称")]})
    if not 1 <= expires_in_days <= INTEGRATION_TOKEN_MAX_DAYS:
        raise ValidationFailed(fields={"expires_in_days": [_("有效期须在 1 到 365 天之间")]})
    return token_issue(
        user=actor.user,
        name=name,
        scope=scope,
        kind=TokenKind.INTEGRATION,
        ttl=timedelta(days=expires_in_days),
    )


def token_list(*, actor: Actor):
    """The actor's own tokens, newest first (hashes never leave the server)."""
    return ApiToken.objects.filter(user=actor.user).order_by("-created_at", "-pk")


def token_authenticate(*, raw: str, method: str | None = None) -> Actor | None:
    """Resolve a bearer token. With ``method``, a read-only token used for a write is refused (403)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user").filter(key_hash=_sha256(raw), revoked_at__isnull=True).first()
    )
    now = timezone.now()
    if token is None or not token.is_live_at(now) or not token.user.is_active:
        return None
    if not constant_time_compare(token.password_hmac, token.user.get_session_auth_hash()):
        return None  # the password changed since the token was issued (R42)
    read_only = token.scope == TokenScope.READ
    if read_only and method is not None and method.upper() not in SAFE_METHODS:
        raise PermissionDenied(_("该令牌为只读令牌"), code="read_only_token")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return actor_for_user(token.user, via="token", read_only=read_only)


@transaction.atomic
def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens (a read-only token cannot do it)."""
    if actor.read_only:
        raise PermissionDenied(_("该令牌为只读令牌"), code="read_only_token")
    token = ApiToken.objects.filter(pk=token_id, user=actor.user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound()
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(Action.TOKEN_REVOKE, actor=actor, obj=token)
    return token


def tokens_revoke_all(*, user: User) -> int:
    """Revoke every live token of a user (account disable, password change). Caller audits."""
    return ApiToken.objects.filter(Q(user=user), revoked_at__isnull=True).update(revoked_at=timezone.now())


def ensure_not_rate_limited(count: int, limit: int) -> None:
    if count >= limit:
        raise RateLimited()


__all__ = ["PermissionDenied", "password_login", "token_authenticate", "token_issue", "token_revoke"]
