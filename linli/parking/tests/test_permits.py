"""Permits: validity, spaces, billing of each term to the holder's room, renew, cancel, expiry; fee
rules: versions and one active per estate."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from linli.billing.models import Bill, FeeKind
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.parking import services
from linli.parking.models import ParkingFeeRule, PermitKind, PermitStatus
from linli.parking.plates import add_months
from linli.parking.tests import factories as f
from linli.people.tests import factories as people_f


@pytest.fixture
def car(world):
    """A vehicle of the resident of estate a's first room, and the estate's fee rule."""
    f.rule(world.a)
    return people_f.vehicle(owner=world.a.persons[0], plate="晋A12345")


def test_a_monthly_permit_bills_its_term_to_the_owners_room(world, car):
    start = timezone.localdate()

    permit = f.permit(world.a, vehicle=car, months=3, start=start)

    end = permit.valid_until
    assert (permit.kind, permit.valid_from, permit.price_fen, permit.room) == (
        PermitKind.MONTHLY,
        start,
        30000,
        world.a.rooms[0],
    )
    assert end == add_months(start, 3) - timedelta(days=1)
    bill = Bill.objects.get()
    assert (bill.kind, bill.room, bill.amount_fen, bill.period, bill.status) == (
        FeeKind.PARKING,
        world.a.rooms[0],
        90000,
        f"{start:%Y-%m}",
        "unpaid",
    )
    assert (bill.source_type, bill.source_id) == ("parking.permit", f"{permit.pk}:{start:%Y%m%d}")
    assert bill.title == f"月租停车 晋A·***45 {start:%Y-%m-%d}～{end:%Y-%m-%d}"
    record = AuditEvent.objects.get(action="data.create", object_type="parking.permit")
    assert (record.subject_person_id, record.detail["bill"]) == (world.a.persons[0].pk, bill.pk)


def test_a_yearly_permit_runs_a_year_at_the_yearly_price(world, car):
    start = date(timezone.localdate().year, 1, 1) + timedelta(days=400)

    permit = f.permit(world.a, vehicle=car, kind=PermitKind.YEARLY, start=start)

    assert permit.valid_until == add_months(start, 12) - timedelta(days=1)
    assert Bill.objects.get().amount_fen == 300000


def test_an_owned_space_has_no_end_and_no_bill(world, car):
    (space,) = f.spaces(world.a, owned=1, room=world.a.rooms[0])

    permit = f.permit(world.a, vehicle=car, kind=PermitKind.OWNED_SPACE, space=space)

    assert (permit.valid_until, permit.price_fen, permit.space) == (date(2099, 12, 31), 0, space)
    assert Bill.objects.count() == 0


def test_a_rented_space_needs_a_rented_space(world, car):
    temporary, owned = f.spaces(world.a, temporary=1, owned=1)

    with pytest.raises(ValidationFailed) as missing:
        f.permit(world.a, vehicle=car, kind=PermitKind.RENTED_SPACE)
    with pytest.raises(ValidationFailed) as wrong:
        f.permit(world.a, vehicle=car, kind=PermitKind.RENTED_SPACE, space=owned)
    with pytest.raises(ValidationFailed):
        f.permit(world.a, vehicle=car, kind=PermitKind.MONTHLY, space=temporary)

    assert list(missing.value.fields) == list(wrong.value.fields) == ["space_id"]


def test_a_vehicle_or_a_space_cannot_hold_two_overlapping_permits(world, car):
    (space,) = f.spaces(world.a, rented=1)
    f.permit(world.a, vehicle=car, kind=PermitKind.RENTED_SPACE, space=space, months=2)
    other = people_f.vehicle(owner=world.a.persons[1], plate="晋A54321")

    with pytest.raises(Conflict):
        f.permit(world.a, vehicle=car)
    with pytest.raises(Conflict):
        f.permit(world.a, vehicle=other, kind=PermitKind.RENTED_SPACE, space=space)
    assert f.permit(world.a, vehicle=car, start=timezone.localdate() + timedelta(days=70)).pk


def test_a_permit_needs_a_room_to_bill_and_a_price(world):
    homeless = people_f.person(estate=world.a.estate)
    vehicle = people_f.vehicle(owner=homeless, plate="晋A77777")

    with pytest.raises(ValidationFailed) as no_rule:
        f.permit(world.a, vehicle=vehicle)
    f.rule(world.a)
    with pytest.raises(ValidationFailed) as no_room:
        f.permit(world.a, vehicle=vehicle)

    assert list(no_rule.value.fields) == ["price_fen"]
    assert list(no_room.value.fields) == ["vehicle_id"]
    assert f.permit(world.a, vehicle=vehicle, price_fen=0).room is None


def test_renewing_extends_from_the_end_and_bills_the_new_term(world, car):
    permit = f.permit(world.a, vehicle=car)
    old_end = permit.valid_until

    services.permit_renew(actor=f.admin(world.a), permit=permit, months=2)

    permit.refresh_from_db()
    start = old_end + timedelta(days=1)
    assert permit.valid_until == add_months(start, 2) - timedelta(days=1)
    assert list(Bill.objects.order_by("pk").values_list("amount_fen", "source_id")) == [
        (30000, f"{permit.pk}:{permit.valid_from:%Y%m%d}"),
        (60000, f"{permit.pk}:{start:%Y%m%d}"),
    ]


def test_cancelling_ends_the_permit_and_renewing_it_is_refused(world, car):
    permit = f.permit(world.a, vehicle=car)

    services.permit_cancel(actor=f.admin(world.a), permit=permit, reason="车主出售车辆")

    permit.refresh_from_db()
    assert (permit.status, permit.cancel_reason) == (PermitStatus.CANCELLED, "车主出售车辆")
    with pytest.raises(Conflict):
        services.permit_renew(actor=f.admin(world.a), permit=permit)
    with pytest.raises(Conflict):
        services.permit_cancel(actor=f.admin(world.a), permit=permit, reason="again")


def test_permits_expire_after_their_last_day(world, car):
    permit = f.permit(world.a, vehicle=car)

    assert services.permits_expire(today=permit.valid_until) == 0
    assert services.permits_expire(today=permit.valid_until + timedelta(days=1)) == 1
    permit.refresh_from_db()
    assert permit.status == PermitStatus.EXPIRED


def test_only_parking_managers_grant_permits(world, car):
    with pytest.raises(PermissionDenied):
        f.permit(world.a, vehicle=car, actor=f.guard(world.a))
    assert Bill.objects.count() == 0


def test_a_new_rule_version_replaces_the_active_one(world):
    first = f.rule(world.a, name="2025 版")

    second = f.rule(world.a, name="2026 版", night_start=time(22), night_end=time(7), night_fen=500)

    first.refresh_from_db()
    assert (first.active, second.active) == (False, True)
    services.fee_rule_activate(actor=f.admin(world.a), rule=first)
    assert list(ParkingFeeRule.objects.filter(active=True)) == [first]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"first_period_minutes": 0}, "first_period_minutes"),
        ({"next_period_fen": -1}, "next_period_fen"),
        ({"night_start": time(22)}, "night_end"),
        ({"night_start": time(22), "night_end": time(22)}, "night_end"),
        ({"night_fen": 300}, "night_fen"),
        ({"name": ""}, "name"),
    ],
)
def test_a_rule_must_make_sense(world, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        f.rule(world.a, **kwargs)

    assert list(exc.value.fields) == [field]
    assert ParkingFeeRule.objects.count() == 0
