"""Spreadsheet imports (rooms, residents, meter readings, devices), declared once as an ``ImportSpec``.

A spec lists its ``Column``s: the zh-Hans header printed in the template, the spellings accepted
when reading, whether the column must be in the file, whether a cell may be blank, and how a cell
is parsed (a function that returns the value or raises ``CellError``). ``ImportSpec.parse`` then
reads an XLSX or CSV upload (UTF-8, UTF-8 with BOM or GBK), finds the header row, parses every cell
of every non-blank row and hands each row to the caller's ``build`` function for the checks across
cells and rows (duplicates, lookups in the estate). It returns the built rows and one ``RowError``
per bad cell or file problem, so the caller applies everything or nothing::

    parsed = SPEC.parse(file_name, data, max_rows=settings.IMPORT_MAX_ROWS, build=room_row)
    if parsed.errors:
        ...  # a rejected ImportJob listing every error, nothing written

Row numbers are the spreadsheet's (the header is usually row 1); a problem with the file as a
whole is row 0. Error messages never quote identity numbers or phone numbers; a column's parse
function decides what it quotes. ``ImportSpec.template_xlsx`` writes the downloadable template
(header, example rows, a sheet explaining each column) from the same declaration.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from django.conf import settings
from django.http import HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from linli.core.errors import PayloadTooLarge

Label = str | Promise  # a text of the template or a message: plain or ``gettext_lazy``

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Refuse XLSX files that inflate beyond this many times the upload limit (zip bombs).
MAX_INFLATE_FACTOR = 20
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

T = TypeVar("T")


class FileRejected(Exception):
    """The file as a whole cannot be read (not a spreadsheet, empty, bad header, too many rows)."""

    def __init__(self, message: str, *, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


class CellError(ValueError):
    """Raised by a column's parse function; ``message`` is shown in the error report."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (the header is row 1); 0 = the file as a whole
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def text(value: Any) -> str:
    """A cell as trimmed text: 15.0 → "15", a date → "2026-10-01", empty → ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _label(value: Any) -> str:
    return text(value).lstrip("*＊").strip().replace(" ", "").lower()


@dataclass(frozen=True)
class Column:
    """One column of an import: ``parse`` turns a non-blank cell into its value or raises
    ``CellError``; a blank cell is ``default``, or an error when ``needed`` (True: "<header>不能为空",
    or the message to show)."""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False  # the column must be in the file
    needed: bool | Label = False  # a cell must not be blank
    parse: Callable[[Any], Any] = text
    default: Any = None
    note: Label = ""  # the template's explanation of the column
    width: int = 12

    def accepts(self) -> set[str]:
        return {_label(h) for h in (self.header, *self.aliases)}

    def blank_message(self) -> str:
        if isinstance(self.needed, bool):
            return _("%(name)s不能为空") % {"name": self.header}
        return str(self.needed)


class Row:
    """One data row while it is built: parsed values by column key, raw cells, and its errors."""

    def __init__(self, spec: ImportSpec, number: int, cells: dict[str, Any]) -> None:
        self.spec = spec
        self.number = number
        self.cells = cells
        self.values: dict[str, Any] = {}
        self.errors: list[RowError] = []
        self._failed: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)

    def raw(self, key: str) -> Any:
        return self.cells.get(key)

    def error(self, key: str, message: str) -> None:
        self._failed.add(key)
        self.errors.append(RowError(self.number, self.spec.column(key).header, str(message)))

    def failed(self, key: str) -> bool:
        return key in self._failed

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Parsed(Generic[T]):
    rows: list[T]
    errors: list[RowError]
    total_rows: int


@dataclass(frozen=True)
class ImportSpec:
    """The declaration of one import: its columns, the template's sheet and examples, and how strict
    the header is (``extra_columns="ignore"`` lets people keep their own columns beside ours).
    ``wording`` replaces the default text of a file-level message (``missing_column``,
    ``too_many_rows``) where an import has always said it differently."""

    title: Label  # the template's sheet name, and the noun of "no ... data"
    columns: tuple[Column, ...]
    examples: tuple[tuple[Any, ...], ...] = ()
    notes: tuple[Label, ...] = ()
    extra_columns: Literal["reject", "ignore"] = "reject"
    wording: dict[str, Label] = field(default_factory=dict)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def headers(self) -> dict[str, str]:
        return {c.key: c.header for c in self.columns}

    def sort(self, errors: list[RowError]) -> list[RowError]:
        """Errors by row, then in column order (a header's unknown columns first)."""
        order = {c.header: i for i, c in enumerate(self.columns)}
        return sorted(errors, key=lambda e: (e.row, order.get(e.column, -1)))

    # --- reading ---------------------------------------------------------------------------------

    def parse(
        self,
        file_name: str,
        data: bytes,
        *,
        max_rows: int,
        build: Callable[[Row], T | None],
        max_bytes: int | None = None,
    ) -> Parsed[T]:
        """Read and check every row; ``build(row)`` checks across cells (it may call ``row.error``)
        and returns the row's value, kept when the row has no error. A header with unknown or
        missing columns gives header errors and no rows; a file that cannot be used at all (not a
        table, empty, too many rows) raises ``FileRejected``."""
        number, index, errors, body = self._open(file_name, data, max_bytes=max_bytes)
        if errors:
            return Parsed([], self.sort(errors), 0)
        rows: list[T] = []
        total = 0
        for number, cells in body:
            if all(text(c) == "" for c in cells):
                continue
            total += 1
            if total > max_rows:
                message = self.wording.get("too_many_rows") or _(
                    "文件行数超过上限 %(n)d 行，请拆分后分批导入"
                )
                raise FileRejected(message % {"n": max_rows})
            row = self._row(number, cells, index)
            built = build(row)
            errors.extend(row.errors)
            if row.ok and built is not None:
                rows.append(built)
        if total == 0:
            raise FileRejected(_("文件只有表头，没有%(noun)s数据") % {"noun": self.title})
        return Parsed(rows, self.sort(errors), total)

    def _open(self, file_name: str, data: bytes, *, max_bytes: int | None):
        if max_bytes is not None and len(data) > max_bytes:
            raise FileRejected(_("文件大小超过上限（%(mb)d MB）") % {"mb": max_bytes // (1024 * 1024) or 1})
        rows = enumerate(read_table(file_name, data), start=1)
        for number, cells in rows:
            if any(text(c) for c in cells):
                index, errors = self._header(number, cells)
                return number, index, errors, rows
        raise FileRejected(_("文件为空，没有表头和数据"))

    def _header(self, number: int, cells: tuple[Any, ...]) -> tuple[dict[str, int], list[RowError]]:
        accepted = {label: c for c in self.columns for label in c.accepts()}
        index: dict[str, int] = {}
        errors: list[RowError] = []
        for i, cell in enumerate(cells):
            raw, label = text(cell), _label(cell)
            if not label:
                continue
            column = accepted.get(label)
            if column is None:
                if self.extra_columns == "reject":
                    names = "、".join(c.header for c in self.columns)
                    message = _("未知的列“%(name)s”，可用的列：%(cols)s") % {"name": raw, "cols": names}
                    errors.append(RowError(number, raw, message))
            elif column.key in index:
                errors.append(RowError(number, raw, _("列“%(name)s”重复") % {"name": raw}))
            else:
                index[column.key] = i
        for column in self.columns:
            if column.required and column.key not in index:
                message = str(self.wording.get("missing_column") or _("缺少必填列“%(name)s”"))
                errors.append(RowError(number, column.header, message % {"name": column.header}))
        return index, errors

    def _row(self, number: int, cells: tuple[Any, ...], index: dict[str, int]) -> Row:
        row = Row(self, number, {k: cells[i] if i < len(cells) else None for k, i in index.items()})
        for column in self.columns:
            value = row.cells.get(column.key)
            if text(value) == "":
                if column.needed:
                    row.error(column.key, column.blank_message())
                row.values[column.key] = column.default
                continue
            try:
                row.values[column.key] = column.parse(value)
            except CellError as exc:
                row.error(column.key, exc.message)
                row.values[column.key] = None
        return row

    # --- template --------------------------------------------------------------------------------

    def template_xlsx(self) -> bytes:
        """The downloadable template: the header row, the example rows (cells formatted as text, so
        Excel keeps long numbers intact) and a sheet explaining each column."""
        from openpyxl import Workbook
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter

        wb = Workbook()
        ws = wb.active
        ws.title = str(self.title)
        ws.append([c.header for c in self.columns])
        for example in self.examples:
            ws.append(list(example))
        bold, fill = Font(bold=True), PatternFill("solid", fgColor="E8F1EE")
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for i, column in enumerate(self.columns, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = column.width
            for cell in ws[letter][1:]:
                if isinstance(cell.value, str):
                    cell.number_format = "@"
        notes = wb.create_sheet(_("填写说明"))
        notes.append([_("列"), _("是否必填"), _("说明")])
        for cell in notes[1]:
            cell.font = bold
        for column in self.columns:
            notes.append([column.header, _("必填") if column.needed else _("可选"), str(column.note)])
        for line in self.notes:
            notes.append([str(line)])
        notes.column_dimensions["A"].width = 14
        notes.column_dimensions["C"].width = 60
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def template_csv(self) -> bytes:
        """The same template as CSV (UTF-8 with BOM, so Excel opens it in the right encoding)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.header for c in self.columns])
        writer.writerows(self.examples)
        return ("\ufeff" + out.getvalue()).encode()


# --- files -----------------------------------------------------------------------------------------


def _check_members(data: bytes, unreadable: str) -> None:
    """Refuse an XLSX whose parts inflate too far before any XML is parsed (zip bombs, a 300 MB cell
    in a 311 KB file). The sizes are the zip directory's; zipfile stops at the declared size and
    fails the CRC check, so a member cannot inflate past what is checked here."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            sizes = [info.file_size for info in zf.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(unreadable) from exc
    limit = settings.IMPORT_MAX_PART_BYTES
    if max(sizes, default=0) > limit:
        raise PayloadTooLarge(
            _("XLSX 文件中的表格内容解压后超过 %(mb)d MB 上限") % {"mb": limit // (1024 * 1024) or 1}
        )
    if sum(sizes) > settings.IMPORT_MAX_BYTES * MAX_INFLATE_FACTOR:
        raise FileRejected(_("XLSX 文件解压后过大"))


def _xlsx_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook

    unreadable = _("无法读取该 XLSX 文件，请确认文件未损坏，或使用下载的模板")
    _check_members(data, unreadable)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) on a broken file
        raise FileRejected(unreadable) from exc
    try:
        if not wb.worksheets:
            raise FileRejected(_("文件中没有工作表"))
        sheet = wb.worksheets[0]
        # Read-only mode stops at the sheet's <dimension> header, which the file itself states: a
        # header saying A1:B2 would hide every later row (silently truncated import). Read to the end;
        # the caller counts the rows actually read against its maximum.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
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
    content = _decode_csv(data)
    try:
        yield from (tuple(r) for r in csv.reader(io.StringIO(content, newline="")))
    except csv.Error as exc:
        raise FileRejected(_("CSV 文件格式有误：") + str(exc)) from exc


def read_table(file_name: str, data: bytes) -> Iterator[tuple[Any, ...]]:
    """Rows of the first sheet (XLSX) or of the CSV file, as tuples of cell values."""
    lower = file_name.lower()
    if lower.endswith((".xls", ".et", ".numbers", ".ods")) and data[:4] != b"PK\x03\x04":
        raise FileRejected(_("不支持该文件格式，请另存为 .xlsx 或 .csv 后再上传"))
    if not data.strip():
        raise FileRejected(_("文件为空"))
    is_xlsx = data[:4] == b"PK\x03\x04" or lower.endswith(".xlsx")
    return _xlsx_rows(data) if is_xlsx else _csv_rows(data)


def check_size(size: int | None) -> None:
    """An upload over ``LINLI_IMPORT_MAX_BYTES`` is 413; pages and endpoints ask before reading it."""
    if size is not None and size > settings.IMPORT_MAX_BYTES:
        mb = settings.IMPORT_MAX_BYTES // (1024 * 1024)
        raise PayloadTooLarge(_("文件超过 %(mb)d MB 上限") % {"mb": mb})


def safe_file_name(file_name: str | None) -> str:
    """The uploaded file's base name without control characters or folders (kept on the job)."""
    name = "".join(c for c in (file_name or "") if c >= " ").replace("\\", "/").rsplit("/", 1)[-1][:200]
    return name or "upload"


def template_download(content: bytes, file_name: str) -> HttpResponse:
    """A template (``.xlsx`` or ``.csv``) as a file download, for the page and the API alike."""
    content_type = XLSX_CONTENT_TYPE if file_name.endswith(".xlsx") else "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response
