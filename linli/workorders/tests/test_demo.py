"""The demo seed: rosters, SLA policies and ~40 coherent orders per estate in every state."""

from collections import Counter

from linli.orgs.roles import Role
from linli.orgs.tests import factories as orgs_f
from linli.workorders import demo
from linli.workorders.models import DutyRoster, EventKind, SlaPolicy, State, WorkOrder


def test_seed_creates_orders_in_every_state(world):
    techs = [world.a.staff[Role.TECHNICIAN], orgs_f.staff(role=Role.TECHNICIAN, scope=[world.a.estate])]
    result = demo.seed(world.a.estate, techs)
    orders = WorkOrder.objects.filter(estate=world.a.estate)
    assert result["orders"] == orders.count() == 40
    states = Counter(orders.values_list("state", flat=True))
    assert set(states) == {s.value for s in State}
    assert orders.filter(response_breached_at__isnull=False).exists()
    assert orders.filter(state=State.RATED, rating__isnull=False).count() == states[State.RATED]
    assert SlaPolicy.objects.filter(estate=world.a.estate).count() == 5
    assert DutyRoster.objects.filter(estate=world.a.estate).count() == result["rosters"] > 0
    for order in orders:  # every order's history ends in its state
        last = order.events.exclude(to_state="").exclude(kind=EventKind.COMMENT).order_by("at", "pk").last()
        transitions = order.events.exclude(from_state="").order_by("at", "pk")
        assert last is not None
        if transitions.exists():
            assert transitions.last().to_state == order.state
        if order.state != State.NEW:
            assert order.assignee in techs or order.state == State.CANCELLED
    assert not WorkOrder.objects.filter(estate=world.b.estate).exists()


def test_seed_writes_no_future_times(world):
    from django.utils import timezone

    demo.seed(world.a.estate, [world.a.staff[Role.TECHNICIAN]])
    now = timezone.now()
    for order in WorkOrder.objects.all():
        stamps = [
            order.created_at,
            order.assigned_at,
            order.accepted_at,
            order.started_at,
            order.done_at,
            order.rated_at,
        ]
        assert all(s is None or s <= now for s in stamps), order.pk
