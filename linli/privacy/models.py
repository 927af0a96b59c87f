"""Consent per purpose (R3) with versioned notices (R2), and resident data-export records (R8)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType


class Purpose(models.Model):
    """A processing purpose that needs a resident's consent (face access, health data for care, ...)."""

    code = models.SlugField(max_length=48, unique=True)
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    notice = models.TextField(help_text=_("告知内容：处理者、目的、方式、种类、保存期限、权利行使方式"))
    sensitive = models.BooleanField(default=False)
    required_for_service = models.BooleanField(default=False, help_text=_("始终为否：拒绝不影响基本服务"))
    is_active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("处理目的与告知文本"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
        recipients=_("公开"),
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Consent(models.Model):
    """One subject's consent to one purpose at one notice version; withdrawal keeps the record."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="consents")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="consents")
    notice_version = models.PositiveIntegerField()
    granted_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(
        max_length=16, default="h5", choices=[("h5", "H5"), ("counter", _("柜台")), ("api", "API")]
    )
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    guardian = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("监护人（不满十四周岁时）"),
    )

    catalog = Catalog(
        purpose=_("同意记录（个人信息保护法第14、15条）"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("撤回后 3 年"),
        recipients=_("无"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.purpose_id}@v{self.notice_version}"
