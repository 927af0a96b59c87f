"""PII-leak scanner (R20, R49): finds full resident ID numbers and mobile numbers in text.

Use it on any list/detail response, log output or export that must not carry raw identifiers::

    from linli.privacy.tests.pii import find_pii
    assert find_pii(response.content.decode()) == []

Only GB 11643 checksum-valid 18-character ID numbers count (with a real province code and a real
birth date), so masked values (``1401**********1234``) and random long numbers do not match.
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
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
_ID = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{16}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")


def is_valid_id_number(value: str) -> bool:
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit() or int(value[:2]) not in _PROVINCES:
        return False
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if birth.year < 1890:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17]


def find_pii(text: str) -> list[str]:
    """Every full ID number and mobile number in ``text``, in order of appearance (duplicates kept)."""
    hits: list[tuple[int, str]] = [
        (m.start(), m.group(1)) for m in _ID.finditer(text) if is_valid_id_number(m.group(1))
    ]
    id_spans = [(pos, pos + 18) for pos, _ in hits]
    for m in _MOBILE.finditer(text):
        if not any(a <= m.start() < b for a, b in id_spans):
            hits.append((m.start(), m.group(1)))
    return [value for _pos, value in sorted(hits)]
