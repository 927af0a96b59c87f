"""Notices (通知公告) to an estate, a building or a unit, with read receipts. (Staff notifications
moved to ``linli.messaging``.)

A notice targets one Region node at or under its estate; ``path`` copies that node's materialised
path, so "notices for my room" is a prefix test against the room's path. Recipients of a notice are
the persons with an active occupancy (no end date) of a room under the target node.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType
from linli.core.models import TimeStampedModel
from linli.places.models import Region


class NoticeCategory(models.TextChoices):
    NOTICE = "notice", _("通知")
    ANNOUNCEMENT = "announcement", _("公告")
    OUTAGE = "outage", _("停水停电")
    EVENT = "event", _("活动")
    TIP = "tip", _("温馨提示")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class Notice(TimeStampedModel):
    """A notice from the property company (or community) to everyone living under ``target``."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="notices")
    target = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="targeted_notices",
        help_text=_("发布范围：小区、楼栋或单元"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    title = models.CharField(max_length=120)
    body = models.TextField(help_text=_("纯文本，换行保留"))
    category = models.CharField(max_length=16, choices=NoticeCategory.choices, default=NoticeCategory.NOTICE)
    pinned = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("物业与社区通知公告"),
        basis=Basis.NOT_PI,
        level=Level.L2,
        retention=_("发布后 3 年"),
        recipients=_("发布范围内的住户"),
    )

    class Meta:
        ordering = ["-pinned", "-published_at", "-pk"]
        indexes = [models.Index(fields=["estate", "status"])]

    def __str__(self) -> str:
        return self.title


class NoticeReceipt(models.Model):
    """A resident has read a notice (first read only)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="notice_receipts")
    read_at = models.DateTimeField()

    catalog = Catalog(
        purpose=_("通知送达与阅读回执统计"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("随通知保留"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["-read_at"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "person"], name="notice_receipt_unique_person"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.person_id}"
