"""Personal identifiers, validated and masked: resident ID numbers (GB 11643-1999), mobile and contact
phones, vehicle plates, unified social credit codes; masks for lists and pages.

Kernel code (no domain imports): every app that shows or accepts an identifier uses this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{5}(\d{4})(\d{2})(\d{2})\d{3}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# First two digits: provinces of GB/T 2260.
_PROVINCES = {
    11,
    12,
    13,
    14,
    15,
    21,
    22,
    23,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    41,
    42,
    43,
    44,
    45,
    46,
    50,
    51,
    52,
    53,
    54,
    61,
    62,
    63,
    64,
    65,
    71,
    81,
    82,
}


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


# Vehicle plates (GA 36-2018): province abbreviation + issuing-authority letter + serial.
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_CHAR = "A-HJ-NP-Z0-9"  # letters I and O are never used (confused with 1 and 0)
_NEV_CLASS = "ABCDEFGHJK"  # new-energy class letter: D/A/B/C/E pure electric, F/G/H/J/K other
_PLATE_RE = re.compile(
    rf"^[{_PLATE_PROVINCES}][A-HJ-NP-Z]"
    rf"(?:"
    rf"[{_PLATE_CHAR}]{{5}}"  # ordinary 7-character plate
    rf"|[{_PLATE_CHAR}]{{4}}[挂学警港澳领试超]"  # trailer, coach, police, HK/Macao, consular, trial, oversize
    rf"|[{_NEV_CLASS}][{_PLATE_CHAR}]\d{{4}}"  # new-energy small vehicle (8 characters)
    rf"|\d{{5}}[{_NEV_CLASS}]"  # new-energy large vehicle (8 characters)
    rf")$"
)


def normalize_plate(value: str) -> str:
    return re.sub(r"[\s·.\-]", "", value or "").upper()


def parse_plate(value: str) -> str:
    """Validate a Chinese motor-vehicle plate (incl. 8-character new-energy plates); return it normalised."""
    plate = normalize_plate(value)
    if not _PLATE_RE.match(plate):
        raise InvalidIdentifier(_("车牌号格式无效，如 晋A12345 或新能源 晋AD12345"))
    return plate


def is_new_energy_plate(plate: str) -> bool:
    return len(plate) == 8


# 统一社会信用代码 (GB 32100-2015): 18 characters, last one a check character.
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(rf"^[{_CREDIT_CHARS}]{{18}}$")


def credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def parse_credit_code(value: str) -> str:
    code = (value or "").strip().upper()
    if not _CREDIT_RE.match(code) or credit_check_char(code[:17]) != code[17]:
        raise InvalidIdentifier(_("统一社会信用代码无效"))
    return code


_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def parse_contact_phone(value: str) -> str:
    """A mobile number or a landline with area code (0351-1234567)."""
    raw = re.sub(r"\s", "", value or "")
    if _LANDLINE_RE.match(raw):
        return raw
    return parse_mobile(raw)


@dataclass(frozen=True)
class Identity:
    """A validated identity document: normalised number plus what the number tells (for 居民身份证)."""

    id_type: str
    number: str
    birth_date: date | None
    gender: str | None


RESIDENT_ID = "111"  # GA/T 2000.156 code of 居民身份证 (people.models.IdType.RESIDENT_ID)
ID_TYPES = ("111", "516", "511", "414", "553")


def identity_parse(*, id_type: str, id_number: str) -> Identity:
    """Validate an identity document number for its type; raise ``InvalidIdentifier`` with a reason.

    A 居民身份证 number is checked in full (GB 11643) and yields birth date and gender; other
    documents are checked for a plausible shape only. An empty number of another type is allowed.
    """
    if id_type not in ID_TYPES:
        raise InvalidIdentifier(_("证件类型无效"))
    if id_type == RESIDENT_ID:
        number, birth, gender = parse_id_number(id_number)
        return Identity(id_type, number, birth, gender)
    number = normalize_id_number(id_number)
    if not number:
        return Identity(id_type, "", None, None)
    if not (5 <= len(number) <= 30) or not number.isascii() or not number.replace("-", "").isalnum():
        raise InvalidIdentifier(_("证件号码格式无效"))
    return Identity(id_type, number, None, None)
