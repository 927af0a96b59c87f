"""Device registry (设备台账) and what devices send: profiles declaring their points as data, devices
with their location and credentials, stored telemetry and events, and rejected messages.

Telemetry and events are stored once per (device, seq): a redelivered MQTT QoS 1 message or a
retried cloud push hits the unique constraint and is counted as a duplicate (see ``ingest.py``).
"""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, field
from linli.core.fields import EncryptedTextField
from linli.core.models import TimeStampedModel
from linli.places.models import Facility, Region, Room

DEVICES_IMPORT_KIND = "devices"  # ImportJob.kind of device spreadsheet imports


class DeviceType(models.TextChoices):
    SMOKE = "smoke", _("烟感探测器")
    GAS = "gas", _("可燃气体探测器")
    TEMPERATURE = "temperature", _("温度传感器")
    WATER_PRESSURE = "water_pressure", _("消防水压监测")
    WATER_METER = "water_meter", _("水表")
    ELECTRICITY_METER = "electricity_meter", _("电表")
    ELEVATOR = "elevator", _("电梯运行监测")
    DOOR_MAGNET = "door_magnet", _("门磁")
    SOS_BUTTON = "sos_button", _("紧急呼叫按钮")
    WEARABLE = "wearable", _("老人穿戴设备")
    CAMERA = "camera", _("摄像机")
    ELECTRICAL_FIRE = "electrical_fire", _("电气火灾监控")
    FIRE_PANEL = "fire_panel", _("火灾报警控制器")
    GENERIC = "generic", _("通用设备")


class PointKind(models.TextChoices):
    NUMBER = "number", _("数值")
    BOOL = "bool", _("开关量")
    ENUM = "enum", _("枚举")
    TEXT = "text", _("文本")


class DeviceStatus(models.TextChoices):
    ACTIVE = "active", _("启用")
    DISABLED = "disabled", _("停用")
    REVOKED = "revoked", _("已吊销")


def estate_code_of(estate: Region) -> str:
    """The estate segment of a device's MQTT topic: the estate's code, or ``e<id>`` when it has none."""
    return estate.code or f"e{estate.pk}"


class DeviceProfile(TimeStampedModel):
    """What a kind of device reports: its points (key, unit, range) and events, declared as data.

    ``points``: list of ``{"key", "name", "unit", "kind": number|bool|enum|text, "min", "max",
    "values"}``; ``events``: list of ``{"key", "name", "severity"}``. Health-sensitive profiles
    (R65: wearables, SOS buttons) route their alarms only to carers and community workers.
    """

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    device_type = models.CharField(max_length=24, choices=DeviceType.choices)
    points = models.JSONField(default=list, blank=True)
    events = models.JSONField(default=list, blank=True)
    offline_after_minutes = models.PositiveIntegerField(default=30)
    health_sensitive = models.BooleanField(default=False)
    builtin = models.BooleanField(default=False, editable=False)

    catalog = Catalog(
        purpose=_("设备类型与监测点定义"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期"),
    )

    class Meta:
        ordering = ["device_type", "key"]

    def __str__(self) -> str:
        return self.name

    def point(self, key: str) -> dict | None:
        for p in self.points:
            if p.get("key") == key:
                return p
        return None


KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")  # a device key: the MQTT topic segment


class Device(TimeStampedModel):
    """One registered device with its location, credentials and health."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="devices")
    profile = models.ForeignKey(DeviceProfile, on_delete=models.PROTECT, related_name="devices")
    key = models.SlugField(max_length=64, unique=True, help_text=_("MQTT 主题中的设备标识"))
    name = models.CharField(max_length=100)
    building = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="building_devices"
    )
    floor = models.IntegerField(null=True, blank=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="devices")
    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    location = models.CharField(max_length=200, blank=True, default="")
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    adapter = models.CharField(max_length=32, default="generic")
    vendor_id = models.CharField(
        max_length=64, blank=True, default="", help_text=_("IMEI、序列号或云平台设备 ID")
    )
    secret = EncryptedTextField(blank=True, default="")
    credential_version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.ACTIVE)
    online = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    battery = models.IntegerField(null=True, blank=True)
    signal = models.IntegerField(null=True, blank=True)
    last_seq = models.BigIntegerField(default=0)
    rejected_count = models.IntegerField(default=0)
    accepted_count = models.BigIntegerField(default=0)

    catalog = Catalog(
        purpose=_("物联网设备台账、接入凭据与运行状态"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("设备注销后 1 年"),
        recipients=_("物业、街道（消防安全）"),
        note=_("安防布局数据；房屋内设备的位置可关联到住户"),
        fields={
            "room": field(pi=PIType.GENERAL, level=Level.L3, note=_("户内设备关联房屋")),
            "secret": field(
                level=Level.L4,
                category=SensitiveCategory.AUTH_SECRET,
                encrypted=True,
                note=_("设备密钥（MQTT 口令、HMAC 签名密钥），仅创建/轮换时显示一次"),
            ),
        },
    )

    class Meta:
        ordering = ["path", "floor", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["adapter", "vendor_id"],
                condition=~models.Q(vendor_id=""),
                name="device_unique_vendor_id_per_adapter",
            ),
        ]
        indexes = [
            models.Index(fields=["estate", "online"]),
            models.Index(fields=["status", "last_seen_at"]),
        ]

    def __str__(self) -> str:
        return self.name


class Telemetry(models.Model):
    """One telemetry message of a device: values of its points at ``ts``."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="telemetry")
    seq = models.BigIntegerField()
    ts = models.DateTimeField()
    received_at = models.DateTimeField()
    values = models.JSONField(default=dict)

    catalog = Catalog(
        purpose=_("设备监测数据（烟感、水压、电气、电梯等）"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("180 天"),
        recipients=_("物业、街道（消防安全）"),
        note=_("老人穿戴设备的数据属健康信息（R65），仅告警引擎与授权照护人员可见"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="telemetry_unique_device_seq")]
        indexes = [models.Index(fields=["device", "ts"])]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq}"


class DeviceEvent(models.Model):
    """One event of a device (smoke alarm, tamper, SOS, fault ...)."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    ts = models.DateTimeField()
    received_at = models.DateTimeField()
    event = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    catalog = Catalog(
        purpose=_("设备事件（火警、故障、防拆、紧急呼叫）"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("1 年"),
        recipients=_("物业、街道（消防安全）"),
        note=_("老人穿戴设备的跌倒/SOS 事件属健康信息（R65）"),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "seq"], name="deviceevent_unique_device_seq")
        ]
        indexes = [models.Index(fields=["device", "ts"])]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq} {self.event}"


class RejectedMessage(models.Model):
    """A sample of a message that was refused (bad signature, unknown device, invalid payload ...).

    Bounded: ``devices.purge_rejected`` keeps the most recent ones only.
    """

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.CASCADE, related_name="rejected"
    )
    reason = models.CharField(max_length=64)
    topic = models.CharField(max_length=255, blank=True, default="")
    received_at = models.DateTimeField(db_index=True)
    sample = models.CharField(max_length=500, blank=True, default="")

    catalog = Catalog(
        purpose=_("设备接入排障（被拒绝消息样本）"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("7 天"),
        recipients=_("平台运维、物业设备管理员"),
        note=_("不受信任的原始报文片段，截断至 500 字符"),
    )

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.reason} {self.topic}"


class CommandKind(models.TextChoices):
    PUSH_PERSON = "push_person", _("下发人员")
    DELETE_PERSON = "delete_person", _("删除人员")
    PUSH_CARD = "push_card", _("下发卡号")
    DELETE_CARD = "delete_card", _("删除卡号")
    PUSH_FACE = "push_face", _("下发人脸")
    DELETE_FACE = "delete_face", _("删除人脸")
    PUSH_VOICE = "push_voice", _("下发声纹")
    DELETE_VOICE = "delete_voice", _("删除声纹")
    OPEN_DOOR = "open_door", _("远程开门")


class CommandStatus(models.TextChoices):
    PENDING = "pending", _("待下发")
    SENT = "sent", _("已下发")
    ACKED = "acked", _("设备已确认")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


class DeviceCommand(models.Model):
    """A change a door device must apply (person, card, face, voiceprint, remote open), delivered by the
    device's adapter and acknowledged by the device. Payloads carry pseudonymous ids only
    (``AccessSubject.pseudonym``), never names or templates: the adapter reads what it must send at
    delivery time, so a deleted template cannot be sent afterwards. R25: a delete that is not
    acknowledged in time raises an alarm."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    kind = models.CharField(max_length=16, choices=CommandKind.choices)
    ref = models.CharField(max_length=64, db_index=True, help_text=_("对象引用，如 face:<匿名编号>"))
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, default="")
    overdue_alarmed = models.BooleanField(default=False)

    catalog = Catalog(
        purpose=_("门禁设备同步指令（人员、卡、人脸、声纹的下发与删除）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("确认后 1 年"),
        recipients=_("门禁设备"),
        note=_("仅含匿名人员编号"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["device", "status", "id"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref} → {self.device_id}"
