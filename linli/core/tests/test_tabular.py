"""ImportSpec: one declaration reads XLSX/CSV, parses every cell, reports every bad row and writes the
template."""

import io
import re
import zipfile

import openpyxl
import pytest
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook

from linli.core.errors import PayloadTooLarge
from linli.core.tabular import (
    CellError,
    Column,
    FileRejected,
    ImportSpec,
    RowError,
    check_size,
    safe_file_name,
    text,
)


def _count(value) -> int:
    if not text(value).isdigit():
        raise CellError("须为整数")
    return int(text(value))


SPEC = ImportSpec(
    title="物品",
    columns=(
        Column("name", "名称", ("name",), required=True, needed=True),
        Column("count", "数量", ("count",), required=True, needed=gettext_lazy("请填写数量"), parse=_count),
        Column("note", "备注", default=""),
    ),
    examples=(("水杯", "2", ""),),
)


def csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def parse(data: bytes, *, name: str = "f.csv", max_rows: int = 100, build=None, spec=SPEC):
    return spec.parse(name, data, max_rows=max_rows, build=build or (lambda row: (row["name"], row["count"])))


def test_rows_are_parsed_by_their_columns_in_any_order_and_spelling():
    parsed = parse(csv("count,*名称", "3,水杯", "", "12,茶壶"))

    assert (parsed.rows, parsed.errors, parsed.total_rows) == ([("水杯", 3), ("茶壶", 12)], [], 2)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_bom_or_gbk(encoding):
    assert parse(csv("名称,数量", "水杯,1", encoding=encoding)).rows == [("水杯", 1)]


def test_xlsx_numbers_read_as_text():
    wb = Workbook()
    wb.active.append(["名称", "数量"])
    wb.active.append(["水杯", 4.0])
    out = io.BytesIO()
    wb.save(out)

    assert parse(out.getvalue(), name="f.xlsx").rows == [("水杯", 4)]


def test_every_bad_cell_is_reported_in_column_order_and_only_good_rows_are_built():
    parsed = parse(csv("数量,名称", "x,", "1,水杯"))

    assert parsed.rows == [("水杯", 1)]  # for checks against the database; applying needs no errors
    assert parsed.errors == [RowError(2, "名称", "名称不能为空"), RowError(2, "数量", "须为整数")]


def test_a_blank_needed_cell_shows_the_columns_message():
    assert parse(csv("名称,数量", "水杯,")).errors == [RowError(2, "数量", "请填写数量")]


def test_build_adds_errors_across_rows():
    seen = set()

    def build(row):
        if row["name"] in seen:
            row.error("name", "重复")
        seen.add(row["name"])
        return row["name"]

    parsed = parse(csv("名称,数量", "水杯,1", "水杯,2"), build=build)

    assert (parsed.rows, parsed.errors) == (["水杯"], [RowError(3, "名称", "重复")])


def test_unknown_duplicate_and_missing_columns_are_header_errors():
    parsed = parse(csv("名称,颜色,名称", "水杯,红,水杯"))

    assert [(e.row, e.column) for e in parsed.errors] == [(1, "颜色"), (1, "名称"), (1, "数量")]
    assert parsed.errors[2].message == "缺少必填列“数量”"


def test_extra_columns_can_be_ignored_and_wording_replaced():
    spec = ImportSpec(
        title="物品", columns=SPEC.columns, extra_columns="ignore", wording={"missing_column": "缺少必填列"}
    )

    parsed = parse(csv("名称,颜色", "水杯,红"), spec=spec)

    assert parsed.errors == [RowError(1, "数量", "缺少必填列")]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("f.csv", b"", "文件为空"),
        ("f.csv", b"\n,,\n", "文件为空，没有表头和数据"),
        ("f.csv", "名称,数量\n".encode(), "文件只有表头，没有物品数据"),
        ("f.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "文件不是有效的 XLSX 或 CSV 表格"),
        ("f.xlsx", b"PK\x03\x04broken", "无法读取该 XLSX 文件，请确认文件未损坏，或使用下载的模板"),
        ("f.xls", b"\xd0\xcf\x11\xe0\xa1\xb1", "不支持该文件格式，请另存为 .xlsx 或 .csv 后再上传"),
    ],
)
def test_unusable_files_are_rejected_with_a_reason(name, data, message):
    with pytest.raises(FileRejected) as exc:
        parse(data, name=name)

    assert exc.value.message == message


def test_too_many_rows_and_too_many_bytes_are_rejected():
    with pytest.raises(FileRejected) as rows:
        parse(csv("名称,数量", "a,1", "b,2", "c,3"), max_rows=2)
    with pytest.raises(FileRejected) as size:
        SPEC.parse("f.csv", b"x" * 2_000_000, max_rows=10, build=lambda row: row, max_bytes=1_048_576)

    assert rows.value.message == "文件行数超过上限 2 行，请拆分后分批导入"
    assert size.value.message == "文件大小超过上限（1 MB）"


def test_the_template_has_the_headers_and_examples_and_reads_back():
    content = SPEC.template_xlsx()
    sheet = list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True))

    assert sheet == [("名称", "数量", "备注"), ("水杯", "2", None)]
    assert parse(content, name="t.xlsx").rows == [("水杯", 2)]
    assert SPEC.template_csv().decode("utf-8-sig").splitlines() == ["名称,数量,备注", "水杯,2,"]


def test_file_names_are_reduced_to_a_plain_base_name():
    assert (safe_file_name("C:\\tmp\\房屋\x00.xlsx"), safe_file_name(None)) == ("房屋.xlsx", "upload")


def test_an_upload_over_the_import_cap_is_413_before_it_is_read(settings):
    settings.IMPORT_MAX_BYTES = 2 * 1024 * 1024

    check_size(None)  # size unknown: the service checks the bytes it reads
    check_size(2 * 1024 * 1024)
    with pytest.raises(PayloadTooLarge) as exc:
        check_size(2 * 1024 * 1024 + 1)

    assert exc.value.message == "文件超过 2 MB 上限"


def _xlsx(*rows: tuple) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite_member(data: bytes, name: str, edit) -> bytes:
    """A copy of the XLSX zip ``data`` with member ``name`` passed through ``edit``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info.filename, edit(content) if info.filename == name else content)
    return out.getvalue()


def _lying_dimension(data: bytes) -> bytes:
    """The sheet's <dimension> header says A1:C2 whatever the sheet holds."""
    return _rewrite_member(
        data,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C2"', xml),
    )


def test_a_sheet_whose_dimension_understates_its_rows_is_read_to_the_end():
    # given: five data rows, a header claiming one
    data = _lying_dimension(_xlsx(("名称", "数量"), *[(f"物品{i}", i) for i in range(1, 6)]))

    # when
    parsed = parse(data, name="f.xlsx")

    # then: every row, not the two the header claims
    assert parsed.rows == [(f"物品{i}", i) for i in range(1, 6)]


def test_a_sheet_whose_dimension_understates_its_rows_is_refused_past_max_rows():
    data = _lying_dimension(_xlsx(("名称", "数量"), *[(f"物品{i}", i) for i in range(1, 301)]))

    with pytest.raises(FileRejected) as exc:
        parse(data, name="f.xlsx", max_rows=100)

    assert exc.value.message == "文件行数超过上限 100 行，请拆分后分批导入"


def test_a_zip_member_inflating_past_the_bound_is_413_before_parsing(settings, monkeypatch):
    # given: a small file holding a 2 MB cell (highly compressible), a 1 MB bound on any part
    settings.IMPORT_MAX_PART_BYTES = 1024 * 1024
    data = _rewrite_member(
        _xlsx(("名称", "数量"), ("水杯", 1)),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b"<!--" + b"a" * 2_000_000 + b"-->"),
    )
    assert len(data) < 50_000

    def never(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", never)

    # when / then
    with pytest.raises(PayloadTooLarge) as exc:
        parse(data, name="f.xlsx")
    assert exc.value.message == "XLSX 文件中的表格内容解压后超过 1 MB 上限"
