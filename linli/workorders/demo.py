"""Demo data for work orders: duty rosters, SLA policies and ~40 orders per estate over the last weeks,
in every state (open and assigned ones, breached ones, rated ones), each with a coherent history.

Historical orders are written directly (the services stamp "now"); what they write is what the
services would have written at those times. ``seed`` is deterministic for a given estate and day.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from linli.people.models import Occupancy
from linli.places.models import Region, RegionLevel, Room
from linli.workorders.models import (
    OPEN_STATES,
    UNANSWERED_STATES,
    Charge,
    DutyRoster,
    EventKind,
    Kind,
    SlaPolicy,
    Source,
    State,
    WorkOrder,
    WorkOrderEvent,
)
from linli.workorders.services import DEFAULT_SLA

ORDERS_PER_ESTATE = 40
TITLES = {
    Kind.REPAIR_PRIVATE: [
        "厨房水管漏水",
        "卫生间下水堵塞",
        "入户门锁损坏",
        "空调外机异响",
        "插座没电",
        "热水器不出热水",
    ],
    Kind.REPAIR_COMMON: [
        "楼道灯不亮",
        "电梯按钮失灵",
        "单元门禁故障",
        "消防通道门闭门器损坏",
        "地库积水",
        "路灯不亮",
    ],
    Kind.COMPLAINT: ["夜间装修噪音", "楼上漏水影响我家", "宠物粪便未清理", "车辆占用消防通道"],
    Kind.SUGGESTION: ["建议增加快递柜", "建议儿童游乐区加装遮阳棚", "建议延长门岗夜间值守"],
    Kind.INCIDENT: ["电梯困人", "地下车库烟感报警", "水管爆裂", "小区南门道闸故障"],
}
KIND_WEIGHTS = [
    (Kind.REPAIR_PRIVATE, 14),
    (Kind.REPAIR_COMMON, 12),
    (Kind.COMPLAINT, 7),
    (Kind.SUGGESTION, 4),
    (Kind.INCIDENT, 3),
]
# Target states of the orders, oldest first: history is mostly closed, the last days are open.
CLOSED = [State.RATED] * 14 + [State.DONE] * 8 + [State.CANCELLED] * 3
OPEN = [State.IN_PROGRESS] * 4 + [State.ACCEPTED] * 3 + [State.ASSIGNED] * 5 + [State.NEW] * 3
COMMENTS = ["已联系住户确认上门时间", "需采购配件，预计明日到货", "已现场查看", "住户不在家，已电话预约"]
PARTS = [("角阀", 1850), ("灯管", 1200), ("门锁芯", 6800), ("下水管件", 2500)]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _ev(order, at, kind, actor=None, from_state="", to_state="", note=""):
    return WorkOrderEvent(
        order=order, at=at, actor=actor, kind=kind, from_state=from_state, to_state=to_state, note=note
    )


@transaction.atomic
def seed(estate: Region, technicians: list, today: date | None = None) -> dict[str, int]:
    """Rosters, SLA policies and ~40 orders for ``estate``; returns what it created."""
    today = today or timezone.localdate()
    rng = random.Random(f"workorders-{estate.pk}-{today.isoformat()}")  # noqa: S311 (demo data)
    now = timezone.now()
    # SLA policies: the defaults, written down so the console shows them as the estate's own.
    for kind, (resp, comp) in DEFAULT_SLA.items():
        SlaPolicy.objects.update_or_create(
            estate=estate, kind=kind, defaults={"response_minutes": resp, "completion_minutes": comp}
        )
    # Rosters: day shifts on weekdays split between technicians, a weekend shift, a night shift for
    # incidents; with two or more technicians, the second one covers the first building only.
    buildings = list(Region.objects.filter(parent=estate, level=RegionLevel.BUILDING).order_by("sort", "pk"))
    rosters = 0
    for i, tech in enumerate(technicians):
        for weekday in range(7):
            if weekday < 5 or i == 0:
                r = DutyRoster.objects.create(
                    estate=estate, technician=tech, weekday=weekday, start_time=time(8), end_time=time(20)
                )
                if i == 1 and buildings:
                    r.buildings.set(buildings[:1])
                rosters += 1
        if i == len(technicians) - 1:
            for weekday in range(7):
                DutyRoster.objects.create(
                    estate=estate,
                    technician=tech,
                    weekday=weekday,
                    start_time=time(20),
                    end_time=time(8),
                    kinds=[Kind.INCIDENT],
                )
                rosters += 1
    rooms = list(Room.objects.filter(estate=estate).select_related("building").order_by("path")[:200])
    occupant = {
        o.room_id: o.person
        for o in Occupancy.objects.filter(estate=estate, end_date__isnull=True).select_related("person")
    }
    states = CLOSED + OPEN
    kinds = [k for k, w in KIND_WEIGHTS for _ in range(w)]
    created = 0
    for n, target in enumerate(states):
        # spread over the last 28 days; open orders in the last 2 days
        days_ago = (
            max(2, 28 - n * 26 // len(CLOSED))
            if target in (State.RATED, State.DONE, State.CANCELLED)
            else rng.randint(0, 1)
        )
        day = today - timedelta(days=days_ago)
        created_at = _at(day, rng.randint(8, 19), rng.choice([0, 10, 20, 30, 40, 50]))
        if created_at > now:
            created_at = now - timedelta(minutes=rng.randint(20, 300))
        kind = rng.choice(kinds)
        room = rng.choice(rooms) if rooms and kind in (Kind.REPAIR_PRIVATE, Kind.COMPLAINT) else None
        if kind == Kind.REPAIR_PRIVATE and room is None:
            kind = Kind.REPAIR_COMMON
        reporter = occupant.get(room.pk) if room else None
        source = (
            Source.RESIDENT
            if reporter and rng.random() < 0.7
            else rng.choice(
                [Source.STAFF, Source.STAFF, Source.PATROL]
                if kind != Kind.INCIDENT
                else [Source.DEVICE, Source.STAFF]
            )
        )
        resp, comp = DEFAULT_SLA[kind]
        order = WorkOrder(
            estate=estate,
            kind=kind,
            source=source,
            source_ref=f"demo-{estate.pk}-{n}" if source == Source.DEVICE else "",
            title=rng.choice(TITLES[kind]),
            description="",
            room=room,
            building=room.building if room else (rng.choice(buildings) if buildings else None),
            location="" if room else rng.choice(["1单元大堂", "地下车库B区", "南门", "中心花园"]),
            reporter=reporter,
            contact_phone=reporter.phone if reporter else "",
            state=State.NEW,
            response_due_at=created_at + timedelta(minutes=resp),
            completion_due_at=created_at + timedelta(minutes=comp),
        )
        order.save()
        WorkOrder.objects.filter(pk=order.pk).update(created_at=created_at)
        events = [
            _ev(order, created_at, EventKind.CREATED, to_state=State.NEW, note=order.get_source_display())
        ]
        tech = technicians[n % len(technicians)] if technicians else None
        t = created_at
        path = {
            State.NEW: [],
            State.CANCELLED: [],
            State.ASSIGNED: ["assign"],
            State.ACCEPTED: ["assign", "accept"],
            State.IN_PROGRESS: ["assign", "accept", "start"],
            State.DONE: ["assign", "accept", "start", "finish"],
            State.RATED: ["assign", "accept", "start", "finish", "rate"],
        }[target]
        if tech is None:
            path = []
        late = rng.random() < 0.2  # some orders answered or finished late
        state = State.NEW
        for step in path:
            if step == "assign":
                t += timedelta(minutes=rng.randint(1, 5))
                t = min(t, now - timedelta(minutes=1))
                order.assignee, order.assigned_at = tech, t
                events.append(
                    _ev(order, t, EventKind.ASSIGNED, None, state, State.ASSIGNED, f"自动派单 → {tech}")
                )
                state = State.ASSIGNED
            elif step == "accept":
                t += (
                    timedelta(minutes=resp + rng.randint(5, 60))
                    if late
                    else timedelta(minutes=rng.randint(2, resp))
                )
                t = min(t, now - timedelta(minutes=1))
                order.accepted_at = t
                events.append(_ev(order, t, EventKind.ACCEPTED, tech, state, State.ACCEPTED))
                state = State.ACCEPTED
            elif step == "start":
                t += timedelta(minutes=rng.randint(10, 90))
                t = min(t, now - timedelta(minutes=1))
                order.started_at = t
                events.append(_ev(order, t, EventKind.STARTED, tech, state, State.IN_PROGRESS))
                if rng.random() < 0.4:
                    events.append(
                        _ev(
                            order,
                            t + timedelta(minutes=5),
                            EventKind.COMMENT,
                            tech,
                            "",
                            state,
                            rng.choice(COMMENTS),
                        )
                    )
                state = State.IN_PROGRESS
                if kind == Kind.REPAIR_PRIVATE and rng.random() < 0.5:
                    part, price = rng.choice(PARTS)
                    Charge.objects.create(
                        order=order,
                        kind="parts",
                        description=part,
                        quantity=1,
                        unit_price_fen=price,
                        amount_fen=price,
                        created_by=tech,
                    )
                    events.append(
                        _ev(
                            order,
                            t + timedelta(minutes=6),
                            EventKind.CHARGE,
                            tech,
                            "",
                            state,
                            f"材料费 {part} ×1 = {price / 100:.2f} 元",
                        )
                    )
            elif step == "finish":
                t += (
                    timedelta(minutes=comp + rng.randint(30, 600))
                    if late
                    else timedelta(minutes=rng.randint(20, comp // 2))
                )
                t = min(t, now - timedelta(minutes=1))
                order.done_at = t
                events.append(_ev(order, t, EventKind.FINISHED, tech, state, State.DONE, "已处理完毕"))
                state = State.DONE
            elif step == "rate":
                t += timedelta(hours=rng.randint(1, 30))
                t = min(t, now - timedelta(minutes=1))
                order.rated_at = t
                order.rating = rng.choice([5, 5, 5, 4, 4, 3]) if not late else rng.choice([3, 2, 4])
                order.rating_comment = {5: "师傅很专业", 4: "处理及时", 3: "还可以", 2: "等了太久"}[
                    order.rating
                ]
                if reporter is None:  # only reporters rate: leave it done
                    order.rated_at = order.rating = None
                    order.rating_comment = ""
                    break
                events.append(
                    _ev(
                        order,
                        t,
                        EventKind.RATED,
                        reporter.user,
                        state,
                        State.RATED,
                        f"{order.rating}★ {order.rating_comment}",
                    )
                )
                state = State.RATED
        if target == State.CANCELLED:
            t = min(t + timedelta(minutes=rng.randint(5, 120)), now - timedelta(minutes=1))
            order.cancelled_at = t
            events.append(_ev(order, t, EventKind.CANCELLED, None, state, State.CANCELLED, "住户已自行处理"))
            state = State.CANCELLED
        if state == State.NEW and tech is not None:
            events.append(
                _ev(order, created_at, EventKind.UNDISPATCHED, None, note="当前无值班技师，等待人工派单")
            )
        order.state = state
        # SLA breaches as the periodic job would have marked them
        answered_late = (state in UNANSWERED_STATES and order.response_due_at < now) or (
            order.accepted_at is not None and order.accepted_at > order.response_due_at
        )
        if answered_late:
            order.response_breached_at = order.response_due_at + timedelta(minutes=1)
        finished_late = (state in OPEN_STATES and order.completion_due_at < now) or (
            order.done_at is not None and order.done_at > order.completion_due_at
        )
        if finished_late:
            order.completion_breached_at = order.completion_due_at + timedelta(minutes=1)
        for flag, kind_ in (
            ("response_breached_at", EventKind.RESPONSE_BREACH),
            ("completion_breached_at", EventKind.COMPLETION_BREACH),
        ):
            if getattr(order, flag):
                events.append(_ev(order, getattr(order, flag), kind_, None, "", state, "已上报主管"))
        order.save()
        WorkOrderEvent.objects.bulk_create(sorted(events, key=lambda e: e.at))
        created += 1
    return {"rosters": rosters, "orders": created, "sla_policies": len(DEFAULT_SLA)}
