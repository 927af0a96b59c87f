"""The parking demo seed: permits billed to rooms, a week of consistent events and sessions, fees by
the rule, parking income in billing's ledger, nothing added on a re-run, the same data every time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.billing.models import Bill, Payment, PaymentAllocation
from linli.billing.selectors import collection_rate, ledger_totals
from linli.parking import demo, fees
from linli.parking.models import (
    BlockedPlate,
    Category,
    ParkingSession,
    Permit,
    PermitKind,
    PlateEvent,
    SessionStatus,
)
from linli.parking.services import fee_spec
from linli.parking.tests import factories as f
from linli.people.tests import factories as people_f


@pytest.fixture
def estate(world):
    a = world.a
    f.spaces(a, temporary=12, rented=2)
    f.spaces(a, owned=1, room=a.rooms[0])
    for i, person in enumerate(a.persons):
        people_f.vehicle(owner=person, plate=f"晋A7000{i}")
    return a.estate


def _snapshot(estate):
    return (
        sorted(
            PlateEvent.objects.filter(estate=estate).values_list(
                "plate", "direction", "occurred_at", "decision"
            )
        ),
        sorted(ParkingSession.objects.filter(estate=estate).values_list("plate", "fee_fen", "status")),
        sorted(Permit.objects.filter(estate=estate).values_list("vehicle__plate", "kind")),
    )


def test_the_seed_writes_a_consistent_week(world, estate):
    today = timezone.localdate() - timedelta(days=2)

    counts = demo.seed(estate, today=today)

    assert counts["permits"] == Permit.objects.count() >= 1
    assert Permit.objects.filter(kind=PermitKind.OWNED_SPACE, space__room=world.a.rooms[0]).count() == 1
    assert counts["events"] == PlateEvent.objects.count() > 100
    assert counts["sessions"] == ParkingSession.objects.count() > 100
    tz = timezone.get_default_timezone()
    for s in ParkingSession.objects.exclude(status=SessionStatus.OPEN).select_related("rule"):
        assert s.fee_fen == fees.compute(fee_spec(s.rule), s.entered_at, s.exited_at, tz).total_fen
        assert (s.status == SessionStatus.FREE) == (s.fee_fen == 0)
    paid = ParkingSession.objects.filter(status=SessionStatus.PAID)
    assert paid.filter(bill__isnull=True).count() == paid.filter(payment__isnull=True).count() == 0
    assert all(s.bill.amount_fen == s.fee_fen and s.bill.room_id is None for s in paid.select_related("bill"))
    assert PlateEvent.objects.filter(category=Category.BLOCKED, decision="deny").count() >= 1
    assert BlockedPlate.objects.filter(active=True).count() == 1
    assert ParkingSession.objects.filter(status=SessionStatus.OPEN).count() == 0  # the week ended days ago


def test_parking_income_is_in_billings_ledger_and_collection_rate(world, estate):
    demo.seed(estate)

    totals = ledger_totals(Bill.objects.filter(estate=estate))
    income = sum(ParkingSession.objects.filter(status=SessionStatus.PAID).values_list("fee_fen", flat=True))
    rows = collection_rate(actor=f.admin(world.a), estate_id=estate.pk, group_by="building")

    assert (totals.cached_mismatches, totals.min_bill_arrears_fen) == (0, 0)
    assert totals.paid_fen == sum(PaymentAllocation.objects.values_list("amount_fen", flat=True))
    walk_in = next(r for r in rows if r["key"] == "")
    assert (walk_in["label"], walk_in["paid_fen"]) == ("无房屋（临时停车等）", income)
    assert (
        Payment.objects.filter(room__isnull=True).count()
        == ParkingSession.objects.filter(status="paid").count()
    )


def test_a_rerun_adds_nothing(estate):
    demo.seed(estate)
    before = _snapshot(estate), Bill.objects.count(), Payment.objects.count()

    again = demo.seed(estate)

    assert (again["permits"], again["events"], again["sessions"]) == (0, 0, 0)
    assert (_snapshot(estate), Bill.objects.count(), Payment.objects.count()) == before


def test_the_seed_is_deterministic(estate):
    today = timezone.localdate() - timedelta(days=3)
    demo.seed(estate, today=today)
    first = _snapshot(estate)
    PlateEvent.objects.all().delete()
    ParkingSession.objects.update(bill=None, payment=None)
    PaymentAllocation.objects.all().delete()
    Payment.objects.all().delete()
    Bill.objects.all().delete()
    ParkingSession.objects.all().delete()
    Permit.objects.all().delete()

    demo.seed(estate, today=today)

    assert _snapshot(estate) == first
