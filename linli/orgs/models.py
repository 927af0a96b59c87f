"""Organisations (tenants) and memberships that give users a role over a scope of places."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, field
from linli.core.models import TimeStampedModel
from linli.orgs.roles import Role
from linli.places.models import Region


class OrgKind(models.TextChoices):
    PROPERTY_COMPANY = "property_company", _("物业服务企业")
    COMMUNITY_COMMITTEE = "community_committee", _("社区居委会")
    SUBDISTRICT_OFFICE = "subdistrict_office", _("街道办事处")
    POLICE_STATION = "police_station", _("派出所")
    SERVICE_PROVIDER = "service_provider", _("服务机构")
    CITY_PLATFORM = "city_platform", _("城市平台")
    PLATFORM_OPERATOR = "platform_operator", _("平台运营方")


class Organization(TimeStampedModel):
    """An organisation that uses the platform: a property company, a committee, a police station, ..."""

    kind = models.CharField(max_length=32, choices=OrgKind.choices)
    name = models.CharField(max_length=120, unique=True)
    credit_code = models.CharField(max_length=18, blank=True, default="", help_text=_("统一社会信用代码"))
    contact_phone = models.CharField(max_length=20, blank=True, default="")
    regions = models.ManyToManyField(
        Region, blank=True, related_name="organizations", help_text=_("该组织服务或管辖的区域")
    )
    is_active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("组织机构与服务关系管理"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
        recipients=_("平台内各组织"),
        fields={"contact_phone": field(pi=PIType.NONE, level=Level.L2, note=_("单位对外电话"))},
    )

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    """A user's role in an organisation over a scope of region nodes (estate level or above)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    scope = models.ManyToManyField(Region, related_name="memberships")
    is_active = models.BooleanField(default=True)

    catalog = Catalog(
        purpose=_("访问授权与职责划分"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("离职后 1 年"),
        recipients=_("平台管理员、审计管理员"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["user", "organization"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.organization}"
