"""Accounts: staff and resident users, login attempts (lockout), one-time codes and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, field
from linli.core.fields import EncryptedTextField

_SECRET = field(pi=PIType.NONE, level=Level.L4, category=SensitiveCategory.AUTH_SECRET)


class UserKind(models.TextChoices):
    STAFF = "staff", _("工作人员")
    RESIDENT = "resident", _("居民")


class User(AbstractUser):
    """A person who signs in: staff by username + password (+ TOTP), residents by phone + code."""

    kind = models.CharField(max_length=16, choices=UserKind.choices, default=UserKind.STAFF)
    display_name = models.CharField(max_length=60, blank=True, default="")
    phone = EncryptedTextField(blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    must_change_password = models.BooleanField(default=False)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_confirmed = models.BooleanField(default=False)
    # Time step of the last accepted TOTP code: a code is refused unless its step is newer (no replay).
    totp_last_step = models.BigIntegerField(default=0)

    catalog = Catalog(
        purpose=_("账号登录与身份鉴别"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("账号注销后 6 个月"),
        recipients=_("平台管理员"),
        pi=PIType.GENERAL,
        fields={
            "password": _SECRET,
            "totp_secret": field(
                pi=PIType.NONE, level=Level.L4, category=SensitiveCategory.AUTH_SECRET, encrypted=True
            ),
            "phone": field(pi=PIType.GENERAL, level=Level.L3, encrypted=True),
            "phone_hash": field(
                pi=PIType.GENERAL, level=Level.L3, note=_("手机号的密钥哈希，仅用于精确查找")
            ),
        },
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["phone_hash"], condition=~models.Q(phone_hash=""), name="user_unique_phone"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username


class LoginAttempt(models.Model):
    """One sign-in attempt; the lockout rule counts recent failures per username and per source."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.CharField(max_length=45, db_index=True, blank=True, default="")
    succeeded = models.BooleanField(default=False)
    at = models.DateTimeField(db_index=True)

    catalog = Catalog(
        purpose=_("登录失败处理与安全审计（等保 8.1.4.1 b）"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("6 个月"),
        recipients=_("安全管理员"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M:%S} {'ok' if self.succeeded else 'failed'}"


class OneTimeCode(models.Model):
    """A login code sent by SMS. Only its keyed hash is stored."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("居民短信验证码登录"),
        basis=Basis.CONTRACT,
        level=Level.L4,
        retention=_("1 天"),
        recipients=_("无"),
        pi=PIType.GENERAL,
        fields={"code_hash": _SECRET},
    )

    def __str__(self) -> str:
        return f"code #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class TokenScope(models.TextChoices):
    READ = "read", _("只读")
    WRITE = "write", _("读写")


class TokenKind(models.TextChoices):
    """Why a token exists, which decides how long it lives (R42)."""

    LOGIN = "login", _("登录令牌")  # POST /auth/token: a session; idle timeout and absolute lifetime
    RESIDENT = "resident", _("居民登录令牌")  # POST /auth/otp/verify: a resident session
    INTEGRATION = (
        "integration",
        _("系统对接令牌"),
    )  # POST /auth/tokens: named, with the expiry its creator set


class ApiToken(models.Model):
    """A bearer token. Acts as its user, limited to read or read-write; revocable. Sign-in tokens live like
    a session (idle timeout, absolute lifetime, a few per user); integration tokens until their expiry."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=TokenScope.choices, default=TokenScope.WRITE)
    # Existing tokens become sign-in tokens: they expire like sessions unless re-created as integrations.
    kind = models.CharField(max_length=12, choices=TokenKind.choices, default=TokenKind.LOGIN)
    # The user's session auth hash (an HMAC of the password hash) when issued: like a Django session,
    # the token ends when the password changes, whichever path changed it (service, admin, manage.py).
    password_hmac = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("系统对接鉴别"),
        basis=Basis.CONTRACT,
        level=Level.L4,
        retention=_("吊销后 6 个月"),
        recipients=_("无"),
        fields={"key_hash": _SECRET, "password_hmac": _SECRET},
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and self.is_live_at(timezone.now())

    def is_live_at(self, now: datetime) -> bool:
        """Not expired, and for sign-in tokens within the session limits (R42): the absolute lifetime
        counted from issue (also for tokens issued before they had an expiry) and the idle timeout
        counted from the last use (recorded to the minute). Revocation is checked by the caller."""
        if self.expires_at is not None and self.expires_at <= now:
            return False
        if self.kind == TokenKind.INTEGRATION:
            return True
        if now - self.created_at >= timedelta(seconds=settings.SESSION_COOKIE_AGE):
            return False
        resident = self.kind == TokenKind.RESIDENT
        idle = settings.RESIDENT_SESSION_IDLE_SECONDS if resident else settings.SESSION_IDLE_SECONDS
        return now - (self.last_used_at or self.created_at) <= timedelta(seconds=idle)
