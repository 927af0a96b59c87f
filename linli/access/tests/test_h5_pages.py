"""Pages of visitors and 一码通: the resident H5 pages, the visitor's public link and the gate console.
Each renders for the right role only; the public page shows the pass state and a code only while
the pass is usable."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from linli.access.credentials import keys, qr
from linli.access.models import AccessEvent, Credential, VisitorPass
from linli.access.tests import factories as access_f
from linli.access.visitors import selectors, services
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db


def invite(side, *, start=None, hours: int = 4, **kw) -> services.IssuedPass:
    start = start or timezone.now()
    return services.visitor_pass_create(
        actor=actor_for_user(side.resident),
        visitor_name=kw.pop("visitor_name", "欧阳娜娜"),
        valid_from=start,
        valid_until=start + timedelta(hours=hours),
        **kw,
    )


def move_window(p: VisitorPass, *, start, end) -> None:
    VisitorPass.objects.filter(pk=p.pk).update(valid_from=start, valid_until=end)


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


# --- 一码通 ------------------------------------------------------------------------------------


def test_code_page_shows_the_residents_qr_and_the_ways_in_without_a_phone(world, login):
    r = login(world.a.resident).get("/h5/access/")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count("<svg") == 1 and 'data-api="/api/v1/access/credentials/me/qr"' in html
    assert 'data-refresh="20"' in html and '<meta http-equiv="refresh" content="20">' in html
    assert "IC 卡" in html and "人工核验" in html and 'value="card"' in html and 'value="pin"' in html
    assert r["Cache-Control"].startswith("max-age=0")
    credential = Credential.objects.get(person=world.a.persons[0], kind="qr")
    assert credential.status == "active"


def test_code_page_for_staff_and_anonymous_goes_elsewhere(world, login):
    assert login(world.a.staff[Role.GUARD]).get("/h5/access/").url == "/console/"
    r = Client().get("/h5/access/")
    assert r.status_code == 302 and r.url.startswith("/h5/login/")


def test_code_page_explains_when_no_code_can_be_shown(world, login):
    from linli.people.models import Occupancy

    Occupancy.objects.filter(person=world.a.persons[0]).update(end_date=timezone.localdate())
    r = login(world.a.resident).get("/h5/access/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<svg" not in html and "没有有效的入住登记" in html


def test_resident_requests_a_card_from_the_code_page(world, login):
    c = login(world.a.resident)
    r = c.post("/h5/access/request/", {"kind": "card"})
    assert r.status_code == 302 and r.url == "/h5/access/"
    assert Credential.objects.filter(person=world.a.persons[0], kind="card", status="requested").count() == 1
    html = c.get("/h5/access/").content.decode()
    assert 'value="card"' not in html and "待发放" in html


# --- invitations -------------------------------------------------------------------------------


def test_new_visitor_form_asks_for_r63_fields_only(world, login):
    r = login(world.a.resident).get("/h5/access/visitors/new/")
    assert r.status_code == 200
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([a-z_]+)"', r.content.decode())) - {
        "csrfmiddlewaretoken"
    }
    assert names == set(services.FORM_FIELDS)  # one room: no room picker


def test_invite_then_share_page_shows_the_link_once(world, login):
    c = login(world.a.resident)
    now = timezone.now()
    r = c.post(
        "/h5/access/visitors/new/",
        {
            "visitor_name": "王",
            "visitor_phone": "13912345678",
            "valid_from": _local(now),
            "valid_until": _local(now + timedelta(hours=3)),
            "max_entries": "2",
            "plate": "",
            "purpose": "探亲",
        },
    )
    p = VisitorPass.objects.get()
    assert r.status_code == 302 and r.url == f"/h5/access/visitors/{p.pk}/share/"
    html = c.get(r.url).content.decode()
    link = re.search(r'id="visitor-link"[^>]*value="([^"]+)"', html).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert link == f"http://testserver/v/{token}/" and selectors.pass_for_link(token) == p
    assert html.count("<svg") == 1 and "复制链接" in html
    again = c.get(r.url).content.decode()
    assert token not in again and "只在创建后显示一次" in again
    # the list shows it with the phone masked
    html = c.get("/h5/access/visitors/").content.decode()
    assert "139****5678" in html and "13912345678" not in html and "探亲" in html


def test_invite_form_errors_are_shown_and_nothing_is_stored(world, login):
    now = timezone.now()
    r = login(world.a.resident).post(
        "/h5/access/visitors/new/",
        {
            "visitor_name": "王",
            "valid_from": _local(now),
            "valid_until": _local(now + timedelta(days=8)),
            "max_entries": "1",
        },
    )
    assert r.status_code == 200 and "访客通行证最长 7 天" in r.content.decode()
    assert VisitorPass.objects.count() == 0


def test_resident_revokes_from_the_list_and_cannot_touch_others(world, login):
    p = invite(world.a).visitor_pass
    assert login(world.b.resident).post(f"/h5/access/visitors/{p.pk}/revoke/").status_code == 404
    assert login(world.b.resident).get(f"/h5/access/visitors/{p.pk}/share/").status_code == 404
    c = login(world.a.resident)
    assert c.get(f"/h5/access/visitors/{p.pk}/revoke/").status_code == 405
    r = c.post(f"/h5/access/visitors/{p.pk}/revoke/")
    assert r.status_code == 302 and VisitorPass.objects.get(pk=p.pk).status == "revoked"


def test_visitor_pages_are_for_residents_only(world, login):
    assert login(world.a.staff[Role.GUARD]).get("/h5/access/visitors/").url == "/console/"
    assert Client().get("/h5/access/visitors/new/").status_code == 302


# --- the visitor's public page -----------------------------------------------------------------


def test_public_page_of_a_valid_pass_shows_the_rotating_code(world, client):
    issued = invite(world.a)
    r = client.get(f"/v/{issued.link_token}/")
    assert r.status_code == 200
    assert r["Referrer-Policy"] == "no-referrer" and r["Cache-Control"] == "no-store"
    html = r.content.decode()
    assert "欧**娜" in html and "欧阳娜娜" not in html
    assert world.a.building.name in html and world.a.rooms[0].number not in html
    assert html.count("<svg") == 1 and 'data-state="valid"' in html
    assert f'data-api="/api/v1/access/visitors/link/{issued.link_token}/code"' in html
    assert world.a.persons[0].name not in html


@pytest.mark.parametrize(
    ("state", "text"),
    [
        ("used_up", "进入次数已用完"),
        ("expired", "已过有效期"),
        ("revoked", "已被邀请人撤销"),
        ("not_yet_valid", "尚未生效"),
    ],
)
def test_public_page_of_an_unusable_pass_says_why_and_shows_no_code(world, client, state, text):
    now = timezone.now()
    issued = invite(world.a, start=now + timedelta(days=1) if state == "not_yet_valid" else now)
    p = issued.visitor_pass
    if state == "used_up":
        services.consume_entry(p.pk)
    elif state == "expired":
        move_window(p, start=now - timedelta(hours=3), end=now - timedelta(minutes=1))
    elif state == "revoked":
        services.visitor_pass_revoke(actor=actor_for_user(world.a.resident), visitor_pass=p)
    r = client.get(f"/v/{issued.link_token}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert text in html and f'data-state="{state}"' in html
    assert "<svg" not in html and "LL1." not in html


@pytest.mark.parametrize("token", ["A" * 32, "nope", "x" * 80])
def test_public_page_of_a_bad_or_purged_link_is_404(world, client, token):
    invite(world.a)
    assert client.get(f"/v/{token}/").status_code == 404


def test_public_page_is_404_once_the_pass_is_purged(world, client):
    issued = invite(world.a)
    now = timezone.now()
    move_window(issued.visitor_pass, start=now - timedelta(days=40), end=now - timedelta(days=39))
    services.purge_expired_visitors(now=now)
    assert client.get(f"/v/{issued.link_token}/").status_code == 404


# --- the gate console --------------------------------------------------------------------------


def test_guard_console_lists_today_masked_and_audits_the_read(world, login):
    invite(world.a, visitor_phone="13912345678")
    r = login(world.a.staff[Role.GUARD]).get("/console/access/visitors/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "欧**娜" in html and "139****5678" in html and "欧阳娜娜" not in html
    assert 'id="walk-in-form"' in html and 'id="staff-pass-form"' in html
    assert AuditEvent.objects.filter(action="privacy.sensitive_read", reason="visitors_today").count() == 1


def test_guard_console_is_for_guards_in_scope_only(world, login):
    invite(world.a)
    assert login(world.a.staff[Role.TECHNICIAN]).get("/console/access/visitors/").status_code == 403
    assert login(world.a.resident).get("/console/access/visitors/").url == "/h5/"
    html = login(world.b.staff[Role.GUARD]).get(f"/console/access/visitors/?estate={world.a.estate.pk}")
    assert "欧**娜" not in html.content.decode()
    assert login(world.a.staff[Role.PROPERTY_ADMIN]).get("/console/access/visitors/").status_code == 200


def test_guard_registers_walk_in_sees_printable_code_once_and_lets_them_in(world, login):
    access_f.visitor_policy(estate=world.a.estate)
    point = access_f.access_point(estate=world.a.estate, name="南门")
    c = login(world.a.staff[Role.GUARD])
    r = c.post(
        "/console/access/visitors/walk-in/",
        {
            "estate": world.a.estate.pk,
            "room_id": world.a.rooms[1].pk,
            "visitor_name": "孙",
            "hours": "2",
            "max_entries": "1",
        },
    )
    assert r.status_code == 302 and r.url == f"/console/access/visitors/?estate={world.a.estate.pk}"
    p = VisitorPass.objects.get()
    assert (p.channel, p.host_room_id) == ("walk_in", world.a.rooms[1].pk)
    html = c.get(r.url).content.decode()
    assert 'id="printable"' in html and "南门" in html
    assert 'id="printable"' not in c.get(r.url).content.decode()
    # staff-assisted entry
    r = c.post(f"/console/access/visitors/{p.pk}/entry/", {"access_point": point.pk})
    assert r.status_code == 302
    event = AccessEvent.objects.get(visitor_pass=p)
    assert (event.result, event.method, event.source) == ("allow", "staff", "staff")
    html = c.get(r.url).content.decode()
    assert "已人工核验放行" in html
    # the other estate's guard cannot let this visitor in
    r = login(world.b.staff[Role.GUARD]).post(
        f"/console/access/visitors/{p.pk}/entry/", {"access_point": point.pk}
    )
    assert r.status_code == 404 and AccessEvent.objects.count() == 1


def test_guard_issues_delivery_pass_and_revokes_it(world, login):
    c = login(world.a.staff[Role.GUARD])
    r = c.post(
        "/console/access/visitors/staff-pass/",
        {
            "estate": world.a.estate.pk,
            "kind": "delivery",
            "visitor_name": "顺丰 王",
            "minutes": "30",
            "max_entries": "1",
        },
    )
    assert r.status_code == 302
    p = VisitorPass.objects.get()
    assert (p.kind, p.channel) == ("delivery", "staff")
    r = c.post(
        "/console/access/visitors/staff-pass/",
        {
            "estate": world.a.estate.pk,
            "kind": "delivery",
            "visitor_name": "王",
            "minutes": "500",
            "max_entries": "1",
        },
    )
    assert "签发未成功" in c.get(r.url).content.decode() and VisitorPass.objects.count() == 1
    assert (
        login(world.b.staff[Role.GUARD]).post(f"/console/access/visitors/{p.pk}/revoke/").status_code == 404
    )
    c.post(f"/console/access/visitors/{p.pk}/revoke/")
    assert VisitorPass.objects.get(pk=p.pk).status == "revoked"


def test_printable_code_verifies_offline_until_the_end_of_the_window(world):
    issued = services.visitor_staff_pass_issue(
        actor=actor_for_user(world.a.staff[Role.GUARD]),
        estate_id=world.a.estate.pk,
        kind="service",
        visitor_name="维修 张",
        minutes=90,
    )
    code, _exp = selectors.visitor_printable_code(issued.visitor_pass)
    later = (timezone.now() + timedelta(minutes=80)).timestamp()
    assert qr.verify(code, keys.public_keys(world.a.estate.pk), later).subject == issued.visitor_pass.token
