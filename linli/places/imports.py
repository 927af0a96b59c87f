"""The room spreadsheet (房屋导入), declared as an ``ImportSpec``.

``parse_rooms`` turns an uploaded XLSX or CSV file into validated ``RoomRow`` values plus a
``RowError`` for every bad cell, and never touches the database; ``linli.places.services.rooms_import``
checks the rows against the estate's existing rooms and applies them all-or-nothing.

Columns (first sheet, first row is the header; Chinese headers, English aliases accepted):
楼栋 building, 单元 unit (optional), 楼层 floor, 房号 number, 建筑面积 area, 用途 use, 状态 status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.tabular import (
    CellError,
    Column,
    FileRejected,
    ImportSpec,
    Label,
    Parsed,
    Row,
    RowError,
    text,
)
from linli.places.models import RoomStatus, RoomUse

__all__ = ["FileRejected", "Parsed", "RowError"]  # used by the import service through this module

FLOOR_MIN, FLOOR_MAX = -20, 300
AREA_MAX = Decimal("100000")
NAME_MAX = 100
NUMBER_MAX = 32
_NUMBER_RE = re.compile(r"^[0-9A-Za-z\-_#()（）\u4e00-\u9fff]+$")


def normalise_building(name: str) -> str:
    """ "3" → "3号楼" so that a bare number and the usual name are one building."""
    return f"{name}号楼" if name.isdigit() else name


def normalise_unit(name: str) -> str:
    return f"{name}单元" if name.isdigit() else name


def _building(value: Any) -> str:
    name = normalise_building(text(value))
    if len(name) > NAME_MAX:
        raise CellError(_("楼栋名称不能超过 %(n)d 个字") % {"n": NAME_MAX})
    return name


def _unit(value: Any) -> str:
    name = normalise_unit(text(value))
    if len(name) > NAME_MAX:
        raise CellError(_("单元名称不能超过 %(n)d 个字") % {"n": NAME_MAX})
    return name


def _floor(value: Any) -> int:
    floor = None
    if isinstance(value, int) and not isinstance(value, bool):
        floor = value
    elif isinstance(value, float):
        floor = int(value) if value.is_integer() else None
    elif not isinstance(value, bool):
        match = re.fullmatch(r"([+-]?\d{1,4})\s*(?:层|楼|F|f)?", text(value))
        floor = int(match.group(1)) if match else None
    if floor is None:
        raise CellError(_("楼层必须是整数，如 15 或 -1"))
    if not FLOOR_MIN <= floor <= FLOOR_MAX:
        raise CellError(_("楼层应在 %(a)d 到 %(b)d 之间") % {"a": FLOOR_MIN, "b": FLOOR_MAX})
    return floor


def _number(value: Any) -> str:
    number = text(value)
    if len(number) > NUMBER_MAX:
        raise CellError(_("房号不能超过 %(n)d 个字符") % {"n": NUMBER_MAX})
    if not _NUMBER_RE.match(number):
        raise CellError(_("房号只能包含数字、字母、汉字和 - _ # ( )"))
    return number


def _area(value: Any) -> Decimal:
    try:
        area = (
            None
            if isinstance(value, bool)
            else Decimal(repr(value) if isinstance(value, float) else text(value))
        )
    except (InvalidOperation, ValueError):
        area = None
    if area is None or not area.is_finite():
        raise CellError(_("建筑面积必须是数字（平方米），如 89.50"))
    if not Decimal(0) < area < AREA_MAX:
        raise CellError(_("建筑面积必须大于 0 且小于 100000 平方米"))
    if area.as_tuple().exponent < -2 and area != area.quantize(Decimal("0.01")):
        raise CellError(_("建筑面积最多保留两位小数"))
    return area.quantize(Decimal("0.01"))


def _choice(choices, unknown: Label) -> Any:
    labels = {**{str(label): value for value, label in choices.choices}, **{v: v for v in choices.values}}

    def parse(value: Any) -> str:
        raw = text(value)
        found = labels.get(raw) or labels.get(raw.lower())
        if found is None:
            options = "、".join(str(label) for label in choices.labels)
            raise CellError(str(unknown) % {"v": raw, "opts": options})
        return found

    return parse


SPEC = ImportSpec(
    title=gettext_lazy("房屋"),
    columns=(
        Column(
            "building",
            "楼栋",
            ("楼号", "楼栋号", "building"),
            required=True,
            needed=True,
            parse=_building,
            note=gettext_lazy("如 1号楼；只填数字时自动补“号楼”"),
        ),
        Column(
            "unit",
            "单元",
            ("单元号", "unit"),
            parse=_unit,
            default="",
            note=gettext_lazy("如 1单元；无单元的楼栋留空"),
            width=10,
        ),
        Column(
            "floor",
            "楼层",
            ("floor",),
            required=True,
            needed=True,
            parse=_floor,
            note=gettext_lazy("整数，地下层用负数，如 -1"),
            width=8,
        ),
        Column(
            "number",
            "房号",
            ("房间号", "室号", "number", "room", "room number"),
            required=True,
            needed=True,
            parse=_number,
            note=gettext_lazy("如 1502；同一楼栋单元内不可重复"),
            width=10,
        ),
        Column(
            "area",
            "建筑面积",
            ("面积", "建筑面积（平方米）", "建筑面积(平方米)", "建筑面积(㎡)", "area"),
            required=True,
            needed=True,
            parse=_area,
            note=gettext_lazy("平方米，大于 0，最多两位小数"),
        ),
        Column(
            "use",
            "用途",
            ("房屋用途", "use"),
            required=True,
            needed=True,
            parse=_choice(RoomUse, gettext_lazy("未知的用途“%(v)s”，可选：%(opts)s")),
            note="、".join(str(label) for label in RoomUse.labels),
            width=10,
        ),
        Column(
            "status",
            "状态",
            ("房屋状态", "status"),
            required=True,
            needed=True,
            parse=_choice(RoomStatus, gettext_lazy("未知的状态“%(v)s”，可选：%(opts)s")),
            note="、".join(str(label) for label in RoomStatus.labels),
            width=10,
        ),
    ),
    examples=(
        ("1号楼", "1单元", 15, "1502", "89.50", "住宅", "自住"),
        ("商业楼", "", 1, "S101", "120.00", "商铺", "出租"),
    ),
)
COLUMNS = {c.key: (c.header, c.aliases) for c in SPEC.columns}


@dataclass(frozen=True)
class RoomRow:
    row: int
    building: str
    unit: str  # "" = the room hangs directly under the building
    floor: int
    number: str
    area: Decimal
    use: str
    status: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.number)


def parse_rooms(file_name: str, data: bytes, *, max_rows: int) -> Parsed[RoomRow]:
    """Read and validate every row; raises ``FileRejected`` when the file as a whole is unusable."""
    first_seen: dict[tuple[str, str, str], int] = {}

    def build(row: Row) -> RoomRow | None:
        if not row.ok:
            return None
        room = RoomRow(
            row.number, *(row[k] for k in ("building", "unit", "floor", "number", "area", "use", "status"))
        )
        if room.key in first_seen:
            row.error("number", _("与第 %(n)d 行重复（同一楼栋、单元、房号）") % {"n": first_seen[room.key]})
            return None
        first_seen[room.key] = row.number
        return room

    return SPEC.parse(file_name, data, max_rows=max_rows, build=build)


def template_xlsx() -> bytes:
    """The downloadable import template: the header row, two example rows and a sheet of allowed values."""
    return SPEC.template_xlsx()
