"""Alarm rules and alarms (告警规则与告警).

Rules are declared per device profile, with per-device overrides (same ``cause``: the device's rule
replaces the profile's; a disabled override silences it for that device). Alarms are raised by the
engine (``engine.py``) from stored telemetry/events and device offline changes.

ONE open alarm per (device, cause): a partial unique constraint WHERE ``cleared_at IS NULL`` makes the
database the referee, so two gateways racing on the same cause bump one alarm's ``count`` instead of
creating two. Acknowledged and cleared are two independent states: acknowledging does not clear, and a
cleared alarm nobody acknowledged still needs an acknowledgement.

Alarms of health-sensitive profiles (wearable falls, SOS of elderly residents) are health data (R65,
L4): only users with ``alarms.health_view`` see them, anywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, field
from linli.core.fields import EncryptedTextField
from linli.core.models import TimeStampedModel
from linli.places.models import Region


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", _("阈值")
    DURATION = "duration", _("持续超限")
    RATE = "rate", _("变化速率")
    OFFLINE = "offline", _("离线")
    EVENT = "event", _("设备事件")
    COMBINATION = "combination", _("组合条件")


class Operator(models.TextChoices):
    GT = "gt", ">"
    GE = "ge", "≥"
    LT = "lt", "<"
    LE = "le", "≤"
    EQ = "eq", "="
    NE = "ne", "≠"


class Severity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("次要")
    WARNING = "warning", _("提示")


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.WARNING: 3}


class Channel(models.TextChoices):
    CONSOLE = "console", _("控制台通知")
    SMS = "sms", _("短信")
    WEBHOOK = "webhook", _("Webhook 推送")


class RuleScope(models.TextChoices):
    DEVICE = "device", _("同一设备")
    ROOM = "room", _("同一房间")


class AlarmRule(TimeStampedModel):
    """One alarm rule of a profile (``device`` empty) or a per-device rule (``device`` set): with
    ``base`` it overrides that profile rule for the device (disabled = silenced there), without it it
    is an extra rule of that device. Several rules may share a cause (smoke event and smoke+heat
    combination both mean "fire"): they raise the same alarm, the higher severity wins.

    - threshold: ``point operator value``;
    - duration: the threshold holds for ``duration_s`` seconds;
    - rate: change of ``point`` per minute over ``window_s`` compared with ``value`` by ``operator``;
    - offline: the device went offline (the devices app decides when, from the profile);
    - event: the device sent ``event``;
    - combination: trigger (``event``, or ``point operator value``) AND a rise of ``rise_point`` by at
      least ``rise`` within ``window_s`` on the same device or the same room (``scope``).
    ``clear_event`` (e.g. ``smoke_alarm_clear``) clears the open alarm of this cause; with
    ``auto_clear`` a threshold/duration/rate alarm clears itself when the value is back to normal and
    an offline alarm when the device is back. ``schedule``: ``{"days": [1..7], "ranges": [["23:00",
    "06:00"]]}`` (ISO weekdays, local time; a range ending before it starts runs past midnight; empty
    = always)."""

    profile = models.ForeignKey("devices.DeviceProfile", on_delete=models.CASCADE, related_name="alarm_rules")
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="alarm_rules"
    )
    base = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="overrides",
        help_text=_("被本设备覆盖的型号级规则"),
    )
    cause = models.SlugField(max_length=48)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    point = models.CharField(max_length=64, blank=True, default="")
    operator = models.CharField(max_length=2, choices=Operator.choices, blank=True, default="")
    value = models.FloatField(null=True, blank=True)
    duration_s = models.PositiveIntegerField(default=0)
    window_s = models.PositiveIntegerField(default=0)
    event = models.CharField(max_length=64, blank=True, default="")
    clear_event = models.CharField(max_length=64, blank=True, default="")
    rise_point = models.CharField(max_length=64, blank=True, default="")
    rise = models.FloatField(null=True, blank=True)
    scope = models.CharField(max_length=8, choices=RuleScope.choices, default=RuleScope.DEVICE)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MINOR)
    schedule = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    auto_clear = models.BooleanField(default=True)
    equipment_fault = models.BooleanField(default=False, help_text=_("设备故障：自动生成维修工单"))
    escalate_after_minutes = models.PositiveIntegerField(null=True, blank=True)
    notify_channels = models.JSONField(default=list, blank=True)
    builtin = models.BooleanField(default=False, editable=False)

    catalog = Catalog(
        purpose=_("设备告警规则（阈值、持续、速率、离线、事件、组合）"),
        basis=Basis.NOT_PI,
        level=Level.L2,
        retention=_("长期"),
    )

    class Meta:
        ordering = ["profile_id", "device_id", "cause"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "base"],
                condition=Q(base__isnull=False),
                name="alarmrule_one_override_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RulesetVersion(models.Model):
    """A token changed on every rule change; engines re-read their rule cache when it moves (a random
    token rather than a counter, so a rolled-back change can never be mistaken for a later one)."""

    token = models.CharField(max_length=32, default="0")

    def __str__(self) -> str:
        return self.token

    catalog = Catalog(
        purpose=_("告警规则缓存版本号"), basis=Basis.NOT_PI, level=Level.L1, retention=_("长期")
    )


class WebhookEndpoint(TimeStampedModel):
    """Where an estate's alarms are pushed as HMAC-SHA256 signed JSON (R74: allow-listed public URL)."""

    estate = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="alarm_webhooks")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = EncryptedTextField()
    enabled = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)

    catalog = Catalog(
        purpose=_("告警推送地址（城市平台、监控中心）"),
        basis=Basis.NOT_PI,
        level=Level.L3,
        retention=_("停用后删除"),
        fields={
            "secret": field(
                level=Level.L4, category=SensitiveCategory.AUTH_SECRET, encrypted=True, note=_("签名密钥")
            )
        },
    )

    class Meta:
        ordering = ["estate_id", "name"]

    def __str__(self) -> str:
        return self.name


class Alarm(models.Model):
    """One alarm: raised once per (device, cause) while open, re-occurrences bump ``count``."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="alarms")
    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="alarms")
    building = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="building_alarms"
    )
    path = models.CharField(max_length=255, db_index=True)
    rule = models.ForeignKey(
        AlarmRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    cause = models.SlugField(max_length=48)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    acked_at = models.DateTimeField(null=True, blank=True)
    acked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clear_reason = models.CharField(max_length=16, blank=True, default="")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_alarms",
    )
    health_sensitive = models.BooleanField(default=False)
    equipment_fault = models.BooleanField(default=False)
    escalate_after_minutes = models.PositiveIntegerField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    notify_channels = models.JSONField(default=list, blank=True)
    workorder_id = models.BigIntegerField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("设备告警的处置（确认、消除、派单、升级）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("3 年"),
        recipients=_("物业、街道；健康类告警仅限社区工作者与照护人员（R65）"),
        note=_("health_sensitive 的告警（跌倒、SOS）属健康信息，L4，仅 alarms.health_view 可见"),
        fields={
            "detail": field(
                pi=PIType.SENSITIVE,
                level=Level.L4,
                category=SensitiveCategory.HEALTH,
                note=_("仅健康类告警（老人穿戴设备）含健康信息"),
            ),
            "title": field(pi=PIType.GENERAL, level=Level.L3, note=_("含设备位置（房屋）")),
            "health_sensitive": field(level=Level.L4, note=_("R65 路由标记")),
        },
    )

    class Meta:
        ordering = ["-first_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "cause"],
                condition=Q(cleared_at__isnull=True),
                name="alarm_one_open_per_cause",
            ),
        ]
        indexes = [
            models.Index(fields=["estate", "first_at"]),
            models.Index(fields=["cleared_at", "acked_at"]),
            models.Index(fields=["-id"], condition=Q(cleared_at__isnull=True), name="alarm_open_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def needs_ack(self) -> bool:
        return self.acked_at is None


class AlarmEventKind(models.TextChoices):
    RAISED = "raised", _("产生")
    ACKED = "acked", _("确认")
    CLEARED = "cleared", _("消除")
    AUTO_CLEARED = "auto_cleared", _("自动恢复")
    ASSIGNED = "assigned", _("指派")
    COMMENTED = "commented", _("备注")
    ESCALATED = "escalated", _("升级")
    WORKORDER = "workorder", _("生成工单")


class AlarmEvent(models.Model):
    """History of an alarm's state changes (who, when, what)."""

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=AlarmEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True, default="")

    catalog = Catalog(
        purpose=_("告警处置记录"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("随告警"),
        pi=PIType.GENERAL,
        note=_("处置人"),
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.kind}"


class AlarmComment(models.Model):
    """A note of a handler on an alarm."""

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField()

    catalog = Catalog(
        purpose=_("告警处置备注"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("随告警"),
        pi=PIType.GENERAL,
        note=_("自由文本，可能提及住户；健康类告警的备注同属 L4"),
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.alarm_id}: {self.body[:30]}"


class NotificationStatus(models.TextChoices):
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    REFUSED = "refused", _("已拒绝（地址不允许）")


class AlarmNotification(models.Model):
    """One notification of an alarm through one channel to one target (level 0 on raise, 1 on escalation)."""

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=200, help_text=_("用户名、脱敏手机号或 Webhook 主机"))
    level = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices)
    error = models.CharField(max_length=300, blank=True, default="")
    sent_at = models.DateTimeField()

    catalog = Catalog(
        purpose=_("告警通知发送记录"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("随告警"),
        pi=PIType.GENERAL,
        note=_("短信目标仅存脱敏号码"),
    )

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alarm", "channel", "target", "level"], name="alarmnotification_unique_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.channel} {self.target}"
