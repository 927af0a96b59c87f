"""The ledger invariant under random operation sequences (Hypothesis), and once-only notifications
under replays and (on PostgreSQL) concurrent delivery."""

from __future__ import annotations

import itertools
import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.billing import selectors, services
from linli.billing.models import Bill, Payment, PaymentNotification
from linli.billing.providers.simulated import SimulatedProvider
from linli.billing.tests import factories as f
from linli.core.errors import DomainError
from linli.orgs.selectors import actor_for_user

_EXAMPLE = itertools.count()  # a fresh fee-item name per Hypothesis example (one DB transaction)

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("counter"), st.integers(0, 2), st.integers(1, 30000)),
        st.tuples(st.just("online"), st.integers(0, 2), st.integers(0, 3)),  # + replays of the notification
        st.tuples(st.just("waive"), st.integers(0, 2), st.integers(1, 30000)),
        st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 30000)),
        st.tuples(st.just("late"), st.integers(0, 400), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


def _check(bills_qs):
    totals = selectors.ledger_totals(bills_qs)
    assert totals.min_bill_arrears_fen >= 0
    assert totals.cached_mismatches == 0
    assert totals.arrears_fen == (
        totals.billed_fen + totals.late_fee_fen - totals.paid_fen - totals.adjusted_fen + totals.refunded_fen
    )
    assert totals.arrears_fen == sum(b.outstanding_fen for b in bills_qs)
    assert totals.arrears_fen >= 0
    return totals


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_ledger_balances_and_notifications_apply_once(world, ops):
    estate = world.a.estate
    clerk, approver = f.clerk(estate), f.manager(estate)
    resident = actor_for_user(world.a.resident)
    f.fee_item(estate=estate, late_fee_per_mille="0.5", name=f"物业费-{next(_EXAMPLE)}")
    bills = [f.bill(room=world.a.rooms[0], amount_fen=a) for a in (22375, 15000, 1)]
    Bill.objects.filter(pk__in=[b.pk for b in bills]).update(fee_item=None)
    payments: list[Payment] = []
    applied = 0
    for op, i, n in ops:
        bill = Bill.objects.get(pk=bills[i % 3].pk) if op != "refund" else None
        try:
            if op == "counter":
                payments.append(
                    services.payment_record_counter(actor=clerk, bills=[bill], amount_fen=n, channel="cash")
                )
            elif op == "online":
                payment, _order = services.payment_create_online(actor=resident, bills=[bill])
                note = SimulatedProvider().notification_for(
                    out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen
                )
                outcomes = [
                    services.payment_notify_apply(provider_name="simulated", payload=note)
                    for _ in range(n + 1)
                ]
                assert outcomes == ["applied"] + ["duplicate"] * n
                applied += 1
                payments.append(payment)
            elif op == "waive":
                adj = services.adjustment_request(
                    actor=clerk, bill=bill, kind="waiver", amount_fen=n, reason="r"
                )
                services.adjustment_approve(actor=approver, adjustment=adj)
            elif op == "refund" and payments:
                refund = services.refund_request(
                    actor=clerk, payment=payments[i % len(payments)], amount_fen=n, reason="r"
                )
                services.refund_approve(actor=approver, refund=refund)
            elif op == "late":
                Bill.objects.filter(pk__in=[b.pk for b in bills]).update(
                    due_date=date.today() - timedelta(days=i)
                )
                services.late_fee_apply(today=date.today())
        except DomainError:
            pass  # refused operations (over-payment, nothing left to refund, ...) must leave the ledger sound
        _check(Bill.objects.filter(pk__in=[b.pk for b in bills]))
    # the world fixture lives across examples: count this example's rows only
    mine = Payment.objects.filter(channel="online", allocations__bill__in=[b.pk for b in bills]).distinct()
    trade_nos = list(mine.values_list("out_trade_no", flat=True))
    assert (
        PaymentNotification.objects.filter(outcome="applied", out_trade_no__in=trade_nos).count() == applied
    )
    assert mine.filter(status="paid").count() == applied


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_notifications_apply_once(world):
    bill = f.bill(room=world.a.rooms[0], amount_fen=5000)
    payment, _order = services.payment_create_online(actor=actor_for_user(world.a.resident), bills=[bill])
    same = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=5000)
    other = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=5000)
    payloads = [same, same, same, other, other, same]
    results: list[str] = []
    barrier = threading.Barrier(len(payloads))

    def deliver(payload):
        from django.db import connections

        try:
            barrier.wait()
            results.append(services.payment_notify_apply(provider_name="simulated", payload=payload))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("applied") == 1
    assert len(results) == len(payloads)
    bill.refresh_from_db()
    assert (bill.paid_fen, bill.status) == (5000, "paid")
    assert PaymentNotification.objects.count() == 2
    _check(Bill.objects.filter(pk=bill.pk))
