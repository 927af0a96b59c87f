"""Issue #3 on a phone: a resident pays a bill, and reports a repair with a photo that gets assigned."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from linli.billing.models import Bill
from linli.billing.tests import factories as billing_f
from linli.orgs.roles import Role
from linli.workorders.models import WorkOrder
from linli.workorders.tests import factories as workorders_f
from tests.browser.conftest import resident_sign_in

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.mark.django_db(transaction=True)
def test_resident_pays_a_bill_and_gets_a_receipt(world, live_server, phone, sms_memory):
    me = world.a.persons[0]
    bill = billing_f.bill(room=me.occupancies.first().room, amount_fen=12850, title="2026年11月物业费")

    resident_sign_in(phone, live_server, me)
    phone.click("nav.h5-tabs a[href='/h5/billing/']")
    assert "128.50" in phone.inner_text("main")
    phone.click("button[type=submit] >> text=缴纳所选账单")
    phone.wait_for_url(re.compile(r"/h5/billing/cashier/"))
    phone.click("button[type=submit] >> text=确认支付")
    phone.wait_for_url(re.compile(r"/h5/billing/payments/"))

    SHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SHOTS / "h5-payments.png"), full_page=True)
    bill.refresh_from_db()
    assert bill.status == "paid"
    assert "128.50" in phone.inner_text("main")
    receipt = phone.locator("a[href$='receipt.pdf']").first.get_attribute("href")
    response = phone.request.get(f"{live_server.url}{receipt}")
    assert response.status == 200 and response.body()[:4] == b"%PDF"


def _photo(tmp_path) -> Path:
    path = tmp_path / "leak.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 160, 200)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.django_db(transaction=True)
def test_resident_reports_a_repair_with_a_photo_and_sees_it_assigned(
    world, live_server, phone, sms_memory, tmp_path
):
    workorders_f.roster(world.a, date=timezone.localdate())  # estate a's technician is on duty all day
    me = world.a.persons[0]

    resident_sign_in(phone, live_server, me)
    phone.click("nav.h5-tabs a[href='/h5/repairs/']")
    phone.click("a[href$='/h5/repairs/new/']")
    phone.fill("#title", "厨房水管漏水")
    phone.fill("#description", "水槽下方持续滴水")
    phone.set_input_files("#photos", str(_photo(tmp_path)))
    phone.click("button[type=submit] >> text=提交报修")
    phone.wait_for_url(re.compile(r"/h5/repairs/\d+/$"))

    order = WorkOrder.objects.get(title="厨房水管漏水")
    SHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SHOTS / "h5-repair.png"), full_page=True)
    assert order.state == "assigned"
    assert order.assignee == world.a.staff[Role.TECHNICIAN]
    assert order.photos.count() == 1
    assert "已派单" in phone.inner_text("main")
    assert phone.locator("main img").count() == 1
    assert Bill.objects.count() == 0
