"""The resident spreadsheet (住户导入), declared as an ``ImportSpec``, and its downloadable template.

``validate_residents`` reads an XLSX or CSV file (UTF-8, UTF-8 with BOM or GBK/GB18030), checks
every row and returns either the validated rows or a list of errors ``{row, column, message}`` for
every bad row. Row numbers are the spreadsheet's (header = row 1); file-level errors use row 0.
Messages never quote the cell values, so an ID number never reaches the error report.
Writing is the job of ``linli.people.services.residents_import``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core import crypto
from linli.core.cleaning import strip_invisible
from linli.core.pii import RESIDENT_ID, InvalidIdentifier, identity_parse, parse_mobile
from linli.core.tabular import (
    CellError,
    Column,
    FileRejected,
    ImportSpec,
    Row,
    RowError,
    text,
)
from linli.people.models import CareKind, Person, PopulationType, Relation
from linli.places.models import Region, Room

IMPORT_KIND = "people.residents"

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
_RELATION_MESSAGE = gettext_lazy("关系应为 业主、家属、租户 或 寄住")


def _name(value: Any) -> str:
    name = strip_invisible(text(value))
    if len(name) > 60:
        raise CellError(_("姓名过长（最多 60 个字符）"))
    return name


def _id_type(value: Any) -> str:
    return ID_TYPE_NAMES.get(text(value), text(value))


def _id_number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError(_("证件号码须以文本格式填写（Excel 会截断长数字）"))
    return text(value)


def _phone(value: Any) -> str:
    try:
        return parse_mobile(text(value))
    except InvalidIdentifier as exc:
        raise CellError(str(exc)) from exc


def _relation(value: Any) -> str:
    raw = text(value)
    relation = RELATION_NAMES.get(raw) or (raw if raw in Relation.values else None)
    if relation is None:
        raise CellError(str(_RELATION_MESSAGE))
    return relation


def _start_date(value: Any) -> date:
    parsed = None
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    elif m := _DATE_RE.match(text(value)):
        try:
            parsed = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            parsed = None
    if parsed is None:
        raise CellError(_("入住日期格式应为 YYYY-MM-DD"))
    if parsed > timezone.localdate():
        raise CellError(_("入住日期不能晚于今天"))
    return parsed


def _population(value: Any) -> str:
    raw = text(value)
    population = POPULATION_NAMES.get(raw) or (raw if raw in PopulationType.values else None)
    if population is None:
        raise CellError(_("人口类型应为 户籍人口、流动人口、境外人员 或 未落户人员"))
    return population


def _tags(value: Any) -> list[str]:
    tags: list[str] = []
    for word in _TAG_SPLIT.split(text(value)):
        if not word:
            continue
        kind = TAG_NAMES.get(word)
        if kind is None:
            raise CellError(_("标签应为 独居老人、残疾人、重点关爱 或 低保"))
        if kind not in tags:
            tags.append(kind)
    return tags


SPEC = ImportSpec(
    title=gettext_lazy("住户"),
    columns=(
        Column("name", "姓名", required=True, needed=True, parse=_name, width=10),
        Column(
            "id_type",
            "证件类型",
            parse=_id_type,
            default=RESIDENT_ID,
            note=gettext_lazy(
                "默认居民身份证；也可填 港澳居民来往内地通行证、台湾居民来往大陆通行证、普通护照等"
            ),
            width=14,
        ),
        Column("id_number", "证件号码", required=True, needed=True, parse=_id_number, width=22),
        Column(
            "phone", "手机号", required=True, parse=_phone, default="", note=gettext_lazy("可留空"), width=14
        ),
        Column("building", "楼栋", required=True, needed=True, width=10),
        Column("unit", "单元", default="", width=8),
        Column("room", "房号", required=True, needed=True, width=8),
        Column(
            "relation",
            "关系",
            required=True,
            needed=_RELATION_MESSAGE,
            parse=_relation,
            note=gettext_lazy("业主、家属、租户、寄住；租户将自动生成出租登记（3 日内申报）"),
            width=8,
        ),
        Column("start_date", "入住日期", parse=_start_date, note=gettext_lazy("YYYY-MM-DD，留空为导入当天")),
        Column(
            "population_type",
            "人口类型",
            parse=_population,
            note=gettext_lazy(
                "户籍人口、流动人口、境外人员、未落户人员；留空时租户为流动人口，其余为户籍人口"
            ),
        ),
        Column(
            "tags",
            "标签",
            parse=_tags,
            default=[],
            note=gettext_lazy("独居老人、残疾人、重点关爱、低保，多个用顿号或逗号分隔"),
            width=20,
        ),
    ),
    examples=(
        (
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
        ),
    ),
    notes=(gettext_lazy("整个文件校验通过才会导入；任何一行有误则全部不导入，并给出逐行错误报告"),),
    extra_columns="ignore",
    wording={
        "missing_column": gettext_lazy("缺少必填列"),
        "too_many_rows": gettext_lazy("数据行数超过上限（%(n)d 行）"),
    },
)
COLUMNS = SPEC.headers()


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
        """(room id, column key, message) — the id when found, else where and why not."""
        if building not in self.buildings:
            return None, "building", _("本小区没有该楼栋")
        if unit:
            pk = self.exact.get((building, unit, number))
            if pk is None:
                return None, "room", _("该楼栋单元下没有此房号")
            return pk, "", ""
        candidates = self.by_number.get((building, number), [])
        if not candidates:
            return None, "room", _("该楼栋下没有此房号")
        if len(candidates) > 1:
            return None, "unit", _("该楼栋有多个单元存在此房号，请填写单元")
        return candidates[0], "", ""


def validate_residents(
    *, estate: Region, file_name: str, data: bytes, max_bytes: int, max_rows: int
) -> Validated:
    """Read and check a whole resident file; see the module docstring."""
    rooms = _Rooms(estate)
    seen: dict[str, list[int]] = defaultdict(list)

    def build(row: Row) -> ResidentRow | None:
        identity = None
        if row["id_number"]:
            try:
                identity = identity_parse(id_type=row["id_type"], id_number=row["id_number"])
            except InvalidIdentifier as exc:
                typed = text(row.raw("id_type"))
                wrong_type = typed and row["id_type"] not in ID_TYPE_NAMES.values()
                row.error("id_type" if wrong_type else "id_number", str(exc))
        room_id = None
        if row["building"] and row["room"]:
            room_id, key, message = rooms.find(row["building"], row["unit"], row["room"])
            if room_id is None:
                row.error(key, message)
        start = row["start_date"] or timezone.localdate()
        if identity is not None and identity.birth_date and row["start_date"] and start < identity.birth_date:
            row.error("start_date", _("入住日期早于出生日期"))
        if identity is not None and identity.number:
            seen[identity.number].append(row.number)
        if not row.ok or identity is None:
            return None
        relation = row["relation"]
        population = row["population_type"] or (
            PopulationType.FLOATING if relation == Relation.TENANT else PopulationType.REGISTERED
        )
        phone = row["phone"]
        return ResidentRow(
            row=row.number,
            name=row["name"],
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
            tags=row["tags"],
        )

    try:
        parsed = SPEC.parse(file_name, data, max_rows=max_rows, build=build, max_bytes=max_bytes)
    except FileRejected as exc:
        return Validated(errors=[{"row": 0, "column": exc.column, "message": exc.message}])
    errors = list(parsed.errors)
    header = COLUMNS["id_number"]
    # Duplicates inside the file: every row of a group is reported, naming the others.
    for rows_of_id in seen.values():
        if len(rows_of_id) > 1:
            for number in rows_of_id:
                others = "、".join(str(n) for n in rows_of_id if n != number)
                errors.append(RowError(number, header, _("证件号码与第 %(rows)s 行重复") % {"rows": others}))
    # Duplicates against the register of this estate (by blind index).
    hashes = [r.id_hash for r in parsed.rows]
    existing: set[str] = set()
    for i in range(0, len(hashes), 500):
        existing.update(
            Person.objects.filter(estate=estate, id_number_hash__in=hashes[i : i + 500]).values_list(
                "id_number_hash", flat=True
            )
        )
    errors.extend(
        RowError(r.row, header, _("该证件号码已在本小区登记")) for r in parsed.rows if r.id_hash in existing
    )
    return Validated(
        total_rows=parsed.total_rows,
        rows=[] if errors else parsed.rows,
        errors=[e.as_dict() for e in SPEC.sort(errors)],
    )


def template_xlsx() -> bytes:
    """The resident import template: header row, one example row, and a sheet of instructions."""
    return SPEC.template_xlsx()
