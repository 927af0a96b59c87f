"""Navigation of the staff console, built from the signed-in user's permissions."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from linli.core.errors import DomainError
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import actor_for_user

NAV = [
    (None, _("工作台"), None),
    ("console:home", _("社区概览"), None),
    (None, _("房屋"), None),
    ("places:tree", _("区域与楼栋"), Perm.PLACES_VIEW),
    ("places:rooms", _("房屋列表"), Perm.PLACES_VIEW),
    ("places:imports", _("房屋导入"), Perm.PLACES_IMPORT),
    (None, _("人口"), None),
    ("people:persons", _("住户列表"), Perm.PEOPLE_VIEW),
    ("people:imports", _("住户导入"), Perm.PEOPLE_IMPORT),
    (None, _("物业服务"), None),
    ("billing:dashboard", _("收费管理"), Perm.BILLING_VIEW),
    ("workorders:board", _("工单看板"), Perm.WORKORDERS_VIEW),
    ("workorders:mine", _("我的工单"), Perm.WORKORDERS_WORK),
    ("patrols:home", _("巡检"), Perm.PATROLS_VIEW),
    ("notices:list", _("通知公告"), Perm.NOTICES_MANAGE),
    ("votes:list", _("业主投票"), Perm.VOTES_MANAGE),
    (None, _("安全监测"), None),
    ("alarms:live", _("实时告警"), Perm.ALARMS_VIEW),
    ("alarms:fire_overview", _("消防安全概览"), Perm.ALARMS_VIEW),
    ("alarms:history", _("告警历史与统计"), Perm.ALARMS_VIEW),
    ("alarms:rules", _("告警规则"), Perm.ALARMS_VIEW),
    ("devices:list", _("设备"), Perm.DEVICES_VIEW),
    (None, _("出入管理"), None),
    ("access:visitors", _("访客与门岗"), Perm.ACCESS_GUARD),
    ("access:events", _("通行记录"), Perm.ACCESS_EVENTS_VIEW),
    ("access:points", _("出入口与门禁"), Perm.ACCESS_VIEW),
    ("access:policies", _("通行规则"), Perm.ACCESS_VIEW),
    ("access:credentials", _("门禁凭证"), Perm.ACCESS_VIEW),
    ("access:analysis", _("出入分析"), Perm.ACCESS_ANALYSIS),
    ("access:anomalies", _("出入异常"), (Perm.ACCESS_ANALYSIS, Perm.ACCESS_GUARD)),
    ("parking:home", _("停车管理"), Perm.PARKING_VIEW),
    (None, _("隐私与安全"), None),
    ("privacy:audit", _("审计日志"), Perm.AUDIT_VIEW),
    ("privacy:catalog", _("数据目录"), Perm.CATALOG_VIEW),
    ("accounts:tokens", _("API 令牌"), Perm.TOKENS_MANAGE),
]


def console(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.kind != "staff":
        return {}
    try:
        actor = actor_for_user(user)
    except DomainError:
        return {}
    items: list[dict] = []
    for name, label, perm in NAV:
        if name is None:
            items.append({"group": label})
            continue
        if perm and not any(actor.has(p) for p in (perm if isinstance(perm, tuple) else (perm,))):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": label,
                "url": url,
                "active": (request.path.startswith(url) and url != "/console/") or request.path == url,
            }
        )
    if Role.PLATFORM_ADMIN in actor.roles:
        items.append({"group": _("系统")})
        items.append({"label": _("主数据管理"), "url": reverse("admin:index"), "active": False})
    # Drop group headings with nothing under them.
    nav = [
        it
        for i, it in enumerate(items)
        if "group" not in it or (i + 1 < len(items) and "group" not in items[i + 1])
    ]
    role_label = dict(Role.choices).get(actor.primary_role, "")
    return {"console_actor": actor, "console_nav": nav, "console_role_label": role_label}
