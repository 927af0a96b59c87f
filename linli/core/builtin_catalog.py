"""Catalogue declarations (R1) for the models of Django itself, which cannot carry ``catalog = ...``.

Imported once at start-up by ``linli.privacy.apps.PrivacyConfig.ready``. Many-to-many fields of
our own models (e.g. ``User.groups``) are covered by the owning model's declaration.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, declare, field

declare(
    "auth.group",
    Catalog(
        purpose=_("Django 后台权限分组"),
        basis=Basis.NOT_PI,
        level=Level.L2,
        retention=_("长期"),
        recipients=_("平台管理员"),
        fields={"permissions": field(level=Level.L2, note=_("分组与权限的多对多关系"))},
    ),
)
declare(
    "auth.permission",
    Catalog(
        purpose=_("Django 后台权限定义"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
        recipients=_("平台管理员"),
    ),
)
declare(
    "contenttypes.contenttype",
    Catalog(
        purpose=_("数据模型类型登记（框架内部）"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
        recipients=_("无"),
    ),
)
declare(
    "sessions.session",
    Catalog(
        purpose=_("登录会话保持"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("会话过期即删除（最长 12 小时，居民 7 天）"),
        recipients=_("无"),
        pi=PIType.GENERAL,
        fields={
            "session_key": field(
                pi=PIType.NONE,
                level=Level.L4,
                category=SensitiveCategory.AUTH_SECRET,
                note=_("会话凭据，等同口令"),
            ),
            "session_data": field(
                pi=PIType.GENERAL, level=Level.L3, note=_("含用户编号与会话状态，签名防篡改")
            ),
        },
    ),
)
declare(
    "admin.logentry",
    Catalog(
        purpose=_("Django 后台操作记录（主数据维护）"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("12 个月"),
        recipients=_("平台管理员、审计管理员"),
        pi=PIType.GENERAL,
        note=_("对象描述可能含姓名，按一般个人信息管理"),
    ),
)
declare(
    "django_tasks_database.dbtaskresult",
    Catalog(
        purpose=_("后台任务队列（出账、提醒、报表等）"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("完成后 30 天"),
        recipients=_("平台管理员"),
        pi=PIType.NONE,
        note=_("任务参数只含对象编号，不含个人信息值"),
    ),
)
