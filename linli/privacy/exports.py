"""File formats for exports: CSV (UTF-8 with BOM so spreadsheet software reads Chinese), XLSX, JSON, ZIP.

Pure functions: lists of flat dicts in, bytes out. Deciding what goes in and auditing it is the
job of ``linli.privacy.services``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _safe_text(value: Any) -> Any:
    """Neutralise spreadsheet formula injection (CSV/XLSX cells starting with = + - @)."""
    value = _cell(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def headers_of(rows: Rows, headers: list[str] | None = None) -> list[str]:
    if headers is not None:
        return headers
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def to_csv(rows: Rows, headers: list[str] | None = None) -> bytes:
    cols = headers_of(rows, headers)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_safe_text(row.get(c)) for c in cols])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_cell).encode("utf-8")


def to_xlsx(sheets: dict[str, tuple[list[str], Rows]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, (cols, rows) in sheets.items():
        ws = wb.create_sheet(title=title[:31])
        ws.append(cols)
        for row in rows:
            ws.append([_safe_text(row.get(c)) for c in cols])
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_csv_zip(sections: dict[str, Rows], extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, rows in sections.items():
            zf.writestr(f"{name}.csv", to_csv(rows))
        for name, content in (extra or {}).items():
            zf.writestr(name, content)
    return buf.getvalue()
