"""API and pages of notices: staff CRUD, receipts, residents' notices, staff inbox, cross-scope probes,
query-count guards."""

import json

import pytest

from linli.messaging.models import Message
from linli.messaging.services import message_send
from linli.notices.models import Notice, NoticeReceipt
from linli.notices.tests.factories import notice
from linli.orgs.roles import Role

pytestmark = pytest.mark.django_db
API = "/api/v1/notices"
ESTATE_ROLES = [
    Role.PROPERTY_ADMIN,
    Role.CUSTOMER_SERVICE,
    Role.TECHNICIAN,
    Role.GUARD,
    Role.COMMUNITY_WORKER,
    Role.SUBDISTRICT_OFFICER,
    Role.POLICE_OFFICER,
    Role.SERVICE_PROVIDER,
]


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api_create_publish_receipts_withdraw(world, login):
    c = login(world.a.staff[Role.CUSTOMER_SERVICE])
    r = _post(
        c,
        API,
        {
            "estate_id": world.a.estate.pk,
            "target_id": world.a.unit.pk,
            "title": "电梯检修",
            "body": "周三 <b>停运</b>\n请走楼梯",
            "category": "tip",
        },
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert (r.json()["status"], r.json()["target"]) == ("draft", world.a.unit.name)
    assert _post(c, f"{API}/{pk}/publish", {}).json()["status"] == "published"
    assert _post(c, f"{API}/{pk}/publish", {}).status_code == 409
    resident = login(world.a.resident)
    assert resident.get(f"{API}/me/unread").json() == {"count": 1}
    assert resident.get(f"{API}/me/{pk}").json()["read_at"] is not None
    assert resident.get(f"{API}/me/unread").json() == {"count": 0}
    rec = c.get(f"{API}/{pk}/receipts").json()
    assert (rec["recipients"], rec["read"], rec["read_rate"]) == (4, 1, "25.0%")
    assert len(rec["unread"]) == 3 and all("*" in u["name"] for u in rec["unread"])
    assert _post(c, f"{API}/{pk}/withdraw", {"reason": "改期"}).json()["status"] == "withdrawn"
    assert resident.get(f"{API}/me/{pk}").status_code == 404


def test_api_validation_and_permissions(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = _post(c, API, {"estate_id": world.a.estate.pk, "title": "", "body": "x", "category": "nope"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    tech = login(world.a.staff[Role.TECHNICIAN])
    assert tech.get(API).status_code == 403
    assert _post(tech, API, {"estate_id": world.a.estate.pk, "title": "t", "body": "b"}).status_code == 403
    resident = login(world.a.resident)
    assert resident.get(API).status_code == 403
    assert resident.get(f"{API}/me/999999").status_code == 404


def test_body_is_escaped_and_linebroken_on_pages(world, login):
    n = notice(
        staff=world.a.staff[Role.PROPERTY_ADMIN], estate=world.a.estate, body="第一行\n<script>x</script>"
    )
    page = login(world.a.resident).get(f"/h5/notices/{n.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;" in html and "<script>x" not in html and "第一行<br>" in html
    assert NoticeReceipt.objects.filter(notice=n, person=world.a.persons[0]).count() == 1


def test_console_pages(world, login):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    c = login(admin)
    assert c.get("/console/notices/").status_code == 200
    assert c.get(f"/console/notices/new/?estate={world.a.estate.pk}").status_code == 200
    r = c.post(
        "/console/notices/new/",
        {
            "estate": world.a.estate.pk,
            "target": world.a.building.pk,
            "category": "outage",
            "title": "停电",
            "body": "检修",
            "action": "publish",
        },
    )
    assert r.status_code == 302
    n = Notice.objects.get(title="停电")
    assert (n.status, n.target_id) == ("published", world.a.building.pk)
    page = c.get(f"/console/notices/{n.pk}/")
    assert page.status_code == 200 and "已读率" in page.content.decode()
    r = c.post(f"/console/notices/{n.pk}/", {"action": "withdraw", "reason": "取消"})
    n.refresh_from_db()
    assert (r.status_code, n.status) == (302, "withdrawn")
    bad = c.post(
        "/console/notices/new/", {"estate": world.a.estate.pk, "title": "", "body": "", "category": "notice"}
    )
    assert bad.status_code == 200 and "请填写标题" in bad.content.decode()


def test_h5_home_unread_badge_and_votes_link(world, login):
    notice(staff=world.a.staff[Role.PROPERTY_ADMIN], estate=world.a.estate, title="甲通知")
    notice(staff=world.b.staff[Role.PROPERTY_ADMIN], estate=world.b.estate, title="乙通知")
    html = login(world.a.resident).get("/h5/notices/").content.decode()
    assert "甲通知" in html and "乙通知" not in html and "/h5/votes/" in html and "未读" in html


def test_inbox_api_and_page(world, login):
    tech = world.a.staff[Role.TECHNICIAN]
    message_send(recipients=[tech], title="新工单 A", link="/console/notices/inbox/")
    message_send(recipients=[world.a.staff[Role.GUARD]], title="别人的")
    c = login(tech)
    items = c.get(f"{API}/inbox").json()["items"]
    assert [i["title"] for i in items] == ["新工单 A"]
    assert c.get(f"{API}/inbox/unread").json() == {"count": 1}
    other = Message.objects.get(title="别人的")
    assert _post(c, f"{API}/inbox/{other.pk}/read", {}).status_code == 404
    assert _post(c, f"{API}/inbox/{items[0]['id']}/read", {}).json()["read_at"] is not None
    page = c.get("/console/messages/")
    assert (
        page.status_code == 200
        and "新工单 A" in page.content.decode()
        and "别人的" not in page.content.decode()
    )
    r = c.post(f"/console/messages/{items[0]['id']}/read/", {"go": "1"})
    assert (r.status_code, r["Location"]) == (302, "/console/notices/inbox/")
    assert c.post(f"/console/messages/{other.pk}/read/").status_code == 404


@pytest.fixture
def b_notice(world):
    return notice(staff=world.b.staff[Role.PROPERTY_ADMIN], estate=world.b.estate, title="乙小区停水")


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_cross_scope_probe(world, login, b_notice, role):
    c = login(world.a.staff[role])
    pk = b_notice.pk
    statuses = {
        "get": c.get(f"{API}/{pk}").status_code,
        "patch": c.patch(
            f"{API}/{pk}", data=json.dumps({"pinned": True}), content_type="application/json"
        ).status_code,
        "publish": _post(c, f"{API}/{pk}/publish", {}).status_code,
        "withdraw": _post(c, f"{API}/{pk}/withdraw", {}).status_code,
        "receipts": c.get(f"{API}/{pk}/receipts").status_code,
        "create": _post(c, API, {"estate_id": world.b.estate.pk, "title": "t", "body": "b"}).status_code,
        "create_target": _post(
            c,
            API,
            {"estate_id": world.a.estate.pk, "target_id": world.b.building.pk, "title": "t", "body": "b"},
        ).status_code,
        "me": c.get(f"{API}/me/{pk}").status_code,
        "page": c.get(f"/console/notices/{pk}/").status_code,
        "page_post": c.post(f"/console/notices/{pk}/", {"action": "withdraw"}).status_code,
    }
    assert {k: v for k, v in statuses.items() if v != 404} == {}
    b_notice.refresh_from_db()
    assert (b_notice.status, b_notice.pinned) == ("published", False)
    listing = c.get(API)
    if listing.status_code == 200:
        assert pk not in {i["id"] for i in listing.json()["items"]}


def test_cross_scope_resident(world, login, b_notice):
    c = login(world.a.resident)
    assert c.get(f"{API}/me/{b_notice.pk}").status_code == 404
    assert c.get(f"/h5/notices/{b_notice.pk}/").status_code == 404
    assert c.get(f"{API}/{b_notice.pk}").status_code == 404
    assert b_notice.pk not in {i["id"] for i in c.get(f"{API}/me").json()["items"]}
    assert NoticeReceipt.objects.count() == 0


def test_list_query_counts(world, login, django_assert_max_num_queries):
    admin = world.a.staff[Role.PROPERTY_ADMIN]
    for i in range(12):
        n = notice(
            staff=admin, estate=world.a.estate, title=f"通知{i}", target=world.a.unit if i % 2 else None
        )
    c = login(admin)
    r = login(world.a.resident)
    r.get(f"{API}/me/{n.pk}")
    with django_assert_max_num_queries(10):
        assert len(c.get(API).json()["items"]) == 12
    with django_assert_max_num_queries(10):
        assert len(r.get(f"{API}/me").json()["items"]) == 12
    with django_assert_max_num_queries(12):
        assert c.get("/console/notices/").status_code == 200
    with django_assert_max_num_queries(14):
        assert r.get("/h5/notices/").status_code == 200
