"""Plate reads: classification, idempotency, exit gating until paid, the block list, manual release,
occupancy and the barrier commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.access.models import Direction
from linli.access.tests import factories as access_f
from linli.billing.models import Bill, Channel, FeeKind, Payment
from linli.billing.providers.simulated import SimulatedProvider
from linli.billing.services import payment_notify_apply
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.devices.models import DeviceCommand
from linli.messaging.models import Message
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.parking import selectors, services
from linli.parking.models import (
    Category,
    Decision,
    ParkingSession,
    PlateEvent,
    Reason,
    SessionStatus,
)
from linli.parking.tests import factories as f
from linli.people.tests import factories as people_f

PLATE = "晋A12345"


@pytest.fixture
def lot(world):
    """Estate a with an entry and an exit barrier, 2 temporary spaces and the default fee rule."""
    entry, exit_ = f.gates(world.a)
    f.spaces(world.a, temporary=2)
    rule = f.rule(world.a)
    return entry, exit_, rule


# --- classification ----------------------------------------------------------------------------


def test_a_temporary_vehicle_enters_and_a_session_opens(lot):
    entry, _exit, _rule = lot

    ev = f.enter(entry, "晋a·12345")

    assert (ev.plate, ev.plate_valid, ev.direction) == (PLATE, True, "in")
    assert (ev.category, ev.decision, ev.reason) == (Category.TEMPORARY, Decision.ALLOW, Reason.OK)
    session = ev.session
    assert (session.plate, session.category, session.status) == (
        PLATE,
        Category.TEMPORARY,
        SessionStatus.OPEN,
    )
    assert session.entered_at == ev.occurred_at
    assert session.entry_point == entry


def test_a_resident_vehicle_with_a_valid_permit_passes_without_a_session(world, lot):
    entry, exit_, _rule = lot
    vehicle = people_f.vehicle(owner=world.a.persons[0], plate="晋AD12345")
    permit = f.permit(world.a, vehicle=vehicle)

    ev_in = f.enter(entry, "晋AD12345")
    ev_out = f.leave(exit_, "晋AD12345")

    assert (ev_in.category, ev_in.decision, ev_in.permit, ev_in.vehicle) == (
        Category.PERMIT,
        Decision.ALLOW,
        permit,
        vehicle,
    )
    assert (ev_out.category, ev_out.decision) == (Category.PERMIT, Decision.ALLOW)
    assert ParkingSession.objects.count() == 0


def test_a_resident_vehicle_without_permit_is_charged_like_a_temporary_one(world, lot):
    entry, _exit, _rule = lot
    vehicle = people_f.vehicle(owner=world.a.persons[1], plate=PLATE)

    ev = f.enter(entry, PLATE)

    assert (ev.category, ev.decision, ev.vehicle) == (Category.RESIDENT, Decision.ALLOW, vehicle)
    assert (ev.session.category, ev.session.vehicle) == (Category.RESIDENT, vehicle)


def test_an_expired_permit_does_not_count(world, lot):
    entry, _exit, _rule = lot
    vehicle = people_f.vehicle(owner=world.a.persons[1], plate=PLATE)
    permit = f.permit(world.a, vehicle=vehicle)
    permit.valid_until = timezone.localdate() - timedelta(days=1)
    permit.save()

    ev = f.enter(entry, PLATE)

    assert (ev.category, ev.permit) == (Category.RESIDENT, None)


def test_a_visitor_plate_on_an_active_pass_enters_as_visitor(world, lot):
    entry, _exit, _rule = lot
    visitor = access_f.visitor_pass(estate=world.a.estate, host_person=world.a.persons[0], plate=PLATE)

    ev = f.enter(entry, PLATE)

    assert (ev.category, ev.decision, ev.visitor_pass) == (Category.VISITOR, Decision.ALLOW, visitor)
    assert ev.session.visitor_pass == visitor


def test_a_pass_outside_its_window_does_not_make_a_visitor(world, lot):
    entry, _exit, _rule = lot
    access_f.visitor_pass(
        estate=world.a.estate,
        plate=PLATE,
        valid_from=timezone.now() - timedelta(hours=5),
        valid_until=timezone.now() - timedelta(hours=1),
    )

    assert f.enter(entry, PLATE).category == Category.TEMPORARY


@pytest.mark.parametrize(
    ("plate", "confidence", "reason"),
    [
        ("晋A1234", 98, Reason.INVALID_PLATE),
        ("ABC12345", 98, Reason.INVALID_PLATE),
        ("", 98, Reason.INVALID_PLATE),
        (PLATE, 40, Reason.LOW_CONFIDENCE),
    ],
)
def test_an_invalid_or_uncertain_read_is_stored_unknown_and_denied(lot, plate, confidence, reason):
    entry, _exit, _rule = lot

    ev = f.enter(entry, plate, confidence=confidence)

    assert (ev.category, ev.decision, ev.reason) == (Category.UNKNOWN, Decision.DENY, reason)
    assert ev.session is None
    assert ParkingSession.objects.count() == 0


def test_a_new_energy_plate_is_valid(lot):
    entry, _exit, _rule = lot

    ev = f.enter(entry, "粤BD12345")

    assert (ev.plate_valid, ev.decision) == (True, Decision.ALLOW)


def test_a_disabled_barrier_or_one_without_plate_reading_denies(world):
    f.spaces(world.a, temporary=2)
    disabled = f.barrier(world.a, status="disabled")
    no_plate = f.barrier(world.a, methods=["card", "staff"])

    assert f.enter(disabled, PLATE).reason == Reason.POINT_DISABLED
    assert f.enter(no_plate, PLATE).reason == Reason.METHOD_NOT_ALLOWED


def test_a_camera_on_no_access_point_is_stored_against_its_estate(world):
    from linli.devices.tests import factories as devices_f

    device, _secret = devices_f.device(world.a, profile="camera")

    ev = services.plate_read_record(device=device, read=f.read(PLATE))

    assert (ev.estate, ev.access_point, ev.decision, ev.reason) == (
        world.a.estate,
        None,
        Decision.DENY,
        Reason.NO_ACCESS_POINT,
    )


def test_an_unknown_direction_follows_the_barrier_or_the_open_session(world, lot):
    entry, _exit, _rule = lot
    both = f.barrier(world.a, direction=Direction.BOTH)

    first = f.enter(both, PLATE, direction="unknown")
    second = f.enter(both, PLATE, direction="unknown", at=timezone.now() + timedelta(hours=1))
    fixed = f.enter(entry, "晋A22222", direction="unknown")

    assert (first.direction, second.direction, fixed.direction) == ("in", "out", "in")


# --- idempotency -------------------------------------------------------------------------------


def test_a_read_delivered_twice_is_stored_once(lot):
    entry, _exit, _rule = lot
    read = f.read(PLATE, source_event_id="00000000-0000-4000-8000-000000000040")

    first = services.plate_read_record(device=entry.device, read=read)
    again = services.plate_read_record(device=entry.device, read=read)

    assert again.pk == first.pk
    assert PlateEvent.objects.count() == 1
    assert ParkingSession.objects.count() == 1


def test_the_same_event_id_on_another_camera_is_another_event(lot):
    entry, exit_, _rule = lot

    f.enter(entry, PLATE, source_event_id="same")
    f.leave(exit_, PLATE, source_event_id="same")

    assert PlateEvent.objects.count() == 2


def test_a_second_entry_read_of_the_same_passage_joins_the_open_session(lot):
    entry, _exit, _rule = lot

    first = f.enter(entry, PLATE)
    second = f.enter(entry, PLATE, at=first.occurred_at + timedelta(seconds=20))

    assert second.session == first.session
    assert ParkingSession.objects.count() == 1


def test_a_stale_open_session_is_closed_without_fee_on_the_next_entry(lot):
    entry, _exit, _rule = lot
    old = f.enter(entry, PLATE, at=f.ago(days=2)).session

    new = f.enter(entry, PLATE).session

    old.refresh_from_db()
    assert (old.status, old.fee_fen) == (SessionStatus.WAIVED, 0)
    assert new.status == SessionStatus.OPEN and new.pk != old.pk


# --- occupancy ---------------------------------------------------------------------------------


def test_entry_is_refused_when_the_temporary_spaces_are_full(lot):
    entry, _exit, _rule = lot
    f.enter(entry, "晋A00001")
    f.enter(entry, "晋A00002")

    ev = f.enter(entry, "晋A00003")

    assert (ev.decision, ev.reason, ev.category) == (Decision.DENY, Reason.FULL, Category.TEMPORARY)
    assert ParkingSession.objects.filter(status=SessionStatus.OPEN).count() == 2


def test_occupancy_counts_spaces_sessions_and_permit_vehicles_inside(world, lot):
    entry, exit_, _rule = lot
    f.spaces(world.a, owned=3, rented=1)
    floating = people_f.vehicle(owner=world.a.persons[0], plate="晋A88888")
    f.permit(world.a, vehicle=floating)
    f.enter(entry, "晋A88888")
    f.enter(entry, "晋A00001")

    counts = selectors.occupancy_counts(world.a.estate.pk)

    assert counts == {
        "spaces_owned": 3,
        "spaces_rented": 1,
        "spaces_temporary": 2,
        "permits_fixed": 0,
        "permits_floating": 1,
        "floating_inside": 1,
        "open_sessions": 1,
        "temporary_used": 2,
        "temporary_free": 0,
    }
    assert f.enter(entry, "晋A00002").reason == Reason.FULL
    f.leave(exit_, "晋A88888")
    assert selectors.occupancy_counts(world.a.estate.pk)["temporary_free"] == 1


def test_permit_vehicles_enter_even_when_the_temporary_spaces_are_full(world, lot):
    entry, _exit, _rule = lot
    f.enter(entry, "晋A00001")
    f.enter(entry, "晋A00002")
    vehicle = people_f.vehicle(owner=world.a.persons[0], plate=PLATE)
    f.permit(world.a, vehicle=vehicle)

    assert f.enter(entry, PLATE).decision == Decision.ALLOW


# --- exit gating -------------------------------------------------------------------------------


def test_a_short_stay_leaves_free(lot):
    entry, exit_, _rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=10))

    ev = f.leave(exit_, PLATE)

    assert (ev.decision, ev.reason) == (Decision.ALLOW, Reason.OK)
    assert (ev.session.status, ev.session.fee_fen, ev.session.exit_point) == (SessionStatus.FREE, 0, exit_)


def test_exit_is_refused_until_the_fee_is_paid_at_the_booth(world, lot):
    entry, exit_, rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=150))

    refused = f.leave(exit_, PLATE)
    session = refused.session
    assert (refused.decision, refused.reason) == (Decision.DENY, Reason.UNPAID)
    assert (session.status, session.fee_fen, session.rule) == (SessionStatus.UNPAID, 500 + 2 * 200, rule)
    assert f.leave(exit_, PLATE).reason == Reason.UNPAID

    settled = services.session_settle(actor=f.guard(world.a), session=session, channel=Channel.CASH)

    assert settled.status == SessionStatus.PAID
    bill = settled.bill
    assert (bill.kind, bill.room, bill.amount_fen, bill.status) == (FeeKind.PARKING, None, 900, "paid")
    assert (bill.source_type, bill.source_id, bill.title) == (
        "parking.session",
        str(session.pk),
        "临时停车费 晋A·***45",
    )
    assert (settled.payment.channel, settled.payment.amount_fen, settled.payment.room) == ("cash", 900, None)
    assert settled.payment.receipt_no
    opened = DeviceCommand.objects.get(device=exit_.device)
    assert (opened.kind, opened.payload) == ("open_door", {"door_no": 1, "reason": "paid"})
    again = f.leave(exit_, PLATE)
    assert (again.decision, again.session) == (Decision.ALLOW, session)


def test_paying_online_settles_the_session_when_the_provider_notifies(world, lot):
    entry, exit_, _rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=70))
    session = f.leave(exit_, PLATE).session

    _session, payment, order = services.session_pay_online(actor=f.guard(world.a), session=session)
    session.refresh_from_db()
    assert (session.status, payment.status, payment.amount_fen) == (SessionStatus.UNPAID, "pending", 700)
    assert order.out_trade_no == payment.out_trade_no

    note = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=700)
    assert payment_notify_apply(provider_name="simulated", payload=note) == "applied"

    session.refresh_from_db()
    assert (session.status, session.payment_id) == (SessionStatus.PAID, payment.pk)
    assert DeviceCommand.objects.filter(device=exit_.device, kind="open_door").count() == 1
    assert f.leave(exit_, PLATE).decision == Decision.ALLOW


def test_a_vehicle_still_inside_can_pay_at_the_booth_and_leave(world, lot):
    entry, exit_, _rule = lot
    session = f.enter(entry, PLATE, at=f.ago(minutes=90)).session

    settled = services.session_settle(actor=f.guard(world.a), session=session, channel=Channel.TRANSFER)
    ev = f.leave(exit_, PLATE)

    assert (settled.status, settled.fee_fen, settled.exit_point) == (SessionStatus.PAID, 700, None)
    assert (ev.decision, ev.session) == (Decision.ALLOW, session)
    assert DeviceCommand.objects.count() == 0  # nobody waited at a barrier


def test_settling_twice_or_without_permission_is_refused(world, lot):
    entry, exit_, _rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=90))
    session = f.leave(exit_, PLATE).session
    services.session_settle(actor=f.guard(world.a), session=session, channel=Channel.CASH)

    with pytest.raises(Conflict):
        services.session_settle(actor=f.guard(world.a), session=session, channel=Channel.CASH)
    with pytest.raises(PermissionDenied):
        services.session_settle(
            actor=actor_for_user(world.a.staff[Role.CUSTOMER_SERVICE]), session=session, channel=Channel.CASH
        )
    with pytest.raises(ValidationFailed):
        services.session_settle(actor=f.guard(world.a), session=session, channel="bitcoin")
    assert Payment.objects.count() == 1


def test_a_guard_releases_an_unpaid_vehicle_with_a_reason_and_the_fee_stays_owed(world, lot):
    entry, exit_, _rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=90))
    refused = f.leave(exit_, PLATE)
    guard = f.guard(world.a)

    with pytest.raises(ValidationFailed):
        services.barrier_release(actor=guard, access_point=exit_, event=refused, reason=" ")
    services.barrier_release(actor=guard, access_point=exit_, event=refused, reason="救护车通行")

    refused.refresh_from_db()
    session = refused.session
    session.refresh_from_db()
    assert (refused.release_reason, refused.released_by) == ("救护车通行", world.a.staff[Role.GUARD])
    assert (session.status, session.release_reason) == (SessionStatus.UNPAID, "救护车通行")
    assert DeviceCommand.objects.get(device=exit_.device).payload["reason"] == "manual"
    record = AuditEvent.objects.filter(object_type="access.accesspoint").get()
    assert (record.reason, record.detail["event"], record.detail["session"]) == (
        "救护车通行",
        refused.pk,
        session.pk,
    )
    with pytest.raises(Conflict):
        services.barrier_release(actor=guard, access_point=exit_, event=refused, reason="again")
    assert selectors.session_list(actor=guard, status="unpaid", released=True).get() == session


def test_a_manual_release_at_the_entry_opens_a_session(world, lot):
    entry, _exit, _rule = lot
    low = f.enter(entry, PLATE, confidence=30)

    services.barrier_release(actor=f.guard(world.a), access_point=entry, event=low, reason="人工核对车牌")

    low.refresh_from_db()
    assert (low.session.plate, low.session.status, low.session.category) == (
        PLATE,
        SessionStatus.OPEN,
        Category.TEMPORARY,
    )


def test_a_manager_waives_an_unpaid_fee(world, lot):
    entry, exit_, _rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=90))
    session = f.leave(exit_, PLATE).session

    with pytest.raises(PermissionDenied):
        services.session_waive(actor=f.guard(world.a), session=session, reason="争议")
    services.session_waive(actor=f.admin(world.a), session=session, reason="设备故障误计时")

    session.refresh_from_db()
    assert (session.status, session.waive_reason) == (SessionStatus.WAIVED, "设备故障误计时")
    assert f.leave(exit_, PLATE).decision == Decision.ALLOW
    assert Bill.objects.count() == 0


# --- block list --------------------------------------------------------------------------------


def test_a_blocked_plate_is_refused_and_the_guards_are_told_once(world, lot):
    entry, _exit, _rule = lot
    services.blocked_plate_add(actor=f.admin(world.a), estate=world.a.estate, plate=PLATE, reason="多次逃费")

    ev = f.enter(entry, PLATE)
    f.enter(entry, PLATE, at=ev.occurred_at + timedelta(seconds=30))

    assert (ev.category, ev.decision, ev.reason, ev.session) == (
        Category.BLOCKED,
        Decision.DENY,
        Reason.BLOCKED,
        None,
    )
    note = Message.objects.get()
    assert note.user == world.a.staff[Role.GUARD]
    assert note.title == f"禁入车辆 {PLATE} 到达{entry.name}"
    assert "逃费" not in note.title + note.body


def test_a_lifted_or_expired_block_no_longer_refuses(world, lot):
    entry, _exit, _rule = lot
    admin = f.admin(world.a)
    row = services.blocked_plate_add(actor=admin, estate=world.a.estate, plate=PLATE, reason="逃费")
    services.blocked_plate_add(
        actor=admin,
        estate=world.a.estate,
        plate="晋A99999",
        reason="临时",
        until=timezone.now() + timedelta(minutes=5),
    )

    services.blocked_plate_lift(actor=admin, blocked=row)

    assert f.enter(entry, PLATE).decision == Decision.ALLOW
    assert f.enter(entry, "晋A99999", at=timezone.now() + timedelta(minutes=10)).decision == Decision.ALLOW


def test_the_block_list_validates_and_refuses_duplicates(world):
    admin = f.admin(world.a)
    services.blocked_plate_add(actor=admin, estate=world.a.estate, plate=PLATE, reason="逃费")

    with pytest.raises(Conflict):
        services.blocked_plate_add(actor=admin, estate=world.a.estate, plate="晋a 12345", reason="again")
    with pytest.raises(ValidationFailed) as exc:
        services.blocked_plate_add(actor=admin, estate=world.a.estate, plate="12345", reason="x")
    assert list(exc.value.fields) == ["plate"]
    with pytest.raises(PermissionDenied):
        services.blocked_plate_add(
            actor=f.guard(world.a), estate=world.a.estate, plate="晋A11111", reason="x"
        )


def test_a_blocked_vehicle_already_inside_can_still_leave(world, lot):
    entry, exit_, _rule = lot
    f.enter(entry, PLATE, at=f.ago(minutes=5))
    services.blocked_plate_add(actor=f.admin(world.a), estate=world.a.estate, plate=PLATE, reason="逃费")

    ev = f.leave(exit_, PLATE)

    assert (ev.category, ev.decision) == (Category.BLOCKED, Decision.ALLOW)


def test_an_exit_without_entry_record_is_refused(lot):
    _entry, exit_, _rule = lot

    ev = f.leave(exit_, PLATE)

    assert (ev.decision, ev.reason, ev.category) == (
        Decision.DENY,
        Reason.NO_ENTRY_RECORD,
        Category.TEMPORARY,
    )


def test_an_estate_without_fee_rule_charges_nothing(world):
    entry, exit_ = f.gates(world.a)
    f.spaces(world.a, temporary=1)
    f.enter(entry, PLATE, at=f.ago(hours=5))

    ev = f.leave(exit_, PLATE)

    assert (ev.decision, ev.session.status, ev.session.fee_fen) == (Decision.ALLOW, SessionStatus.FREE, 0)


def test_garbage_from_a_camera_is_stored_safely(lot):
    entry, _exit, _rule = lot

    ev = f.enter(
        entry, "晋A\x00123\ud80045" * 5, plate_color="b\x00lue", source_event_id="x\x00y", confidence=250
    )

    ev.refresh_from_db()
    assert (ev.plate_valid, ev.reason, ev.confidence, ev.plate_color, ev.source_event_id) == (
        False,
        Reason.INVALID_PLATE,
        None,
        "blue",
        "xy",
    )
    assert ev.plate == "晋A12345晋A12345晋A"


def test_a_hikvision_anpr_push_flows_from_the_adapter_codec_into_parking(lot):
    """The captured push (fixture of the Hikvision adapter) decoded by its codec, then recorded twice."""
    import json
    from pathlib import Path

    from linli.adapters.hikvision import codec

    entry, _exit, _rule = lot
    fixture = Path(codec.__file__).parent / "fixtures" / "isapi-anpr-push-multipart.json"
    xml = json.loads(fixture.read_text())["parts"][0]["body"].encode()
    (read,) = codec.decode(xml, "application/xml", orientation={"forward": "in", "reverse": "out"}).plates

    ev = services.plate_read_record(device=entry.device, read=read)
    again = services.plate_read_record(device=entry.device, read=read)

    assert (ev.plate, ev.direction, ev.access_point, ev.confidence, ev.plate_color) == (
        PLATE,
        "in",
        entry,
        98,
        "blue",
    )
    assert ev.picture_refs == ["detectionPicture.jpg", "licensePlatePicture.jpg"]
    assert (ev.source_event_id, again.pk) == ("00000000-0000-4000-8000-000000000040", ev.pk)
