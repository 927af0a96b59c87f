"""Resident H5 on a phone-sized viewport: sign in with a code, open the privacy centre, grant and withdraw."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linli.accounts.sms import MemorySmsSender
from linli.privacy.tests import factories as privacy_f

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _code_for(phone: str) -> str:
    message = next(m for m in reversed(MemorySmsSender.outbox) if m.phone == phone)
    return re.search(r"\b(\d{6})\b", message.message).group(1)


@pytest.mark.django_db(transaction=True)
def test_resident_signs_in_by_code_and_manages_consents(world, live_server, phone, settings):
    settings.SMS_BACKEND = "linli.accounts.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    purpose = privacy_f.purpose("notifications")
    me = world.a.persons[0]

    phone.goto(f"{live_server.url}/h5/login/")
    phone.fill("#id_phone", me.phone)
    phone.click("button[type=submit]")
    phone.fill("#id_code", _code_for(me.phone))
    phone.click("button[type=submit] >> text=登录")
    phone.wait_for_url(re.compile(r"/h5/$"))
    assert me.name in phone.inner_text("main")

    phone.click("nav.h5-tabs a[href='/h5/privacy/']")
    phone.wait_for_url(re.compile(r"/h5/privacy/"))
    assert "我的数据" in phone.inner_text("main")
    row = phone.locator("#consents .switch-row", has_text=purpose.name)
    row.locator("button", has_text="同意").click()
    row = phone.locator("#consents .switch-row", has_text=purpose.name)
    assert "已同意" in row.inner_text()
    SHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SHOTS / "h5-privacy.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone

    row.locator("button", has_text="撤回同意").click()
    assert "未同意" in phone.locator("#consents .switch-row", has_text=purpose.name).inner_text()
