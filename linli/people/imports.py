"""Reading and validating resident spreadsheets (住户导入), and the downloadable template.

``validate_residents`` reads an XLSX or CSV file (UTF-8, UTF-8 with BOM or GBK/GB18030), checks
every row and returns either the validated rows or a list of errors ``{row, column, message}`` for
every bad row. Row numbers are the spreadsheet's (header = row 1); file-level errors use row 0.
Messages never quote the cell values, so an ID number never reaches the error report.
Writing is the job of ``linli.people.services.residents_import``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import crypto
from linli.core.pii import RESIDENT_ID, InvalidIdentifier, identity_parse, parse_mobile
from linli.people.models import CareKind, PopulationType, Relation
from linli.places.models import Region, Room

IMPORT_KIND = "people.residents"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Canonical key → column title in the file (zh-Hans, as printed in the template).
COLUMNS = {
    "name": "姓名",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "phone": "手机号",
    "building": "楼栋",
    "unit": "单元",
    "room": "房号",
    "relation": "关系",
    "start_date": "入住日期",
    "population_type": "人口类型",
    "tags": "标签",
}
REQUIRED = ("name", "id_number", "phone", "building", "room", "relation")
TITLE_TO_KEY = {title: key for key, title in COLUMNS.items()}

ID_TYPE_NAMES = {
    "居民身份证": "111",
    "身份证": "111",
    "港澳居民来往内地通行证": "516",
    "台湾居民来往大陆通行证": "511",
    "普通护照": "414",
    "护照": "414",
    "外国人永久居留身份证": "553",
}
RELATION_NAMES = {
    "业主": Relation.OWNER,
    "家属": Relation.FAMILY,
    "租户": Relation.TENANT,
    "寄住": Relation.LODGER,
}
POPULATION_NAMES = {
    "户籍人口": PopulationType.REGISTERED,
    "户籍": PopulationType.REGISTERED,
    "流动人口": PopulationType.FLOATING,
    "流动": PopulationType.FLOATING,
    "境外人员": PopulationType.OVERSEAS,
    "境外": PopulationType.OVERSEAS,
    "未落户人员": PopulationType.UNSETTLED,
    "未落户": PopulationType.UNSETTLED,
}
TAG_NAMES = {
    "独居老人": CareKind.ELDERLY_ALONE,
    "残疾人": CareKind.DISABLED,
    "重点关爱": CareKind.KEY_CARE,
    "低保": CareKind.LOW_INCOME,
    "特困": CareKind.LOW_INCOME,
    "低保/特困": CareKind.LOW_INCOME,
}
_TAG_SPLIT = re.compile(r"[、,，;；\s]+")
_DATE_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
# Refuse XLSX files that inflate beyond this many times the upload limit (zip bombs).
_MAX_INFLATE_FACTOR = 20


class ImportFileError(Exception):
    """The file as a whole cannot be read; ``str(exc)`` is a user-facing reason."""


@dataclass
class ResidentRow:
    row: int
    name: str
    id_type: str
    id_number: str
    id_hash: str
    birth_date: date | None
    gender: str
    phone: str
    phone_hash: str
    room_id: int
    relation: str
    start_date: date
    population_type: str
    tags: list[str] = field(default_factory=list)


@dataclass
class Validated:
    total_rows: int = 0
    rows: list[ResidentRow] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value).strip()


def _collect(rows, *, max_rows: int) -> list[tuple[int, list]]:
    """(row number, values) of the header (row 1) and of every non-empty row after it; reading stops
    once there is one data row more than allowed, so an oversized file is not held in memory."""
    out: list[tuple[int, list]] = []
    for number, values in enumerate(rows, start=1):
        values = list(values)
        if number == 1:
            out.append((1, values))
        elif any(_cell(v) for v in values):
            out.append((number, values))
            if len(out) > max_rows + 1:
                break
    return out


def _read_xlsx(data: bytes, *, max_bytes: int, max_rows: int) -> list[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            inflated = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("无法读取 XLSX 文件，请确认文件未损坏")) from exc
    if inflated > max_bytes * _MAX_INFLATE_FACTOR:
        raise ImportFileError(_("XLSX 文件解压后过大"))
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on malformed files
        raise ImportFileError(_("无法读取 XLSX 文件，请确认文件未损坏")) from exc
    try:
        if not wb.worksheets:
            raise ImportFileError(_("文件中没有工作表"))
        return _collect(wb.worksheets[0].iter_rows(values_only=True), max_rows=max_rows)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(_("无法读取 XLSX 文件，请确认文件未损坏")) from exc
    finally:
        wb.close()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(_("无法识别文件编码，请使用 UTF-8 或 GBK 编码")) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("无法识别文件编码，请使用 UTF-8 或 GBK 编码")) from exc


def _read_csv(data: bytes, *, max_rows: int) -> list[tuple[int, list]]:
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_("文件不是有效的 CSV 文本"))
    try:
        return _collect(csv.reader(io.StringIO(text, newline="")), max_rows=max_rows)
    except csv.Error as exc:
        raise ImportFileError(_("CSV 文件格式错误")) from exc


def read_table(*, file_name: str, data: bytes, max_bytes: int, max_rows: int) -> list[tuple[int, list]]:
    """The first sheet (XLSX) or the CSV as numbered rows of raw cell values: the header, then the
    non-empty rows."""
    if len(data) > max_bytes:
        raise ImportFileError(_("文件大小超过上限（%(mb)d MB）") % {"mb": max_bytes // (1024 * 1024) or 1})
    if not data:
        raise ImportFileError(_("文件为空"))
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, max_bytes=max_bytes, max_rows=max_rows)
    if data[:4] == b"\xd0\xcf\x11\xe0" or file_name.lower().endswith(".xls"):
        raise ImportFileError(_("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV"))
    if file_name.lower().endswith(".xlsx"):
        raise ImportFileError(_("无法读取 XLSX 文件，请确认文件未损坏"))
    return _read_csv(data, max_rows=max_rows)


# --- validation --------------------------------------------------------------------------------


class _Rooms:
    """The estate's rooms, indexed by building, unit and number names as written in the file."""

    def __init__(self, estate: Region) -> None:
        self.buildings: set[str] = set()
        self.exact: dict[tuple[str, str, str], int] = {}
        self.by_number: dict[tuple[str, str], list[int]] = defaultdict(list)
        for pk, building, unit, number in Room.objects.filter(estate=estate).values_list(
            "pk", "building__name", "unit__name", "number"
        ):
            self.buildings.add(building)
            self.exact[(building, unit or "", number)] = pk
            self.by_number[(building, number)].append(pk)

    def find(self, building: str, unit: str, number: str) -> tuple[int | None, str, str]:
        """(room id, column, message) — the id when found, else where and why not."""
        if building not in self.buildings:
            return None, COLUMNS["building"], _("本小区没有该楼栋")
        if unit:
            pk = self.exact.get((building, unit, number))
            if pk is None:
                return None, COLUMNS["room"], _("该楼栋单元下没有此房号")
            return pk, "", ""
        candidates = self.by_number.get((building, number), [])
        if not candidates:
            return None, COLUMNS["room"], _("该楼栋下没有此房号")
        if len(candidates) > 1:
            return None, COLUMNS["unit"], _("该楼栋有多个单元存在此房号，请填写单元")
        return candidates[0], "", ""


def _parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE_RE.match(_cell(value))
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _header(row: list) -> tuple[dict[str, int], list[dict]]:
    index: dict[str, int] = {}
    errors: list[dict] = []
    for i, raw in enumerate(row):
        title = _cell(raw).replace(" ", "").lstrip("*")
        key = TITLE_TO_KEY.get(title)
        if key is None:
            continue
        if key in index:
            errors.append({"row": 1, "column": title, "message": _("列名重复")})
        index[key] = i
    for key in REQUIRED:
        if key not in index:
            errors.append({"row": 1, "column": COLUMNS[key], "message": _("缺少必填列")})
    return index, errors


def validate_residents(
    *, estate: Region, file_name: str, data: bytes, max_bytes: int, max_rows: int
) -> Validated:
    """Read and check a whole resident file; see the module docstring."""
    out = Validated()
    try:
        table = read_table(file_name=file_name, data=data, max_bytes=max_bytes, max_rows=max_rows)
    except ImportFileError as exc:
        out.errors.append({"row": 0, "column": "", "message": str(exc)})
        return out
    if not table:
        out.errors.append({"row": 0, "column": "", "message": _("文件中没有数据行")})
        return out
    index, header_errors = _header(table[0][1])
    body = table[1:]
    out.total_rows = len(body)
    if header_errors:
        out.errors.extend(header_errors)
        return out
    if not body:
        out.errors.append({"row": 0, "column": "", "message": _("文件中没有数据行")})
        return out
    if len(body) > max_rows:
        out.errors.append(
            {"row": 0, "column": "", "message": _("数据行数超过上限（%(n)d 行）") % {"n": max_rows}}
        )
        return out

    rooms = _Rooms(estate)
    today = timezone.localdate()
    seen: dict[str, list[int]] = defaultdict(list)
    candidates: list[ResidentRow] = []
    for number, raw in body:

        def get(key: str, raw=raw) -> object:
            i = index.get(key)
            return raw[i] if i is not None and i < len(raw) else None

        errs: list[tuple[str, str]] = []
        name = _cell(get("name"))
        if not name:
            errs.append(("name", _("姓名不能为空")))
        elif len(name) > 60:
            errs.append(("name", _("姓名过长（最多 60 个字符）")))
        id_type_text = _cell(get("id_type"))
        id_type = ID_TYPE_NAMES.get(id_type_text, id_type_text) if id_type_text else RESIDENT_ID
        raw_id = get("id_number")
        identity = None
        if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
            errs.append(("id_number", _("证件号码须以文本格式填写（Excel 会截断长数字）")))
        elif not _cell(raw_id):
            errs.append(("id_number", _("证件号码不能为空")))
        else:
            try:
                identity = identity_parse(id_type=id_type, id_number=_cell(raw_id))
            except InvalidIdentifier as exc:
                errs.append(
                    (
                        "id_type" if id_type_text and id_type not in ID_TYPE_NAMES.values() else "id_number",
                        str(exc),
                    )
                )
        phone = ""
        if _cell(get("phone")):
            try:
                phone = parse_mobile(_cell(get("phone")))
            except InvalidIdentifier as exc:
                errs.append(("phone", str(exc)))
        room_id = None
        building, unit, room_no = _cell(get("building")), _cell(get("unit")), _cell(get("room"))
        if not building:
            errs.append(("building", _("楼栋不能为空")))
        elif not room_no:
            errs.append(("room", _("房号不能为空")))
        else:
            room_id, col, msg = rooms.find(building, unit, room_no)
            if room_id is None:
                errs.append((TITLE_TO_KEY[col], msg))
        relation_text = _cell(get("relation"))
        relation = RELATION_NAMES.get(relation_text) or (
            relation_text if relation_text in Relation.values else None
        )
        if relation is None:
            errs.append(("relation", _("关系应为 业主、家属、租户 或 寄住")))
        start = today
        if _cell(get("start_date")):
            parsed = _parse_date(get("start_date"))
            if parsed is None:
                errs.append(("start_date", _("入住日期格式应为 YYYY-MM-DD")))
            elif parsed > today:
                errs.append(("start_date", _("入住日期不能晚于今天")))
            elif identity is not None and identity.birth_date and parsed < identity.birth_date:
                errs.append(("start_date", _("入住日期早于出生日期")))
            else:
                start = parsed
        pop_text = _cell(get("population_type"))
        if pop_text:
            population = POPULATION_NAMES.get(pop_text) or (
                pop_text if pop_text in PopulationType.values else None
            )
            if population is None:
                errs.append(("population_type", _("人口类型应为 户籍人口、流动人口、境外人员 或 未落户人员")))
        else:
            population = PopulationType.FLOATING if relation == Relation.TENANT else PopulationType.REGISTERED
        tags: list[str] = []
        for word in _TAG_SPLIT.split(_cell(get("tags"))):
            if not word:
                continue
            kind = TAG_NAMES.get(word)
            if kind is None:
                errs.append(("tags", _("标签应为 独居老人、残疾人、重点关爱 或 低保")))
                break
            if kind not in tags:
                tags.append(kind)

        for key, msg in errs:
            out.errors.append({"row": number, "column": COLUMNS[key], "message": msg})
        if identity is not None and identity.number:
            seen[identity.number].append(number)
        if not errs and identity is not None:
            candidates.append(
                ResidentRow(
                    row=number,
                    name=name,
                    id_type=identity.id_type,
                    id_number=identity.number,
                    id_hash=crypto.blind_index(identity.number, purpose=crypto.INDEX_ID_NUMBER),
                    birth_date=identity.birth_date,
                    gender=identity.gender or "0",
                    phone=phone,
                    phone_hash=crypto.blind_index(phone, purpose=crypto.INDEX_PHONE) if phone else "",
                    room_id=room_id,
                    relation=relation,
                    start_date=start,
                    population_type=population,
                    tags=tags,
                )
            )

    # Duplicates inside the file: every row of a group is reported, naming the others.
    for rows_of_id in seen.values():
        if len(rows_of_id) > 1:
            for number in rows_of_id:
                others = "、".join(str(n) for n in rows_of_id if n != number)
                out.errors.append(
                    {
                        "row": number,
                        "column": COLUMNS["id_number"],
                        "message": _("证件号码与第 %(rows)s 行重复") % {"rows": others},
                    }
                )
    # Duplicates against the register of this estate (by blind index).
    from linli.people.models import Person

    hashes = [r.id_hash for r in candidates]
    existing: set[str] = set()
    for i in range(0, len(hashes), 500):
        existing.update(
            Person.objects.filter(estate=estate, id_number_hash__in=hashes[i : i + 500]).values_list(
                "id_number_hash", flat=True
            )
        )
    for r in candidates:
        if r.id_hash in existing:
            out.errors.append(
                {"row": r.row, "column": COLUMNS["id_number"], "message": _("该证件号码已在本小区登记")}
            )
    order = {title: i for i, title in enumerate(COLUMNS.values())}
    out.errors.sort(key=lambda e: (e["row"], order.get(e["column"], -1)))
    if not out.errors:
        out.rows = candidates
    return out


# --- template ----------------------------------------------------------------------------------

TEMPLATE_EXAMPLE = [
    "张三",
    "居民身份证",
    "",
    "13800000000",
    "1号楼",
    "1单元",
    "101",
    "业主",
    "2024-01-01",
    "户籍人口",
    "",
]


def template_xlsx() -> bytes:
    """The resident import template: header row, one example row, and a sheet of instructions."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "住户"
    ws.append([COLUMNS[k] for k in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.append(TEMPLATE_EXAMPLE)
    for col in ws.iter_cols(min_row=1, max_row=200):
        for cell in col:
            cell.number_format = "@"  # text, so Excel keeps 18-digit numbers intact
    for letter, width in zip("ABCDEFGHIJK", (10, 14, 22, 14, 10, 8, 8, 8, 12, 12, 20), strict=True):
        ws.column_dimensions[letter].width = width
    notes = wb.create_sheet("说明")
    for line in (
        _("必填列：姓名、证件号码、手机号（可留空）、楼栋、房号、关系"),
        _("证件类型：默认居民身份证；也可填 港澳居民来往内地通行证、台湾居民来往大陆通行证、普通护照等"),
        _("关系：业主、家属、租户、寄住；租户将自动生成出租登记（3 日内申报）"),
        _("入住日期：YYYY-MM-DD，留空为导入当天"),
        _("人口类型：户籍人口、流动人口、境外人员、未落户人员；留空时租户为流动人口，其余为户籍人口"),
        _("标签：独居老人、残疾人、重点关爱、低保，多个用顿号或逗号分隔"),
        _("整个文件校验通过才会导入；任何一行有误则全部不导入，并给出逐行错误报告"),
    ):
        notes.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
