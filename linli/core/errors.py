"""Domain errors with machine-readable codes; the API turns them into one JSON error envelope.

Envelope: ``{"error": {"code": "...", "message": "...", "fields": {"<field>": ["..."]}}}``.
Messages are user-facing text (zh-Hans first, through gettext).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "invalid"
    default_message = _("请求无效")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        self.message = str(message if message is not None else self.default_message)
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)

    def envelope(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_error"
    default_message = _("提交的数据有误")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _("对象不存在或不在您的管辖范围内")


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    default_message = _("您没有执行此操作的权限")


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    default_message = _("请先登录")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("当前状态不允许此操作")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = _("操作过于频繁，请稍后再试")


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    default_message = _("上传的文件过大")
