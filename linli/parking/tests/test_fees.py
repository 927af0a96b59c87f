"""The fee function: worked examples and properties (Hypothesis): the fee never falls when a stay gets
longer and never exceeds the daily cap × the started 24-hour windows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.parking.fees import FeeSpec, compute, started_days

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLAIN = FeeSpec(
    free_minutes=15, first_minutes=60, first_fen=500, next_minutes=30, next_fen=200, daily_cap_fen=3000
)
NIGHT = FeeSpec(
    free_minutes=15,
    first_minutes=60,
    first_fen=500,
    next_minutes=60,
    next_fen=200,
    daily_cap_fen=3000,
    night_start=time(22, 0),
    night_end=time(7, 0),
    night_fen=500,
)
MORNING = datetime(2026, 5, 7, 8, 0, tzinfo=SHANGHAI)


def fee(spec, minutes: float, start=MORNING) -> int:
    return compute(spec, start, start + timedelta(minutes=minutes), SHANGHAI).total_fen


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, 0),
        (15, 0),  # the free minutes include their last second
        (15 + 1 / 60, 500),  # one second more: charged from the entry
        (60, 500),
        (61, 700),
        (90, 700),
        (91, 900),
        (60 + 30 * 12, 500 + 12 * 200),  # 2,900 fen
        (60 + 30 * 13, 3000),  # capped
        (24 * 60, 3000),
        (24 * 60 + 1, 3500),  # a new window starts with a first period
        (48 * 60, 6000),
    ],
)
def test_plain_rule_examples(minutes, expected):
    assert fee(PLAIN, minutes) == expected


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # 21:00 → 23:00: one hour of day (500) + a touched night (500)
        (datetime(2026, 5, 7, 21, 0, tzinfo=SHANGHAI), 120, 1000),
        # 23:00 → 06:00: night only
        (datetime(2026, 5, 7, 23, 0, tzinfo=SHANGHAI), 7 * 60, 500),
        # 20:00 → 08:00 next day: 2 h + 1 h of day = 500 + 2 × 200, one night
        (datetime(2026, 5, 7, 20, 0, tzinfo=SHANGHAI), 12 * 60, 500 + 400 + 500),
        # the night window is local time: 14:00 UTC is 22:00 in Shanghai
        (datetime(2026, 5, 7, 14, 0, tzinfo=UTC), 60, 500),
    ],
)
def test_night_rule_examples(start, minutes, expected):
    assert fee(NIGHT, minutes, start=start) == expected


def test_the_breakdown_lists_each_window():
    result = compute(PLAIN, MORNING, MORNING + timedelta(hours=50), SHANGHAI)

    assert (result.windows, result.days, result.free) == ((3000, 3000, 900), 3, False)


def test_within_the_free_minutes_is_free():
    result = compute(PLAIN, MORNING, MORNING + timedelta(minutes=5), SHANGHAI)

    assert (result.total_fen, result.windows, result.free) == (0, (), True)


def test_exit_before_entry_and_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        compute(PLAIN, MORNING, MORNING - timedelta(seconds=1), SHANGHAI)
    with pytest.raises(ValueError):
        compute(PLAIN, MORNING.replace(tzinfo=None), MORNING.replace(tzinfo=None), SHANGHAI)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_minutes": 0},
        {"next_minutes": 0},
        {"first_fen": -1},
        {"night_start": time(22)},
        {"night_start": time(22), "night_end": time(22)},
    ],
)
def test_a_spec_must_make_sense(kwargs):
    values = {
        "free_minutes": 0,
        "first_minutes": 60,
        "first_fen": 1,
        "next_minutes": 60,
        "next_fen": 1,
        "daily_cap_fen": 10,
        **kwargs,
    }
    with pytest.raises(ValueError):
        FeeSpec(**values)


def test_started_days():
    assert started_days(MORNING, MORNING) == 1
    assert started_days(MORNING, MORNING + timedelta(hours=24)) == 1
    assert started_days(MORNING, MORNING + timedelta(hours=24, microseconds=1)) == 2


# --- properties --------------------------------------------------------------------------------


@st.composite
def specs(draw):
    night_start = draw(st.one_of(st.none(), st.times().map(lambda t: t.replace(second=0, microsecond=0))))
    night_end = None
    if night_start is not None:
        night_end = draw(
            st.times().map(lambda t: t.replace(second=0, microsecond=0)).filter(lambda t: t != night_start)
        )
    return FeeSpec(
        free_minutes=draw(st.integers(0, 180)),
        first_minutes=draw(st.integers(1, 240)),
        first_fen=draw(st.integers(0, 2000)),
        next_minutes=draw(st.integers(1, 240)),
        next_fen=draw(st.integers(0, 2000)),
        daily_cap_fen=draw(st.integers(0, 20000)),
        night_start=night_start,
        night_end=night_end,
        night_fen=draw(st.integers(0, 3000)) if night_start is not None else 0,
    )


entries = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(SHANGHAI)
)
stays = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9))


@settings(max_examples=300, deadline=None)
@given(spec=specs(), entered=entries, a=stays, b=stays)
def test_the_fee_never_falls_when_the_stay_gets_longer(spec, entered, a, b):
    shorter, longer = sorted((a, b))

    assert (
        compute(spec, entered, entered + shorter, SHANGHAI).total_fen
        <= compute(spec, entered, entered + longer, SHANGHAI).total_fen
    )


@settings(max_examples=300, deadline=None)
@given(spec=specs(), entered=entries, stay=stays)
def test_the_fee_never_exceeds_the_daily_cap_times_the_days(spec, entered, stay):
    exited = entered + stay

    result = compute(spec, entered, exited, SHANGHAI)

    assert 0 <= result.total_fen <= spec.daily_cap_fen * started_days(entered, exited)
    assert all(0 <= w <= spec.daily_cap_fen for w in result.windows)


@settings(max_examples=200, deadline=None)
@given(spec=specs(), entered=entries, stay=stays)
def test_the_fee_depends_on_the_instant_not_on_the_offset_it_is_written_in(spec, entered, stay):
    as_utc = entered.astimezone(UTC)

    assert (
        compute(spec, entered, entered + stay, SHANGHAI).total_fen
        == compute(spec, as_utc, as_utc + stay, SHANGHAI).total_fen
    )
