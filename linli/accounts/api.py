"""Auth endpoints: staff and resident sign-in for tokens, and management of one's own API tokens."""

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from linli.accounts import services
from linli.core.api import ErrorOut, Page, PkPath, actor_of
from linli.core.middleware import client_ip

router = Router()


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)
    name: str = Field("api", max_length=80)
    otp: str | None = Field(None, max_length=12, description="动态口令（已启用双因素认证的账号必填）")


class TokenOut(Schema):
    token: str


@router.post("/token", auth=None, response={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut})
def issue_token(request: HttpRequest, body: TokenIn):
    """Exchange a staff username and password (+ TOTP code if enabled) for a bearer token (lockout rules
    apply). The token lives like a console session: it ends after 15 minutes unused and 12 hours after
    sign-in; signing in again with the same ``name`` replaces it. Integrations use ``POST /auth/tokens``."""
    user = services.password_login(
        username=body.username, password=body.password, ip=client_ip(request), otp=body.otp
    )
    _token, raw = services.login_token_issue(user=user, name=body.name)
    return {"token": raw}


class OtpRequestIn(Schema):
    phone: str = Field(..., max_length=20)


class OtpRequestOut(Schema):
    detail: str
    ttl_seconds: int


class OtpVerifyIn(Schema):
    phone: str = Field(..., max_length=20)
    code: str = Field(..., max_length=12)


@router.post("/otp/request", auth=None, response={200: OtpRequestOut, 400: ErrorOut, 429: ErrorOut})
def otp_request(request: HttpRequest, body: OtpRequestIn):
    """Send a resident a sign-in code by SMS. The answer is the same whether or not the number is known."""
    services.otp_request(phone=body.phone)
    return {"detail": _("如该手机号已登记，验证码已发送"), "ttl_seconds": settings.OTP_TTL_SECONDS}


@router.post("/otp/verify", auth=None, response={200: TokenOut, 400: ErrorOut, 401: ErrorOut})
def otp_verify(request: HttpRequest, body: OtpVerifyIn):
    """Exchange a phone number and its sign-in code for a 12-hour bearer token."""
    user = services.otp_verify(phone=body.phone, code=body.code)
    _token, raw = services.resident_token_issue(user=user)
    return {"token": raw}


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    kind: str = Field(description="login 登录令牌、resident 居民登录令牌、integration 系统对接令牌")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    scope: Literal["read", "write"] = "read"
    expires_in_days: int = Field(90, ge=1, le=365, description="有效期（天），最长 365 天")


class ApiTokenCreatedOut(ApiTokenOut):
    token: str = Field(..., description="令牌原文，仅此一次返回")


@router.get("/tokens", response={200: list[ApiTokenOut], 401: ErrorOut})
@paginate(Page)
def list_tokens(request: HttpRequest):
    """The caller's own tokens (never their secrets)."""
    return services.token_list(actor=actor_of(request))


@router.post("/tokens", response={201: ApiTokenCreatedOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut})
def create_token(request: HttpRequest, body: ApiTokenIn):
    """Create a token; the raw value is in this response only."""
    token, raw = services.token_create(
        actor=actor_of(request), name=body.name, scope=body.scope, expires_in_days=body.expires_in_days
    )
    return Status(201, {**ApiTokenOut.model_validate(token).model_dump(), "token": raw})


@router.delete("/tokens/{token_id}", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def revoke_token(request: HttpRequest, token_id: PkPath):
    """Revoke one of the caller's tokens."""
    services.token_revoke(actor=actor_of(request), token_id=token_id)
    return Status(204, None)
