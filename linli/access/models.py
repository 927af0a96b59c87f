"""Entry and exit (出入管理): access points, who may pass where and when, credentials (一码通 QR, IC
card, PIN), optional biometrics under separate consent, visitors, and every access decision.

Privacy rules that shape these models (../shared/docs/privacy-security-requirements.md):

* R22/R23 — face is never the only way in: every access point accepts a non-face credential, and at
  least one that needs neither a phone nor a biometric (card, PIN or staff-assisted entry).
* R25–R28 — biometric templates live in their own table keyed by a pseudonymous ``AccessSubject``
  (no name, ID number, phone or Person FK next to them), are encrypted, and are deleted in the same
  request that withdraws consent; removal from door devices is queued as ``DeviceCommand`` rows.
* R63 — visitors: minimal fields, time-bound signed codes with a limited number of entries, kept 30
  days by default.
* R17/R64 — access events tied to a person are whereabouts (行踪轨迹, sensitive): reads are audited
  and they are purged after the retention period.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, field
from linli.core.fields import EncryptedTextField
from linli.core.models import TimeStampedModel
from linli.places.models import Region, Room


class AccessPointKind(models.TextChoices):
    ESTATE_GATE = "estate_gate", _("小区大门")
    PEDESTRIAN_GATE = "pedestrian_gate", _("人行通道闸机")
    UNIT_DOOR = "unit_door", _("单元门")
    GARAGE_BARRIER = "garage_barrier", _("车库道闸")
    LIFT = "lift", _("电梯")
    OTHER = "other", _("其他")


class Method(models.TextChoices):
    QR = "qr", _("二维码（一码通）")
    CARD = "card", _("IC/NFC 卡")
    PIN = "pin", _("密码")
    FACE = "face", _("人脸")
    VOICE = "voice", _("声纹")
    STAFF = "staff", _("人工核验放行")
    REMOTE = "remote", _("远程开门")
    PLATE = "plate", _("车牌")


BIOMETRIC_METHODS = frozenset({Method.FACE, Method.VOICE})
# R23: usable without a smartphone and without a biometric.
NO_PHONE_NO_BIOMETRIC = frozenset({Method.CARD, Method.PIN, Method.STAFF})


class Direction(models.TextChoices):
    IN = "in", _("进")
    OUT = "out", _("出")
    BOTH = "both", _("进出")


def validate_methods(methods) -> None:
    """R22/R23: a door accepts at least one non-biometric credential and one of card / PIN / staff."""
    if not isinstance(methods, list) or not methods:
        raise ValidationError(_("至少选择一种通行方式"))
    unknown = sorted(set(methods) - set(Method.values))
    if unknown:
        raise ValidationError(_("未知的通行方式：%(m)s") % {"m": ", ".join(map(str, unknown))})
    if set(methods) <= BIOMETRIC_METHODS:
        raise ValidationError(_("不得将人脸或声纹识别作为唯一通行方式（须同时支持卡、码、密码或人工核验）"))
    if not set(methods) & NO_PHONE_NO_BIOMETRIC:
        raise ValidationError(_("须至少支持一种无需手机和生物识别的方式：IC 卡、密码或人工核验"))


class AccessPoint(TimeStampedModel):
    """A door, gate, barrier or lift where people or vehicles pass, and the device that controls it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("启用")
        DISABLED = "disabled", _("停用")

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_points")
    building = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="building_access_points",
        help_text=_("单元门、电梯所在楼栋；小区大门、车库道闸留空"),
    )
    kind = models.CharField(max_length=20, choices=AccessPointKind.choices)
    name = models.CharField(max_length=100)
    code = models.SlugField(max_length=48, help_text=_("小区内唯一的出入口编码"))
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.BOTH)
    allowed_methods = models.JSONField(default=list, validators=[validate_methods])
    device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_points",
        help_text=_("控制此出入口的门禁控制器、闸机或车牌识别相机"),
    )
    door_no = models.PositiveSmallIntegerField(default=1, help_text=_("控制器上的门号（从 1 开始）"))
    offline_decisions = models.BooleanField(
        default=True, help_text=_("断网时设备可用公钥离线核验二维码，恢复后补传记录")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    catalog = Catalog(
        purpose=_("出入口与门禁设备台账"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("长期"),
        recipients=_("物业、街道（安全）"),
        note=_("安防布局数据"),
    )

    class Meta:
        ordering = ["path", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "code"], name="accesspoint_unique_code"),
            models.UniqueConstraint(
                fields=["device", "door_no"],
                condition=models.Q(device__isnull=False),
                name="accesspoint_unique_device_door",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = (self.building or self.estate).path
        super().save(*args, **kwargs)


class Holiday(models.Model):
    """法定节假日 and 调休 working days; ``estate`` empty = applies everywhere."""

    estate = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.CASCADE, related_name="access_holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=50)
    is_workday = models.BooleanField(default=False, help_text=_("调休上班日"))

    catalog = Catalog(
        purpose=_("通行规则的节假日日历"), basis=Basis.NOT_PI, level=Level.L1, retention=_("长期")
    )

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "date"], name="holiday_unique_estate_date"),
            models.UniqueConstraint(
                fields=["date"], condition=models.Q(estate__isnull=True), name="holiday_unique_global_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Audience(models.TextChoices):
    RESIDENTS = "residents", _("住户（业主、家属、租户）")
    STAFF = "staff", _("物业及社区工作人员")
    VISITORS = "visitors", _("访客")
    SERVICE = "service", _("快递、外卖及服务人员")


class HolidayMode(models.TextChoices):
    SAME = "same", _("节假日照常")
    CLOSED = "closed", _("节假日不开放")
    ONLY = "only", _("仅节假日开放")


class AccessPolicy(TimeStampedModel):
    """Who may pass which access points, and when.

    ``access_points`` empty = every access point of the estate. With ``own_building_only`` a resident
    matches only estate-wide points (no building) and the points of buildings they live in.
    ``weekdays``: 0 = Monday … 6 = Sunday. ``start_time``/``end_time`` empty = all day; an end before
    the start wraps past midnight (22:00–06:00).
    """

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_policies")
    name = models.CharField(max_length=100)
    audience = models.CharField(max_length=12, choices=Audience.choices)
    roles = models.JSONField(default=list, blank=True, help_text=_("适用的员工角色（对象为工作人员时）"))
    own_building_only = models.BooleanField(default=True)
    access_points = models.ManyToManyField(AccessPoint, blank=True, related_name="policies")
    weekdays = models.JSONField(default=list, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    holiday_mode = models.CharField(max_length=8, choices=HolidayMode.choices, default=HolidayMode.SAME)
    is_active = models.BooleanField(default=True)
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    catalog = Catalog(purpose=_("通行权限规则"), basis=Basis.NOT_PI, level=Level.L2, retention=_("长期"))

    class Meta:
        ordering = ["path", "audience", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.estate.path
        super().save(*args, **kwargs)


class AccessSettings(models.Model):
    """Per-estate knobs of codes, anomaly rules and retention (defaults from the requirements)."""

    estate = models.OneToOneField(Region, on_delete=models.CASCADE, related_name="access_settings")
    qr_ttl_seconds = models.PositiveIntegerField(default=60, help_text=_("一码通二维码有效期（秒）"))
    qr_refresh_seconds = models.PositiveIntegerField(default=20, help_text=_("页面刷新二维码的间隔（秒）"))
    rapid_reuse_seconds = models.PositiveIntegerField(
        default=120, help_text=_("同一凭证在两个不同大门间隔少于此秒数视为异常")
    )
    denial_threshold = models.PositiveIntegerField(default=5, help_text=_("连续被拒次数阈值"))
    denial_window_minutes = models.PositiveIntegerField(default=10)
    not_seen_hours = models.PositiveIntegerField(
        default=48, help_text=_("独居老人超过此小时数未出入任何门口，提醒社区工作者")
    )
    visitor_retention_days = models.PositiveIntegerField(default=30, help_text=_("访客记录保存天数（R63）"))
    event_retention_days = models.PositiveIntegerField(default=180, help_text=_("通行记录保存天数（R64）"))

    catalog = Catalog(purpose=_("出入管理参数"), basis=Basis.NOT_PI, level=Level.L1, retention=_("长期"))

    def __str__(self) -> str:
        return f"access settings {self.estate_id}"


class SigningKey(models.Model):
    """Ed25519 key pair that signs 一码通 and visitor QR codes of one estate. Gates hold the public keys
    and verify codes offline; the private key is encrypted at rest and never leaves the server."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_signing_keys")
    kid = models.CharField(max_length=16, unique=True)
    public_key = models.CharField(max_length=64, help_text=_("原始 32 字节公钥的 base64url"))
    private_key = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("二维码签名密钥"),
        basis=Basis.NOT_PI,
        level=Level.L4,
        retention=_("停用后保留至最后一个码过期"),
        fields={
            "private_key": field(
                level=Level.L4, category=SensitiveCategory.AUTH_SECRET, encrypted=True, note=_("签名私钥")
            )
        },
    )

    class Meta:
        ordering = ["estate", "-created_at"]

    def __str__(self) -> str:
        return self.kid


class CredentialKind(models.TextChoices):
    QR = "qr", _("一码通")
    CARD = "card", _("IC/NFC 卡")
    PIN = "pin", _("密码")


class CredentialStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    SUSPENDED = "suspended", _("已挂失")
    REVOKED = "revoked", _("已注销")
    REQUESTED = "requested", _("待发放")


class Credential(TimeStampedModel):
    """A non-biometric credential of a person (resident or staff member) in one estate.

    * ``qr``: the person's 一码通 identity; ``token`` is the opaque subject id inside the signed code
      (never the person id). One active per person and estate.
    * ``card``: ``number`` is the card number (encrypted), ``number_hash`` its blind index.
    * ``pin``: system-generated digits, unique per estate among active PINs; ``number_hash`` is the
      blind index of ``"<estate id>:<pin>"``; the PIN itself is not stored.
    """

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_credentials")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="access_credentials")
    kind = models.CharField(max_length=8, choices=CredentialKind.choices)
    label = models.CharField(max_length=50, blank=True, default="")
    number = EncryptedTextField(blank=True, default="")
    number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    token = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(
        max_length=10, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=100, blank=True, default="")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    catalog = Catalog(
        purpose=_("门禁凭证（一码通、IC 卡、密码）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("注销或迁出后 1 年"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
        fields={
            "number": field(
                level=Level.L4, category=SensitiveCategory.AUTH_SECRET, encrypted=True, note=_("卡号")
            ),
            "number_hash": field(level=Level.L3, note=_("卡号或密码的带密钥哈希（盲索引）")),
            "token": field(level=Level.L3, note=_("二维码中的匿名主体标识")),
        },
    )

    class Meta:
        ordering = ["path", "person", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "kind", "number_hash"],
                condition=models.Q(status="active") & ~models.Q(number_hash=""),
                name="credential_unique_active_number",
            ),
            models.UniqueConstraint(
                fields=["estate", "person"],
                condition=models.Q(status="active", kind="qr"),
                name="credential_one_active_qr",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        if not self.path:
            self.path = self.estate.path
        super().save(*args, **kwargs)


class VisitorKind(models.TextChoices):
    GUEST = "guest", _("访客")
    DELIVERY = "delivery", _("快递外卖")
    SERVICE = "service", _("家政维修等服务人员")


class VisitorChannel(models.TextChoices):
    INVITE = "invite", _("住户邀请")
    WALK_IN = "walk_in", _("门岗登记")
    STAFF = "staff", _("物业签发")


class VisitorPassStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    USED_UP = "used_up", _("次数已用完")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已过期")


class VisitorPass(TimeStampedModel):
    """A time-bound, limited-use pass (R63). Minimal fields: name or surname, mobile, visited household,
    time window, plate when driving; never an ID number or a face.

    The visitor opens ``/v/<link token>``; only the SHA-256 of that token is stored (``link_hash``),
    so the database does not hold working links. ``token`` is the opaque subject id inside the signed
    visitor QR code.
    """

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="visitor_passes")
    kind = models.CharField(max_length=10, choices=VisitorKind.choices, default=VisitorKind.GUEST)
    channel = models.CharField(max_length=10, choices=VisitorChannel.choices, default=VisitorChannel.INVITE)
    host_person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="visitor_passes"
    )
    host_room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitor_passes"
    )
    visitor_name = models.CharField(max_length=30, help_text=_("姓名或姓氏"))
    visitor_phone = EncryptedTextField(blank=True, default="")
    visitor_phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    plate = models.CharField(max_length=10, blank=True, default="")
    purpose = models.CharField(max_length=100, blank=True, default="")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    max_entries = models.PositiveSmallIntegerField(default=1)
    entries_used = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=VisitorPassStatus.choices, default=VisitorPassStatus.ACTIVE
    )
    token = models.CharField(max_length=32, unique=True)
    link_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    catalog = Catalog(
        purpose=_("访客通行（住户邀请、门岗登记）"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("30 天（可配置，不超过 180 天，R63）"),
        recipients=_("物业门岗"),
        pi=PIType.GENERAL,
        fields={
            "visitor_phone": field(
                pi=PIType.GENERAL, level=Level.L3, encrypted=True, note=_("访客手机号，列表中脱敏")
            ),
            "visitor_phone_hash": field(level=Level.L3, note=_("手机号盲索引")),
            "plate": field(pi=PIType.GENERAL, level=Level.L3, note=_("访客车牌（驾车时）")),
            "link_hash": field(level=Level.L2, note=_("访客链接令牌的哈希")),
        },
    )

    class Meta:
        ordering = ["-valid_from"]
        indexes = [models.Index(fields=["estate", "valid_until"])]

    def __str__(self) -> str:
        return f"visitor pass #{self.pk}"


class AccessSubject(models.Model):
    """The pseudonymous identity of a person on door devices (the device's ``employeeNo``).

    Only the enrolment and device-sync services read the link to ``Person``; biometric templates
    reference this row, never the person (R27).
    """

    pseudonym = models.CharField(max_length=32, unique=True)
    person = models.OneToOneField("people.Person", on_delete=models.CASCADE, related_name="access_subject")
    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_subjects")
    created_at = models.DateTimeField(auto_now_add=True)

    catalog = Catalog(
        purpose=_("门禁设备上的匿名人员编号"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("迁出后删除"),
        recipients=_("门禁设备"),
        pi=PIType.GENERAL,
    )

    def __str__(self) -> str:
        return self.pseudonym


class Modality(models.TextChoices):
    FACE = "face", _("人脸")
    VOICE = "voice", _("声纹")


class BiometricTemplate(models.Model):
    """A face or voiceprint enrolment, kept apart from identity data (R27), only after separate
    consent (R25). ``sample`` holds the encrypted enrolment sample (re-encoded JPEG / WAV) only until
    every door device has acknowledged it; then it is cleared (R26: templates live on the devices)."""

    subject = models.ForeignKey(AccessSubject, on_delete=models.CASCADE, related_name="templates")
    modality = models.CharField(max_length=8, choices=Modality.choices)
    sample = EncryptedTextField(blank=True, default="")
    sample_sha256 = models.CharField(max_length=64, blank=True, default="")
    consent = models.ForeignKey(
        "privacy.Consent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField()
    sample_cleared_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("人脸/声纹门禁（单独同意，可随时撤回）"),
        basis=Basis.CONSENT,
        level=Level.L4,
        retention=_("撤回同意或迁出时立即删除；设备确认后清除服务器样本"),
        recipients=_("本人所在楼栋的门禁设备"),
        pi=PIType.SENSITIVE,
        category=SensitiveCategory.BIOMETRIC,
        fields={
            "sample": field(
                pi=PIType.SENSITIVE,
                level=Level.L4,
                category=SensitiveCategory.BIOMETRIC,
                encrypted=True,
                note=_("注册样本，设备全部确认后清除"),
            ),
            "sample_sha256": field(level=Level.L3, note=_("样本摘要")),
        },
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject", "modality"], name="template_one_per_modality")
        ]

    def __str__(self) -> str:
        return f"{self.modality} template #{self.pk}"


class AccessResult(models.TextChoices):
    ALLOW = "allow", _("放行")
    DENY = "deny", _("拒绝")


class SubjectKind(models.TextChoices):
    RESIDENT = "resident", _("住户")
    STAFF = "staff", _("工作人员")
    VISITOR = "visitor", _("访客")
    UNKNOWN = "unknown", _("未识别")


class EventSource(models.TextChoices):
    ONLINE = "online", _("在线核验")
    OFFLINE = "offline", _("离线补传")
    VENDOR = "vendor", _("设备推送")
    STAFF = "staff", _("人工放行")


class AccessEvent(models.Model):
    """One pass or refusal at an access point: every decision is stored (issue #5 item 4).

    ``(device, device_seq)`` is unique, so events a device buffered while offline and uploads again
    are stored once. ``code_nonce`` is the nonce of the QR code presented (replay detection).
    """

    id = models.BigAutoField(primary_key=True)
    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_events")
    path = models.CharField(max_length=255, db_index=True, default="")
    access_point = models.ForeignKey(
        AccessPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="access_events"
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.IN)
    method = models.CharField(max_length=8, choices=Method.choices)
    result = models.CharField(max_length=5, choices=AccessResult.choices)
    reason = models.CharField(max_length=32, blank=True, default="")
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices, default=SubjectKind.UNKNOWN)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="access_events"
    )
    visitor_pass = models.ForeignKey(
        VisitorPass, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    source = models.CharField(max_length=8, choices=EventSource.choices, default=EventSource.ONLINE)
    device_seq = models.BigIntegerField(null=True, blank=True)
    code_nonce = models.CharField(max_length=32, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    catalog = Catalog(
        purpose=_("出入通行记录（安全管理、访客核验、异常分析）"),
        basis=Basis.CONTRACT,
        level=Level.L4,
        retention=_("180 天（可配置，R64）"),
        recipients=_("物业；依法调取时为公安机关"),
        pi=PIType.SENSITIVE,
        category=SensitiveCategory.WHEREABOUTS,
        note=_("与个人关联的通行时间地点属行踪轨迹，读取和导出均留痕"),
    )

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "device_seq"],
                condition=models.Q(device__isnull=False, device_seq__isnull=False),
                name="accessevent_unique_device_seq",
            ),
        ]
        indexes = [
            models.Index(fields=["estate", "occurred_at"]),
            models.Index(fields=["person", "occurred_at"]),
            models.Index(fields=["access_point", "occurred_at"]),
            models.Index(fields=["credential", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.result} {self.method} @{self.access_point_id}"


class CodeUse(models.Model):
    """A QR code nonce accepted at an access point: a second use of the same code at the same point
    is a replay. Rows older than the longest code lifetime are purged."""

    id = models.BigAutoField(primary_key=True)
    nonce = models.CharField(max_length=32)
    access_point = models.ForeignKey(AccessPoint, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(db_index=True)

    catalog = Catalog(
        purpose=_("二维码防重放"), basis=Basis.NOT_PI, level=Level.L2, retention=_("码过期后 1 天")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["nonce", "access_point"], name="codeuse_unique_nonce_point")
        ]

    def __str__(self) -> str:
        return self.nonce


class AnomalyKind(models.TextChoices):
    RAPID_REUSE = "rapid_reuse", _("同一凭证短时间内在两个门口使用")
    REPEATED_DENIALS = "repeated_denials", _("多次被拒")
    TAILGATING = "tailgating", _("尾随通行")
    FORCED = "forced", _("强行闯入或门被异常打开")
    REVERSE = "reverse", _("逆向闯入")
    CLIMBING = "climbing", _("翻越闸机")
    DURESS = "duress", _("胁迫报警")
    NOT_SEEN = "not_seen", _("独居老人长时间未出入")


class AccessAnomaly(TimeStampedModel):
    """An anomaly found in access events or reported by a device. ``not_seen`` anomalies are care
    data (R65): only care roles (special-care view) see them. ``dedup_key`` is unique among open
    anomalies, so a rule that fires again updates the open row instead of adding one."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        CLOSED = "closed", _("已处理")

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="access_anomalies")
    path = models.CharField(max_length=255, db_index=True, default="")
    kind = models.CharField(max_length=20, choices=AnomalyKind.choices)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.CASCADE, related_name="access_anomalies"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="anomalies"
    )
    access_point = models.ForeignKey(
        AccessPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="anomalies"
    )
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    detail = models.JSONField(default=dict, blank=True)
    health_sensitive = models.BooleanField(default=False)
    dedup_key = models.CharField(max_length=100)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, default="")

    catalog = Catalog(
        purpose=_("出入异常分析与独居老人关怀提醒"),
        basis=Basis.CONTRACT,
        level=Level.L4,
        retention=_("处理后 1 年"),
        recipients=_("物业安保；独居老人提醒仅社区工作者"),
        pi=PIType.SENSITIVE,
        category=SensitiveCategory.WHEREABOUTS,
        note=_("独居老人未出入提醒属健康与照护信息（R65）"),
    )

    class Meta:
        ordering = ["-last_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"], condition=models.Q(status="open"), name="anomaly_one_open_per_key"
            )
        ]
        indexes = [models.Index(fields=["estate", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
