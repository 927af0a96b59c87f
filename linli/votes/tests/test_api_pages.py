"""API and pages of votes: staff lifecycle, casting, verification, secrecy, cross-scope probes and
query-count guards."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.votes import services
from linli.votes.counting import ballot_digest
from linli.votes.models import Ballot, Result, Vote
from linli.votes.tests.factories import admin_actor, resident_for, vote

pytestmark = pytest.mark.django_db
API = "/api/v1/votes"
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


def _post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_api_lifecycle_and_verification(world, login):
    a = world.a
    staff = login(a.staff[Role.COMMUNITY_WORKER])
    closes = (timezone.now() + timedelta(days=3)).isoformat()
    r = _post(
        staff, API, {"estate_id": a.estate.pk, "title": "续聘物业", "matter": "ordinary", "closes_at": closes}
    )
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert _post(staff, f"{API}/{pk}/open").json()["status"] == "open"
    assert _post(staff, f"{API}/{pk}/open").status_code == 409
    owner = login(a.resident)
    assert [v["id"] for v in owner.get(f"{API}/me").json()["items"]] == [pk]
    cast = _post(owner, f"{API}/me/{pk}/ballot", {"choice": "agree"})
    assert cast.status_code == 201
    receipt = cast.json()["receipt"]
    assert _post(owner, f"{API}/me/{pk}/ballot", {"choice": "against"}).status_code == 409
    assert owner.get(f"{API}/me/{pk}").json()["my_receipt"] == receipt
    _post(login(resident_for(a.persons[1])), f"{API}/me/{pk}/ballot", {"choice": "abstain"})
    detail = staff.get(f"{API}/{pk}").json()
    assert detail["progress"]["voted_owners"] == 2 and detail["progress"]["owner_rate"] == "66.67%"
    assert staff.get(f"{API}/{pk}/result").status_code == 404  # not closed yet
    res = _post(staff, f"{API}/{pk}/close", {"reason": "提前结束"}).json()
    assert (res["voted_owners"], res["agree_owners"], res["quorum_met"], res["passed"]) == (2, 1, True, False)
    assert _post(staff, f"{API}/{pk}/close").status_code == 409
    ver = owner.get(f"{API}/{pk}/verify").json()
    assert (ver["my_receipt"], ver["my_receipt_found"]) == (receipt, True)
    assert ballot_digest((b["receipt"], b["choice"]) for b in ver["ballots"]) == ver["result"]["digest"]
    assert {b["name"] for b in ver["ballots"]} == {""}  # secret ballot
    assert staff.get(f"{API}/{pk}/result").json() == res


def test_closed_result_unchanged_after_refused_writes(world, login):
    a = world.a
    v = vote(side=a)
    services.ballot_cast(actor=actor_for_user(a.resident), vote=v, choice="agree")
    services.vote_close(actor=admin_actor(a), vote=v)
    before = Result.objects.filter(vote=v).values().get()
    staff = login(a.staff[Role.PROPERTY_ADMIN])
    assert _post(staff, f"{API}/{v.pk}/close").status_code == 409
    assert _post(staff, f"{API}/{v.pk}/open").status_code == 409
    assert (
        _post(login(resident_for(a.persons[1])), f"{API}/me/{v.pk}/ballot", {"choice": "against"}).status_code
        == 409
    )
    assert Result.objects.filter(vote=v).values().get() == before
    assert Ballot.objects.filter(vote=v).count() == 1


def test_api_validation_and_permissions(world, login):
    staff = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = _post(
        staff, API, {"estate_id": world.a.estate.pk, "title": "x", "matter": "huge", "closes_at": "soon"}
    )
    assert r.status_code == 400
    assert login(world.a.staff[Role.CUSTOMER_SERVICE]).get(API).status_code == 403
    assert login(world.a.resident).get(API).status_code == 403
    v = vote(side=world.a)
    assert _post(login(world.a.resident), f"{API}/me/{v.pk}/ballot", {"choice": "maybe"}).status_code == 400


def test_open_ballot_verify_shows_masked_names_only(world, login):
    a = world.a
    v = vote(side=a, secret=False)
    _post(login(a.resident), f"{API}/me/{v.pk}/ballot", {"choice": "against"})
    services.vote_close(actor=admin_actor(a), vote=v)
    ver = login(resident_for(a.persons[2])).get(f"{API}/{v.pk}/verify").json()
    name = a.persons[0].name
    assert [b["name"] for b in ver["ballots"]] == [name[0] + "*" * (len(name) - 2) + name[-1]]
    assert name not in json.dumps(ver, ensure_ascii=False)


def test_secret_verify_page_and_api_reveal_no_voter(world, login):
    a = world.a
    v = vote(side=a, secret=True)
    _post(login(a.resident), f"{API}/me/{v.pk}/ballot", {"choice": "against"})
    services.vote_close(actor=admin_actor(a), vote=v)
    other = login(resident_for(a.persons[2]))
    api_text = json.dumps(other.get(f"{API}/{v.pk}/verify").json(), ensure_ascii=False)
    page_text = other.get(f"/h5/votes/{v.pk}/verify/").content.decode()
    console = login(a.staff[Role.PROPERTY_ADMIN]).get(f"/console/votes/{v.pk}/").content.decode()
    for p in a.persons:
        for text in (api_text, page_text, console):
            assert p.name not in text and p.name[0] + "*" not in text


def test_console_and_h5_pages(world, login):
    a = world.a
    staff = login(a.staff[Role.PROPERTY_ADMIN])
    assert staff.get("/console/votes/").status_code == 200
    assert staff.get("/console/votes/new/").status_code == 200
    closes = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = staff.post(
        "/console/votes/new/",
        {
            "estate": a.estate.pk,
            "title": "加装充电桩",
            "matter": "major",
            "secret": "on",
            "closes_at": closes,
        },
    )
    assert r.status_code == 302
    v = Vote.objects.get(title="加装充电桩")
    assert (v.matter, v.secret, v.status) == ("major", True, "draft")
    assert staff.post(f"/console/votes/{v.pk}/", {"action": "open"}).status_code == 302
    owner = login(a.resident)
    assert "加装充电桩" in owner.get("/h5/votes/").content.decode()
    assert owner.get(f"/h5/votes/{v.pk}/").status_code == 200
    r = owner.post(f"/h5/votes/{v.pk}/", {"choice": "agree"})
    assert r.status_code == 302
    page = owner.get(f"/h5/votes/{v.pk}/").content.decode()
    assert Ballot.objects.get(vote=v).receipt in page
    again = owner.post(f"/h5/votes/{v.pk}/", {"choice": "against"})
    assert again.status_code == 200 and "不能修改" in again.content.decode()
    detail = staff.get(f"/console/votes/{v.pk}/").content.decode()
    assert "1 / 3" in detail
    assert staff.post(f"/console/votes/{v.pk}/", {"action": "close"}).status_code == 302
    verify = owner.get(f"/h5/votes/{v.pk}/verify/").content.decode()
    assert "您的回执码已在公示清单中" in verify and "摘要一致" in verify
    bad = staff.post("/console/votes/new/", {"estate": a.estate.pk, "title": "", "matter": "ordinary"})
    assert bad.status_code == 200 and "请填写表决事项" in bad.content.decode()


@pytest.fixture
def b_votes(world):
    open_v = vote(side=world.b, title="乙小区进行中")
    closed = vote(side=world.b, title="乙小区已结束")
    services.vote_close(actor=admin_actor(world.b), vote=closed)
    draft = vote(side=world.b, open_=False, title="乙小区草稿")
    return {"open": open_v, "closed": closed, "draft": draft}


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_cross_scope_probe_staff(world, login, b_votes, role):
    c = login(world.a.staff[role])
    statuses = {}
    for key, v in b_votes.items():
        statuses.update(
            {
                (key, "get"): c.get(f"{API}/{v.pk}").status_code,
                (key, "open"): _post(c, f"{API}/{v.pk}/open").status_code,
                (key, "close"): _post(c, f"{API}/{v.pk}/close").status_code,
                (key, "result"): c.get(f"{API}/{v.pk}/result").status_code,
                (key, "verify"): c.get(f"{API}/{v.pk}/verify").status_code,
                (key, "me"): c.get(f"{API}/me/{v.pk}").status_code,
                (key, "cast"): _post(c, f"{API}/me/{v.pk}/ballot", {"choice": "agree"}).status_code,
                (key, "page"): c.get(f"/console/votes/{v.pk}/").status_code,
                (key, "page_post"): c.post(f"/console/votes/{v.pk}/", {"action": "close"}).status_code,
            }
        )
    create = _post(
        c,
        API,
        {
            "estate_id": world.b.estate.pk,
            "title": "t",
            "closes_at": (timezone.now() + timedelta(1)).isoformat(),
        },
    ).status_code
    assert {k: s for k, s in statuses.items() if s != 404} == {}
    assert create == 404
    assert [Vote.objects.get(pk=v.pk).status for v in b_votes.values()] == ["open", "closed", "draft"]
    listing = c.get(API)
    if listing.status_code == 200:
        assert not {i["id"] for i in listing.json()["items"]} & {v.pk for v in b_votes.values()}


def test_cross_scope_probe_resident(world, login, b_votes):
    c = login(world.a.resident)
    statuses = {}
    for key, v in b_votes.items():
        statuses.update(
            {
                (key, "me"): c.get(f"{API}/me/{v.pk}").status_code,
                (key, "cast"): _post(c, f"{API}/me/{v.pk}/ballot", {"choice": "agree"}).status_code,
                (key, "verify"): c.get(f"{API}/{v.pk}/verify").status_code,
                (key, "staff_get"): c.get(f"{API}/{v.pk}").status_code,
                (key, "h5_vote"): c.get(f"/h5/votes/{v.pk}/").status_code,
                (key, "h5_post"): c.post(f"/h5/votes/{v.pk}/", {"choice": "agree"}).status_code,
                (key, "h5_verify"): c.get(f"/h5/votes/{v.pk}/verify/").status_code,
            }
        )
    assert {k: s for k, s in statuses.items() if s != 404} == {}
    assert c.get(f"{API}/me").json()["items"] == []
    assert Ballot.objects.count() == 0


def test_list_query_counts(world, login, django_assert_max_num_queries):
    a = world.a
    for i in range(10):
        vote(side=a, title=f"表决{i}", open_=bool(i % 2))
    staff = login(a.staff[Role.PROPERTY_ADMIN])
    owner = login(a.resident)
    with django_assert_max_num_queries(10):
        assert len(staff.get(API).json()["items"]) == 10
    with django_assert_max_num_queries(10):
        assert len(owner.get(f"{API}/me").json()["items"]) == 5
    with django_assert_max_num_queries(12):
        assert staff.get("/console/votes/").status_code == 200
    with django_assert_max_num_queries(12):
        assert owner.get("/h5/votes/").status_code == 200
