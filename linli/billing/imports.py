"""Reading a meter-reading spreadsheet (抄表导入): XLSX or CSV, validated whole before anything is written.

Columns (first row is the header; English aliases accepted): 楼栋 building, 单元 unit (optional),
房号 number, 类型 kind (水/电 or water/electricity), 月份 period (2026-10), 上期读数 previous,
本期读数 current. ``parse_readings`` returns the rows and one ``RowError`` per bad cell;
``linli.billing.services.meter_readings_import`` applies them all-or-nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from linli.billing.models import MeterReading
from linli.billing.money import parse_period
from linli.places.imports import FileRejected, RowError, normalise_building, read_table
from linli.places.models import Room

COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "building": ("楼栋", ("楼栋", "楼号", "building")),
    "unit": ("单元", ("单元", "unit")),
    "number": ("房号", ("房号", "室号", "number", "room")),
    "kind": ("类型", ("类型", "表类型", "kind")),
    "period": ("月份", ("月份", "账期", "period")),
    "previous": ("上期读数", ("上期读数", "上期", "previous")),
    "current": ("本期读数", ("本期读数", "本期", "current")),
}
REQUIRED = ("building", "number", "kind", "period", "previous", "current")
ALIASES = {a.lower(): key for key, (_h, aliases) in COLUMNS.items() for a in aliases}
KINDS = {
    "水": "water",
    "水表": "water",
    "water": "water",
    "电": "electricity",
    "电表": "electricity",
    "electricity": "electricity",
}
READING_MAX = Decimal("9999999999")


@dataclass(frozen=True)
class ReadingRow:
    row: int
    room_id: int
    kind: str
    period: str
    previous: Decimal
    current: Decimal


@dataclass
class Parsed:
    rows: list[ReadingRow]
    errors: list[RowError]
    total_rows: int


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date)):
        return f"{value.year}-{value.month:02d}"
    return str(value).strip()


def _reading(value: Any) -> Decimal | None:
    try:
        d = Decimal(_text(value))
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite() or d < 0 or d > READING_MAX or d != d.quantize(Decimal("0.01")):
        return None
    return d


def parse_readings(file_name: str, data: bytes, *, estate, max_rows: int) -> Parsed:
    errors: list[RowError] = []
    try:
        table = list(read_table(file_name, data))
    except FileRejected as exc:
        return Parsed([], [RowError(0, exc.column, exc.message)], 0)
    table = [r for r in table if any(_text(c) for c in r)]
    if not table:
        return Parsed([], [RowError(0, "", _("文件为空"))], 0)
    header = [_text(c).lower() for c in table[0]]
    index = {ALIASES[h]: i for i, h in enumerate(header) if h in ALIASES}
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in index]
    if missing:
        return Parsed([], [RowError(1, m, _("缺少此列")) for m in missing], 0)
    body = table[1:]
    if len(body) > max_rows:
        return Parsed([], [RowError(0, "", _("最多 %(n)d 行") % {"n": max_rows})], len(body))
    rooms = {
        (b, u or "", n): pk
        for pk, b, u, n in Room.objects.filter(estate=estate).values_list(
            "pk", "building__name", "unit__name", "number"
        )
    }
    existing = set(MeterReading.objects.filter(estate=estate).values_list("room_id", "kind", "period"))
    seen: set[tuple[int, str, str]] = set()
    rows: list[ReadingRow] = []
    for offset, cells in enumerate(body):
        n = offset + 2

        def cell(key: str, cells=cells) -> Any:
            i = index.get(key)
            return cells[i] if i is not None and i < len(cells) else None

        row_errors: list[RowError] = []
        building = normalise_building(_text(cell("building")))
        unit = _text(cell("unit"))
        number = _text(cell("number"))
        room_id = rooms.get((building, unit, number))
        if room_id is None:
            row_errors.append(RowError(n, "房号", _("本小区没有这套房屋")))
        kind = KINDS.get(_text(cell("kind")).lower())
        if kind is None:
            row_errors.append(RowError(n, "类型", _("类型只能是 水 或 电")))
        p = parse_period(_text(cell("period")))
        if p is None or p.month_count != 1:
            row_errors.append(RowError(n, "月份", _("月份格式为 2026-10")))
        prev, cur = _reading(cell("previous")), _reading(cell("current"))
        if prev is None:
            row_errors.append(RowError(n, "上期读数", _("请填写不小于 0、最多两位小数的数字")))
        if cur is None:
            row_errors.append(RowError(n, "本期读数", _("请填写不小于 0、最多两位小数的数字")))
        if prev is not None and cur is not None and cur < prev:
            row_errors.append(RowError(n, "本期读数", _("本期读数不能小于上期读数")))
        if not row_errors:
            key = (room_id, kind, p.code)
            if key in existing:
                row_errors.append(RowError(n, "月份", _("该房屋该月已有读数")))
            elif key in seen:
                row_errors.append(RowError(n, "月份", _("与文件中前面的行重复")))
            else:
                seen.add(key)
                rows.append(ReadingRow(n, room_id, kind, p.code, prev, cur))
        errors.extend(row_errors)
    return Parsed(rows, errors, len(body))


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "抄表"
    ws.append([h for h, _a in COLUMNS.values()])
    ws.append(["1号楼", "1单元", "1502", "水", "2026-10", "120.50", "131.00"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
