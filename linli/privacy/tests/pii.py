"""PII-leak scanner (R20, R49): finds full resident ID numbers and mobile numbers in text.

Use it on any list/detail response, log output or export that must not carry raw identifiers::

    from linli.privacy.tests.pii import find_pii
    assert find_pii(response.content.decode()) == []

Only GB 11643 checksum-valid 18-character ID numbers count (with a real province code and a real
birth date), so masked values (``1401**********1234``) and random long numbers do not match.
"""

from __future__ import annotations

import re

from linli.core.pii import InvalidIdentifier, parse_id_number

_ID = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{16}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")


def is_valid_id_number(value: str) -> bool:
    """The same GB 11643 rules as the product's validator (province, birth date, check digit)."""
    try:
        parse_id_number(value)
    except InvalidIdentifier:
        return False
    return True


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
