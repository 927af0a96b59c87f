"""Walk-in charges (no room: temporary parking): who may create and collect them, how they show in
the API, receipts and reports (never as a room's arrears), and the ledger events that let the app
that created a bill follow its payment."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from linli.billing import services
from linli.billing.events import BillLedgerChanged
from linli.billing.models import Bill, Channel
from linli.billing.providers.simulated import SimulatedProvider
from linli.billing.selectors import arrears_list, collection_rate
from linli.billing.tests import factories as bf
from linli.core import events
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

API = "/api/v1/billing"


@pytest.fixture
def heard():
    """A subscriber that records the bills of source type "test.walkin" whose ledger changed."""
    calls: list[tuple[int, str]] = []

    def on_changed(event: BillLedgerChanged) -> None:
        if event.source_type == "test.walkin":
            calls.extend(Bill.objects.filter(pk__in=event.bill_ids).values_list("pk", "status"))

    events.subscribe(BillLedgerChanged, on_changed)
    yield calls
    events.unsubscribe(BillLedgerChanged, on_changed)


def _walk_in(world, amount_fen=900, source_id="1", role=Role.GUARD):
    return services.charge_create_walk_in(
        actor=actor_for_user(world.a.staff[role]),
        estate=world.a.estate,
        amount_fen=amount_fen,
        title="临时停车费 晋A·***45",
        source_type="test.walkin",
        source_id=source_id,
    )


def test_a_guard_creates_and_collects_a_walk_in_charge(world, heard):
    bill = _walk_in(world)

    payment = services.charge_pay_counter(
        actor=actor_for_user(world.a.staff[Role.GUARD]), bill=bill, channel=Channel.CASH
    )

    bill.refresh_from_db()
    assert (bill.room, bill.kind, bill.status, bill.paid_fen, bill.due_date) == (
        None,
        "parking",
        "paid",
        900,
        timezone.localdate(),
    )
    assert (payment.room, payment.amount_fen, payment.status, payment.channel) == (None, 900, "paid", "cash")
    assert payment.receipt_no
    assert heard == [(bill.pk, "paid")]
    with pytest.raises(Conflict):
        services.charge_pay_counter(
            actor=actor_for_user(world.a.staff[Role.GUARD]), bill=bill, channel="cash"
        )


def test_a_walk_in_charge_is_idempotent_per_source(world):
    first = _walk_in(world)

    assert _walk_in(world).pk == first.pk
    with pytest.raises(Conflict):
        _walk_in(world, amount_fen=1000)


def test_who_may_charge(world):
    with pytest.raises(PermissionDenied):
        _walk_in(world, role=Role.TECHNICIAN)
    with pytest.raises(PermissionDenied):
        services.charge_create(
            actor=actor_for_user(world.a.staff[Role.GUARD]),
            room=world.a.rooms[0],
            amount_fen=100,
            title="维修",
            source_type="x",
            source_id="1",
        )
    with pytest.raises(ValidationFailed):
        services.charge_create(
            actor=bf.manager(world.a.estate),
            room=world.a.rooms[0],
            amount_fen=100,
            title="x",
            source_type="x",
            source_id="2",
            kind="water",
        )
    assert Bill.objects.count() == 0


def test_an_online_order_of_a_walk_in_charge_is_paid_by_the_notification(world, heard):
    bill = _walk_in(world)

    payment, order = services.charge_pay_online(actor=actor_for_user(world.a.staff[Role.GUARD]), bill=bill)
    note = SimulatedProvider().notification_for(out_trade_no=payment.out_trade_no, amount_fen=900)

    assert (payment.status, payment.room, order.out_trade_no) == ("pending", None, payment.out_trade_no)
    assert services.payment_notify_apply(provider_name="simulated", payload=note) == "applied"
    bill.refresh_from_db()
    assert bill.status == "paid"
    assert heard == [(bill.pk, "paid")]


def test_walk_in_charges_are_no_rooms_arrears_and_a_row_of_their_own_in_the_rate(world):
    owed = _walk_in(world, source_id="1")
    Bill.objects.filter(pk=owed.pk).update(due_date=timezone.localdate() - timedelta(days=40))
    paid = _walk_in(world, amount_fen=500, source_id="2")
    services.charge_pay_counter(actor=actor_for_user(world.a.staff[Role.GUARD]), bill=paid, channel="cash")
    manager = bf.manager(world.a.estate)

    assert list(arrears_list(actor=manager, estate_id=world.a.estate.pk)) == []
    assert services.arrears_remind(today=timezone.localdate()) == 0
    rows = collection_rate(actor=manager, estate_id=world.a.estate.pk, group_by="building")
    assert rows == [
        {"key": "", "label": "无房屋（临时停车等）", "receivable_fen": 1400, "paid_fen": 500, "rate": 0.3571}
    ]


def test_the_billing_api_and_receipt_show_walk_in_rows(world, login):
    bill = _walk_in(world)
    payment = services.charge_pay_counter(
        actor=actor_for_user(world.a.staff[Role.GUARD]), bill=bill, channel=Channel.CASH
    )
    clerk = login(world.a.staff[Role.PROPERTY_ADMIN])

    detail = clerk.get(f"{API}/bills/{bill.pk}").json()
    listed = clerk.get(f"{API}/payments").json()["items"]
    pdf = clerk.get(f"{API}/payments/{payment.pk}/receipt")

    assert (detail["room_id"], detail["room_address"], detail["status"]) == (None, "", "paid")
    assert [(p["id"], p["room_id"]) for p in listed] == [(payment.pk, None)]
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_billing_counter_collects_a_walk_in_charge_by_bill_id(world, login, heard):
    bill = _walk_in(world)

    response = login(world.a.staff[Role.PROPERTY_ADMIN]).post(
        f"{API}/payments/counter",
        data=json.dumps({"bill_ids": [bill.pk], "amount_fen": 900, "channel": "cash"}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["room_id"] is None
    assert heard == [(bill.pk, "paid")]
