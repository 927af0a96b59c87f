"""Dispatch and duty rosters: who is on duty for an estate, kind and building at a moment, the
automatic choice among them (fewest open orders), and the rosters themselves."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Region, RegionLevel
from linli.places.selectors import require_estate
from linli.workorders.models import (
    OPEN_STATES,
    DutyRoster,
    EventKind,
    Kind,
    State,
    WorkOrder,
)
from linli.workorders.services.common import _event, _notify_supervisors, is_technician_for


def _covers(roster: DutyRoster, moment: datetime) -> bool:
    """Whether the shift covers the (local) moment; shifts ending before they start run past midnight."""
    local = timezone.localtime(moment)
    t, today = local.time(), local.date()

    def on(day: date) -> bool:
        return roster.date == day if roster.date is not None else roster.weekday == day.weekday()

    if roster.start_time < roster.end_time:
        return on(today) and roster.start_time <= t < roster.end_time
    # overnight: the part after the start today, or the part before the end of yesterday's shift
    return (on(today) and t >= roster.start_time) or (on(today - timedelta(days=1)) and t < roster.end_time)


def on_duty(*, estate: Region, kind: str, building: Region | None, moment: datetime) -> list:
    """Technicians whose shift covers the moment and the kind, and the building when the shift lists some."""
    rosters = (
        DutyRoster.objects.filter(estate=estate)
        .filter(
            Q(weekday__isnull=False)
            | Q(date__range=(moment.date() - timedelta(days=1), moment.date() + timedelta(days=1)))
        )
        .select_related("technician")
        .prefetch_related("buildings")
        .order_by("pk")
    )
    users: dict[int, object] = {}
    for r in rosters:
        if r.kinds and kind not in r.kinds:
            continue
        listed = {b.pk for b in r.buildings.all()}
        if listed and (building is None or building.pk not in listed):
            continue
        if not _covers(r, moment) or r.technician_id in users:
            continue
        if is_technician_for(r.technician, estate):
            users[r.technician_id] = r.technician
    return list(users.values())


def open_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        WorkOrder.objects.filter(assignee_id__in=user_ids, state__in=OPEN_STATES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
    )
    return {r["assignee_id"]: r["n"] for r in rows}


def workorder_dispatch(*, order: WorkOrder, now: datetime | None = None) -> WorkOrder:
    """Assign a new order to the on-duty technician with the fewest open orders (ties: earliest roster);
    with no one on duty it stays new and the estate's property administrators are notified."""
    now = now or timezone.now()
    if order.state != State.NEW:
        return order
    candidates = on_duty(estate=order.estate, kind=order.kind, building=order.building, moment=now)
    if not candidates:
        _event(order, kind=EventKind.UNDISPATCHED, actor=None, note=_("当前无值班技师，等待人工派单"), at=now)
        _notify_supervisors(
            order,
            title=_("新工单待派单：%(title)s") % {"title": order.title},
            body=_("当前没有值班技师负责此类工单，请人工派单。"),
        )
        return order
    counts = open_counts([u.pk for u in candidates])
    chosen = min(candidates, key=lambda u: counts.get(u.pk, 0))  # min keeps the first of equals
    _assign(order, assignee=chosen, actor=None, now=now, note=_("自动派单"))
    return order


def _assign(order: WorkOrder, *, assignee, actor: Actor | None, now: datetime, note: str = "") -> None:
    from_state = order.state
    order.state = State.ASSIGNED
    order.assignee = assignee
    order.assigned_at = now
    order.accepted_at = None
    order.started_at = None
    order.save(update_fields=["state", "assignee", "assigned_at", "accepted_at", "started_at", "updated_at"])
    label = str(assignee)
    _event(
        order,
        kind=EventKind.ASSIGNED,
        actor=actor,
        from_state=from_state,
        to_state=State.ASSIGNED,
        note=f"{note} → {label}" if note else label,
        at=now,
    )


def _roster_values(
    *, estate: Region, technician, weekday, date_, start_time: time, end_time: time, kinds, buildings
) -> dict:
    errors: dict[str, list[str]] = {}
    if technician is None or not is_technician_for(technician, estate):
        errors["technician"] = [_("请选择本小区的维修技师")]
    if (weekday is None) == (date_ is None):
        errors["weekday"] = [_("请填写星期或日期（二选一）")]
    elif weekday is not None and not 0 <= weekday <= 6:
        errors["weekday"] = [_("星期为 0（周一）至 6（周日）")]
    if start_time == end_time:
        errors["end_time"] = [_("结束时间不能与开始时间相同")]
    kinds = list(dict.fromkeys(kinds or []))
    if any(k not in Kind.values for k in kinds):
        errors["kinds"] = [_("无效的选项")]
    buildings = list(buildings or [])
    if any(b.level != RegionLevel.BUILDING or not b.path.startswith(estate.path) for b in buildings):
        errors["buildings"] = [_("楼栋不属于该小区")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "technician": technician,
        "weekday": weekday,
        "date": date_,
        "start_time": start_time,
        "end_time": end_time,
        "kinds": kinds,
        "buildings": buildings,
    }


@transaction.atomic
def roster_create(
    *,
    actor: Actor,
    estate: Region,
    technician,
    start_time: time,
    end_time: time,
    weekday: int | None = None,
    date: date | None = None,
    kinds=(),
    buildings=(),
) -> DutyRoster:
    require_estate(actor=actor, estate=estate, perm=Perm.WORKORDERS_MANAGE, write=True)
    values = _roster_values(
        estate=estate,
        technician=technician,
        weekday=weekday,
        date_=date,
        start_time=start_time,
        end_time=end_time,
        kinds=kinds,
        buildings=buildings,
    )
    buildings = values.pop("buildings")
    roster = DutyRoster.objects.create(estate=estate, **values)
    roster.buildings.set(buildings)
    audit.record(Action.CREATE, actor=actor, obj=roster)
    return roster


@transaction.atomic
def roster_update(
    *,
    actor: Actor,
    roster: DutyRoster,
    technician,
    start_time: time,
    end_time: time,
    weekday: int | None = None,
    date: date | None = None,
    kinds=(),
    buildings=(),
) -> DutyRoster:
    require_estate(actor=actor, estate=roster.estate, perm=Perm.WORKORDERS_MANAGE, write=True)
    values = _roster_values(
        estate=roster.estate,
        technician=technician,
        weekday=weekday,
        date_=date,
        start_time=start_time,
        end_time=end_time,
        kinds=kinds,
        buildings=buildings,
    )
    buildings = values.pop("buildings")
    for key, value in values.items():
        setattr(roster, key, value)
    roster.save()
    roster.buildings.set(buildings)
    audit.record(Action.UPDATE, actor=actor, obj=roster)
    return roster


@transaction.atomic
def roster_delete(*, actor: Actor, roster: DutyRoster) -> None:
    require_estate(actor=actor, estate=roster.estate, perm=Perm.WORKORDERS_MANAGE, write=True)
    audit.record(Action.DELETE, actor=actor, obj=roster)
    roster.delete()
