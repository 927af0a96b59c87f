"""People (实有人口) and units (实有单位): persons, households, occupancy, tenants' rental registration,
special-care tags, vehicles, and the shops and organisations located in an estate.

Sensitive values (ID numbers, phone numbers, care notes) are encrypted at rest; each has a keyed
hash column for exact lookup. One person record per estate (R60): unique on the ID-number hash.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, PIType, SensitiveCategory, field
from linli.core.fields import EncryptedTextField
from linli.core.models import TimeStampedModel
from linli.places.models import Region, Room

_HASH = field(pi=PIType.GENERAL, level=Level.L3, note=_("密钥哈希（盲索引），仅用于精确查找"))


class Gender(models.TextChoices):  # GB/T 2261.1
    UNKNOWN = "0", _("未知")
    MALE = "1", _("男")
    FEMALE = "2", _("女")


class IdType(models.TextChoices):  # GA/T 2000.156-2016 常用证件代码
    RESIDENT_ID = "111", _("居民身份证")
    HK_MACAO_PERMIT = "516", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "511", _("台湾居民来往大陆通行证")
    PASSPORT = "414", _("普通护照")
    FOREIGNER_RESIDENCE = "553", _("外国人永久居留身份证")


class PopulationType(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    FLOATING = "floating", _("流动人口")
    OVERSEAS = "overseas", _("境外人员")
    UNSETTLED = "unsettled", _("未落户人员")


class Person(TimeStampedModel):
    """A person living or registered in an estate (实有人口)."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="persons")
    name = models.CharField(max_length=60)
    gender = models.CharField(max_length=1, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField(null=True, blank=True)
    id_type = models.CharField(max_length=3, choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_number = EncryptedTextField(blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone = EncryptedTextField(blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    population_type = models.CharField(
        max_length=16, choices=PopulationType.choices, default=PopulationType.REGISTERED
    )
    hukou_address = models.CharField(
        max_length=200, blank=True, default="", help_text=_("户籍地址（常住户口所在地）")
    )
    occupation = models.CharField(max_length=100, blank=True, default="", help_text=_("职业或主要经济来源"))
    workplace = models.CharField(max_length=150, blank=True, default="", help_text=_("服务处所"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    last_verified_at = models.DateTimeField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("实有人口登记、物业服务与基层治理"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("迁出后 3 年"),
        recipients=_("物业、居委会、街道、派出所（按数据共享协议）"),
        pi=PIType.GENERAL,
        fields={
            "id_number": field(
                pi=PIType.SENSITIVE, level=Level.L4, category=SensitiveCategory.ID_DOCUMENT, encrypted=True
            ),
            "id_number_hash": _HASH,
            "phone": field(pi=PIType.GENERAL, level=Level.L3, encrypted=True),
            "phone_hash": _HASH,
            "user": field(pi=PIType.GENERAL, level=Level.L3),
        },
    )

    class Meta:
        ordering = ["estate", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "id_number_hash"],
                condition=~models.Q(id_number_hash=""),
                name="person_unique_id_per_estate",
            ),
        ]
        indexes = [models.Index(fields=["estate", "name"])]

    def __str__(self) -> str:
        return self.name


class Household(TimeStampedModel):
    """A household (户) living in one room."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="households")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="households")
    head = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="headed_households"
    )

    catalog = Catalog(
        purpose=_("实有人口登记、物业服务"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("迁出后 3 年"),
        recipients=_("物业、居委会、街道、派出所"),
        pi=PIType.GENERAL,
    )

    def __str__(self) -> str:
        return f"{self.room}"


class Relation(models.TextChoices):
    OWNER = "owner", _("业主")
    FAMILY = "family", _("家属")
    TENANT = "tenant", _("租户")
    LODGER = "lodger", _("寄住")


class Occupancy(TimeStampedModel):
    """A person's relation to a room over time (owner / family / tenant), from–to dates."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="occupancies")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="occupancies")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="occupancies")
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="occupancies"
    )
    relation = models.CharField(max_length=16, choices=Relation.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("实有人口与房屋关系登记"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("迁出后 3 年"),
        recipients=_("物业、居委会、街道、派出所"),
        pi=PIType.GENERAL,
    )

    class Meta:
        ordering = ["room", "relation", "start_date"]
        indexes = [models.Index(fields=["estate", "end_date"])]


class RentalRegistration(TimeStampedModel):
    """Tenant (流动人口) rental registration, reported to the police station within a deadline (R58)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待申报")
        REPORTED = "reported", _("已申报")
        ENDED = "ended", _("已注销")

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="rental_registrations")
    occupancy = models.OneToOneField(Occupancy, on_delete=models.CASCADE, related_name="rental")
    landlord = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="let_rooms"
    )
    contract_start = models.DateField()
    contract_end = models.DateField(null=True, blank=True)
    guarantee_signed = models.BooleanField(default=False, help_text=_("治安责任保证书已签订"))
    report_deadline = models.DateField()
    reported_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    catalog = Catalog(
        purpose=_("租赁房屋治安管理（公安部令第24号）"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L3,
        retention=_("租赁结束后 3 年"),
        recipients=_("派出所、居委会"),
        pi=PIType.GENERAL,
    )


class CareKind(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    DISABLED = "disabled", _("残疾人")
    KEY_CARE = "key_care", _("重点关爱")
    LOW_INCOME = "low_income", _("低保/特困")


class CareTag(TimeStampedModel):
    """A special-care tag (特殊人群). Government roles only; every view is audited (R61)."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="care_tags")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_tags")
    kind = models.CharField(max_length=32, choices=CareKind.choices)
    note = EncryptedTextField(blank=True, default="")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    catalog = Catalog(
        purpose=_("特殊人群关爱服务（居委会、街道法定职责）"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L4,
        retention=_("标签结束后 1 年"),
        recipients=_("居委会、街道、派出所"),
        pi=PIType.SENSITIVE,
        category=SensitiveCategory.SPECIAL_IDENTITY,
        fields={
            "kind": field(pi=PIType.SENSITIVE, level=Level.L4, category=SensitiveCategory.SPECIAL_IDENTITY),
            "note": field(
                pi=PIType.SENSITIVE, level=Level.L4, category=SensitiveCategory.HEALTH, encrypted=True
            ),
            "person": field(pi=PIType.SENSITIVE, level=Level.L4, category=SensitiveCategory.SPECIAL_IDENTITY),
        },
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind"],
                condition=models.Q(end_date__isnull=True),
                name="caretag_one_open_per_kind",
            )
        ]


class Vehicle(TimeStampedModel):
    """A resident's vehicle (plate + owner is personal information, R64)."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="vehicles")
    owner = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="vehicles")
    plate = models.CharField(max_length=10)
    kind = models.CharField(
        max_length=16,
        default="car",
        choices=[("car", _("小型汽车")), ("ev", _("新能源汽车")), ("motorcycle", _("摩托车"))],
    )
    color = models.CharField(max_length=16, blank=True, default="")
    brand = models.CharField(max_length=40, blank=True, default="")

    catalog = Catalog(
        purpose=_("车辆登记与停车管理"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("迁出后 1 年"),
        recipients=_("物业"),
        pi=PIType.GENERAL,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["estate", "plate"], name="vehicle_unique_plate_per_estate")
        ]

    def __str__(self) -> str:
        return self.plate


class Establishment(TimeStampedModel):
    """实有单位: a shop or organisation located in the estate."""

    class Kind(models.TextChoices):
        SHOP = "shop", _("商铺")
        COMPANY = "company", _("企业")
        INSTITUTION = "institution", _("机关事业单位")
        SOCIAL_ORG = "social_org", _("社会组织")

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="establishments")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="establishments"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=150)
    credit_code = models.CharField(max_length=18, blank=True, default="", help_text=_("统一社会信用代码"))
    industry = models.CharField(max_length=60, blank=True, default="", help_text=_("行业类别（GB/T 4754）"))
    contact_name = models.CharField(max_length=60, blank=True, default="")
    contact_phone = EncryptedTextField(blank=True, default="")
    employees = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16,
        default="open",
        choices=[("open", _("营业")), ("closed", _("歇业")), ("deregistered", _("注销"))],
    )

    catalog = Catalog(
        purpose=_("实有单位登记（一标三实）"),
        basis=Basis.LEGAL_DUTY,
        level=Level.L2,
        retention=_("注销后 3 年"),
        recipients=_("居委会、街道、派出所"),
        fields={
            "contact_name": field(pi=PIType.GENERAL, level=Level.L3),
            "contact_phone": field(pi=PIType.GENERAL, level=Level.L3, encrypted=True),
        },
    )

    class Meta:
        ordering = ["estate", "name"]

    def __str__(self) -> str:
        return self.name
