"""The rule engine: called by the ingest pipeline with newly stored telemetry/events (``evaluate``) and by
the offline check (``offline_changed``). It runs inside the gateway at up to 10k msgs/s, so:

- rules are cached in-process per profile (indexed by point and event key) and per device override;
  the cache is dropped when the ruleset token changes (checked at most once per second);
- device facts (profile, estate, room ...) are cached and loaded in one query per batch for new ids;
- only rules whose point or event appears in an item are evaluated;
- duration / rate / combination state is kept in memory per device, with a fallback query on recent
  ``Telemetry`` / ``DeviceEvent`` rows when a device is first seen by this process;
- raising is one INSERT guarded by the partial unique constraint (one open alarm per device and
  cause); on IntegrityError (inside a savepoint) the open alarm's ``count``/``last_at`` are bumped, so
  two gateways racing on the same cause never open two alarms;
- notifications, webhooks and work orders go out after commit (``services.alarm_dispatch_task``).

Decisions are taken under a lock on in-memory state; database writes happen outside it.
"""

from __future__ import annotations

import logging
import operator as op
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from linli.alarms.models import (
    SEVERITY_RANK,
    Alarm,
    AlarmEvent,
    AlarmEventKind,
    AlarmRule,
    Operator,
    RuleKind,
    RuleScope,
    RulesetVersion,
)
from linli.devices.models import Device, DeviceEvent, Telemetry

log = logging.getLogger("linli.alarms.engine")

CHECK_INTERVAL_S = 1.0
MAX_SERIES = 2000  # samples kept per (device, point)
MAX_DEVICES = 200_000


# ---------------------------------------------------------------- pure helpers


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def compare(value: Any, operator: str, limit: float | None) -> bool:
    """``value operator limit``; a text value that is not a number equals nothing numeric (so a text
    fault code "E12" is ≠ 0), an empty text counts as 0."""
    if limit is None:
        return False
    if isinstance(value, str) and value.strip() == "":
        value = 0
    n = as_number(value)
    if n is None:
        return operator == Operator.NE
    fn = _OPERATORS.get(operator)
    return fn(n, limit) if fn is not None else False


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    Operator.GT: op.gt,
    Operator.GE: op.ge,
    Operator.LT: op.lt,
    Operator.LE: op.le,
    Operator.EQ: op.eq,
    Operator.NE: op.ne,
}
_ITEM_ORDER = attrgetter("ts", "seq")


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def in_schedule(schedule: dict | None, moment: datetime) -> bool:
    """Whether the local ``moment`` lies in the schedule. ``days`` are ISO weekdays (1 = Monday);
    a range ending before it starts runs past midnight and belongs to the day it starts on."""
    if not schedule:
        return True
    local = timezone.localtime(moment)
    days = schedule.get("days") or [1, 2, 3, 4, 5, 6, 7]
    ranges = schedule.get("ranges") or []
    now_m = local.hour * 60 + local.minute
    wd = local.isoweekday()
    prev_wd = 7 if wd == 1 else wd - 1
    if not ranges:
        return wd in days
    for start, end in ranges:
        s, e = _minutes(start), _minutes(end)
        if s <= e:
            if wd in days and s <= now_m < e:
                return True
        else:
            if wd in days and now_m >= s:
                return True
            if prev_wd in days and now_m < e:
                return True
    return False


def max_rise(samples, since: datetime) -> float:
    """Largest increase from an earlier to a later sample at or after ``since``."""
    best = 0.0
    low: float | None = None
    for ts, v in samples:
        if ts < since:
            continue
        if low is None or v < low:
            low = v
        elif v - low > best:
            best = v - low
    return best


# ---------------------------------------------------------------- caches


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    profile_id: int
    estate_id: int
    building_id: int | None
    room_id: int | None
    path: str
    name: str
    health_sensitive: bool


@dataclass(frozen=True, slots=True)
class CRule:
    """A compiled rule (plain values, safe to share between threads)."""

    id: int
    profile_id: int
    device_id: int | None
    base_id: int | None
    cause: str
    name: str
    kind: str
    point: str
    operator: str
    value: float | None
    duration_s: int
    window_s: int
    event: str
    clear_event: str
    rise_point: str
    rise: float | None
    scope: str
    severity: str
    schedule: dict
    auto_clear: bool
    equipment_fault: bool
    escalate_after_minutes: int | None
    notify_channels: tuple[str, ...]
    window: timedelta = timedelta(0)  # timedelta(seconds=window_s), made once

    @classmethod
    def of(cls, r: AlarmRule) -> CRule:
        return cls(
            id=r.pk,
            profile_id=r.profile_id,
            device_id=r.device_id,
            base_id=r.base_id,
            cause=r.cause,
            name=r.name,
            kind=r.kind,
            point=r.point,
            operator=r.operator,
            value=r.value,
            duration_s=r.duration_s,
            window_s=r.window_s,
            event=r.event,
            clear_event=r.clear_event,
            rise_point=r.rise_point,
            rise=r.rise,
            scope=r.scope,
            severity=r.severity,
            schedule=dict(r.schedule or {}),
            auto_clear=r.auto_clear,
            equipment_fault=r.equipment_fault,
            escalate_after_minutes=r.escalate_after_minutes,
            notify_channels=tuple(r.notify_channels or ()),
            window=timedelta(seconds=r.window_s or 0),
        )

    def points(self) -> set[str]:
        return {p for p in (self.point, self.rise_point) if p}

    def events(self) -> set[str]:
        return {e for e in (self.event, self.clear_event) if e}


@dataclass
class RuleSet:
    rules: list[CRule]
    by_point: dict[str, list[CRule]] = field(default_factory=dict)
    by_event: dict[str, list[CRule]] = field(default_factory=dict)
    offline: list[CRule] = field(default_factory=list)
    series_points: dict[str, int] = field(default_factory=dict)  # point → seconds of history needed
    series: list[tuple[str, int, timedelta]] = field(default_factory=list)  # (point, seconds, window)
    _for_keys: dict[tuple, list[CRule]] = field(default_factory=dict)

    def rules_for(self, values: dict) -> list[CRule]:
        """The rules of the points in ``values``, in point order then rule order, each once (cached
        per tuple of point keys: a device sends the same points again and again)."""
        keys = tuple(values)
        rules = self._for_keys.get(keys)
        if rules is None:
            seen: set[int] = set()
            rules = []
            for point in keys:
                for rule in self.by_point.get(point, ()):
                    if rule.id not in seen:
                        seen.add(rule.id)
                        rules.append(rule)
            if len(self._for_keys) >= 256:
                self._for_keys.clear()
            self._for_keys[keys] = rules
        return rules

    def __post_init__(self) -> None:
        for r in self.rules:
            for p in r.points():
                self.by_point.setdefault(p, []).append(r)
            for e in r.events():
                self.by_event.setdefault(e, []).append(r)
            if r.kind == RuleKind.OFFLINE:
                self.offline.append(r)
            if r.kind == RuleKind.RATE and r.point:
                self.series_points[r.point] = max(self.series_points.get(r.point, 0), r.window_s)
            if r.kind == RuleKind.COMBINATION and r.rise_point:
                self.series_points[r.rise_point] = max(self.series_points.get(r.rise_point, 0), r.window_s)
        self.series = [(p, sec, timedelta(seconds=sec)) for p, sec in self.series_points.items()]


@dataclass
class DeviceState:
    series: dict[str, deque] = field(default_factory=dict)  # point → deque[(ts, value)]
    loaded_points: set[str] = field(default_factory=set)
    active: dict[int, bool] = field(default_factory=dict)  # rule id → condition currently true
    since: dict[int, datetime | None] = field(default_factory=dict)  # duration rules: true since
    triggers: dict[int, datetime] = field(default_factory=dict)  # combination rules: last trigger
    trigger_loaded: set[int] = field(default_factory=set)


@dataclass
class Action:
    kind: str  # "raise" | "clear"
    rule: CRule
    device: DeviceInfo
    at: datetime
    detail: dict = field(default_factory=dict)
    reason: str = "auto"


class Engine:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every cache and state (tests; a process that changed databases)."""
        with self.lock:
            self.token: str | None = None
            self.checked_at = 0.0
            self.profile_rules: dict[int, list[CRule]] = {}
            self.device_rules: dict[int, list[CRule]] = {}
            self.rulesets: dict[int, RuleSet] = {}
            self.devices: dict[int, DeviceInfo] = {}
            self.room_devices: dict[int, list[int]] = {}
            self.states: dict[int, DeviceState] = {}
            self.open_keys: set[tuple[int, str]] = set()
            self.open_checked_at = 0.0
            self.loaded = False

    # ------------------------------------------------------------ cache maintenance

    def _refresh(self) -> None:
        now = time.monotonic()
        if self.loaded and now - self.checked_at < CHECK_INTERVAL_S:
            return
        self.checked_at = now
        token = RulesetVersion.objects.filter(pk=1).values_list("token", flat=True).first() or ""
        if self.loaded and token == self.token:
            # Device facts (room, estate) change rarely; re-read them once a second in one cheap batch.
            self.devices.clear()
            self.room_devices.clear()
            return
        rules = [CRule.of(r) for r in AlarmRule.objects.filter(enabled=True).order_by("pk")]
        overridden = set(AlarmRule.objects.filter(base__isnull=False).values_list("device_id", "base_id"))
        self.profile_rules, self.device_rules = {}, {}
        for r in rules:
            if r.device_id is None:
                self.profile_rules.setdefault(r.profile_id, []).append(r)
            else:
                self.device_rules.setdefault(r.device_id, []).append(r)
        self.overridden = overridden
        self.override_devices = {d for d, _ in overridden} | set(self.device_rules)
        self.rulesets = {}
        self.devices.clear()
        self.room_devices.clear()
        self.token = token
        self.loaded = True

    def _open(self) -> set[tuple[int, str]]:
        now = time.monotonic()
        if now - self.open_checked_at >= CHECK_INTERVAL_S:
            self.open_keys = set(
                Alarm.objects.filter(cleared_at__isnull=True).values_list("device_id", "cause")
            )
            self.open_checked_at = now
        return self.open_keys

    def _load_devices(self, ids) -> None:
        missing = [i for i in ids if i not in self.devices]
        if not missing:
            return
        if len(self.devices) > MAX_DEVICES:
            self.devices.clear()
        for row in Device.objects.filter(pk__in=missing).values(
            "pk",
            "profile_id",
            "estate_id",
            "building_id",
            "room_id",
            "path",
            "name",
            "profile__health_sensitive",
        ):
            self.devices[row["pk"]] = DeviceInfo(
                id=row["pk"],
                profile_id=row["profile_id"],
                estate_id=row["estate_id"],
                building_id=row["building_id"],
                room_id=row["room_id"],
                path=row["path"],
                name=row["name"],
                health_sensitive=row["profile__health_sensitive"],
            )

    def _ruleset(self, device: DeviceInfo) -> RuleSet:
        key = -device.id if device.id in self.override_devices else device.profile_id
        rs = self.rulesets.get(key)
        if rs is None:
            rules = list(self.profile_rules.get(device.profile_id, []))
            if key < 0:
                rules = [r for r in rules if (device.id, r.id) not in self.overridden]
                rules += self.device_rules.get(device.id, [])
            rs = self.rulesets[key] = RuleSet(rules)
        return rs

    def _room_peers(self, room_id: int) -> list[int]:
        peers = self.room_devices.get(room_id)
        if peers is None:
            peers = self.room_devices[room_id] = list(
                Device.objects.filter(room_id=room_id).values_list("pk", flat=True)
            )
            self._load_devices(peers)
        return peers

    def _state(self, device_id: int) -> DeviceState:
        st = self.states.get(device_id)
        if st is None:
            if len(self.states) > MAX_DEVICES:
                self.states.clear()
            st = self.states[device_id] = DeviceState()
        return st

    def _series(
        self, device: DeviceInfo, point: str, seconds: int, before: datetime, st: DeviceState | None = None
    ) -> deque:
        """History of one point, loaded from recent Telemetry when this process has not seen it yet."""
        if st is None:
            st = self._state(device.id)
        s = st.series.get(point)
        if s is None:
            s = st.series[point] = deque(maxlen=MAX_SERIES)
        if point not in st.loaded_points:
            st.loaded_points.add(point)
            rows = (
                Telemetry.objects.filter(
                    device_id=device.id, ts__gte=before - timedelta(seconds=seconds), ts__lt=before
                )
                .order_by("ts")
                .values_list("ts", "values")[:MAX_SERIES]
            )
            loaded = [(ts, as_number(v.get(point))) for ts, v in rows if point in (v or {})]
            loaded = [(ts, v) for ts, v in loaded if v is not None]
            s.extendleft(reversed(loaded))
        return s

    # ------------------------------------------------------------ evaluation

    def evaluate(self, items) -> list[Alarm]:
        """Evaluate newly stored items; returns the alarms raised (new or bumped) by this call."""
        if not items:
            return []
        with self.lock:
            self._refresh()
            self._load_devices({i.device_id for i in items})
            actions: list[Action] = []
            devices = self.devices
            for item in sorted(items, key=_ITEM_ORDER):
                device = devices.get(item.device_id)
                if device is None:
                    continue
                if item.kind == "telemetry":
                    self._telemetry(device, item, actions)
                elif item.kind == "event":
                    self._event(device, item, actions)
            open_keys = self._open() if any(a.kind == "clear" for a in actions) else set()
        return self._apply(actions, open_keys)

    def _telemetry(self, device: DeviceInfo, item, actions: list[Action]) -> None:
        rs = self._ruleset(device)
        values = item.values or {}
        st = self._state(device.id)
        ts = item.ts
        # Keep histories first (rate and combination need the new sample).
        for point, seconds, window in rs.series:
            if point in values:
                v = as_number(values[point])
                if v is not None:
                    s = self._series(device, point, seconds, ts, st)
                    s.append((ts, v))
                    cutoff = ts - window
                    while s and s[0][0] < cutoff:
                        s.popleft()
        for rule in rs.rules_for(values):
            self._check_point_rule(device, rule, values, ts, st, actions)
        if device.room_id is not None:
            self._room_combinations(device, values, ts, actions)

    def _check_point_rule(self, device, rule: CRule, values, ts, st: DeviceState, actions) -> None:
        kind = rule.kind
        if kind == RuleKind.COMBINATION:
            if rule.point and rule.point in values and compare(values[rule.point], rule.operator, rule.value):
                st.triggers[rule.id] = ts
            self._check_combination(device, rule, ts, actions, st)
            return
        if rule.point not in values:
            return
        value = values[rule.point]
        detail = {"point": rule.point, "value": value}
        if kind == RuleKind.THRESHOLD:
            cond = compare(value, rule.operator, rule.value)
        elif kind == RuleKind.DURATION:
            over = compare(value, rule.operator, rule.value)
            if not over:
                st.since[rule.id] = None
                cond = False
            else:
                if rule.id not in st.since:
                    since = self._duration_start(device, rule, ts)  # first sight: ask recent telemetry
                else:
                    since = st.since[rule.id] or ts
                st.since[rule.id] = since
                cond = (ts - since).total_seconds() >= rule.duration_s
                detail["since"] = since.isoformat()
        elif kind == RuleKind.RATE:
            s = self._series(device, rule.point, rule.window_s, ts, st)
            since = ts - rule.window
            window = [(t, v) for t, v in s if t >= since]
            if len(window) < 2 or window[-1][0] <= window[0][0]:
                return
            minutes = (window[-1][0] - window[0][0]).total_seconds() / 60
            rate = (window[-1][1] - window[0][1]) / minutes
            cond = compare(rate, rule.operator, rule.value)
            detail["rate_per_min"] = round(rate, 4)
        else:
            return
        self._transition(device, rule, cond, ts, st, actions, detail)

    def _duration_start(self, device, rule: CRule, ts: datetime) -> datetime:
        """Start of the current run of out-of-range values, from recent Telemetry (first sight)."""
        rows = (
            Telemetry.objects.filter(
                device_id=device.id, ts__gte=ts - timedelta(seconds=rule.duration_s + 3600), ts__lt=ts
            )
            .order_by("-ts")
            .values_list("ts", "values")[:MAX_SERIES]
        )
        since = ts
        for row_ts, values in rows:
            if rule.point not in (values or {}):
                continue
            if not compare(values[rule.point], rule.operator, rule.value):
                break
            since = row_ts
        return since

    def _transition(self, device, rule: CRule, cond: bool, ts, st: DeviceState, actions, detail) -> None:
        was = st.active.get(rule.id)
        st.active[rule.id] = cond
        if cond:
            if was is True:
                return
            if not in_schedule(rule.schedule, ts):
                st.active[rule.id] = False
                return
            actions.append(Action("raise", rule, device, ts, detail, reason="unknown" if was is None else ""))
        elif rule.auto_clear and rule.kind != RuleKind.COMBINATION:
            if (device.id, rule.cause) not in self._open():
                return
            # Clear only when no other rule of the same cause holds for this device.
            rs = self._ruleset(device)
            if any(st.active.get(r.id) for r in rs.rules if r.cause == rule.cause and r.id != rule.id):
                return
            actions.append(Action("clear", rule, device, ts, detail, reason="auto"))

    def _check_combination(self, device, rule: CRule, ts, actions, st: DeviceState | None = None) -> None:
        if st is None:
            st = self._state(device.id)
        window = rule.window
        trig = st.triggers.get(rule.id)
        if trig is None and rule.event and rule.id not in st.trigger_loaded:
            st.trigger_loaded.add(rule.id)
            trig = self._last_event(device, rule.event, ts - window, ts)
            if trig is not None:
                st.triggers[rule.id] = trig
        if trig is None or trig < ts - window or rule.rise is None:
            return
        members = [device]
        if rule.scope == RuleScope.ROOM and device.room_id is not None:
            members = [self.devices[i] for i in self._room_peers(device.room_id) if i in self.devices]
        rise = 0.0
        for m in members:
            s = self._series(m, rule.rise_point, rule.window_s, ts)
            rise = max(rise, max_rise(s, ts - window))
        cond = rise >= rule.rise
        if cond and not st.active.get(rule.id):
            st.active[rule.id] = True
            if in_schedule(rule.schedule, ts):
                actions.append(
                    Action(
                        "raise",
                        rule,
                        device,
                        ts,
                        {"rise": round(rise, 2), "point": rule.rise_point},
                        reason="",
                    )
                )
        elif not cond:
            st.active[rule.id] = False

    def _last_event(self, device, event: str, since: datetime, before: datetime) -> datetime | None:
        return (
            DeviceEvent.objects.filter(device_id=device.id, event=event, ts__gte=since, ts__lte=before)
            .order_by("-ts")
            .values_list("ts", flat=True)
            .first()
        )

    def _room_combinations(self, source: DeviceInfo, values, ts, actions) -> None:
        """A temperature rise seen by one device of a room may complete a combination of another."""
        peers = self._room_peers(source.room_id)
        if len(peers) < 2:
            return
        for pid in peers:
            if pid == source.id or pid not in self.devices:
                continue
            peer = self.devices[pid]
            for rule in self._ruleset(peer).rules:
                if (
                    rule.kind == RuleKind.COMBINATION
                    and rule.scope == RuleScope.ROOM
                    and rule.rise_point in values
                ):
                    v = as_number(values[rule.rise_point])
                    if v is None:
                        continue
                    s = self._series(source, rule.rise_point, rule.window_s, ts)
                    if not s or s[-1][0] != ts:
                        s.append((ts, v))
                    self._check_combination(peer, rule, ts, actions)

    def _event(self, device: DeviceInfo, item, actions: list[Action]) -> None:
        rs = self._ruleset(device)
        st = self._state(device.id)
        for rule in rs.by_event.get(item.event, ()):
            if rule.kind == RuleKind.COMBINATION and rule.event == item.event:
                st.triggers[rule.id] = item.ts
                self._check_combination(device, rule, item.ts, actions)
            elif (
                rule.kind == RuleKind.EVENT
                and rule.event == item.event
                and in_schedule(rule.schedule, item.ts)
            ):
                actions.append(Action("raise", rule, device, item.ts, {"event": item.event}, reason=""))
            if rule.clear_event == item.event:
                st.active[rule.id] = False
                st.triggers.pop(rule.id, None)
                for r in rs.rules:
                    if r.cause == rule.cause:
                        st.active[r.id] = False
                        st.triggers.pop(r.id, None)
                actions.append(Action("clear", rule, device, item.ts, {"event": item.event}, reason="event"))

    # ------------------------------------------------------------ offline

    def offline_changed(self, went_offline, came_back) -> list[Alarm]:
        went_offline, came_back = list(went_offline or ()), list(came_back or ())
        if not went_offline and not came_back:
            return []
        now = timezone.now()
        with self.lock:
            self._refresh()
            self._load_devices(set(went_offline) | set(came_back))
            actions: list[Action] = []
            for ids, kind in ((went_offline, "raise"), (came_back, "clear")):
                for device_id in ids:
                    device = self.devices.get(device_id)
                    if device is None:
                        continue
                    for rule in self._ruleset(device).offline:
                        if kind == "raise" and in_schedule(rule.schedule, now):
                            actions.append(Action("raise", rule, device, now, {}, reason=""))
                        elif kind == "clear" and rule.auto_clear:
                            actions.append(Action("clear", rule, device, now, {}, reason="auto"))
            open_keys = self._open() if came_back else set()
        return self._apply(actions, open_keys, force_clear=True)

    # ------------------------------------------------------------ writes

    def _apply(self, actions: list[Action], open_keys, force_clear: bool = False) -> list[Alarm]:
        raised: list[Alarm] = []
        done_clear: set[tuple[int, str]] = set()
        for a in actions:
            key = (a.device.id, a.rule.cause)
            if a.kind == "raise":
                if a.reason == "unknown" and key in self._open():
                    continue  # first sight after a restart of a condition that already has its alarm
                alarm = raise_alarm(a.rule, a.device, a.at, a.detail)
                if alarm is not None:
                    raised.append(alarm)
                    with self.lock:
                        self.open_keys.add(key)
            elif key not in done_clear and (force_clear or a.reason == "event" or key in open_keys):
                done_clear.add(key)
                if clear_open(a.device.id, a.rule.cause, at=a.at, reason=a.reason):
                    with self.lock:
                        self.open_keys.discard(key)
        return raised


def _title(rule: CRule, device: DeviceInfo) -> str:
    return f"{rule.name}：{device.name}"[:200]


def raise_alarm(rule: CRule, device: DeviceInfo, at: datetime, detail: dict) -> Alarm | None:
    """One INSERT under the partial unique constraint; an open alarm of the cause gets count+1 instead
    (and the higher severity). Returns the alarm (new or bumped)."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                alarm = Alarm.objects.create(
                    device_id=device.id,
                    estate_id=device.estate_id,
                    building_id=device.building_id,
                    path=device.path,
                    rule_id=rule.id,
                    cause=rule.cause,
                    severity=rule.severity,
                    title=_title(rule, device),
                    detail=detail,
                    first_at=at,
                    last_at=at,
                    count=1,
                    health_sensitive=device.health_sensitive,
                    equipment_fault=rule.equipment_fault,
                    escalate_after_minutes=rule.escalate_after_minutes,
                    notify_channels=list(rule.notify_channels),
                )
                AlarmEvent.objects.create(
                    alarm=alarm, at=at, kind=AlarmEventKind.RAISED, note=rule.name[:300]
                )
        except IntegrityError:
            higher = [s for s, rank in SEVERITY_RANK.items() if rank > SEVERITY_RANK.get(rule.severity, 9)]
            bumped = Alarm.objects.filter(
                device_id=device.id, cause=rule.cause, cleared_at__isnull=True
            ).update(
                count=F("count") + 1,
                last_at=Greatest(F("last_at"), Value(at)),
                severity=Case(When(severity__in=higher, then=Value(rule.severity)), default=F("severity")),
            )
            if bumped:
                return Alarm.objects.filter(
                    device_id=device.id, cause=rule.cause, cleared_at__isnull=True
                ).first()
            continue  # the open one was cleared in between: try the INSERT again
        from linli.alarms.services import schedule_dispatch

        schedule_dispatch(alarm.pk)
        return alarm
    log.warning("could not raise alarm %s on device %s", rule.cause, device.id)
    return None


def clear_open(device_id: int, cause: str, *, at: datetime, reason: str) -> bool:
    """Clear the open alarm of (device, cause) if there is one and it is auto-clearable."""
    alarm = Alarm.objects.filter(device_id=device_id, cause=cause, cleared_at__isnull=True).first()
    if alarm is None:
        return False
    if reason == "auto" and alarm.rule_id is not None and not alarm.rule.auto_clear:
        return False
    n = Alarm.objects.filter(pk=alarm.pk, cleared_at__isnull=True).update(
        cleared_at=max(at, alarm.first_at), clear_reason=reason
    )
    if n:
        AlarmEvent.objects.create(
            alarm_id=alarm.pk, at=max(at, alarm.first_at), kind=AlarmEventKind.AUTO_CLEARED, note=reason
        )
    return bool(n)


ENGINE = Engine()


def evaluate(items) -> list[Alarm]:
    """Entry point for ``linli.devices.ingest``: evaluate newly stored ``StoredItem``s."""
    return ENGINE.evaluate(items)


def offline_changed(went_offline, came_back) -> list[Alarm]:
    """Entry point for ``devices.offline_check``: device ids that went offline / came back."""
    return ENGINE.offline_changed(went_offline, came_back)


def reset() -> None:
    ENGINE.reset()
