"""Data-catalogue declarations (数据资源“一本账”, R1/R35).

Each model declares ``catalog = Catalog(...)``: purpose, legal basis, default level, retention and
recipients, plus per-field overrides with ``field(...)``. Fields holding personal information say
so; sensitive personal information (PIPL Art 28) also names its category. The catalogue page and
export are generated from these declarations, and a test fails when any stored field of any model
is missing, so the catalogue cannot drift from the code. Models of Django itself are declared in
``linli.core.builtin_catalog``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Basis(models.TextChoices):
    """Legal basis under PIPL Art 13(1)(1)–(7)."""

    CONSENT = "13.1.1", _("个人同意（第13条第1款第1项）")
    CONTRACT = "13.1.2", _("订立、履行合同所必需（第13条第1款第2项）")
    LEGAL_DUTY = "13.1.3", _("履行法定职责或法定义务所必需（第13条第1款第3项）")
    EMERGENCY = "13.1.4", _("应对突发事件、保护生命健康所必需（第13条第1款第4项）")
    PUBLIC_DUTY = "13.1.5", _("公共利益（第13条第1款第5项）")
    NOT_PI = "none", _("非个人信息")


class Level(models.IntegerChoices):
    """一般数据 sub-levels L1–L4 (GB/T 43697-2024 Annex H approach), see requirements §c."""

    L1 = 1, _("一般数据 L1（公开）")
    L2 = 2, _("一般数据 L2")
    L3 = 3, _("一般数据 L3")
    L4 = 4, _("一般数据 L4（敏感）")


class PIType(models.TextChoices):
    NONE = "none", _("非个人信息")
    GENERAL = "general", _("一般个人信息")
    SENSITIVE = "sensitive", _("敏感个人信息")


class SensitiveCategory(models.TextChoices):
    ID_DOCUMENT = "id_document", _("身份证件")
    BIOMETRIC = "biometric", _("生物识别")
    HEALTH = "health", _("医疗健康")
    SPECIAL_IDENTITY = "special_identity", _("特定身份")
    MINOR = "minor", _("不满十四周岁未成年人")
    WHEREABOUTS = "whereabouts", _("行踪轨迹")
    FINANCIAL = "financial", _("金融账户")
    AUTH_SECRET = "auth_secret", _("鉴别数据（密钥、口令）")


@dataclass(frozen=True)
class FieldDecl:
    pi: str | None = None
    level: int | None = None
    category: str = ""
    encrypted: bool = False
    note: Any = ""


def field(
    *,
    pi: str | None = None,
    level: int | None = None,
    category: str = "",
    encrypted: bool = False,
    note: Any = "",
) -> FieldDecl:
    return FieldDecl(pi=pi, level=level, category=category, encrypted=encrypted, note=note)


@dataclass(frozen=True)
class Catalog:
    purpose: Any
    basis: str
    level: int
    retention: Any
    recipients: Any = ""
    pi: str = PIType.NONE
    note: Any = ""
    fields: dict[str, FieldDecl] = dc_field(default_factory=dict)
    category: str = ""  # sensitive category of the whole model (when pi is sensitive)


@dataclass(frozen=True)
class CatalogRow:
    """One stored field with its resolved classification."""

    app_label: str
    model: str
    table: str
    model_verbose: str
    field: str
    column: str
    field_verbose: str
    purpose: str
    basis: str
    basis_label: str
    level: int
    pi: str
    category: str
    encrypted: bool
    retention: str
    recipients: str
    note: str

    @property
    def sensitive(self) -> bool:
        return self.pi == PIType.SENSITIVE


_EXTRA: dict[str, Catalog] = {}


def declare(label: str, catalog: Catalog) -> None:
    """Declare the catalogue of a model we do not own (``app_label.ModelName``)."""
    _EXTRA[label.lower()] = catalog


def catalog_for(model: type[models.Model]) -> Catalog | None:
    decl = getattr(model, "catalog", None)
    if isinstance(decl, Catalog):
        return decl
    return _EXTRA.get(model._meta.label_lower)
