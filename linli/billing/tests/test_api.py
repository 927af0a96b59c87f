"""Billing API: staff endpoints, the notify endpoint, resident endpoints, query-count guards."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from linli.billing.models import Bill, Payment, PaymentNotification
from linli.billing.providers.simulated import SimulatedProvider
from linli.billing.tests import factories as f
from linli.orgs.roles import Role

pytestmark = pytest.mark.django_db
API = "/api/v1/billing"


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_fee_item_and_bill_run_through_the_api(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = _post(
        admin,
        f"{API}/fee-items",
        {"estate_id": world.a.estate.pk, "name": "物业费", "kind": "property_fee", "unit_price": "2.5"},
    )
    assert r.status_code == 201, r.content
    r = _post(admin, f"{API}/bill-runs", {"estate_id": world.a.estate.pk, "period": "2026-10"})
    assert r.status_code == 202
    run = admin.get(f"{API}/bill-runs/{r.json()['id']}").json()
    assert (run["status"], run["created_count"], run["percent"]) == ("done", 3, 100)
    r = _post(admin, f"{API}/bill-runs", {"estate_id": world.a.estate.pk, "period": "2026-10"})
    assert admin.get(f"{API}/bill-runs/{r.json()['id']}").json()["created_count"] == 0
    bills = admin.get(f"{API}/bills?period=2026-10&ordering=room").json()
    assert bills["count"] == 3 and bills["items"][0]["amount_fen"] == 22375
    assert (
        _post(admin, f"{API}/bill-runs", {"estate_id": world.a.estate.pk, "period": "2026-13"}).status_code
        == 400
    )


def test_counter_payment_receipt_and_collection_rate(world, login):
    bill = f.bill(room=world.a.rooms[0], amount_fen=20000)
    clerk = login(world.a.staff[Role.CUSTOMER_SERVICE])
    r = _post(
        clerk, f"{API}/payments/counter", {"bill_ids": [bill.pk], "amount_fen": 15000, "channel": "cash"}
    )
    assert r.status_code == 201
    pay = r.json()
    pdf = clerk.get(f"{API}/payments/{pay['id']}/receipt")
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and pay["receipt_no"].encode() in pdf.content
    )
    rate = clerk.get(f"{API}/collection-rate?estate={world.a.estate.pk}").json()
    assert rate == [
        {"key": bill.period, "label": bill.period, "receivable_fen": 20000, "paid_fen": 15000, "rate": 0.75}
    ]
    arrears = clerk.get(f"{API}/arrears?estate={world.a.estate.pk}").json()
    assert arrears["items"][0]["total_fen"] == 5000 and arrears["items"][0]["d0_30"] == 5000
    too_much = _post(
        clerk, f"{API}/payments/counter", {"bill_ids": [bill.pk], "amount_fen": 5001, "channel": "cash"}
    )
    assert too_much.status_code == 409


def test_adjustment_approval_rules_through_the_api(world, login):
    bill = f.bill(room=world.a.rooms[0], amount_fen=1000)
    admin_user = world.a.staff[Role.PROPERTY_ADMIN]
    admin = login(admin_user)
    r = _post(
        admin,
        f"{API}/adjustments",
        {"bill_id": bill.pk, "kind": "waiver", "amount_fen": 1000, "reason": "困难"},
    )
    assert r.status_code == 201
    adj = r.json()["id"]
    assert _post(admin, f"{API}/adjustments/{adj}/approve", {}).status_code == 403
    clerk = login(world.a.staff[Role.CUSTOMER_SERVICE])
    assert _post(clerk, f"{API}/adjustments/{adj}/approve", {}).status_code == 403
    other = login(f.manager(world.a.estate).user)
    assert _post(other, f"{API}/adjustments/{adj}/approve", {"note": "同意"}).json()["status"] == "approved"
    assert _post(other, f"{API}/adjustments/{adj}/approve", {}).status_code == 409
    assert Bill.objects.get(pk=bill.pk).status == "waived"


def test_resident_pays_through_the_notify_endpoint_once(world, login):
    bill = f.bill(room=world.a.rooms[0], amount_fen=3000)
    resident = login(world.a.resident)
    r = _post(resident, f"{API}/me/pay", {"bill_ids": [bill.pk]})
    assert r.status_code == 201
    order = r.json()
    note = SimulatedProvider().notification_for(
        out_trade_no=order["payment"]["out_trade_no"], amount_fen=3000
    )
    anonymous = Client()
    bad = _post(anonymous, f"{API}/providers/simulated/notify", {**note, "sign": "f" * 64})
    assert bad.status_code == 400
    answers = [_post(anonymous, f"{API}/providers/simulated/notify", note) for _ in range(3)]
    assert [(a.status_code, a.content) for a in answers] == [(200, b"success")] * 3
    assert PaymentNotification.objects.count() == 1
    assert Payment.objects.get().status == "paid"
    mine = resident.get(f"{API}/me/payments").json()["items"]
    assert len(mine) == 1 and mine[0]["receipt_no"]
    assert resident.get(f"{API}/me/payments/{mine[0]['id']}/receipt").status_code == 200
    assert resident.get(f"{API}/me/totals").json() == {"owed_fen": 0, "open_count": 0}


def test_resident_sees_only_own_bills_and_no_staff_endpoints(world, login):
    mine = f.bill(room=world.a.rooms[0])
    neighbour = f.bill(room=world.a.rooms[1])
    resident = login(world.a.resident)
    items = resident.get(f"{API}/me/bills").json()["items"]
    assert [i["id"] for i in items] == [mine.pk]
    assert resident.get(f"{API}/me/bills/{neighbour.pk}").status_code == 404
    assert _post(resident, f"{API}/me/pay", {"bill_ids": [neighbour.pk]}).status_code == 404
    assert _post(resident, f"{API}/me/pay", {"bill_ids": [mine.pk, neighbour.pk]}).status_code == 404
    assert resident.get(f"{API}/bills").status_code == 403


def test_bad_input_is_4xx(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    assert admin.get(f"{API}/bills?status=nope").status_code == 400
    assert admin.get(f"{API}/bills?ordering=secret").status_code == 400
    assert (
        _post(
            admin, f"{API}/payments/counter", {"bill_ids": [], "amount_fen": 1, "channel": "cash"}
        ).status_code
        == 400
    )
    assert _post(admin, f"{API}/providers/simulated/notify", {"x": 1}).status_code == 400
    assert Client().get(f"{API}/bills").status_code == 401


def test_bill_list_query_count_does_not_grow(world, login, django_assert_max_num_queries):
    for room in world.a.rooms:
        for _ in range(4):
            f.bill(room=room)
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    with django_assert_max_num_queries(12):
        r = admin.get(f"{API}/bills?page_size=50")
    assert r.json()["count"] == 12
    with django_assert_max_num_queries(12):
        admin.get(f"{API}/payments")
    with django_assert_max_num_queries(12):
        admin.get(f"{API}/arrears")
    resident = login(world.a.resident)
    with django_assert_max_num_queries(12):
        assert resident.get(f"{API}/me/bills").json()["count"] == 4
