"""The device spreadsheet (设备导入), declared as an ``ImportSpec``.

Columns: 名称, 设备类型 (profile key or name), 设备标识 (optional), 楼栋, 楼层, 房号, 位置,
接入方式 (adapter, default generic), 厂商设备号. ``parse_devices`` checks every row against the
profiles, the estate's buildings and rooms and the devices already registered, and never writes;
``linli.devices.services.devices_import`` registers the rows all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.tabular import CellError, Column, ImportSpec, Parsed, Row, text
from linli.devices import vendors
from linli.devices.models import KEY_RE, Device, DeviceProfile
from linli.places.models import Region, RegionLevel, Room

_NAME_MESSAGE = gettext_lazy("名称不能为空，且不超过 100 个字")


def _name(value: Any) -> str:
    name = text(value)
    if len(name) > 100:
        raise CellError(str(_NAME_MESSAGE))
    return name


def _key(value: Any) -> str:
    key = text(value).lower()
    if not KEY_RE.match(key):
        raise CellError(_("设备标识只能包含小写字母、数字、- 和 _，2–64 位"))
    return key


def _floor(value: Any) -> int:
    try:
        floor = int(float(text(value)))
    except ValueError:
        floor = None
    if floor is None or not -20 <= floor <= 300:
        raise CellError(_("楼层必须是 -20 到 300 之间的整数"))
    return floor


SPEC = ImportSpec(
    title=gettext_lazy("设备"),
    columns=(
        Column("name", "名称", ("设备名称", "name"), required=True, needed=_NAME_MESSAGE, parse=_name),
        Column(
            "profile",
            "设备类型",
            ("类型", "profile", "type"),
            required=True,
            needed=True,
            note=gettext_lazy("设备类型的标识或名称，如 smoke"),
        ),
        Column("key", "设备标识", ("key",), parse=_key, default="", note=gettext_lazy("留空则自动生成")),
        Column("building", "楼栋", ("building",), default=""),
        Column("floor", "楼层", ("floor",), parse=_floor),
        Column("room", "房号", ("room",), default=""),
        Column("location", "位置", ("安装位置", "location"), default=""),
        Column("adapter", "接入方式", ("适配器", "adapter"), default="generic"),
        Column("vendor_id", "厂商设备号", ("imei", "vendor_id", "序列号"), default=""),
    ),
    examples=(
        ("1号楼3层烟感", "smoke", "", "1号楼", "3", "", "3层走廊", "generic", ""),
        ("1号楼消火栓水压", "water_pressure", "", "1号楼", "-1", "", "地下泵房", "ctwing", "860000000000003"),
    ),
)


@dataclass(frozen=True)
class DeviceRow:
    name: str
    profile: DeviceProfile
    key: str  # "" = generate one
    building: Region | None
    floor: int | None
    room: Room | None
    location: str
    adapter: str
    vendor_id: str


def parse_devices(file_name: str, data: bytes, *, estate: Region, max_rows: int) -> Parsed[DeviceRow]:
    """Every row checked; raises ``FileRejected`` when the file as a whole is unusable."""
    profiles = {}
    for p in DeviceProfile.objects.all():
        profiles[p.key] = p
        profiles[p.name] = p
    buildings = {b.name: b for b in Region.objects.filter(parent=estate, level=RegionLevel.BUILDING)}
    rooms = {(r.building_id, r.number): r for r in Room.objects.filter(estate=estate)}
    existing_keys = set(Device.objects.values_list("key", flat=True))
    existing_vendor = set(Device.objects.exclude(vendor_id="").values_list("adapter", "vendor_id"))
    adapters = set(vendors.adapter_keys())
    seen_keys: dict[str, int] = {}
    seen_vendor: dict[tuple[str, str], int] = {}

    def build(row: Row) -> DeviceRow | None:
        profile = profiles.get(row["profile"]) if row["profile"] else None
        if row["profile"] and profile is None:
            row.error("profile", _("未知的设备类型“%(v)s”") % {"v": row["profile"]})
        key = row["key"]
        if key:
            if key in existing_keys:
                row.error("key", _("设备标识已存在"))
            elif key in seen_keys:
                row.error("key", _("与第 %(n)d 行重复") % {"n": seen_keys[key]})
            seen_keys.setdefault(key, row.number)
        building = None
        if row["building"]:
            building = buildings.get(row["building"]) or buildings.get(f"{row['building']}号楼")
            if building is None:
                row.error("building", _("小区中没有楼栋“%(v)s”") % {"v": row["building"]})
        room = None
        if row["room"]:
            if building is None:
                row.error("room", _("填写房号时须填写楼栋"))
            else:
                room = rooms.get((building.pk, row["room"]))
                if room is None:
                    row.error("room", _("楼栋中没有房号“%(v)s”") % {"v": row["room"]})
        adapter = row["adapter"]
        if adapter not in adapters:
            row.error("adapter", _("未知的接入方式“%(v)s”") % {"v": adapter})
        vendor_id = row["vendor_id"]
        if vendor_id:
            pair = (adapter, vendor_id)
            if pair in existing_vendor:
                row.error("vendor_id", _("该接入方式下已存在相同的厂商设备号"))
            elif pair in seen_vendor:
                row.error("vendor_id", _("与第 %(n)d 行重复") % {"n": seen_vendor[pair]})
            seen_vendor.setdefault(pair, row.number)
        if not row.ok or profile is None:
            return None
        return DeviceRow(
            row["name"], profile, key, building, row["floor"], room, row["location"], adapter, vendor_id
        )

    return SPEC.parse(file_name, data, max_rows=max_rows, build=build)
