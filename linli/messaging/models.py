"""Messages to people (站内消息): one inbox row per recipient, its deliveries per channel, and each
user's preferences (channels per category, quiet hours, WeChat openid).

Every message lands in the recipient's in-app inbox at once; SMS and WeChat copies are ``Delivery``
rows that the worker sends (held until the recipient's quiet hours end, retried with back-off). A
``dedup_key`` makes a repeated send a no-op per recipient: the unique constraint decides, so two
racing senders still deliver once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, field
from linli.places.models import Region


class Category(models.TextChoices):
    """What a message is about; preferences are kept per category. Staff categories keep the codes
    the console inbox used before (``kind``)."""

    INFO = "info", _("一般消息")
    BILL = "bill", _("账单与缴费")
    NOTICE = "notice", _("通知公告")
    WORKORDER = "workorder", _("工单")
    SLA = "sla", _("工单超时")
    PATROL_MISSED = "patrol_missed", _("巡检漏检")
    ALARM = "alarm", _("告警")
    PARKING_BLOCKED = "parking_blocked", _("禁入车辆")
    ACCESS_REQUEST = "access_request", _("门禁凭证申请")
    ACCESS_ANOMALY = "access_anomaly", _("出入异常")
    ACCESS_DURESS = "access_duress", _("胁迫报警")
    ACCESS_CARE = "access_care", _("关爱提醒")


RESIDENT_CATEGORIES = (Category.BILL, Category.NOTICE, Category.INFO)


class ChannelKind(models.TextChoices):
    IN_APP = "in_app", _("站内")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信订阅消息")


# Channels a user may add per category (in-app is always on).
EXTERNAL_CHANNELS = (ChannelKind.SMS, ChannelKind.WECHAT)


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    SKIPPED = "skipped", _("未发送")


class Message(models.Model):
    """One message in one user's inbox (resident or staff)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages")
    estate = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category = models.CharField(max_length=32, choices=Category.choices, default=Category.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    link = models.CharField(max_length=300, blank=True, default="")
    dedup_key = models.CharField(max_length=120, blank=True, default="")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("向住户和工作人员发送站内消息"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("1 年"),
        recipients=_("收件人本人"),
        pi=PIType.GENERAL,
        note=_("正文由各业务生成，不含敏感个人信息"),
        fields={"dedup_key": field(pi=PIType.NONE, note=_("业务去重键，如“bill:123:due”"))},
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedup_key"],
                condition=~models.Q(dedup_key=""),
                name="message_unique_dedup_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """The delivery log: one message through one channel (status, attempts, provider id)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=ChannelKind.choices)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    provider_id = models.CharField(max_length=100, blank=True, default="")
    not_before = models.DateTimeField(db_index=True, help_text=_("早于此时不发送（免打扰或重试退避）"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("消息送达记录（渠道、状态、重试）"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("随消息保留"),
        recipients=_("平台管理员"),
        pi=PIType.GENERAL,
        note=_("不保存手机号或 openid，发送时按收件人读取"),
        fields={"provider_id": field(pi=PIType.NONE, note=_("短信或微信平台返回的回执编号"))},
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="delivery_unique_channel"),
        ]
        indexes = [models.Index(fields=["status", "not_before"])]

    def __str__(self) -> str:
        return f"{self.message_id}:{self.channel}:{self.status}"


class MessagePreference(models.Model):
    """A user's choices: extra channels per category (in-app is always on), quiet hours (local time;
    SMS and WeChat wait until they end) and the WeChat openid the subscription messages go to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_preference"
    )
    channels = models.JSONField(default=dict, blank=True, help_text=_("类别 → 额外渠道列表"))
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    wechat_openid = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    catalog = Catalog(
        purpose=_("消息接收偏好（渠道、免打扰时段）"),
        basis=Basis.CONSENT,
        level=Level.L2,
        retention=_("账号注销时删除"),
        recipients=_("本人"),
        pi=PIType.GENERAL,
        fields={"wechat_openid": field(pi=PIType.GENERAL, level=Level.L3, note=_("微信小程序用户标识"))},
    )

    def __str__(self) -> str:
        return f"{self.user_id}"
