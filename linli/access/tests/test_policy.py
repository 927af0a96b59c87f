"""Policy evaluation: time windows (wrapping midnight), weekdays, holidays and makeup working days,
own-building limits, named access points, staff roles."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from linli.access.models import AccessPolicy, Audience, Holiday, HolidayMode
from linli.access.points import policy
from linli.access.tests import factories as f
from linli.orgs.roles import Role
from linli.places.tests import factories as places_f

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
# 2025-06-06 is a Friday.
FRI = date(2025, 6, 6)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH)


def holiday(*, day: date, estate=None, is_workday: bool = False) -> Holiday:
    return Holiday.objects.create(
        estate=estate, date=day, name="节日" if not is_workday else "调休", is_workday=is_workday
    )


def staff_policy(*, estate, roles=(), **kw) -> AccessPolicy:
    return AccessPolicy.objects.create(
        estate=estate,
        name="员工通行",
        audience=Audience.STAFF,
        roles=list(roles),
        own_building_only=False,
        **kw,
    )


@pytest.fixture
def gate(world):
    return f.access_point(estate=world.a.estate)


@pytest.fixture
def door(world):
    return f.access_point(estate=world.a.estate, building=world.a.building)


def allowed(world, point, moment, *, audience=Audience.RESIDENTS, buildings=None, roles=()):
    return policy.allowed(
        estate_id=world.a.estate.pk,
        audience=audience,
        access_point=point,
        at=moment,
        building_ids=(world.a.building.pk,) if buildings is None else buildings,
        roles=roles,
    )


def test_no_policy_means_no_entry(world, gate):
    assert allowed(world, gate, at(FRI, 12)) is False


def test_day_window_includes_start_excludes_end(world, gate):
    f.resident_policy(estate=world.a.estate, start_time=time(8), end_time=time(20))
    results = [allowed(world, gate, at(FRI, h, m)) for h, m in [(7, 59), (8, 0), (19, 59), (20, 0)]]
    assert results == [False, True, True, False]


def test_window_wrapping_midnight_belongs_to_the_day_it_opened(world, gate):
    # Friday nights only, 22:00 – 06:00.
    f.resident_policy(estate=world.a.estate, weekdays=[4], start_time=time(22), end_time=time(6))
    sat, thu = date(2025, 6, 7), date(2025, 6, 5)
    results = [
        allowed(world, gate, at(FRI, 23)),  # Friday night
        allowed(world, gate, at(sat, 2)),  # early Saturday: still Friday's window
        allowed(world, gate, at(sat, 6)),  # window closed
        allowed(world, gate, at(sat, 23)),  # Saturday night: not a Friday
        allowed(world, gate, at(FRI, 2)),  # early Friday belongs to Thursday's window
        allowed(world, gate, at(thu, 23)),
    ]
    assert results == [True, True, False, False, False, False]


def test_local_time_is_used(world, gate):
    f.resident_policy(estate=world.a.estate, start_time=time(8), end_time=time(9))
    # 00:30 UTC is 08:30 in Shanghai.
    assert allowed(world, gate, datetime(2025, 6, 6, 0, 30, tzinfo=ZoneInfo("UTC"))) is True


def test_weekdays(world, gate):
    f.resident_policy(estate=world.a.estate, weekdays=[0, 1, 2, 3, 4])
    assert [allowed(world, gate, at(FRI, 12)), allowed(world, gate, at(date(2025, 6, 8), 12))] == [
        True,
        False,
    ]


def test_holiday_closed_mode(world, gate):
    f.resident_policy(estate=world.a.estate, holiday_mode=HolidayMode.CLOSED)
    holiday(day=FRI)
    assert [allowed(world, gate, at(FRI, 12)), allowed(world, gate, at(date(2025, 6, 9), 12))] == [
        False,
        True,
    ]


def test_holiday_only_mode(world, gate):
    f.resident_policy(estate=world.a.estate, holiday_mode=HolidayMode.ONLY)
    holiday(day=FRI, estate=world.a.estate)
    assert [allowed(world, gate, at(FRI, 12)), allowed(world, gate, at(date(2025, 6, 8), 12))] == [
        True,
        False,
    ]


def test_estate_row_overrides_a_global_holiday(world, gate):
    f.resident_policy(estate=world.a.estate, holiday_mode=HolidayMode.CLOSED)
    holiday(day=FRI)
    holiday(day=FRI, estate=world.a.estate, is_workday=True)
    assert allowed(world, gate, at(FRI, 12)) is True


def test_another_estates_holiday_does_not_apply(world, gate):
    f.resident_policy(estate=world.a.estate, holiday_mode=HolidayMode.CLOSED)
    holiday(day=FRI, estate=world.b.estate)
    assert allowed(world, gate, at(FRI, 12)) is True


def test_makeup_working_day_counts_as_a_workday(world, gate):
    f.resident_policy(estate=world.a.estate, weekdays=[0, 1, 2, 3, 4], start_time=time(7), end_time=time(9))
    sunday = date(2025, 6, 8)
    before = allowed(world, gate, at(sunday, 8))
    holiday(day=sunday, is_workday=True)
    assert [before, allowed(world, gate, at(sunday, 8))] == [False, True]


def test_makeup_day_does_not_open_a_weekend_only_policy(world, gate):
    f.resident_policy(estate=world.a.estate, weekdays=[5, 6])
    sunday = date(2025, 6, 8)
    holiday(day=sunday, is_workday=True)
    assert allowed(world, gate, at(sunday, 8)) is False


def test_wrapped_window_uses_the_previous_days_holiday_status(world, gate):
    f.resident_policy(
        estate=world.a.estate, holiday_mode=HolidayMode.CLOSED, start_time=time(22), end_time=time(6)
    )
    holiday(day=FRI)
    assert [allowed(world, gate, at(date(2025, 6, 7), 2)), allowed(world, gate, at(date(2025, 6, 8), 2))] == [
        False,
        True,
    ]


def test_own_building_only(world, gate, door):
    f.resident_policy(estate=world.a.estate)
    other = f.access_point(estate=world.a.estate, building=places_f.building(estate=world.a.estate))
    results = [allowed(world, p, at(FRI, 12)) for p in (gate, door, other)]
    assert results == [True, True, False]
    assert allowed(world, door, at(FRI, 12), buildings=()) is False


def test_policy_without_own_building_limit_covers_every_building(world, door):
    AccessPolicy.objects.filter(pk=f.resident_policy(estate=world.a.estate).pk).update(
        own_building_only=False
    )
    assert allowed(world, door, at(FRI, 12), buildings=()) is True


def test_named_access_points_limit_the_policy(world, gate, door):
    p = f.resident_policy(estate=world.a.estate)
    p.access_points.set([gate])
    assert [allowed(world, gate, at(FRI, 12)), allowed(world, door, at(FRI, 12))] == [True, False]


def test_inactive_and_other_audience_policies_do_not_apply(world, gate):
    f.resident_policy(estate=world.a.estate, is_active=False)
    f.visitor_policy(estate=world.a.estate)
    assert allowed(world, gate, at(FRI, 12)) is False
    assert allowed(world, gate, at(FRI, 12), audience=Audience.VISITORS) is True
    assert allowed(world, gate, at(FRI, 12), audience="nobody") is False


def test_other_estates_policies_do_not_apply(world, gate):
    f.resident_policy(estate=world.b.estate)
    assert allowed(world, gate, at(FRI, 12)) is False


def test_staff_roles(world, door):
    staff_policy(estate=world.a.estate, roles=[Role.GUARD])
    results = [
        allowed(world, door, at(FRI, 12), audience=Audience.STAFF, buildings=(), roles={Role.GUARD}),
        allowed(world, door, at(FRI, 12), audience=Audience.STAFF, buildings=(), roles={Role.TECHNICIAN}),
        allowed(world, door, at(FRI, 12), audience=Audience.STAFF, buildings=(), roles=()),
    ]
    assert results == [True, False, False]


def test_staff_policy_without_roles_covers_every_role(world, door):
    staff_policy(estate=world.a.estate)
    assert allowed(world, door, at(FRI, 12), audience=Audience.STAFF, buildings=(), roles={Role.TECHNICIAN})


def test_staff_roles_of_a_user_over_an_estate(world):
    guard = world.a.staff[Role.GUARD]
    assert policy.staff_roles(user_id=guard.pk, estate_path=world.a.estate.path) == {Role.GUARD}
    assert policy.staff_roles(user_id=guard.pk, estate_path=world.b.estate.path) == frozenset()
    assert policy.staff_roles(user_id=world.a.resident.pk, estate_path=world.a.estate.path) == frozenset()
    assert policy.staff_roles(user_id=None, estate_path=world.a.estate.path) == frozenset()


def test_request_cache_reuses_rules_and_calendar(world, gate, django_assert_num_queries):
    f.resident_policy(estate=world.a.estate, holiday_mode=HolidayMode.CLOSED)
    cache: dict = {}
    with django_assert_num_queries(2):  # policies, holidays
        for hour in (9, 10, 11):
            assert policy.allowed(
                estate_id=world.a.estate.pk,
                audience=Audience.RESIDENTS,
                access_point=gate,
                at=at(FRI, hour),
                cache=cache,
            )
