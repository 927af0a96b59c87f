"""Billing services: bill runs, late fees, approvals, payments, notifications, refunds, reminders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings

from linli.accounts.sms import MemorySmsSender
from linli.billing import receipts, selectors, services
from linli.billing.models import (
    ArrearsReminder,
    Bill,
    BillRun,
    BillStatus,
    FeeKind,
    Payment,
    PaymentNotification,
)
from linli.billing.providers.simulated import SimulatedProvider
from linli.billing.tests import factories as f
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent, ImportJob
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f

pytestmark = pytest.mark.django_db


def _run(actor, estate, period="2026-10") -> BillRun:
    run = services.bill_run_start(actor=actor, estate=estate, period=period)
    run.refresh_from_db()
    return run


# --- bill runs -----------------------------------------------------------------------------------


def test_bill_run_bills_property_parking_and_water_then_rerun_creates_nothing(world, mgr):
    # given property fee 2.50/m²/month, parking 150/space/month and water 4.90 per unit
    a = world.a
    f.fee_item(estate=a.estate, kind=FeeKind.PROPERTY_FEE, unit_price="2.50", name="物业费")
    f.fee_item(estate=a.estate, kind=FeeKind.PARKING, unit_price="150", name="车位费")
    f.fee_item(estate=a.estate, kind=FeeKind.WATER, unit_price="4.90", name="水费")
    places_f.parking_space(estate=a.estate, room=a.rooms[0])
    services.meter_reading_enter(
        actor=mgr,
        room=a.rooms[1],
        kind="water",
        period="2026-10",
        previous=Decimal("10"),
        current=Decimal("22.5"),
    )
    # when the October run goes
    run = _run(mgr, a.estate)
    # then 3 property bills (89.50 m² × 2.50 = 223.75), 1 parking, 1 water (12.5 × 4.90 = 61.25)
    assert (run.status, run.total, run.done, run.created_count) == ("done", 3, 3, 5)
    amounts = sorted(Bill.objects.filter(estate=a.estate).values_list("kind", "amount_fen"))
    assert amounts == [
        ("parking", 15000),
        ("property_fee", 22375),
        ("property_fee", 22375),
        ("property_fee", 22375),
        ("water", 6125),
    ]
    assert Bill.objects.get(kind="water").due_date == date(2026, 11, 15)
    # when it runs again
    again = _run(mgr, a.estate)
    # then it is a new run that created nothing
    assert again.pk != run.pk
    assert (again.status, again.created_count) == ("done", 0)
    assert Bill.objects.filter(estate=a.estate).count() == 5
    assert not Bill.objects.filter(estate=world.b.estate).exists()


def test_bill_run_quarter_bills_three_months(world, mgr):
    f.fee_item(estate=world.a.estate, unit_price="2.00")
    run = _run(mgr, world.a.estate, "2026-Q4")
    assert run.created_count == 3
    assert set(Bill.objects.values_list("amount_fen", flat=True)) == {53700}  # 89.50 × 2 × 3


def test_bill_run_resumes_after_a_partial_run(world, mgr):
    item = f.fee_item(estate=world.a.estate)
    # given one bill already created for October (an interrupted run)
    Bill.objects.bulk_create(
        [
            Bill(
                estate=world.a.estate,
                room=world.a.rooms[0],
                fee_item=item,
                kind=item.kind,
                title=item.name,
                period="2026-10",
                amount_fen=1,
                due_date=date(2026, 11, 15),
            )
        ]
    )
    run = _run(mgr, world.a.estate)
    assert run.created_count == 2
    assert Bill.objects.filter(fee_item=item, period="2026-10").count() == 3


def test_bill_run_refuses_bad_period_and_other_estate(world, mgr):
    with pytest.raises(ValidationFailed):
        services.bill_run_start(actor=mgr, estate=world.a.estate, period="2026-13")
    with pytest.raises(NotFound):
        services.bill_run_start(actor=mgr, estate=world.b.estate, period="2026-10")


def test_one_off_fee_is_billed_only_in_its_month(world, mgr):
    f.fee_item(estate=world.a.estate, kind=FeeKind.ONE_OFF, unit_price="30", one_off_period="2026-11")
    assert _run(mgr, world.a.estate, "2026-10").created_count == 0
    assert _run(mgr, world.a.estate, "2026-11").created_count == 3


# --- late fees -----------------------------------------------------------------------------------


def test_late_fee_per_mille_per_day_after_grace_capped_at_principal(world, mgr):
    # given 0.5‰ a day after 10 days of grace on a 223.75 bill due 2026-11-15
    f.fee_item(estate=world.a.estate, late_fee_per_mille="0.5", grace=10)
    _run(mgr, world.a.estate)
    bill = Bill.objects.filter(room=world.a.rooms[0]).get()
    # when it is 2026-11-25 (inside grace) nothing changes
    assert services.late_fee_apply(today=date(2026, 11, 25)) == 0
    # when it is 2026-12-05: 20 days − 10 grace = 10 days × 0.5‰ × 22375 = 111.875 → 112 fen
    assert services.late_fee_apply(today=date(2026, 12, 5)) == 3
    bill.refresh_from_db()
    assert bill.late_fee_fen == 112
    # running again the same day changes nothing
    assert services.late_fee_apply(today=date(2026, 12, 5)) == 0
    # years later the fee is capped at the principal
    services.late_fee_apply(today=date(2040, 1, 1))
    bill.refresh_from_db()
    assert bill.late_fee_fen == 22375


def test_late_fee_skips_paid_bills(world, mgr):
    f.fee_item(estate=world.a.estate, late_fee_per_mille="1")
    _run(mgr, world.a.estate)
    bill = Bill.objects.filter(room=world.a.rooms[0]).get()
    services.payment_record_counter(actor=mgr, bills=[bill], amount_fen=bill.amount_fen, channel="cash")
    services.late_fee_apply(today=date(2027, 1, 1))
    bill.refresh_from_db()
    assert (bill.status, bill.late_fee_fen) == ("paid", 0)


# --- adjustments ---------------------------------------------------------------------------------


def test_waiver_needs_another_users_approval(world, mgr, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=10000)
    adj = services.adjustment_request(
        actor=clerk, bill=bill, kind="waiver", amount_fen=10000, reason="困难家庭"
    )
    # the clerk has no approval permission; a requester cannot approve their own request
    with pytest.raises(PermissionDenied):
        services.adjustment_approve(actor=clerk, adjustment=adj)
    own = services.adjustment_request(actor=mgr, bill=bill, kind="discount", amount_fen=100, reason="优惠")
    with pytest.raises(PermissionDenied):
        services.adjustment_approve(actor=mgr, adjustment=own)
    # another manager approves the waiver
    services.adjustment_approve(actor=mgr, adjustment=adj)
    bill.refresh_from_db()
    assert (bill.status, bill.adjusted_fen, bill.outstanding_fen) == ("waived", 10000, 0)
    # the pending discount can no longer fit
    other = f.manager(world.a.estate)
    with pytest.raises(Conflict):
        services.adjustment_approve(actor=other, adjustment=own)
    assert AuditEvent.objects.filter(object_type="billing.adjustment").count() == 3


def test_adjustment_larger_than_outstanding_is_refused(world, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=500)
    with pytest.raises(Conflict):
        services.adjustment_request(actor=clerk, bill=bill, kind="discount", amount_fen=501, reason="x")


def test_rejected_adjustment_changes_nothing(world, mgr, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=500)
    adj = services.adjustment_request(actor=clerk, bill=bill, kind="discount", amount_fen=100, reason="x")
    services.adjustment_reject(actor=mgr, adjustment=adj, note="不符合")
    bill.refresh_from_db()
    assert (bill.status, bill.adjusted_fen) == ("unpaid", 0)
    with pytest.raises(Conflict):
        services.adjustment_approve(actor=mgr, adjustment=adj)


# --- counter and online payments -----------------------------------------------------------------


def test_counter_payment_applies_oldest_first_and_numbers_a_receipt(world, clerk):
    old = f.bill(room=world.a.rooms[0], amount_fen=3000)
    new = f.bill(room=world.a.rooms[0], amount_fen=5000)
    payment = services.payment_record_counter(
        actor=clerk, bills=[new, old], amount_fen=4000, channel="transfer"
    )
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status, new.paid_fen) == ("paid", "partial", 1000)
    assert payment.receipt_no.startswith("SJ") and payment.status == "paid"
    with pytest.raises(Conflict):
        services.payment_record_counter(actor=clerk, bills=[new], amount_fen=4001, channel="cash")
    with pytest.raises(ValidationFailed):
        services.payment_record_counter(actor=clerk, bills=[new], amount_fen=10, channel="cheque")


def test_counter_payment_refuses_bills_of_two_rooms(world, clerk):
    b1 = f.bill(room=world.a.rooms[0])
    b2 = f.bill(room=world.a.rooms[1])
    with pytest.raises(ValidationFailed):
        services.payment_record_counter(actor=clerk, bills=[b1, b2], amount_fen=100, channel="cash")


def _resident(world):
    from linli.orgs.selectors import actor_for_user

    return actor_for_user(world.a.resident)


def test_online_payment_notification_applies_once(world):
    bill = f.bill(room=world.a.rooms[0], amount_fen=22375)
    resident = _resident(world)
    payment, order = services.payment_create_online(actor=resident, bills=[bill])
    assert order.pay_url.endswith(payment.out_trade_no + "/")
    note = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=22375)
    # delivered three times, and a second notification for the same order
    outcomes = [services.payment_notify_apply(provider_name="simulated", payload=note) for _ in range(3)]
    second = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=22375)
    outcomes.append(services.payment_notify_apply(provider_name="simulated", payload=second))
    assert outcomes == ["applied", "duplicate", "duplicate", "already_paid"]
    bill.refresh_from_db()
    payment.refresh_from_db()
    assert (bill.status, bill.paid_fen, payment.status) == ("paid", 22375, "paid")
    assert PaymentNotification.objects.count() == 2
    assert selectors.ledger_totals(Bill.objects.all()).arrears_fen == 0


def test_notification_with_a_bad_signature_or_amount_is_refused(world):
    bill = f.bill(room=world.a.rooms[0], amount_fen=1000)
    payment, _order = services.payment_create_online(actor=_resident(world), bills=[bill])
    note = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=1000)
    with pytest.raises(ValidationFailed):
        services.payment_notify_apply(provider_name="simulated", payload={**note, "sign": "0" * 64})
    with pytest.raises(ValidationFailed):
        services.payment_notify_apply(provider_name="simulated", payload={**note, "amount_fen": 1})
    wrong = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=999)
    with pytest.raises(ValidationFailed):
        services.payment_notify_apply(provider_name="simulated", payload=wrong)
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert PaymentNotification.objects.count() == 0


def test_online_payment_after_counter_payment_returns_the_excess(world, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=1000)
    payment, _order = services.payment_create_online(actor=_resident(world), bills=[bill])
    services.payment_record_counter(actor=clerk, bills=[bill], amount_fen=600, channel="cash")
    note = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=1000)
    assert services.payment_notify_apply(provider_name="simulated", payload=note) == "applied"
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert (payment.excess_fen, bill.paid_fen, bill.status) == (600, 1000, "paid")
    totals = selectors.ledger_totals(Bill.objects.all())
    assert (totals.arrears_fen, totals.min_bill_arrears_fen, totals.cached_mismatches) == (0, 0, 0)


def test_resident_cannot_pay_a_settled_bill(world, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=1000)
    services.payment_record_counter(actor=clerk, bills=[bill], amount_fen=1000, channel="cash")
    with pytest.raises(Conflict):
        services.payment_create_online(actor=_resident(world), bills=[bill])


# --- refunds -------------------------------------------------------------------------------------


def test_refund_needs_approval_by_another_user_and_reopens_the_bill(world, mgr, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=1000)
    payment = services.payment_record_counter(actor=clerk, bills=[bill], amount_fen=1000, channel="cash")
    refund = services.refund_request(actor=mgr, payment=payment, amount_fen=400, reason="多收")
    with pytest.raises(PermissionDenied):
        services.refund_approve(actor=mgr, refund=refund)
    with pytest.raises(Conflict):
        services.refund_request(actor=clerk, payment=payment, amount_fen=601, reason="再退")
    services.refund_approve(actor=f.manager(world.a.estate), refund=refund)
    bill.refresh_from_db()
    assert (bill.paid_fen, bill.status, bill.outstanding_fen) == (600, "partial", 400)
    totals = selectors.ledger_totals(Bill.objects.all())
    assert (totals.paid_fen, totals.refunded_fen, totals.arrears_fen) == (1000, 400, 400)


def test_online_refund_calls_the_provider(world, mgr):
    bill = f.bill(room=world.a.rooms[0], amount_fen=1000)
    payment, _o = services.payment_create_online(actor=_resident(world), bills=[bill])
    services.payment_notify_apply(
        provider_name="simulated",
        payload=SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=1000),
    )
    refund = services.refund_request(actor=mgr, payment=payment, amount_fen=1000, reason="重复缴费")
    services.refund_approve(actor=f.manager(world.a.estate), refund=refund)
    refund.refresh_from_db()
    assert refund.provider_refund_no.startswith("SIMR")


# --- charges, readings, reminders, receipts --------------------------------------------------------


def test_charge_create_is_idempotent_per_source(world, mgr):
    kw = {
        "actor": mgr,
        "room": world.a.rooms[0],
        "amount_fen": 8800,
        "title": "维修配件",
        "source_type": "workorder",
        "source_id": "17",
    }
    first = services.charge_create(**kw)
    assert services.charge_create(**kw).pk == first.pk
    assert (first.kind, first.fee_item, first.status) == ("charge", None, "unpaid")
    with pytest.raises(Conflict):
        services.charge_create(**{**kw, "amount_fen": 1})
    with pytest.raises(NotFound):
        services.charge_create(**{**kw, "room": world.b.rooms[0], "source_id": "18"})


def test_meter_reading_refuses_going_backwards_and_edits_after_billing(world, mgr):
    room = world.a.rooms[0]
    with pytest.raises(ValidationFailed):
        services.meter_reading_enter(
            actor=mgr, room=room, kind="water", period="2026-10", previous=Decimal(5), current=Decimal(4)
        )
    services.meter_reading_enter(
        actor=mgr, room=room, kind="water", period="2026-10", previous=Decimal(5), current=Decimal(6)
    )
    services.meter_reading_enter(
        actor=mgr, room=room, kind="water", period="2026-10", previous=Decimal(5), current=Decimal(7)
    )
    f.fee_item(estate=world.a.estate, kind=FeeKind.WATER, unit_price="5")
    _run(mgr, world.a.estate)
    assert Bill.objects.get(kind="water").amount_fen == 1000
    with pytest.raises(Conflict):
        services.meter_reading_enter(
            actor=mgr, room=room, kind="water", period="2026-10", previous=Decimal(5), current=Decimal(8)
        )


def _csv(rows):
    head = "楼栋,单元,房号,类型,月份,上期读数,本期读数"
    return ("\n".join([head, *rows]) + "\n").encode()


def test_meter_import_is_all_or_nothing(world, mgr):
    a = world.a
    unit = a.unit.name
    bad = _csv(
        [
            f"1号楼,{unit},101,水,2026-10,1,2",
            f"1号楼,{unit},999,水,2026-10,1,2",
            f"1号楼,{unit},201,煤气,2026-10,1,2",
        ]
    )
    job = services.meter_readings_import(actor=mgr, estate=a.estate, file_name="r.csv", data=bad)
    assert job.status == ImportJob.Status.REJECTED
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "房号"), (4, "类型")]
    good = _csv([f"1号楼,{unit},101,水,2026-10,1,2", f"1号楼,{unit},201,电,2026-10,10,30.5"])
    job = services.meter_readings_import(actor=mgr, estate=a.estate, file_name="r.csv", data=good)
    assert (job.status, job.created_count) == (ImportJob.Status.APPLIED, 2)
    again = services.meter_readings_import(actor=mgr, estate=a.estate, file_name="r.csv", data=good)
    assert again.status == ImportJob.Status.REJECTED


@override_settings(SMS_BACKEND="linli.accounts.sms.MemorySmsSender")
def test_arrears_reminder_once_per_room_with_a_message_without_amounts(world):
    a = world.a
    head = people_f.person(estate=a.estate, room=a.rooms[0], phone="13900001111")
    people_f.household(room=a.rooms[0], head=head)
    f.bill(room=a.rooms[0], amount_fen=12345)
    f.bill(room=a.rooms[1], amount_fen=500)
    MemorySmsSender.outbox.clear()
    today = date.today()
    from datetime import timedelta

    assert services.arrears_remind(today=today + timedelta(days=20)) == 2
    assert services.arrears_remind(today=today + timedelta(days=21)) == 0
    assert ArrearsReminder.objects.count() == 2
    [sms] = MemorySmsSender.outbox
    assert sms.phone == "13900001111"
    assert "123" not in sms.message and a.rooms[0].number not in sms.message
    assert ArrearsReminder.objects.get(room=a.rooms[0]).sms_sent is True


def test_receipt_pdf_has_the_receipt_number(world, clerk):
    bill = f.bill(room=world.a.rooms[0], amount_fen=22375)
    payment = services.payment_record_counter(actor=clerk, bills=[bill], amount_fen=22375, channel="cash")
    pdf = receipts.receipt_pdf(payment)
    assert pdf.startswith(b"%PDF")
    assert payment.receipt_no.encode() in pdf


def test_fee_item_validation(world, mgr):
    with pytest.raises(ValidationFailed):
        f.fee_item(estate=world.a.estate, unit_price="1.23456")
    with pytest.raises(ValidationFailed):
        f.fee_item(estate=world.a.estate, kind=FeeKind.ONE_OFF, unit_price="1")
    item = f.fee_item(estate=world.a.estate, name="物业费")
    with pytest.raises(Conflict):
        f.fee_item(estate=world.a.estate, name="物业费")
    services.fee_item_update(actor=mgr, fee_item=item, unit_price=Decimal("3.1"), active=False)
    item.refresh_from_db()
    assert (item.unit_price, item.active) == (Decimal("3.1"), False)


def test_status_values_cover_the_ledger_states(world):
    assert set(BillStatus.values) == {"unpaid", "partial", "paid", "waived"}
