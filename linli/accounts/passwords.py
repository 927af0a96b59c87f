"""Password rules (R40): context words for every profile; character classes for the 等保 profile."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONTEXT_WORDS = ("linli", "邻里", "community", "shequ", "wuye", "xiaoqu", "password", "mima")


class ContextWordValidator:
    """Refuse passwords built around the product's or a community's name."""

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        for word in CONTEXT_WORDS:
            if word in lowered and len(lowered) - len(word) < 8:
                raise ValidationError(_("密码不能以产品或社区名称为主体"), code="password_context_word")

    def get_help_text(self) -> str:
        return _("密码不能以产品或社区名称为主体。")


class ProfileValidator:
    """``LINLI_PASSWORD_PROFILE=dengbao`` requires at least three of four character classes."""

    def validate(self, password: str, user=None) -> None:
        if getattr(settings, "PASSWORD_PROFILE", "asvs") != "dengbao":
            return
        classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
        if classes < 3:
            raise ValidationError(
                _("密码需包含大写字母、小写字母、数字、符号中的至少三类"), code="password_classes"
            )

    def get_help_text(self) -> str:
        if getattr(settings, "PASSWORD_PROFILE", "asvs") != "dengbao":
            return ""
        return _("需包含大写字母、小写字母、数字、符号中的至少三类。")
