"""Issue #5 on a phone: a resident shows the 一码通 QR, invites a visitor, and the visitor's code opens
the gate once, is refused for a second entry, and is refused after its window.

The gate is simulated the way a real one talks to Linli: the code shown on the visitor's page is sent
to ``POST /api/v1/access/device/decisions`` with the device's HMAC headers.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from linli.access.credentials.views_h5 import qr_svg
from linli.access.gate import device_auth
from linli.access.models import VisitorPass
from linli.access.tests import factories as access_f
from linli.devices.tests import factories as devices_f
from tests.browser.conftest import PHONE, resident_sign_in

SHOTS = Path(__file__).resolve().parents[1] / "test-results"
DECISIONS = "/api/v1/access/device/decisions"


def _gate_says(live_server, device, secret: str, code: str) -> dict:
    """What the gate controller does with a scanned code: a signed decision request."""
    body = json.dumps({"door_no": 1, "method": "qr", "credential": code, "direction": "in"}).encode()
    headers = device_auth.signed_headers(
        key=device.key, secret=secret, method="POST", path=DECISIONS, body=body
    )
    req = urllib.request.Request(  # noqa: S310 (the live test server)
        live_server.url + DECISIONS,
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310
        assert resp.status == 200
        return json.loads(resp.read())


def _svg_path(svg: str) -> str:
    return re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)


def _invite(page, live_server, name: str, entries: int) -> str:
    """Fill the invitation form; return the visitor link from the share page."""
    page.goto(f"{live_server.url}/h5/access/visitors/new/")
    page.fill("#id_visitor_name", name)
    page.select_option("#id_max_entries", str(entries))
    page.click("button[type=submit] >> text=生成访客码")
    page.wait_for_url(re.compile(r"/h5/access/visitors/\d+/share/"))
    return page.input_value("#visitor-link")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_resident_qr_visitor_invitation_and_the_gate(world, live_server, browser, phone, sms_memory):
    # given: an estate gate with a controller, residents and visitors allowed all day
    me = world.a.persons[0]
    access_f.resident_policy(estate=world.a.estate)
    access_f.visitor_policy(estate=world.a.estate)
    device, secret = devices_f.device(world.a, profile="generic")
    access_f.access_point(estate=world.a.estate, device=device, door_no=1, name="南门")
    SHOTS.mkdir(exist_ok=True)

    # the resident signs in on a phone and opens 一码通: a large QR code
    resident_sign_in(phone, live_server, me)
    phone.click("nav.h5-tabs a[href='/h5/access/']")
    phone.wait_for_url(re.compile(r"/h5/access/$"))
    qr_box = phone.locator("#qr-box .qr svg")
    assert qr_box.is_visible()
    assert qr_box.bounding_box()["width"] >= 300  # big enough for elderly users and gate scanners
    assert "秒后自动刷新" in phone.inner_text("#qr-box")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SHOTS / "h5-access-code.png"), full_page=True)
    resident_code = phone.get_attribute("#qr-box .qr", "data-code")
    assert _svg_path(phone.inner_html("#qr-box .qr")) == _svg_path(qr_svg(resident_code))
    assert _gate_says(live_server, device, secret, resident_code)["result"] == "allow"  # no face needed

    # the resident invites a visitor for one entry and gets the link once
    link = _invite(phone, live_server, "王", 1)
    assert re.fullmatch(rf"{re.escape(live_server.url)}/v/[A-Za-z0-9_-]{{32}}/", link)
    assert phone.locator("#share svg").is_visible()
    phone.screenshot(path=str(SHOTS / "h5-access-share.png"), full_page=True)

    # the visitor opens the link on their own phone (no sign-in) and shows the rotating code
    visitor_ctx = browser.new_context(**PHONE)
    visitor = visitor_ctx.new_page()
    visitor.set_default_timeout(15000)
    visitor.goto(link)
    assert visitor.locator("#visitor-qr svg").is_visible()
    shown = visitor.inner_text("main")
    assert "1号楼" in shown and world.a.rooms[0].standard_address not in shown
    visitor.screenshot(path=str(SHOTS / "visitor-pass.png"), full_page=True)
    code = visitor.get_attribute("#visitor-qr", "data-code")
    assert _svg_path(visitor.inner_html("#visitor-qr")) == _svg_path(qr_svg(code))

    # the gate opens once …
    first = _gate_says(live_server, device, secret, code)
    assert (first["result"], first["reason"], first["display"]) == ("allow", "ok", "访客请通行")
    # … and refuses a second entry
    second = _gate_says(live_server, device, secret, code)
    assert (second["result"], second["reason"]) == ("deny", "used_up")
    visitor.reload()
    assert "进入次数已用完" in visitor.inner_text("main")
    assert visitor.locator("#visitor-qr").count() == 0

    # a second visitor's pass: a code taken during the window is refused after it
    link2 = _invite(phone, live_server, "李", 2)
    visitor.goto(link2)
    code2 = visitor.get_attribute("#visitor-qr", "data-code")
    token2 = link2.rstrip("/").rsplit("/", 1)[1]
    now = timezone.now()
    VisitorPass.objects.exclude(entries_used__gt=0).filter(visitor_name="李").update(
        valid_from=now - timedelta(hours=3), valid_until=now - timedelta(seconds=5)
    )
    visitor.goto(f"{live_server.url}/v/{token2}/")
    assert "此访客码已过有效期" in visitor.inner_text("main")
    assert visitor.locator("#visitor-qr").count() == 0
    visitor.screenshot(path=str(SHOTS / "visitor-pass-expired.png"), full_page=True)
    late = _gate_says(live_server, device, secret, code2)
    assert (late["result"], late["reason"]) == ("deny", "outside_window")
    assert VisitorPass.objects.get(visitor_name="李").entries_used == 0
    visitor_ctx.close()
