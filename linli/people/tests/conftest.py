"""Helpers shared by the people tests: actors, and resident files built in memory."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook

from linli.core.pii import id_check_digit
from linli.orgs.selectors import actor_for_user
from linli.people.imports import COLUMNS

HEADER = list(COLUMNS.values())
_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


@pytest.fixture
def actor_of():
    return actor_for_user


def row(**values) -> list[str]:
    """One file row in template column order; keys are the canonical column keys."""
    return [values.get(key, "") for key in COLUMNS]


def csv_bytes(rows: list[list[str]], *, header: list[str] | None = None, encoding: str = "utf-8") -> bytes:
    lines = [header or HEADER, *rows]
    return "\r\n".join(",".join(cells) for cells in lines).encode(encoding) + b"\r\n"


def xlsx_bytes(rows: list[list], *, header: list[str] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header or HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def full_ids_in(text: str) -> list[str]:
    """Checksum-valid 18-digit ID numbers appearing in ``text`` (R20 leak scanner)."""
    return [m for m in _ID_RE.findall(text) if id_check_digit(m[:17]) == m[17]]


def mobiles_in(text: str) -> list[str]:
    return _MOBILE_RE.findall(text)
