"""Reading and validating a room spreadsheet (房屋导入) before anything is written.

``parse_rooms`` turns an uploaded XLSX or CSV file into validated ``RoomRow`` values plus a list of
``RowError`` for every bad cell, and never touches the database; ``linli.places.services.rooms_import``
checks the rows against the estate's existing rooms and applies them all-or-nothing.

Columns (first sheet, first row is the header; Chinese headers, English aliases accepted):
楼栋 building, 单元 unit (optional), 楼层 floor, 房号 number, 建筑面积 area, 用途 use, 状态 status.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from linli.places.models import RoomStatus, RoomUse

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# canonical key → (template header, accepted header spellings, lower-cased)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "building": ("楼栋", ("楼栋", "楼号", "楼栋号", "building")),
    "unit": ("单元", ("单元", "单元号", "unit")),
    "floor": ("楼层", ("楼层", "floor")),
    "number": ("房号", ("房号", "房间号", "室号", "number", "room", "room number")),
    "area": (
        "建筑面积",
        ("建筑面积", "面积", "建筑面积（平方米）", "建筑面积(平方米)", "建筑面积(㎡)", "area"),
    ),
    "use": ("用途", ("用途", "房屋用途", "use")),
    "status": ("状态", ("状态", "房屋状态", "status")),
}
REQUIRED = ("building", "floor", "number", "area", "use", "status")
HEADER_ALIASES = {alias.lower(): key for key, (_h, aliases) in COLUMNS.items() for alias in aliases}

USE_LABELS = {
    **{str(label): value for value, label in RoomUse.choices},
    **{value: value for value in RoomUse.values},
}
STATUS_LABELS = {
    **{str(label): value for value, label in RoomStatus.choices},
    **{value: value for value in RoomStatus.values},
}

FLOOR_MIN, FLOOR_MAX = -20, 300
AREA_MAX = Decimal("100000")
NAME_MAX = 100
NUMBER_MAX = 32
_NUMBER_RE = re.compile(r"^[0-9A-Za-z\-_#()（）\u4e00-\u9fff]+$")

TEMPLATE_EXAMPLES = [
    ("1号楼", "1单元", 15, "1502", "89.50", "住宅", "自住"),
    ("商业楼", "", 1, "S101", "120.00", "商铺", "出租"),
]


class FileRejected(Exception):
    """The file as a whole cannot be read (not a spreadsheet, empty, bad header, too many rows)."""

    def __init__(self, message: str, *, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (the header is row 1); 0 = the file as a whole
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


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


@dataclass
class Parsed:
    rows: list[RoomRow]
    errors: list[RowError]
    total_rows: int


# ---------------------------------------------------------------------------------------------------------
# Reading the file


def _is_xlsx(file_name: str, data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04" or file_name.lower().endswith(".xlsx")


def _xlsx_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook

    unreadable = _("无法读取该 XLSX 文件，请确认文件未损坏，或使用下载的模板")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) on a broken file
        raise FileRejected(unreadable) from exc
    try:
        if not wb.worksheets:
            raise FileRejected(_("文件中没有工作表"))
        rows = wb.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a corrupt sheet part surfaces only while reading
                raise FileRejected(unreadable) from exc
            yield cells
    finally:
        wb.close()


# Magic numbers of files people upload by mistake (images, PDF, legacy .xls/.doc, archives).
_NOT_TABLE = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\xd0\xcf\x11\xe0",
    b"Rar!",
    b"\x1f\x8b",
    b"7z\xbc\xaf",
)


def _decode_csv(data: bytes) -> str:
    if data.startswith(_NOT_TABLE) or b"\x00" in data[:4096]:
        raise FileRejected(_("文件不是有效的 XLSX 或 CSV 表格"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected(_("无法识别 CSV 文件的编码，请使用 UTF-8 或 GBK 编码保存"))


def _csv_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    text = _decode_csv(data)
    try:
        yield from (tuple(r) for r in csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FileRejected(_("CSV 文件格式有误：") + str(exc)) from exc


def read_table(file_name: str, data: bytes) -> Iterator[tuple[Any, ...]]:
    """Rows of the first sheet (XLSX) or of the CSV file, as tuples of cell values."""
    lower = file_name.lower()
    if lower.endswith((".xls", ".et", ".numbers", ".ods")) and data[:4] != b"PK\x03\x04":
        raise FileRejected(_("不支持该文件格式，请另存为 .xlsx 或 .csv 后再上传"))
    if not data.strip():
        raise FileRejected(_("文件为空"))
    return _xlsx_rows(data) if _is_xlsx(file_name, data) else _csv_rows(data)


# ---------------------------------------------------------------------------------------------------------
# Cell values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _blank(row: Iterable[Any]) -> bool:
    return all(_text(v) == "" for v in row)


def normalise_building(name: str) -> str:
    """ "3" → "3号楼" so that a bare number and the usual name are one building."""
    return f"{name}号楼" if name.isdigit() else name


def normalise_unit(name: str) -> str:
    return f"{name}单元" if name.isdigit() else name


def _header(cells: tuple[Any, ...], row: int) -> tuple[dict[str, int], list[RowError]]:
    errors: list[RowError] = []
    index: dict[str, int] = {}
    for i, cell in enumerate(cells):
        raw = _text(cell)
        label = raw.lstrip("*＊").strip()
        if not label:
            continue
        key = HEADER_ALIASES.get(label.lower())
        if key is None:
            errors.append(
                RowError(
                    row,
                    raw,
                    _("未知的列“%(name)s”，可用的列：%(cols)s")
                    % {"name": raw, "cols": "、".join(h for h, _a in COLUMNS.values())},
                )
            )
        elif key in index:
            errors.append(RowError(row, raw, _("列“%(name)s”重复") % {"name": raw}))
        else:
            index[key] = i
    for key in REQUIRED:
        if key not in index:
            errors.append(
                RowError(row, COLUMNS[key][0], _("缺少必填列“%(name)s”") % {"name": COLUMNS[key][0]})
            )
    return index, errors


def _parse_floor(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = _text(value)
    match = re.fullmatch(r"([+-]?\d{1,4})\s*(?:层|楼|F|f)?", text)
    if match:
        return int(match.group(1))
    return None


def _parse_area(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        area = Decimal(_text(value))
    except (InvalidOperation, ValueError):
        return None
    return area if area.is_finite() else None


def _row(number: int, cells: tuple[Any, ...], index: dict[str, int]) -> tuple[RoomRow | None, list[RowError]]:
    def cell(key: str) -> Any:
        i = index.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    head = {k: h for k, (h, _a) in COLUMNS.items()}
    errors: list[RowError] = []

    def err(key: str, message: str) -> None:
        errors.append(RowError(number, head[key], message))

    building = normalise_building(_text(cell("building")))
    unit = normalise_unit(_text(cell("unit")))
    room_number = _text(cell("number"))
    if not building:
        err("building", _("楼栋不能为空"))
    elif len(building) > NAME_MAX:
        err("building", _("楼栋名称不能超过 %(n)d 个字") % {"n": NAME_MAX})
    if len(unit) > NAME_MAX:
        err("unit", _("单元名称不能超过 %(n)d 个字") % {"n": NAME_MAX})

    floor = None
    if _text(cell("floor")) == "":
        err("floor", _("楼层不能为空"))
    else:
        floor = _parse_floor(cell("floor"))
        if floor is None:
            err("floor", _("楼层必须是整数，如 15 或 -1"))
        elif not FLOOR_MIN <= floor <= FLOOR_MAX:
            err("floor", _("楼层应在 %(a)d 到 %(b)d 之间") % {"a": FLOOR_MIN, "b": FLOOR_MAX})
            floor = None

    if not room_number:
        err("number", _("房号不能为空"))
    elif len(room_number) > NUMBER_MAX:
        err("number", _("房号不能超过 %(n)d 个字符") % {"n": NUMBER_MAX})
    elif not _NUMBER_RE.match(room_number):
        err("number", _("房号只能包含数字、字母、汉字和 - _ # ( )"))

    area = None
    if _text(cell("area")) == "":
        err("area", _("建筑面积不能为空"))
    else:
        area = _parse_area(cell("area"))
        if area is None:
            err("area", _("建筑面积必须是数字（平方米），如 89.50"))
        elif not Decimal(0) < area < AREA_MAX:
            err("area", _("建筑面积必须大于 0 且小于 100000 平方米"))
            area = None
        elif area.as_tuple().exponent < -2 and area != area.quantize(Decimal("0.01")):
            err("area", _("建筑面积最多保留两位小数"))
            area = None
        else:
            area = area.quantize(Decimal("0.01"))

    use = status = None
    use_text, status_text = _text(cell("use")), _text(cell("status"))
    if not use_text:
        err("use", _("用途不能为空"))
    else:
        use = USE_LABELS.get(use_text) or USE_LABELS.get(use_text.lower())
        if use is None:
            err(
                "use",
                _("未知的用途“%(v)s”，可选：%(opts)s")
                % {"v": use_text, "opts": "、".join(str(label) for label in RoomUse.labels)},
            )
    if not status_text:
        err("status", _("状态不能为空"))
    else:
        status = STATUS_LABELS.get(status_text) or STATUS_LABELS.get(status_text.lower())
        if status is None:
            err(
                "status",
                _("未知的状态“%(v)s”，可选：%(opts)s")
                % {"v": status_text, "opts": "、".join(str(label) for label in RoomStatus.labels)},
            )

    if errors:
        return None, errors
    assert floor is not None and area is not None and use is not None and status is not None
    return RoomRow(
        row=number,
        building=building,
        unit=unit,
        floor=floor,
        number=room_number,
        area=area,
        use=use,
        status=status,
    ), []


def parse_rooms(file_name: str, data: bytes, *, max_rows: int) -> Parsed:
    """Read and validate every row; raises ``FileRejected`` when the file as a whole is unusable."""
    rows = read_table(file_name, data)
    header: tuple[Any, ...] | None = None
    header_row = 0
    for header_row, cells in enumerate(rows, start=1):  # noqa: B007 (the row number is used below)
        if not _blank(cells):
            header = tuple(cells)
            break
    if header is None:
        raise FileRejected(_("文件为空，没有表头和数据"))
    index, errors = _header(header, header_row)
    if errors:
        return Parsed(rows=[], errors=errors, total_rows=0)

    parsed: list[RoomRow] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    total = 0
    for number, cells in enumerate(rows, start=header_row + 1):
        if _blank(cells):
            continue
        total += 1
        if total > max_rows:
            raise FileRejected(_("文件行数超过上限 %(n)d 行，请拆分后分批导入") % {"n": max_rows})
        room, row_errors = _row(number, tuple(cells), index)
        errors.extend(row_errors)
        if room is None:
            continue
        if room.key in first_seen:
            errors.append(
                RowError(
                    number,
                    COLUMNS["number"][0],
                    _("与第 %(n)d 行重复（同一楼栋、单元、房号）") % {"n": first_seen[room.key]},
                )
            )
            continue
        first_seen[room.key] = number
        parsed.append(room)
    if total == 0:
        raise FileRejected(_("文件只有表头，没有房屋数据"))
    return Parsed(rows=parsed, errors=errors, total_rows=total)


def template_xlsx() -> bytes:
    """The downloadable import template: the header row, two example rows and a sheet of allowed values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = _("房屋")
    ws.append([h for h, _a in COLUMNS.values()])
    for example in TEMPLATE_EXAMPLES:
        ws.append(list(example))
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E8F1EE")
    for c in ws[1]:
        c.font, c.fill = bold, fill
    for col, width in zip("ABCDEFG", (12, 10, 8, 10, 12, 10, 10), strict=True):
        ws.column_dimensions[col].width = width
    notes = wb.create_sheet(_("填写说明"))
    notes.append([_("列"), _("是否必填"), _("说明")])
    notes.append(["楼栋", _("必填"), _("如 1号楼；只填数字时自动补“号楼”")])
    notes.append(["单元", _("可选"), _("如 1单元；无单元的楼栋留空")])
    notes.append(["楼层", _("必填"), _("整数，地下层用负数，如 -1")])
    notes.append(["房号", _("必填"), _("如 1502；同一楼栋单元内不可重复")])
    notes.append(["建筑面积", _("必填"), _("平方米，大于 0，最多两位小数")])
    notes.append(["用途", _("必填"), "、".join(str(label) for label in RoomUse.labels)])
    notes.append(["状态", _("必填"), "、".join(str(label) for label in RoomStatus.labels)])
    for c in notes[1]:
        c.font = bold
    notes.column_dimensions["C"].width = 40
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
