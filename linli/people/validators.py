"""Validators for personal identifiers: resident ID numbers (GB 11643-1999) and mobile numbers."""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{5}(\d{4})(\d{2})(\d{2})\d{3}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# First two digits: provinces of GB/T 2260.
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
              53, 54, 61, 62, 63, 64, 65, 71, 81, 82}


class InvalidIdentifier(ValueError):
    """The value is not a valid identifier; ``str(exc)`` is a user-facing reason."""


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def parse_id_number(value: str, *, today: date | None = None) -> tuple[str, date, str]:
    """Validate a 18-digit 公民身份号码; return (normalised number, birth date, gender code 1/2)."""
    number = normalize_id_number(value)
    m = _ID_RE.match(number)
    if not m:
        raise InvalidIdentifier(_("身份证号应为18位，前17位为数字，末位为数字或X"))
    if int(number[:2]) not in _PROVINCES:
        raise InvalidIdentifier(_("身份证号的行政区划代码无效"))
    try:
        birth = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise InvalidIdentifier(_("身份证号中的出生日期无效")) from exc
    today = today or date.today()
    if birth > today or birth.year < 1890:
        raise InvalidIdentifier(_("身份证号中的出生日期无效"))
    if id_check_digit(number[:17]) != number[17]:
        raise InvalidIdentifier(_("身份证号校验码错误"))
    gender = "1" if int(number[16]) % 2 == 1 else "2"
    return number, birth, gender


def normalize_mobile(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def parse_mobile(value: str) -> str:
    number = normalize_mobile(value)
    if not _MOBILE_RE.match(number):
        raise InvalidIdentifier(_("手机号应为以1开头的11位数字"))
    return number


def mask_id(number: str) -> str:
    """1401**********1234 style (first 4 and last 4 kept)."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """138****1234."""
    if not number:
        return ""
    if len(number) < 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str) -> str:
    """张*三 style: keep the family name (first char) and, for 3+ chars, the last char."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
