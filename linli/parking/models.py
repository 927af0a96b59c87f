"""Vehicles and parking (issue #5 item 5): fee rules, permits of resident vehicles, a block list, the
plate events of the gate cameras and the parking sessions of vehicles charged by time.

Privacy (../shared/docs/privacy-security-requirements.md R17/R64, table row 6 and 11):

* a plate with its owner is personal information (L3); a plate with passage times is a movement
  trace (行踪轨迹, sensitive, L4): ``PlateEvent`` and ``ParkingSession`` are read only by parking
  roles, reads tied to a resident's vehicle are audited, and the rows are purged after 180 days;
* plate pictures stay on the camera or its storage: an event keeps only references (part names or
  fetch URLs), cleared after 30 days;
* the full plate is shown to parking roles only; anywhere else (bill titles) it is masked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, field
from linli.core.models import TimeStampedModel
from linli.places.models import Region

PASSAGE_RETENTION_DAYS = 180  # R64: passage records
PICTURE_RETENTION_DAYS = 30  # R64/R28: plate pictures (we keep references only)


class ParkingFeeRule(TimeStampedModel):
    """How an estate charges temporary parking, in integer fen (see ``linli.parking.fees``), and the
    default prices of permits. A rule is never edited once created: a new version is created and
    activated, so a settled fee can always be explained by the rule it names. One active per estate."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parking_fee_rules")
    name = models.CharField(max_length=100)
    free_minutes = models.PositiveIntegerField(default=15, help_text=_("免费停车分钟数（含）"))
    first_period_minutes = models.PositiveIntegerField(default=60, help_text=_("首段时长（分钟）"))
    first_period_fen = models.PositiveIntegerField(default=500, help_text=_("首段收费（分）"))
    next_period_minutes = models.PositiveIntegerField(default=60, help_text=_("之后每段时长（分钟）"))
    next_period_fen = models.PositiveIntegerField(default=200, help_text=_("之后每段收费（分）"))
    daily_cap_fen = models.PositiveIntegerField(default=3000, help_text=_("每 24 小时封顶（分）"))
    night_start = models.TimeField(null=True, blank=True, help_text=_("夜间时段开始（可选）"))
    night_end = models.TimeField(null=True, blank=True, help_text=_("夜间时段结束"))
    night_fen = models.PositiveIntegerField(default=0, help_text=_("夜间时段按次收费（分）"))
    visitor_free_minutes = models.PositiveIntegerField(
        default=120, help_text=_("持有效访客通行证的车辆免费分钟数")
    )
    monthly_permit_fen = models.PositiveIntegerField(default=30000, help_text=_("月租车位每月默认价格（分）"))
    yearly_permit_fen = models.PositiveIntegerField(default=300000, help_text=_("年租车位每年默认价格（分）"))
    active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("临时停车收费标准"),
        basis=Basis.NOT_PI,
        level=Level.L1,
        retention=_("长期（已结算费用可追溯所用标准）"),
        recipients=_("物业"),
    )

    class Meta:
        ordering = ["estate", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate"], condition=models.Q(active=True), name="parking_one_active_rule"
            ),
            models.CheckConstraint(
                condition=models.Q(first_period_minutes__gte=1, next_period_minutes__gte=1),
                name="parking_rule_periods_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PermitKind(models.TextChoices):
    MONTHLY = "monthly", _("月租")
    YEARLY = "yearly", _("年租")
    OWNED_SPACE = "owned_space", _("产权车位")
    RENTED_SPACE = "rented_space", _("租赁车位")


# Kinds billed by the parking app (per month / per year) to the holder's room; an owned space pays its
# management fee through the bill run (billing 车位费 per space linked to a room).
BILLED_KINDS = (PermitKind.MONTHLY, PermitKind.YEARLY, PermitKind.RENTED_SPACE)


class PermitStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    EXPIRED = "expired", _("已到期")
    CANCELLED = "cancelled", _("已注销")


class Permit(TimeStampedModel):
    """The right of a resident's vehicle to park: a monthly or yearly permit (月卡/年卡, optionally on a
    fixed space) or the use of an owned or rented space. ``valid_until`` is the last valid day.
    ``price_fen`` is per month (monthly, rented space) or per year (yearly); each term is billed to
    ``room`` through billing (``Bill.source_type`` ``parking.permit``)."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parking_permits")
    vehicle = models.ForeignKey("people.Vehicle", on_delete=models.CASCADE, related_name="parking_permits")
    kind = models.CharField(max_length=16, choices=PermitKind.choices)
    space = models.ForeignKey(
        "places.ParkingSpace", null=True, blank=True, on_delete=models.SET_NULL, related_name="permits"
    )
    room = models.ForeignKey(
        "places.Room",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="parking_permits",
        help_text=_("收费房屋（车主所住房屋）"),
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    price_fen = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=PermitStatus.choices, default=PermitStatus.ACTIVE)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("住户车辆停车许可（月卡、年卡、产权/租赁车位）与收费"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("到期或注销后 1 年"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
        note=_("车牌与车主关联属一般个人信息"),
    )

    class Meta:
        ordering = ["estate", "-valid_until", "-pk"]
        indexes = [
            models.Index(fields=["estate", "status", "valid_until"]),
            models.Index(fields=["vehicle", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class BlockedPlate(TimeStampedModel):
    """A plate refused entry (黑名单) until ``until`` (empty = until lifted)."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="blocked_plates")
    plate = models.CharField(max_length=10)
    reason = models.CharField(max_length=200)
    until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    catalog = Catalog(
        purpose=_("车辆禁入名单（安全管理）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("解除或到期后 1 年"),
        recipients=_("物业门岗"),
        pi=PIType.GENERAL,
        fields={
            "reason": field(pi=PIType.GENERAL, level=Level.L3, note=_("禁入原因，勿写入与车辆无关的个人情况"))
        },
    )

    class Meta:
        ordering = ["estate", "plate"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "plate"], condition=models.Q(active=True), name="parking_one_active_block"
            )
        ]

    def __str__(self) -> str:
        return self.plate


class Category(models.TextChoices):
    PERMIT = "permit", _("月卡/车位车辆")
    RESIDENT = "resident", _("住户车辆（无有效许可）")
    VISITOR = "visitor", _("访客车辆")
    TEMPORARY = "temporary", _("临时车辆")
    BLOCKED = "blocked", _("禁入车辆")
    UNKNOWN = "unknown", _("未识别")


class Decision(models.TextChoices):
    ALLOW = "allow", _("放行")
    DENY = "deny", _("拒绝")


class Reason(models.TextChoices):
    """Stable codes of plate decisions (UI, analysis, adapters)."""

    OK = "ok", _("放行")
    BLOCKED = "blocked", _("禁入名单")
    INVALID_PLATE = "invalid_plate", _("车牌无法识别或格式无效")
    LOW_CONFIDENCE = "low_confidence", _("识别可信度低")
    FULL = "full", _("临停车位已满")
    UNPAID = "unpaid", _("停车费未缴")
    NO_ENTRY_RECORD = "no_entry_record", _("无入场记录")
    POINT_DISABLED = "point_disabled", _("出入口已停用")
    METHOD_NOT_ALLOWED = "method_not_allowed", _("该出入口不支持车牌识别")
    NO_ACCESS_POINT = "no_access_point", _("相机未关联出入口")


class PlateDirection(models.TextChoices):
    IN = "in", _("入场")
    OUT = "out", _("出场")


class SessionStatus(models.TextChoices):
    OPEN = "open", _("在场")
    UNPAID = "unpaid", _("待缴费")
    PAID = "paid", _("已缴费")
    WAIVED = "waived", _("已免收")
    FREE = "free", _("免费")


SESSION_CATEGORIES = (Category.TEMPORARY, Category.VISITOR, Category.RESIDENT)


class ParkingSession(TimeStampedModel):
    """The stay of a vehicle charged by time (temporary, visitor, or a resident vehicle without a valid
    permit): from the entry read to the exit read, the fee by the estate's rule, and how it was
    settled. ``bill`` and ``payment`` reference the billing rows that collected the fee (walk-in
    charge, ``Bill.source_type`` ``parking.session``). One open session per plate and estate.

    A vehicle that left without paying (a guard's manual release) keeps status ``unpaid`` with
    ``released_*`` set, until it is collected later or waived by a manager."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parking_sessions")
    plate = models.CharField(max_length=10)
    category = models.CharField(max_length=10, choices=Category.choices)
    vehicle = models.ForeignKey(
        "people.Vehicle", null=True, blank=True, on_delete=models.SET_NULL, related_name="parking_sessions"
    )
    visitor_pass = models.ForeignKey(
        "access.VisitorPass",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="parking_sessions",
    )
    entered_at = models.DateTimeField()
    entry_point = models.ForeignKey(
        "access.AccessPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exited_at = models.DateTimeField(null=True, blank=True)
    exit_point = models.ForeignKey(
        "access.AccessPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        ParkingFeeRule, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    fee_fen = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=SessionStatus.choices, default=SessionStatus.OPEN)
    paid_at = models.DateTimeField(null=True, blank=True)
    bill = models.ForeignKey(
        "billing.Bill", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment = models.ForeignKey(
        "billing.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_reason = models.CharField(max_length=200, blank=True, default="")
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waive_reason = models.CharField(max_length=200, blank=True, default="")

    catalog = Catalog(
        purpose=_("临时停车计时收费"),
        basis=Basis.CONTRACT,
        level=Level.L4,
        retention=_("离场后 180 天（R64）；未缴费用结清或免收后起算"),
        recipients=_("物业（停车管理、门岗收费）"),
        pi=PIType.SENSITIVE,
        category=SensitiveCategory.WHEREABOUTS,
        note=_("车牌与进出时间属行踪轨迹；与住户车辆关联的读取留痕"),
        fields={
            "release_reason": field(note=_("人工放行原因")),
            "waive_reason": field(note=_("免收原因")),
        },
    )

    class Meta:
        ordering = ["-entered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "plate"], condition=models.Q(status="open"), name="parking_one_open_session"
            )
        ]
        indexes = [
            models.Index(fields=["estate", "status", "entered_at"]),
            models.Index(fields=["estate", "plate", "entered_at"]),
            models.Index(fields=["estate", "exited_at"]),
            models.Index(fields=["vehicle", "entered_at"]),
        ]

    def __str__(self) -> str:
        return f"session #{self.pk}"


class PlateEvent(models.Model):
    """One plate read by a gate camera and the decision taken (every read is stored).

    ``(device, source_event_id)`` is unique, so a vendor push delivered twice is stored once. A read
    that is not a valid plate, or read with low confidence, is stored with category ``unknown`` and
    denied: the guard decides (manual release, audited). ``picture_refs`` are the vendor's part names
    or fetch URLs, never image bytes; they are cleared after 30 days."""

    id = models.BigAutoField(primary_key=True)
    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="plate_events")
    access_point = models.ForeignKey(
        "access.AccessPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="plate_events"
    )
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="plate_events"
    )
    plate = models.CharField(max_length=16, help_text=_("规范化后的车牌；无效时为识别原文"))
    plate_valid = models.BooleanField(default=False)
    plate_color = models.CharField(max_length=16, blank=True, default="")
    direction = models.CharField(max_length=3, choices=PlateDirection.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    source_event_id = models.CharField(max_length=64, blank=True, default="")
    picture_refs = models.JSONField(default=list, blank=True)
    vehicle = models.ForeignKey(
        "people.Vehicle", null=True, blank=True, on_delete=models.SET_NULL, related_name="plate_events"
    )
    permit = models.ForeignKey(
        Permit, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    visitor_pass = models.ForeignKey(
        "access.VisitorPass", null=True, blank=True, on_delete=models.SET_NULL, related_name="plate_events"
    )
    category = models.CharField(max_length=10, choices=Category.choices)
    decision = models.CharField(max_length=5, choices=Decision.choices)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    session = models.ForeignKey(
        ParkingSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_reason = models.CharField(max_length=200, blank=True, default="")

    catalog = Catalog(
        purpose=_("车辆出入记录（车辆放行、临停计费、安全管理）"),
        basis=Basis.CONTRACT,
        level=Level.L4,
        retention=_("180 天；抓拍图片引用 30 天（R64）"),
        recipients=_("物业（停车管理、门岗）；依法调取时为公安机关"),
        pi=PIType.SENSITIVE,
        category=SensitiveCategory.WHEREABOUTS,
        note=_("车牌与通行时间属行踪轨迹；只保存图片引用，不保存图片"),
        fields={
            "picture_refs": field(
                pi=PIType.SENSITIVE,
                level=Level.L4,
                category=SensitiveCategory.WHEREABOUTS,
                note=_("抓拍图片在相机侧的引用（文件名或地址），30 天后清除"),
            ),
            "release_reason": field(note=_("人工放行原因")),
        },
    )

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "source_event_id"],
                condition=models.Q(device__isnull=False) & ~models.Q(source_event_id=""),
                name="plateevent_unique_device_source",
            )
        ]
        indexes = [
            models.Index(fields=["estate", "occurred_at"]),
            models.Index(fields=["estate", "plate", "occurred_at"]),
            models.Index(fields=["access_point", "occurred_at"]),
            models.Index(fields=["vehicle", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.direction} @{self.access_point_id}"
