"""Console and H5 pages, and the cross-scope probe over every endpoint and page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from linli.billing import services
from linli.billing.models import Bill, BillRun, Payment
from linli.billing.tests import factories as f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db
API = "/api/v1/billing"


def _b_objects(world):
    """One of everything in estate b."""
    b = world.b
    mgr, clerk = f.manager(b.estate), f.clerk(b.estate)
    item = f.fee_item(estate=b.estate, name="乙物业费")
    services.bill_run_start(actor=mgr, estate=b.estate, period="2026-10")
    bill = Bill.objects.filter(estate=b.estate).first()
    payment = services.payment_record_counter(actor=clerk, bills=[bill], amount_fen=100, channel="cash")
    adj = services.adjustment_request(actor=clerk, bill=bill, kind="discount", amount_fen=100, reason="x")
    refund = services.refund_request(actor=clerk, payment=payment, amount_fen=50, reason="x")
    run = BillRun.objects.get(estate=b.estate)
    return {"item": item, "bill": bill, "payment": payment, "adj": adj, "refund": refund, "run": run}


def test_pages_render_for_a_property_admin(world, login):
    bill = f.bill(room=world.a.rooms[0], amount_fen=10000)
    services.payment_record_counter(
        actor=f.clerk(world.a.estate), bills=[bill], amount_fen=4000, channel="cash"
    )
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    for name in (
        "dashboard",
        "fee_items",
        "bills",
        "arrears",
        "adjustments",
        "counter",
        "payments",
        "refunds",
    ):
        r = c.get(reverse(f"billing:{name}"))
        assert r.status_code == 200, name
    assert "60.00" in c.get(reverse("billing:arrears")).content.decode()
    assert c.get(reverse("billing:bill_detail", args=[bill.pk])).status_code == 200
    assert c.get(reverse("billing:counter") + f"?room={world.a.rooms[0].pk}").status_code == 200
    payment = Payment.objects.get()
    assert c.get(reverse("billing:receipt", args=[payment.pk])).content.startswith(b"%PDF")


def test_dashboard_starts_a_run_and_polls_progress(world, login):
    f.fee_item(estate=world.a.estate)
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = c.post(reverse("billing:run_start"), {"estate": world.a.estate.pk, "period": "2026-10"})
    run = BillRun.objects.get()
    assert r.status_code == 302 and f"run={run.pk}" in r["Location"]
    page = c.get(reverse("billing:dashboard") + f"?estate={world.a.estate.pk}").content.decode()
    assert reverse("billing:run_progress", args=[run.pk]) not in page  # finished runs stop polling
    BillRun.objects.filter(pk=run.pk).update(status="running")
    fragment = c.get(reverse("billing:run_progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment


def test_counter_form_and_adjustment_approval_pages(world, login):
    bill = f.bill(room=world.a.rooms[0], amount_fen=10000)
    clerk = login(world.a.staff[Role.CUSTOMER_SERVICE])
    r = clerk.post(
        reverse("billing:counter"),
        {"room": world.a.rooms[0].pk, "bill": [bill.pk], "amount": "30.50", "channel": "cash"},
    )
    assert r.status_code == 302
    bill.refresh_from_db()
    assert bill.paid_fen == 3050
    clerk.post(
        reverse("billing:bill_detail", args=[bill.pk]), {"kind": "waiver", "amount": "10", "reason": "困难"}
    )
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    adj = bill.adjustments.get()
    admin.post(reverse("billing:adjustments"), {"id": adj.pk, "decision": "approve"})
    bill.refresh_from_db()
    assert bill.adjusted_fen == 1000


def test_h5_pay_through_the_simulated_cashier(world, login):
    bill = f.bill(room=world.a.rooms[0], amount_fen=22375)
    c = login(world.a.resident)
    home = c.get(reverse("h5billing:home")).content.decode()
    assert "223.75" in home
    r = c.post(reverse("h5billing:pay"), {"bill": [bill.pk]})
    assert r.status_code == 302
    cashier = r["Location"]
    assert "¥223.75" in c.get(cashier).content.decode()
    assert c.post(cashier).status_code == 302
    bill.refresh_from_db()
    assert bill.status == "paid"
    payments_page = c.get(reverse("h5billing:payments")).content.decode()
    payment = Payment.objects.get()
    assert payment.receipt_no in payments_page
    assert c.get(reverse("h5billing:receipt", args=[payment.pk])).content.startswith(b"%PDF")
    c.post(cashier)  # confirming again does nothing
    assert Payment.objects.get().amount_fen == 22375 and bill.allocations.count() == 1


def test_cross_scope_probe(world, login):
    objs = _b_objects(world)
    bill, payment = objs["bill"], objs["payment"]
    pages = [
        reverse("billing:bill_detail", args=[bill.pk]),
        reverse("billing:receipt", args=[payment.pk]),
        reverse("billing:run_progress", args=[objs["run"].pk]),
        reverse("billing:counter") + f"?room={bill.room_id}",
    ]
    gets = [
        f"{API}/fee-items/{objs['item'].pk}",
        f"{API}/bills/{bill.pk}",
        f"{API}/bill-runs/{objs['run'].pk}",
        f"{API}/payments/{payment.pk}",
        f"{API}/payments/{payment.pk}/receipt",
    ]
    posts = [
        (f"{API}/adjustments/{objs['adj'].pk}/approve", {}),
        (f"{API}/adjustments/{objs['adj'].pk}/reject", {}),
        (f"{API}/refunds/{objs['refund'].pk}/approve", {}),
        (f"{API}/refunds/{objs['refund'].pk}/reject", {}),
        (f"{API}/adjustments", {"bill_id": bill.pk, "kind": "waiver", "amount_fen": 1, "reason": "x"}),
        (f"{API}/payments/counter", {"bill_ids": [bill.pk], "amount_fen": 1, "channel": "cash"}),
        (f"{API}/payments/online", {"bill_ids": [bill.pk]}),
        (f"{API}/refunds", {"payment_id": payment.pk, "amount_fen": 1, "reason": "x"}),
        (f"{API}/bill-runs", {"estate_id": world.b.estate.pk, "period": "2026-11"}),
        (
            f"{API}/fee-items",
            {"estate_id": world.b.estate.pk, "name": "x", "kind": "parking", "unit_price": "1"},
        ),
        (
            f"{API}/meter-readings",
            {"room_id": bill.room_id, "kind": "water", "period": "2026-10", "previous": "1", "current": "2"},
        ),
        (f"{API}/me/pay", {"bill_ids": [bill.pk]}),
    ]
    for role in (Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE):
        c = login(world.a.staff[role])
        for url in pages:
            assert c.get(url).status_code == 404, (role, url)
        for url in gets:
            assert c.get(url).status_code == 404, (role, url)
        for url, body in posts:
            r = c.post(url, data=json.dumps(body), content_type="application/json")
            assert r.status_code == 404, (role, url, r.content)
        assert (
            c.patch(
                f"{API}/fee-items/{objs['item'].pk}", data="{}", content_type="application/json"
            ).status_code
            == 404
        )
        for url in ("bills", "payments", "fee-items", "bill-runs", "adjustments", "refunds", "arrears"):
            assert c.get(f"{API}/{url}").json()["count"] == 0, url
        assert c.get(f"{API}/collection-rate").json() == []
        assert world.b.estate.name not in c.get(reverse("billing:bills")).content.decode()
    # the resident of a sees nothing of b either
    r = login(world.a.resident)
    assert r.get(f"{API}/me/bills/{bill.pk}").status_code == 404
    assert r.get(f"{API}/me/payments/{payment.pk}/receipt").status_code == 404
    assert r.get(reverse("h5billing:receipt", args=[payment.pk])).status_code == 404
    assert r.get(reverse("h5billing:cashier", args=[payment.out_trade_no])).status_code == 404


def test_roles_without_billing_view_are_refused(world, login):
    bill = f.bill(room=world.a.rooms[0])
    for role in (Role.TECHNICIAN, Role.GUARD, Role.POLICE_OFFICER):
        c = login(world.a.staff[role])
        assert c.get(f"{API}/bills").status_code == 403
        assert c.get(f"{API}/bills/{bill.pk}").status_code == 403
        assert c.get(reverse("billing:dashboard")).status_code == 403
    assert actor_for_user(world.a.resident).is_resident
