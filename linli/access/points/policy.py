"""Who may pass which access point, and when: the estate's access policies evaluated at one moment.

``allowed`` is the one question the decision service asks (``access.gate.decision``): does some active
policy of the audience cover this point at this local time? Rules (see ``AccessPolicy``):

* ``access_points`` empty = every point of the estate; ``own_building_only`` limits a policy to
  estate-wide points (no building) and the points of ``building_ids`` (the resident's buildings, the
  visited household's building);
* staff policies with ``roles`` apply to those roles only (empty = every staff role);
* time is local time in ``settings.TIME_ZONE``; ``weekdays`` 0 = Monday … 6 = Sunday (empty = every
  day); a window whose end is before its start wraps past midnight, and the part after midnight
  belongs to the day the window opened (Friday 22:00–06:00 covers Saturday 02:00);
* holidays are ``Holiday`` rows of the estate or global ones (the estate's row wins on the same date).
  ``holiday_mode`` ``closed`` shuts a policy on holidays, ``only`` opens it on holidays only; a 调休
  makeup working day (``is_workday``) counts as a working day: it matches any policy open on some
  day Monday–Friday, whatever its calendar weekday. Ordinary weekends are not holidays: use
  ``weekdays`` for them.

Evaluation costs one query for the policies (plus one for holidays, only when a policy depends on
the calendar). Callers that ask several questions in one request pass a ``cache`` dict.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from linli.access.models import AccessPolicy, Audience, Holiday, HolidayMode
from linli.places.models import ancestor_paths

WORKDAYS = frozenset(range(5))
HOLIDAY = "holiday"
MAKEUP_WORKDAY = "workday"


@dataclass(frozen=True, slots=True)
class Rule:
    """An active policy, reduced to what evaluation needs."""

    pk: int
    audience: str
    roles: frozenset[str]
    own_building_only: bool
    weekdays: frozenset[int]
    start: time | None
    end: time | None
    holiday_mode: str

    @property
    def needs_calendar(self) -> bool:
        return self.holiday_mode != HolidayMode.SAME or bool(self.weekdays)


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(at: datetime) -> datetime:
    """``at`` in the platform's local time zone (settings.TIME_ZONE)."""
    return at.astimezone(_zone(settings.TIME_ZONE))


def _weekdays(value) -> frozenset[int]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(d for d in value if isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6)


def _roles(value) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(r for r in value if isinstance(r, str))


def rules_for(*, estate_id: int, audiences: tuple[str, ...], access_point) -> dict[str, list[Rule]]:
    """The active policies of ``audiences`` in the estate that name ``access_point`` or name no point
    at all, by audience (one query)."""
    rows = (
        AccessPolicy.objects.filter(estate_id=estate_id, audience__in=audiences, is_active=True)
        .filter(Q(access_points=None) | Q(access_points=access_point.pk))
        .values_list(
            "pk",
            "audience",
            "roles",
            "own_building_only",
            "weekdays",
            "start_time",
            "end_time",
            "holiday_mode",
        )
        .distinct()
        .order_by("pk")
    )
    out: dict[str, list[Rule]] = {a: [] for a in audiences}
    for pk, audience, roles, own, weekdays, start, end, mode in rows:
        out[audience].append(
            Rule(
                pk=pk,
                audience=audience,
                roles=_roles(roles),
                own_building_only=own,
                weekdays=_weekdays(weekdays),
                start=start,
                end=end,
                holiday_mode=mode,
            )
        )
    return out


class Calendar:
    """Holidays and makeup working days of one estate, loaded once for the dates asked about."""

    def __init__(self, estate_id: int) -> None:
        self.estate_id = estate_id
        self._days: dict[date, str | None] = {}

    def load(self, days: list[date]) -> None:
        missing = [d for d in days if d not in self._days]
        if not missing:
            return
        for d in missing:
            self._days[d] = None
        found: dict[date, tuple[bool, bool]] = {}  # date -> (is_workday, from the estate)
        rows = Holiday.objects.filter(
            Q(estate_id=self.estate_id) | Q(estate__isnull=True), date__in=missing
        ).values_list("date", "is_workday", "estate_id")
        for day, is_workday, estate_id in rows:
            own = estate_id is not None
            if day not in found or own:
                found[day] = (is_workday, own)
        for day, (is_workday, _own) in found.items():
            self._days[day] = MAKEUP_WORKDAY if is_workday else HOLIDAY

    def kind(self, day: date) -> str | None:
        if day not in self._days:
            self.load([day])
        return self._days[day]


def _day_ok(rule: Rule, day: date, calendar: Calendar) -> bool:
    if not rule.needs_calendar:
        return True
    kind = calendar.kind(day)
    if rule.holiday_mode == HolidayMode.ONLY:
        return kind == HOLIDAY
    if rule.holiday_mode == HolidayMode.CLOSED and kind == HOLIDAY:
        return False
    if not rule.weekdays:
        return True
    if kind == MAKEUP_WORKDAY:
        return bool(rule.weekdays & WORKDAYS)
    return day.weekday() in rule.weekdays


def in_time(rule: Rule, moment: datetime, calendar: Calendar) -> bool:
    """Does the rule's day and time window contain ``moment`` (local time)?"""
    t, day = moment.time(), moment.date()
    start, end = rule.start, rule.end
    if (start is None and end is None) or start == end:
        return _day_ok(rule, day, calendar)
    start = start or time.min
    if end is None or start < end:
        return start <= t and (end is None or t < end) and _day_ok(rule, day, calendar)
    # The window wraps midnight: the early-morning part belongs to the previous day.
    if t >= start:
        return _day_ok(rule, day, calendar)
    if t < end:
        return _day_ok(rule, day - timedelta(days=1), calendar)
    return False


def covers(rule: Rule, access_point, *, building_ids, roles) -> bool:
    """Does the rule cover this point for this subject (ignoring time)?"""
    outside_own = access_point.building_id is not None and access_point.building_id not in building_ids
    if rule.own_building_only and outside_own:
        return False
    wrong_role = rule.audience == Audience.STAFF and rule.roles and not (rule.roles & set(roles))
    return not wrong_role


def _calendar(cache: dict | None, estate_id: int) -> Calendar:
    if cache is None:
        return Calendar(estate_id)
    key = ("calendar", estate_id)
    if key not in cache:
        cache[key] = Calendar(estate_id)
    return cache[key]


def _rules(cache: dict | None, *, estate_id: int, audience: str, access_point) -> list[Rule]:
    key = ("rules", estate_id, audience, access_point.pk)
    if cache is not None and key in cache:
        return cache[key]
    rules = rules_for(estate_id=estate_id, audiences=(audience,), access_point=access_point)[audience]
    if cache is not None:
        cache[key] = rules
    return rules


def match(
    rules: list[Rule],
    *,
    access_point,
    at: datetime,
    building_ids=(),
    roles=(),
    calendar: Calendar,
) -> Rule | None:
    """The first rule that lets the subject through ``access_point`` at ``at``, or None."""
    candidates = [r for r in rules if covers(r, access_point, building_ids=building_ids, roles=roles)]
    if not candidates:
        return None
    moment = local(at)
    if any(r.needs_calendar for r in candidates):
        day = moment.date()
        calendar.load([day, day - timedelta(days=1)])
    for rule in candidates:
        if in_time(rule, moment, calendar):
            return rule
    return None


def allowed(
    *,
    estate_id: int,
    audience: str,
    access_point,
    at: datetime,
    building_ids=(),
    roles=(),
    cache: dict | None = None,
) -> bool:
    """Some active policy of ``audience`` covers ``access_point`` at local time ``at``.

    ``building_ids``: the buildings the subject may use under ``own_building_only`` (a resident's
    current buildings; a visitor's host building). ``roles``: a staff member's roles in the estate.
    """
    if audience not in Audience.values:
        return False
    rules = _rules(cache, estate_id=estate_id, audience=audience, access_point=access_point)
    return (
        match(
            rules,
            access_point=access_point,
            at=at,
            building_ids=building_ids,
            roles=roles,
            calendar=_calendar(cache, estate_id),
        )
        is not None
    )


def staff_roles(*, user_id: int | None, estate_path: str) -> frozenset[str]:
    """The staff roles a user holds over an estate (active memberships whose scope is the estate or a
    region above it, as ``orgs.selectors.staff_over`` counts them, for one user on the decision path)."""
    if user_id is None:
        return frozenset()
    from linli.orgs.models import Membership
    from linli.orgs.roles import Role

    rows = Membership.objects.filter(
        user_id=user_id,
        is_active=True,
        organization__is_active=True,
        user__is_active=True,
        scope__path__in=ancestor_paths(estate_path),
    ).values_list("role", flat=True)
    return frozenset(role for role in rows if role != Role.RESIDENT)


# --- the process-wide cache of rules and calendars ------------------------------------------------
# Decisions are the hot path (gates at 200 requests/s): policies and holidays are read once per
# process and kept for SHARED_TTL seconds. A change in this process clears the cache at once (signals
# in access/apps.py); other worker processes see it within SHARED_TTL seconds.

SHARED_TTL = 5.0
_shared: dict = {}
_shared_at = 0.0


def shared_cache() -> dict:
    """The process-wide rules/calendar cache (a plain dict for ``allowed(cache=...)``)."""
    global _shared, _shared_at
    now = _time.monotonic()
    if now - _shared_at > SHARED_TTL:
        _shared = {}
        _shared_at = now
    return _shared


def reset_shared_cache(*args, **kwargs) -> None:
    global _shared, _shared_at
    _shared = {}
    _shared_at = 0.0
