"""Retention (R64): plate events after 180 days, picture references after 30 days, settled sessions
180 days after they left (a fee still owed stays), ended block-list rows and permits after a year;
the periodic jobs call the same functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.parking import services, tasks
from linli.parking.models import BlockedPlate, ParkingSession, Permit, PermitStatus, PlateEvent, SessionStatus
from linli.parking.tests import factories as f
from linli.people.tests import factories as people_f

PLATE = "晋A12345"


@pytest.fixture
def gates(world):
    f.spaces(world.a, temporary=5)
    f.rule(world.a)
    return f.gates(world.a)


def test_plate_events_older_than_180_days_are_deleted(gates):
    entry, _exit = gates
    now = timezone.now()
    old = f.enter(entry, "晋A00001", at=now - timedelta(days=181))
    kept = f.enter(entry, "晋A00002", at=now - timedelta(days=179))

    counts = services.purge_passages(now=now)

    assert counts["events"] == 1
    assert list(PlateEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not PlateEvent.objects.filter(pk=old.pk).exists()


def test_settled_sessions_go_after_180_days_but_owed_fees_stay(gates):
    entry, exit_ = gates
    now = timezone.now()
    f.enter(entry, "晋A00001", at=now - timedelta(days=200))
    free = f.leave(exit_, "晋A00001", at=now - timedelta(days=200) + timedelta(minutes=5)).session
    f.enter(entry, "晋A00002", at=now - timedelta(days=200))
    owed = f.leave(exit_, "晋A00002", at=now - timedelta(days=199)).session
    f.enter(entry, "晋A00003", at=now - timedelta(days=10))
    recent = f.leave(exit_, "晋A00003", at=now - timedelta(days=10) + timedelta(minutes=5)).session

    counts = services.purge_passages(now=now)

    assert (free.status, owed.status) == (SessionStatus.FREE, SessionStatus.UNPAID)
    assert counts == {"events": 4, "sessions": 1}
    assert set(ParkingSession.objects.values_list("pk", flat=True)) == {owed.pk, recent.pk}


def test_picture_references_are_cleared_after_30_days(gates):
    entry, _exit = gates
    now = timezone.now()
    old = f.enter(entry, "晋A00001", at=now - timedelta(days=31), pictures=("a.jpg", "b.jpg"))
    new = f.enter(entry, "晋A00002", at=now - timedelta(days=29), pictures=("c.jpg",))

    assert services.purge_pictures(now=now) == 1
    assert services.purge_pictures(now=now) == 0

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.picture_refs, new.picture_refs) == ([], ["c.jpg"])


def test_ended_block_rows_and_permits_go_after_a_year(world, gates):
    admin = f.admin(world.a)
    now = timezone.now()
    lifted = services.blocked_plate_add(actor=admin, estate=world.a.estate, plate="晋A00001", reason="x")
    services.blocked_plate_lift(actor=admin, blocked=lifted)
    BlockedPlate.objects.filter(pk=lifted.pk).update(lifted_at=now - timedelta(days=400))
    active = services.blocked_plate_add(actor=admin, estate=world.a.estate, plate="晋A00002", reason="x")
    car = people_f.vehicle(owner=world.a.persons[0], plate=PLATE)
    old = f.permit(world.a, vehicle=car)
    Permit.objects.filter(pk=old.pk).update(
        status=PermitStatus.EXPIRED, valid_until=(now - timedelta(days=370)).date()
    )
    current = f.permit(world.a, vehicle=car)

    counts = services.purge_records(now=now)

    assert counts == {"blocked": 1, "permits": 1}
    assert list(BlockedPlate.objects.values_list("pk", flat=True)) == [active.pk]
    assert list(Permit.objects.values_list("pk", flat=True)) == [current.pk]


def test_the_periodic_jobs_run_the_purges(world, gates):
    entry, _exit = gates
    now = timezone.now()
    f.enter(entry, "晋A00001", at=now - timedelta(days=181))
    car = people_f.vehicle(owner=world.a.persons[0], plate=PLATE)
    permit = f.permit(world.a, vehicle=car)

    assert tasks.purge_passages(now) == "events 1, sessions 0"
    assert tasks.purge_pictures(now) == "cleared 0"
    assert tasks.purge_records(now) == "blocked 0, permits 0"
    assert tasks.permits_expire(now + timedelta(days=60)) == "expired 1"
    permit.refresh_from_db()
    assert permit.status == PermitStatus.EXPIRED
