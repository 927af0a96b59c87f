"""Money and billing periods: integer fen, half-up rounding, months (2026-10) and quarters (2026-Q4)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def to_fen(yuan: Decimal) -> int:
    """Yuan (any precision) → integer fen, rounded half-up (四舍五入)."""
    return int((Decimal(yuan) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(fen: int) -> str:
    """Integer fen → "1234.50" (元, two decimals)."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def per_mille_of(fen: int, per_mille: Decimal, days: int) -> int:
    return int((Decimal(fen) * Decimal(per_mille) * days / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Period:
    code: str
    start: date
    end: date
    months: tuple[str, ...]

    @property
    def month_count(self) -> int:
        return len(self.months)


def parse_period(code: str) -> Period | None:
    """ "2026-10" (a month) or "2026-Q4" (a quarter); None when the text is neither."""
    code = (code or "").strip()
    if m := _MONTH.match(code):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 2000 <= y <= 2100:
            return None
        return Period(code, date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]), (code,))
    if m := _QUARTER.match(code):
        y, q = int(m.group(1)), int(m.group(2))
        if not 2000 <= y <= 2100:
            return None
        first = 3 * (q - 1) + 1
        months = tuple(f"{y}-{mo:02d}" for mo in range(first, first + 3))
        last = first + 2
        return Period(code, date(y, first, 1), date(y, last, calendar.monthrange(y, last)[1]), months)
    return None


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def months_back(today: date, n: int) -> list[str]:
    """The ``n`` months before the month of ``today``, oldest first."""
    out = []
    y, m = today.year, today.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y}-{m:02d}")
    return list(reversed(out))


def periods_covering(month: str) -> list[str]:
    """The bill periods that cover a month: the month itself and its quarter ("2026-10" → "2026-Q4")."""
    year, number = month.split("-")
    return [month, f"{year}-Q{(int(number) - 1) // 3 + 1}"]
