"""Work-order services: the state machine table, roles, auto-dispatch, idempotent creation, charges."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.messaging.models import Message
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.workorders import services
from linli.workorders.models import EventKind, State, WorkOrder
from linli.workorders.tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
ALL_STATES = [
    State.NEW,
    State.ASSIGNED,
    State.ACCEPTED,
    State.IN_PROGRESS,
    State.DONE,
    State.RATED,
    State.CANCELLED,
]
PATH = {  # actions leading from new to each state
    State.NEW: [],
    State.ASSIGNED: ["assign"],
    State.ACCEPTED: ["assign", "accept"],
    State.IN_PROGRESS: ["assign", "accept", "start"],
    State.DONE: ["assign", "accept", "start", "finish"],
    State.RATED: ["assign", "accept", "start", "finish", "rate"],
    State.CANCELLED: ["cancel"],
}
TARGET = {
    "assign": State.ASSIGNED,
    "accept": State.ACCEPTED,
    "start": State.IN_PROGRESS,
    "finish": State.DONE,
    "rate": State.RATED,
    "cancel": State.CANCELLED,
    "reopen": State.ASSIGNED,
}
LEGAL = {
    "assign": {State.NEW, State.ASSIGNED, State.ACCEPTED},
    "accept": {State.ASSIGNED},
    "start": {State.ACCEPTED},
    "finish": {State.IN_PROGRESS},
    "rate": {State.DONE},
    "cancel": {State.NEW, State.ASSIGNED, State.ACCEPTED},
    "reopen": {State.DONE, State.RATED},
}


def do(world, action, order, tech=None):
    a = world.a
    admin = actor_for_user(a.staff[Role.PROPERTY_ADMIN])
    technician = actor_for_user(a.staff[Role.TECHNICIAN])
    resident = actor_for_user(a.resident)
    if action == "assign":
        return services.workorder_assign(actor=admin, order=order, assignee=tech or a.staff[Role.TECHNICIAN])
    if action == "accept":
        return services.workorder_accept(actor=technician, order=order)
    if action == "start":
        return services.workorder_start(actor=technician, order=order)
    if action == "finish":
        return services.workorder_finish(actor=technician, order=order, note="已更换")
    if action == "rate":
        return services.workorder_rate(actor=resident, order=order, rating=5, comment="很好")
    if action == "cancel":
        return services.workorder_cancel(actor=admin, order=order, reason="重复报修")
    if action == "reopen":
        return services.workorder_reopen(actor=admin, order=order, reason="仍然漏水")
    raise AssertionError(action)


def order_in(world, state, tech2=None):
    order = f.resident_order(world.a)  # no roster: stays new
    for action in PATH[state]:
        # reassigning an already assigned order needs another technician
        do(world, action, order)
    order.refresh_from_db()
    assert order.state == state
    return order


@pytest.mark.parametrize("action", list(LEGAL))
@pytest.mark.parametrize("state", ALL_STATES)
def test_state_machine_table(world, tech2, state, action):
    # given an order in `state`
    order = order_in(world, state)
    events = order.events.count()
    before = WorkOrder.objects.values().get(pk=order.pk)
    # when the action is attempted (reassign goes to a second technician)
    if state in LEGAL[action]:
        do(world, action, order, tech=tech2 if state == State.ASSIGNED else None)
        # then it moves to the target state and history grows by one event
        order.refresh_from_db()
        assert order.state == TARGET[action]
        assert order.events.count() == events + 1
        last = order.events.order_by("-pk").first()
        assert (last.from_state, last.to_state) == (state, TARGET[action])
    else:
        with pytest.raises(Conflict) as exc:
            do(world, action, order, tech=tech2)
        # then 409 naming the current state, and nothing changed
        assert exc.value.message.startswith(f"工单当前状态为「{State(state).label}」，不能")
        assert exc.value.status == 409
        assert WorkOrder.objects.values().get(pk=order.pk) == before
        assert order.events.count() == events


def test_technician_acts_only_on_orders_assigned_to_them(world, tech2):
    order = order_in(world, State.ASSIGNED)
    with pytest.raises(PermissionDenied):
        services.workorder_accept(actor=actor_for_user(tech2), order=order)
    assert WorkOrder.objects.get(pk=order.pk).state == State.ASSIGNED


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.GUARD, Role.COMMUNITY_WORKER])
def test_only_manage_dispatches_and_cancels(world, role):
    order = order_in(world, State.NEW)
    actor = actor_for_user(world.a.staff[role])
    with pytest.raises(PermissionDenied):
        services.workorder_assign(actor=actor, order=order, assignee=world.a.staff[Role.TECHNICIAN])
    with pytest.raises(PermissionDenied):
        services.workorder_cancel(actor=actor, order=order)
    assert WorkOrder.objects.get(pk=order.pk).state == State.NEW


def test_resident_cancels_own_but_not_others(world):
    mine = f.resident_order(world.a)
    other = f.order(world.a)
    resident = actor_for_user(world.a.resident)
    with pytest.raises(NotFound):
        services.workorder_cancel(actor=resident, order=other)
    services.workorder_cancel(actor=resident, order=mine, reason="已自行修好")
    assert WorkOrder.objects.get(pk=mine.pk).state == State.CANCELLED


def test_only_the_reporter_rates(world):
    order = order_in(world, State.DONE)
    with pytest.raises(PermissionDenied):
        services.workorder_rate(
            actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), order=order, rating=5
        )
    with pytest.raises(ValidationFailed):
        services.workorder_rate(actor=actor_for_user(world.a.resident), order=order, rating=6)
    assert WorkOrder.objects.get(pk=order.pk).state == State.DONE


def test_reporter_reopens_within_seven_days_only(world):
    order = order_in(world, State.RATED)
    resident = actor_for_user(world.a.resident)
    with time_machine.travel(timezone_now() + timedelta(days=8)), pytest.raises(Conflict):
        services.workorder_reopen(actor=resident, order=order, reason="又坏了")
    with time_machine.travel(timezone_now() + timedelta(days=6)):
        services.workorder_reopen(actor=resident, order=order, reason="又坏了")
    order.refresh_from_db()
    assert (order.state, order.reopen_count, order.rating, order.assignee) == (
        State.ASSIGNED,
        1,
        None,
        world.a.staff[Role.TECHNICIAN],
    )


def timezone_now():
    from django.utils import timezone

    return timezone.now()


# --- auto-dispatch -----------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH))  # a Wednesday
def test_dispatch_to_technician_on_duty(world):
    f.roster(world.a, weekday=2, start=time(8), end=time(18))
    order = f.order(world.a)
    assert (order.state, order.assignee) == (State.ASSIGNED, world.a.staff[Role.TECHNICIAN])
    assert list(order.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.ASSIGNED]


@time_machine.travel(datetime(2026, 3, 4, 19, 0, tzinfo=SH))
def test_off_duty_stays_new_and_notifies_supervisor(world):
    f.roster(world.a, weekday=2, start=time(8), end=time(18))
    order = f.order(world.a)
    assert (order.state, order.assignee) == (State.NEW, None)
    notes = Message.objects.filter(user=world.a.staff[Role.PROPERTY_ADMIN])
    assert [n.title for n in notes] == ["新工单待派单：楼道灯不亮"]
    assert not Message.objects.filter(user=world.b.staff[Role.PROPERTY_ADMIN]).exists()


@time_machine.travel(datetime(2026, 3, 5, 1, 0, tzinfo=SH))  # Thursday 01:00
def test_overnight_shift_covers_after_midnight(world):
    f.roster(world.a, weekday=2, start=time(20), end=time(6))  # Wednesday night shift
    assert f.order(world.a).state == State.ASSIGNED


@time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH))
def test_dispatch_by_kind(world):
    f.roster(world.a, weekday=2, kinds=["complaint"])
    assert f.order(world.a, kind="repair_common").state == State.NEW
    assert f.order(world.a, kind="complaint").state == State.ASSIGNED


@time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH))
def test_dispatch_picks_fewest_open_orders(world, tech2):
    f.roster(world.a, weekday=2)
    f.roster(world.a, weekday=2, technician=tech2)
    first = f.order(world.a, title="一")
    second = f.order(world.a, title="二")
    third = f.order(world.a, title="三")
    assert [first.assignee, second.assignee] == [world.a.staff[Role.TECHNICIAN], tech2]
    assert third.assignee == world.a.staff[Role.TECHNICIAN]


@time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH))
def test_dispatch_respects_roster_buildings(world, tech2):
    from linli.places.tests import factories as places_f

    other = places_f.building(estate=world.a.estate, name="2号楼")
    f.roster(world.a, weekday=2, buildings=[other])
    f.roster(world.a, weekday=2, technician=tech2, buildings=[world.a.building])
    in_building_1 = f.order(world.a, kind="repair_private", room=world.a.rooms[0])
    assert in_building_1.assignee == tech2
    estate_wide = f.order(world.a, location="小区南门")
    assert estate_wide.state == State.NEW


@time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH))
def test_dated_roster_only_on_its_date(world):
    from datetime import date

    f.roster(world.a, date=date(2026, 3, 5))
    assert f.order(world.a).state == State.NEW


# --- creation ----------------------------------------------------------------------------------


def test_source_ref_makes_creation_idempotent(world):
    first = f.order(
        world.a, source="device", source_ref="ALARM-17", actor_user=world.a.staff[Role.PROPERTY_ADMIN]
    )
    again = f.order(world.a, source="device", source_ref="ALARM-17", title="另一标题")
    assert again.pk == first.pk
    assert WorkOrder.objects.filter(source="device", source_ref="ALARM-17").count() == 1
    other_source = f.order(world.a, source="city", source_ref="ALARM-17")
    assert other_source.pk != first.pk


def test_resident_reports_only_for_own_rooms(world):
    actor = actor_for_user(world.a.resident)
    with pytest.raises(NotFound):
        services.workorder_create(
            actor=actor,
            estate=world.a.estate,
            kind="repair_private",
            title="漏水",
            source="resident",
            room=world.a.rooms[2],
        )
    with pytest.raises(PermissionDenied):
        services.workorder_create(
            actor=actor, estate=world.a.estate, kind="complaint", title="噪音", source="staff"
        )
    with pytest.raises(NotFound):
        services.workorder_create(
            actor=actor, estate=world.b.estate, kind="complaint", title="噪音", source="resident"
        )
    order = services.workorder_create(
        actor=actor, estate=world.a.estate, kind="repair_private", title="漏水", source="resident"
    )
    assert (order.room, order.reporter, order.contact_phone) == (
        world.a.rooms[0],
        world.a.persons[0],
        world.a.persons[0].phone,
    )


def test_staff_cannot_create_in_other_estate(world):
    actor = actor_for_user(world.a.staff[Role.CUSTOMER_SERVICE])
    with pytest.raises(NotFound):
        services.workorder_create(actor=actor, estate=world.b.estate, kind="complaint", title="噪音")


def test_guard_reports_patrol_finding(world):
    guard = actor_for_user(world.a.staff[Role.GUARD])
    order = services.workorder_create(
        actor=guard,
        estate=world.a.estate,
        kind="repair_common",
        title="消防门损坏",
        source="patrol",
        source_ref="cp-1",
    )
    assert order.source == "patrol"
    with pytest.raises(PermissionDenied):
        services.workorder_create(
            actor=guard, estate=world.a.estate, kind="complaint", title="x", source="staff"
        )


@time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH))
def test_sla_defaults_and_policy(world):
    order = f.order(world.a, kind="incident")
    assert order.response_due_at - order.created_at < timedelta(minutes=10, seconds=1)
    assert order.completion_due_at - order.response_due_at == timedelta(minutes=230)
    services.sla_policy_set(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]),
        estate=world.a.estate,
        kind="incident",
        response_minutes=5,
        completion_minutes=60,
    )
    later = f.order(world.a, kind="incident")
    assert later.completion_due_at - later.response_due_at == timedelta(minutes=55)


# --- charges -----------------------------------------------------------------------------------


def test_charges_only_on_private_repairs_before_completion(world):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    common = f.order(world.a)
    with pytest.raises(Conflict):
        services.workorder_add_charge(
            actor=admin, order=common, kind="parts", description="灯泡", unit_price_fen=500
        )
    private = order_in(world, State.IN_PROGRESS)
    with pytest.raises(ValidationFailed):
        services.workorder_add_charge(
            actor=admin, order=private, kind="parts", description="阀门", unit_price_fen=0
        )
    charge = services.workorder_add_charge(
        actor=actor_for_user(world.a.staff[Role.TECHNICIAN]),
        order=private,
        kind="parts",
        description="角阀",
        unit_price_fen=1850,
        quantity=2,
    )
    assert charge.amount_fen == 3700
    with pytest.raises(PermissionDenied):
        services.workorder_add_charge(
            actor=actor_for_user(world.a.staff[Role.GUARD]),
            order=private,
            kind="labour",
            description="x",
            unit_price_fen=1,
        )
