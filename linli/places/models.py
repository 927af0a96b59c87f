"""Places: the region tree down to rooms, parking spaces and public facilities.

The tree 省 > 市 > 区县 > 街道 > 社区 > 小区(estate) > 楼栋 > 单元 is one ``Region`` table with a
materialised ``path`` ("/1/4/9/"), so "everything under node X" is one indexed prefix query; that
is how scoped selectors limit every read (see ``linli.core.scoping``). Rooms (房屋) hang under a
building or a unit and carry their estate and path too.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.catalog import Basis, Catalog, Level, field
from linli.core.models import TimeStampedModel


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    ESTATE = "estate", _("小区")
    BUILDING = "building", _("楼栋")
    UNIT = "unit", _("单元")


LEVEL_ORDER = [c.value for c in RegionLevel]
# Levels that may be the parent of each level (a building may sit directly in an estate).
ALLOWED_PARENTS = {
    RegionLevel.PROVINCE: {None},
    RegionLevel.CITY: {RegionLevel.PROVINCE},
    RegionLevel.DISTRICT: {RegionLevel.CITY},
    RegionLevel.STREET: {RegionLevel.DISTRICT},
    RegionLevel.COMMUNITY: {RegionLevel.STREET},
    RegionLevel.ESTATE: {RegionLevel.COMMUNITY},
    RegionLevel.BUILDING: {RegionLevel.ESTATE},
    RegionLevel.UNIT: {RegionLevel.BUILDING},
}


def ancestor_paths(path: str) -> list[str]:
    """'/1/4/9/' → ['/1/', '/1/4/', '/1/4/9/']: a node's path and the paths of every region above it.

    A scope on any of them covers the node (memberships, organisations' regions).
    """
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


class Region(TimeStampedModel):
    """A node of the place tree. Administrative codes (GB/T 2260) down to the district level."""

    level = models.CharField(max_length=16, choices=RegionLevel.choices, db_index=True)
    name = models.CharField(max_length=100)
    code = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text=_("行政区划代码（省/市/区县，GB/T 2260）、街道/社区代码或小区编码"),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    sort = models.IntegerField(default=0)
    # Estate details (level == estate); the estate is the unit a property company serves.
    address = models.CharField(max_length=200, blank=True, default="")

    catalog = Catalog(
        purpose=_("社区地址与房屋基础数据（一标：标准地址）"),
        basis=Basis.PUBLIC_DUTY,
        level=Level.L1,
        retention=_("长期（地址停用后保留历史）"),
        recipients=_("物业、居委会、街道、派出所"),
    )

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="region_unique_name_per_parent"),
        ]
        indexes = [models.Index(fields=["level", "path"])]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        return (
            "".join(
                a.name
                for a in self.ancestors(include_self=True)
                if a.level not in (RegionLevel.BUILDING, RegionLevel.UNIT)
            )
            if self.pk
            else self.name
        )

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def ancestor_paths(self) -> list[str]:
        """Paths of the regions above this one and of itself, top first (see ``ancestor_paths``)."""
        return ancestor_paths(self.path)

    def ancestors(self, include_self: bool = False) -> list[Region]:
        ids = self.ancestor_ids()
        if not include_self:
            ids = ids[:-1]
        by_id = {r.pk: r for r in Region.objects.filter(pk__in=ids)}
        return [by_id[i] for i in ids if i in by_id]


class RoomUse(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    COMMERCIAL = "commercial", _("商铺")
    OFFICE = "office", _("办公")
    STORAGE = "storage", _("储藏室")
    OTHER = "other", _("其他")


class RoomStatus(models.TextChoices):
    SELF_OCCUPIED = "self", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")
    UNDELIVERED = "undelivered", _("未交付")


class Room(TimeStampedModel):
    """房屋 — one dwelling or unit of property with its standard address (标准地址)."""

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="estate_rooms")
    building = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="building_rooms")
    unit = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="unit_rooms"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    floor = models.SmallIntegerField()
    number = models.CharField(max_length=32, help_text=_("房号，如 1502"))
    area = models.DecimalField(max_digits=9, decimal_places=2, help_text=_("建筑面积（平方米）"))
    use = models.CharField(max_length=16, choices=RoomUse.choices, default=RoomUse.RESIDENTIAL)
    status = models.CharField(max_length=16, choices=RoomStatus.choices, default=RoomStatus.SELF_OCCUPIED)
    address_code = models.CharField(max_length=40, unique=True, help_text=_("标准地址编码"))
    standard_address = models.CharField(max_length=300, help_text=_("标准地址"))

    catalog = Catalog(
        purpose=_("实有房屋登记、物业服务与收费"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("长期"),
        recipients=_("物业、居委会、街道、派出所（一标三实）"),
        fields={"status": field(level=Level.L3, note=_("与住户关联后反映居住情况"))},
    )

    class Meta:
        ordering = ["path", "floor", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "number"], name="room_unique_number"),
            models.UniqueConstraint(
                fields=["building", "number"],
                condition=models.Q(unit__isnull=True),
                name="room_unique_number_no_unit",
            ),
        ]
        indexes = [models.Index(fields=["estate", "status"])]

    def __str__(self) -> str:
        return self.standard_address


class ParkingSpace(TimeStampedModel):
    """车位 in an estate."""

    class Kind(models.TextChoices):
        OWNED = "owned", _("产权车位")
        RENTED = "rented", _("租赁车位")
        TEMPORARY = "temporary", _("临停车位")

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parking_spaces")
    code = models.CharField(max_length=32)
    zone = models.CharField(max_length=50, blank=True, default="", help_text=_("区域，如 地下一层 A 区"))
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RENTED)
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="parking_spaces"
    )

    catalog = Catalog(
        purpose=_("车位管理与停车收费"),
        basis=Basis.CONTRACT,
        level=Level.L2,
        retention=_("长期"),
        recipients=_("物业"),
    )

    class Meta:
        ordering = ["estate", "code"]
        constraints = [models.UniqueConstraint(fields=["estate", "code"], name="parking_unique_code")]

    def __str__(self) -> str:
        return self.code


class Facility(TimeStampedModel):
    """Public facility (公共设施): fire hydrant, pump, elevator, gate, ..."""

    class Kind(models.TextChoices):
        HYDRANT = "hydrant", _("消火栓")
        PUMP = "pump", _("水泵")
        ELEVATOR = "elevator", _("电梯")
        GATE = "gate", _("出入口")
        EXTINGUISHER = "extinguisher", _("灭火器")
        SPRINKLER = "sprinkler", _("喷淋系统")
        CHARGER = "charger", _("充电桩")
        CAMERA = "camera", _("监控点位")
        OTHER = "other", _("其他")

    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="facilities")
    building = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="building_facilities"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=16,
        default="normal",
        choices=[("normal", _("正常")), ("fault", _("故障")), ("maintenance", _("维保中"))],
    )

    catalog = Catalog(
        purpose=_("公共设施台账与安全监测"),
        basis=Basis.CONTRACT,
        level=Level.L3,
        retention=_("长期"),
        recipients=_("物业、街道（消防安全）"),
        note=_("安防布局数据，仅限安全相关角色"),
    )

    class Meta:
        ordering = ["estate", "kind", "name"]
        verbose_name_plural = "facilities"

    def __str__(self) -> str:
        return self.name
