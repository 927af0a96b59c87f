"""Temporary-parking fees (pure: no database), in integer fen.

The rule of an estate (``ParkingFeeRule``) is turned into a ``FeeSpec``; ``compute`` charges a stay:

* a stay of at most ``free_minutes`` costs nothing (the grace period of a drop-off); a longer stay is
  charged from the entry;
* the stay is cut into 24-hour windows counted from the entry; in each window the daytime minutes
  cost ``first_fen`` for the first ``first_minutes`` and ``next_fen`` for each started further
  ``next_minutes``; minutes in the night window (``night_start``–``night_end`` in the estate's local
  time, past midnight when the end is earlier) cost a flat ``night_fen`` per night touched instead;
* each window costs at most ``daily_cap_fen``.

So the fee never falls when a stay gets longer (every term only grows) and never exceeds
``daily_cap_fen`` × the number of started 24-hour windows (both are property-tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

DAY = timedelta(hours=24)
MINUTE_US = 60_000_000


@dataclass(frozen=True)
class FeeSpec:
    free_minutes: int
    first_minutes: int
    first_fen: int
    next_minutes: int
    next_fen: int
    daily_cap_fen: int
    night_start: time | None = None
    night_end: time | None = None
    night_fen: int = 0

    def __post_init__(self) -> None:
        if self.first_minutes < 1 or self.next_minutes < 1:
            raise ValueError("period lengths must be at least one minute")
        if min(self.free_minutes, self.first_fen, self.next_fen, self.daily_cap_fen, self.night_fen) < 0:
            raise ValueError("amounts and minutes cannot be negative")
        if (self.night_start is None) != (self.night_end is None) or (
            self.night_start is not None and self.night_start == self.night_end
        ):
            raise ValueError("a night window needs a start and a different end")

    @property
    def has_night(self) -> bool:
        return self.night_start is not None


@dataclass(frozen=True)
class Fee:
    total_fen: int
    windows: tuple[int, ...]  # fee of each 24-hour window (after its cap)
    free: bool  # within the free minutes

    @property
    def days(self) -> int:
        return len(self.windows)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _night_intervals(spec: FeeSpec, start: datetime, end: datetime, tz: tzinfo):
    """The night intervals (aware datetimes) that may overlap [start, end)."""
    assert spec.night_start is not None and spec.night_end is not None
    wraps = spec.night_end < spec.night_start
    first: date = start.astimezone(tz).date() - timedelta(days=1)
    last: date = end.astimezone(tz).date()
    day = first
    while day <= last:
        night_from = datetime.combine(day, spec.night_start, tzinfo=tz)
        night_to = datetime.combine(day + timedelta(days=1) if wraps else day, spec.night_end, tzinfo=tz)
        yield night_from, night_to
        day += timedelta(days=1)


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _window_fee(spec: FeeSpec, start: datetime, end: datetime, tz: tzinfo) -> int:
    """Fee of one window, counted in whole microseconds (no float rounding at period edges)."""
    nights = 0
    night_us = 0
    if spec.has_night:
        for night_from, night_to in _night_intervals(spec, start, end, tz):
            overlap = _us(min(end, night_to) - max(start, night_from))
            if overlap > 0:
                nights += 1
                night_us += overlap
    day_us = max(_us(end - start) - night_us, 0)
    first_us = spec.first_minutes * MINUTE_US
    if day_us <= 0:
        periods_fen = 0
    elif day_us <= first_us:
        periods_fen = spec.first_fen
    else:
        periods_fen = (
            spec.first_fen + _ceil_div(day_us - first_us, spec.next_minutes * MINUTE_US) * spec.next_fen
        )
    return min(periods_fen + nights * spec.night_fen, spec.daily_cap_fen)


def compute(spec: FeeSpec, entered_at: datetime, exited_at: datetime, tz: tzinfo) -> Fee:
    """The fee of a stay from ``entered_at`` to ``exited_at`` (aware datetimes; ``tz`` is the estate's
    local time zone, used for the night window)."""
    if entered_at.tzinfo is None or exited_at.tzinfo is None:
        raise ValueError("aware datetimes only")
    if exited_at < entered_at:
        raise ValueError("exit before entry")
    stay = exited_at - entered_at
    if stay <= timedelta(minutes=spec.free_minutes):
        return Fee(total_fen=0, windows=(), free=True)
    windows = []
    start = entered_at
    while start < exited_at:
        end = min(start + DAY, exited_at)
        windows.append(_window_fee(spec, start, end, tz))
        start = end
    return Fee(total_fen=sum(windows), windows=tuple(windows), free=False)


def started_days(entered_at: datetime, exited_at: datetime) -> int:
    """Started 24-hour windows of a stay (at least one)."""
    return max(1, _ceil_div(_us(exited_at - entered_at), _us(DAY)))
