"""API and pages of the inbox for a resident and a staff user, the unread badges, preferences, and
the cross-scope probe (another user's message answers 404 whatever the caller's role)."""

from __future__ import annotations

import json
from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import ESTATE_ROLES
from linli.messaging.models import Message, MessagePreference
from linli.messaging.tests import factories as f
from linli.orgs.roles import Role

pytestmark = pytest.mark.django_db

API = "/api/v1/messages"


def _post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def test_api_lists_counts_and_marks_my_messages(world, login):
    resident = world.a.resident
    older = f.message(resident, title="物业费账单已出")
    f.message(resident, title="停水通知", category="notice")
    f.message(world.b.resident, title="别人的")
    c = login(resident)

    listing = c.get(API).json()
    unread = c.get(f"{API}/unread").json()
    read = _post(c, f"{API}/{older.pk}/read").json()
    only_unread = c.get(f"{API}?unread=true").json()
    all_read = _post(c, f"{API}/read-all").json()

    assert (listing["count"], [i["title"] for i in listing["items"]]) == (2, ["停水通知", "物业费账单已出"])
    assert listing["items"][1]["category_label"] == "账单与缴费"
    assert (unread, read["read_at"] is not None) == ({"count": 2}, True)
    assert [i["title"] for i in only_unread["items"]] == ["停水通知"]
    assert (all_read, c.get(f"{API}/unread").json()) == ({"count": 1}, {"count": 0})


def test_api_preferences_round_trip(world, login):
    c = login(world.a.resident)

    put = c.put(
        f"{API}/prefs",
        data=json.dumps(
            {
                "categories": [{"category": "bill", "channels": ["sms"]}],
                "quiet_start": "22:00",
                "quiet_end": "07:00",
            }
        ),
        content_type="application/json",
    )
    got = c.get(f"{API}/prefs").json()

    assert put.status_code == 200
    assert got == {
        "categories": [
            {"category": "bill", "label": "账单与缴费", "channels": ["sms"]},
            {"category": "notice", "label": "通知公告", "channels": []},
            {"category": "info", "label": "一般消息", "channels": []},
        ],
        "quiet_start": "22:00:00",
        "quiet_end": "07:00:00",
        "wechat_bound": False,
    }


def test_api_preferences_refuse_an_unknown_channel(world, login):
    c = login(world.a.resident)

    r = c.put(
        f"{API}/prefs",
        data=json.dumps({"categories": [{"category": "bill", "channels": ["fax"]}]}),
        content_type="application/json",
    )

    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")


def test_api_preferences_convert_quiet_hours_with_a_time_zone_to_local_time(world, login):
    # Issue #12: one rule for every time of day in the API (core.api.LocalTime): an offset is converted.
    c = login(world.a.resident)

    r = c.put(
        f"{API}/prefs",
        data=json.dumps({"categories": [], "quiet_start": "22:00+08:00", "quiet_end": "23:00Z"}),
        content_type="application/json",
    )

    assert r.status_code == 200, r.content
    pref = MessagePreference.objects.get(user=world.a.resident)
    assert (pref.quiet_start, pref.quiet_end) == (time(22, 0), time(7, 0))


def test_list_query_count_does_not_grow_with_messages(world, login):
    c = login(world.a.resident)
    f.message(world.a.resident)
    c.get(API)  # the first request of a session loads more (session, user)
    with CaptureQueriesContext(connection) as one:
        c.get(API)
    for i in range(5):
        f.message(world.a.resident, title=f"账单 {i}")
    with CaptureQueriesContext(connection) as six:
        c.get(API)

    assert len(six) == len(one)


def test_h5_inbox_open_marks_read_and_badge_shows_unread(world, login):
    resident = world.a.resident
    message = f.message(resident, title="物业费账单已出", body="12 月账单已出", link="/h5/billing/")
    f.message(resident, title="停水通知", category="notice")
    c = login(resident)

    home = c.get("/h5/").content.decode()
    inbox = c.get("/h5/messages/").content.decode()
    detail = c.get(f"/h5/messages/{message.pk}/").content.decode()
    after = c.get("/h5/").content.decode()
    message.refresh_from_db()

    assert '消息 <span class="badge danger">2</span>' in home
    assert "物业费账单已出" in inbox and "停水通知" in inbox
    assert "12 月账单已出" in detail and 'href="/h5/billing/"' in detail
    assert message.read_at is not None and '消息 <span class="badge danger">1</span>' in after


def test_h5_mark_all_read_and_preferences_page(world, login):
    resident = world.a.resident
    f.message(resident)
    c = login(resident)

    r = c.post("/h5/messages/read-all/")
    page = c.get("/h5/messages/prefs/").content.decode()
    saved = c.post("/h5/messages/prefs/", {"ch_bill": ["sms"], "quiet_start": "22:00", "quiet_end": "07:00"})

    assert (r.status_code, Message.objects.filter(user=resident, read_at__isnull=True).count()) == (302, 0)
    assert "账单与缴费" in page and "免打扰时段" in page and "工单" not in page
    assert (saved.status_code, resident.message_preference.channels) == (302, {"bill": ["sms"]})


def test_console_inbox_renders_and_follows_the_link(world, login):
    tech = world.a.staff[Role.TECHNICIAN]
    message = f.message(tech, title="新工单：电梯困人", category="workorder", link="/console/workorders/")
    f.message(world.a.staff[Role.GUARD], title="别人的", category="workorder")
    c = login(tech)

    page = c.get("/console/messages/").content.decode()
    r = c.post(f"/console/messages/{message.pk}/read/", {"go": "1"})
    prefs = c.get("/console/messages/prefs/").content.decode()

    assert "新工单：电梯困人" in page and "别人的" not in page
    assert '消息 <span class="badge danger">1</span>' in page
    assert (r.status_code, r["Location"]) == (302, "/console/workorders/")
    assert "工单超时" in prefs and "账单与缴费" not in prefs


def test_old_console_inbox_address_redirects(world, login):
    r = login(world.a.staff[Role.TECHNICIAN]).get("/console/notices/inbox/")

    assert (r.status_code, r["Location"]) == (301, "/console/messages/")


@pytest.fixture
def b_message(world):
    return f.message(world.b.resident, title="乙小区账单")


@pytest.mark.parametrize("role", [*ESTATE_ROLES, "resident"])
def test_cross_scope_probe(world, login, b_message, role):
    user = world.a.resident if role == "resident" else world.a.staff[role]
    c = login(user)
    pk = b_message.pk

    statuses = {
        "get": c.get(f"{API}/{pk}").status_code,
        "read": _post(c, f"{API}/{pk}/read").status_code,
        "page_read": c.post(f"/console/messages/{pk}/read/").status_code,
        "h5_open": c.get(f"/h5/messages/{pk}/").status_code,
    }
    listed = [i["id"] for i in c.get(API).json()["items"]]
    b_message.refresh_from_db()

    assert statuses["get"] == 404 and statuses["read"] == 404
    assert (statuses["page_read"], statuses["h5_open"]) == ((302, 404) if role == "resident" else (404, 302))
    assert (listed, b_message.read_at) == ([], None)


def test_platform_admin_cannot_read_a_resident_message(world, login, b_message):
    c = login(world.platform_admin)

    assert (c.get(f"{API}/{b_message.pk}").status_code, c.get(API).json()["count"]) == (404, 0)
