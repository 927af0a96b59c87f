"""Demo notices for one estate: about eight notices at estate, building and unit level (one pinned,
one draft, one withdrawn) and read receipts from part of their recipients."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from linli.notices import services
from linli.notices.models import Notice, NoticeReceipt, NoticeStatus
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user, staff_over
from linli.people.models import Occupancy
from linli.places.models import Region, RegionLevel

NOTICES = [
    # (title, category, level, pinned, state, body)
    (
        "关于小区二次供水设施清洗的停水通知",
        "outage",
        "estate",
        True,
        "published",
        "因二次供水水箱清洗消毒，本周六 8:00–14:00 全小区停水。\n请提前储水，给您带来不便敬请谅解。",
    ),
    (
        "物业服务费收缴公示",
        "announcement",
        "estate",
        False,
        "published",
        "上半年物业服务费收缴情况已在服务中心公示栏张贴，欢迎业主查阅、监督。",
    ),
    (
        "端午节包粽子邻里活动报名",
        "event",
        "estate",
        False,
        "published",
        "端午节当天上午 9:30 在小区中心广场举办包粽子活动。\n报名请到物业服务中心或拨打服务电话。",
    ),
    (
        "电梯年度检验停运通知",
        "notice",
        "building",
        False,
        "published",
        "本楼电梯将于下周二 9:00–17:00 进行年度检验，期间停止运行。\n行动不便的住户如需帮助请联系物业。",
    ),
    (
        "楼道杂物清理温馨提示",
        "tip",
        "unit",
        False,
        "published",
        "为保障消防通道畅通，请于本周五前清理楼道内堆放的杂物。\n逾期未清理的，物业将统一清运。",
    ),
    (
        "汛期安全温馨提示",
        "tip",
        "estate",
        False,
        "published",
        "汛期来临，请关好门窗，不要在地下车库长时间停放车辆。\n如发现积水请及时拨打物业服务电话。",
    ),
    (
        "停车位重新划线施工通知（草稿）",
        "notice",
        "estate",
        False,
        "draft",
        "地面停车位将重新划线，具体时间另行通知。",
    ),
    ("错误发布的停电通知", "outage", "estate", False, "withdrawn", "此通知时间有误，已撤回。"),
]


def _manager(estate: Region):
    for role in (Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE):
        user = staff_over(estate, roles=[role]).order_by("username").first()
        if user is not None:
            return actor_for_user(user)
    return None


def seed(estate: Region) -> int:
    """Create the demo notices and some read receipts (idempotent). Returns how many notices were made."""
    actor = _manager(estate)
    if actor is None or Notice.objects.filter(estate=estate, title=NOTICES[0][0]).exists():
        return 0
    rng = random.Random(estate.pk * 104729)  # noqa: S311 (demo data, not security)
    building = (
        Region.objects.filter(level=RegionLevel.BUILDING, path__startswith=estate.path)
        .order_by("path")
        .first()
    )
    unit = (
        Region.objects.filter(level=RegionLevel.UNIT, path__startswith=estate.path).order_by("path").first()
    )
    made = 0
    for title, category, level, pinned, state, body in NOTICES:
        target = {"estate": None, "building": building, "unit": unit}[level]
        n = services.notice_create(
            actor=actor,
            estate=estate,
            target=target,
            title=title,
            body=body,
            category=category,
            pinned=pinned,
            publish=state != "draft",
        )
        if state == "withdrawn":
            services.notice_withdraw(actor=actor, notice=n, reason="演示数据：时间有误")
        made += 1
        if n.status != NoticeStatus.PUBLISHED:
            continue
        # Older publication dates so the list reads like a history (newest first).
        n.published_at = timezone.now() - timedelta(days=3 * (len(NOTICES) - made), hours=rng.randint(0, 8))
        Notice.objects.filter(pk=n.pk).update(published_at=n.published_at)
        # Read receipts: about half of the recipients, read within two days of publication.
        persons = list(
            Occupancy.objects.filter(estate=estate, end_date__isnull=True, room__path__startswith=n.path)
            .values_list("person_id", flat=True)
            .distinct()
        )
        readers = rng.sample(persons, k=len(persons) // 2)
        NoticeReceipt.objects.bulk_create(
            [
                NoticeReceipt(
                    notice=n,
                    person_id=pid,
                    read_at=n.published_at + timedelta(minutes=rng.randint(1, 2880)),
                )
                for pid in readers
            ],
            ignore_conflicts=True,
        )
    return made
