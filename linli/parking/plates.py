"""Plate helpers shared by the parking services, pages and the API (pure)."""

from __future__ import annotations

import calendar
from datetime import date

from linli.core.pii import InvalidIdentifier, normalize_plate, parse_plate

# A read below this confidence (0–100) is not trusted to open a barrier: the guard decides.
MIN_CONFIDENCE = 70
MAX_PICTURE_REFS = 8
MAX_PICTURE_REF_LENGTH = 300


def mask_plate(plate: str) -> str:
    """晋A·***45: the full plate is for parking roles only; elsewhere (bill titles, notices) mask it."""
    plate = plate or ""
    if len(plate) <= 4:
        return plate[:1] + "*" * max(len(plate) - 1, 0)
    return f"{plate[:2]}·{'*' * (len(plate) - 4)}{plate[-2:]}"


def valid_plate(raw: str) -> str | None:
    """The normalised plate, or None when it is not a valid Chinese motor-vehicle plate (GA 36)."""
    try:
        return parse_plate(raw)
    except InvalidIdentifier:
        return None


def clean_text(raw, max_length: int) -> str:
    """Vendor text made storable: no control characters (PostgreSQL refuses NUL), no lone surrogates."""
    text = "".join(c for c in str(raw or "") if c >= " " and not 0xD800 <= ord(c) <= 0xDFFF)
    return text[:max_length]


def read_text(raw: str) -> str:
    """What a camera read, normalised for storage (kept when it is not a valid plate)."""
    return clean_text(normalize_plate(clean_text(raw, 64)), 16)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clamped to the month's last day)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
