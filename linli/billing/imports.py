"""The meter-reading spreadsheet (抄表导入), declared as an ``ImportSpec``: XLSX or CSV, validated whole
before anything is written.

Columns (first row is the header; English aliases accepted): 楼栋 building, 单元 unit (optional),
房号 number, 类型 kind (水/电 or water/electricity), 月份 period (2026-10), 上期读数 previous,
本期读数 current. ``parse_readings`` returns the rows and one ``RowError`` per bad cell;
``linli.billing.services.meter_readings_import`` applies them all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.billing.models import MeterReading
from linli.billing.money import parse_period
from linli.core.tabular import CellError, Column, FileRejected, ImportSpec, Parsed, Row, RowError, text
from linli.places.imports import normalise_building
from linli.places.models import Room

KINDS = {
    "水": "water",
    "水表": "water",
    "water": "water",
    "电": "electricity",
    "电表": "electricity",
    "electricity": "electricity",
}
READING_MAX = Decimal("9999999999")
_KIND_MESSAGE = gettext_lazy("类型只能是 水 或 电")
_PERIOD_MESSAGE = gettext_lazy("月份格式为 2026-10")
_READING_MESSAGE = gettext_lazy("请填写不小于 0、最多两位小数的数字")


def _kind(value: Any) -> str:
    kind = KINDS.get(text(value).lower())
    if kind is None:
        raise CellError(str(_KIND_MESSAGE))
    return kind


def _period(value: Any) -> str:
    code = f"{value.year}-{value.month:02d}" if isinstance(value, (datetime, date)) else text(value)
    p = parse_period(code)
    if p is None or p.month_count != 1:
        raise CellError(str(_PERIOD_MESSAGE))
    return p.code


def _reading(value: Any) -> Decimal:
    try:
        d = Decimal(text(value))
    except (InvalidOperation, ValueError):
        d = None
    if d is None or not d.is_finite() or d < 0 or d > READING_MAX or d != d.quantize(Decimal("0.01")):
        raise CellError(str(_READING_MESSAGE))
    return d


SPEC = ImportSpec(
    title=gettext_lazy("抄表"),
    columns=(
        Column(
            "building", "楼栋", ("楼号", "building"), required=True, default="", note=gettext_lazy("如 1号楼")
        ),
        Column("unit", "单元", ("unit",), default="", note=gettext_lazy("无单元的楼栋留空")),
        Column("number", "房号", ("室号", "number", "room"), required=True, default=""),
        Column(
            "kind",
            "类型",
            ("表类型", "kind"),
            required=True,
            needed=_KIND_MESSAGE,
            parse=_kind,
            note="水、电",
        ),
        Column("period", "月份", ("账期", "period"), required=True, needed=_PERIOD_MESSAGE, parse=_period),
        Column(
            "previous",
            "上期读数",
            ("上期", "previous"),
            required=True,
            needed=_READING_MESSAGE,
            parse=_reading,
        ),
        Column(
            "current", "本期读数", ("本期", "current"), required=True, needed=_READING_MESSAGE, parse=_reading
        ),
    ),
    examples=(("1号楼", "1单元", "1502", "水", "2026-10", "120.50", "131.00"),),
    extra_columns="ignore",
)
COLUMNS = {c.key: (c.header, c.aliases) for c in SPEC.columns}


@dataclass(frozen=True)
class ReadingRow:
    row: int
    room_id: int
    kind: str
    period: str
    previous: Decimal
    current: Decimal


def parse_readings(file_name: str, data: bytes, *, estate, max_rows: int) -> Parsed[ReadingRow]:
    """Every row checked against the estate's rooms and readings; a file problem is a row-0 error."""
    rooms = {
        (b, u or "", n): pk
        for pk, b, u, n in Room.objects.filter(estate=estate).values_list(
            "pk", "building__name", "unit__name", "number"
        )
    }
    existing = set(MeterReading.objects.filter(estate=estate).values_list("room_id", "kind", "period"))
    seen: set[tuple[int, str, str]] = set()

    def build(row: Row) -> ReadingRow | None:
        room_id = rooms.get((normalise_building(row["building"]), row["unit"], row["number"]))
        if room_id is None:
            row.error("number", _("本小区没有这套房屋"))
        previous, current = row["previous"], row["current"]
        if previous is not None and current is not None and current < previous:
            row.error("current", _("本期读数不能小于上期读数"))
        if not row.ok:
            return None
        key = (room_id, row["kind"], row["period"])
        if key in existing:
            row.error("period", _("该房屋该月已有读数"))
        elif key in seen:
            row.error("period", _("与文件中前面的行重复"))
        seen.add(key)
        return ReadingRow(row.number, room_id, row["kind"], row["period"], previous, current)

    try:
        return SPEC.parse(file_name, data, max_rows=max_rows, build=build)
    except FileRejected as exc:
        return Parsed([], [RowError(0, exc.column, exc.message)], 0)


def template_xlsx() -> bytes:
    return SPEC.template_xlsx()
