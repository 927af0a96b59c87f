"""Cross-scope probe: a user of estate a gets 404 for every object of estate b through every endpoint
and page, and lists never contain b's rows; a resident reaches only their own reports."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.orgs.roles import Role
from linli.workorders.tests import factories as f
from linli.workorders.tests.conftest import image_bytes

API = "/api/v1/workorders"
CONSOLE = "/console/workorders"
ESTATE_ROLES = [
    Role.PROPERTY_ADMIN,
    Role.CUSTOMER_SERVICE,
    Role.TECHNICIAN,
    Role.GUARD,
    Role.COMMUNITY_WORKER,
    Role.SUBDISTRICT_OFFICER,
]


@pytest.fixture
def b_objects(world):
    order = f.order(world.b, kind="repair_private", room=world.b.rooms[0], photos=[image_bytes()])
    return {"order": order, "photo": order.photos.get(), "roster": f.roster(world.b, weekday=0)}


def _probes(world, b):
    o, p, r = b["order"].pk, b["photo"].pk, b["roster"].pk
    tech_a = world.a.staff[Role.TECHNICIAN].pk
    roster_body = {
        "estate_id": world.b.estate.pk,
        "technician_id": world.b.staff[Role.TECHNICIAN].pk,
        "weekday": 0,
        "start_time": "08:00",
        "end_time": "18:00",
    }
    return [
        ("get", f"{API}/{o}", None),
        ("post", f"{API}/{o}/assign", {"assignee_id": tech_a}),
        ("post", f"{API}/{o}/accept", {}),
        ("post", f"{API}/{o}/start", {}),
        ("post", f"{API}/{o}/finish", {}),
        ("post", f"{API}/{o}/cancel", {}),
        ("post", f"{API}/{o}/reopen", {"reason": "x"}),
        ("post", f"{API}/{o}/rate", {"rating": 5}),
        ("post", f"{API}/{o}/comment", {"text": "x"}),
        ("get", f"{API}/{o}/charges", None),
        ("post", f"{API}/{o}/charges", {"kind": "parts", "description": "x", "unit_price_fen": 100}),
        ("upload", f"{API}/{o}/photos", None),
        ("get", f"{API}/{o}/photos/{p}", None),
        ("get", f"{API}/me/{o}", None),
        ("post", f"{API}/me/{o}/rate", {"rating": 5}),
        ("post", f"{API}/me/{o}/reopen", {"reason": "x"}),
        ("post", f"{API}/me/{o}/cancel", {}),
        ("get", f"{API}/rosters/{r}", None),
        ("put", f"{API}/rosters/{r}", roster_body),
        ("delete", f"{API}/rosters/{r}", None),
        ("post", f"{API}/rosters", roster_body),
        ("get", f"{API}/sla-policies?estate={world.b.estate.pk}", None),
        (
            "put",
            f"{API}/sla-policies",
            {
                "estate_id": world.b.estate.pk,
                "kind": "complaint",
                "response_minutes": 5,
                "completion_minutes": 50,
            },
        ),
        ("post", API, {"estate_id": world.b.estate.pk, "kind": "complaint", "title": "x"}),
        ("page", f"{CONSOLE}/{o}/", None),
        ("page_post", f"{CONSOLE}/{o}/action/", {"action": "comment", "text": "x"}),
        ("page", f"{CONSOLE}/{o}/photos/{p}/", None),
        ("page", f"/h5/repairs/{o}/", None),
        ("page_post", f"/h5/repairs/{o}/", {"action": "cancel"}),
        ("page", f"/h5/repairs/{o}/photos/{p}/", None),
    ]


def _hidden(r, url) -> bool:
    """404, or the site's redirect of staff away from /h5/ and residents away from /console/ (no content)."""
    if r.status_code == 404:
        return True
    return r.status_code == 302 and (
        (url.startswith("/h5/") and r["Location"] == "/console/")
        or (url.startswith("/console/") and r["Location"] == "/h5/")
    )


def _call(client, method, url, body):
    if method == "get" or method == "page":
        return client.get(url)
    if method == "upload":
        return client.post(url, data={"photo": SimpleUploadedFile("a.jpg", image_bytes())})
    if method == "page_post":
        return client.post(url, data=body)
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_estate_a_staff_get_404_for_b(world, login, b_objects, role):
    client = login(world.a.staff[role])
    for method, url, body in _probes(world, b_objects):
        r = _call(client, method, url, body)
        assert _hidden(r, url), (role, method, url, r.status_code, r.content[:200])
    b = b_objects["order"]
    b.refresh_from_db()
    assert (b.state, b.events.count(), b.photos.count(), b.charges.count()) == (
        "new",
        3,
        1,
        0,
    )  # created, photo, undispatched


def test_resident_of_a_gets_404_for_b_and_for_neighbours(world, login, b_objects):
    neighbour = f.order(world.a, title="邻居的报修", photos=[image_bytes()])
    client = login(world.a.resident)
    probes = [
        *_probes(world, b_objects),
        ("get", f"{API}/me/{neighbour.pk}", None),
        ("get", f"{API}/{neighbour.pk}", None),
        ("post", f"{API}/{neighbour.pk}/cancel", {}),
        ("page", f"/h5/repairs/{neighbour.pk}/", None),
        ("page", f"/h5/repairs/{neighbour.pk}/photos/{neighbour.photos.get().pk}/", None),
    ]
    for method, url, body in probes:
        r = _call(client, method, url, body)
        if url.endswith("/rosters") or url == API or "sla-policies" in url:
            assert r.status_code in (403, 404), (method, url, r.status_code)
        else:
            assert _hidden(r, url), (method, url, r.status_code, r.content[:200])


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_lists_never_contain_b(world, login, b_objects, role):
    f.order(world.a, title="甲工单")
    client = login(world.a.staff[role])
    items = client.get(f"{API}?page_size=100").json()["items"]
    assert {i["estate_id"] for i in items} == {world.a.estate.pk}
    board = client.get(f"{API}/board").json()
    assert b_objects["order"].pk not in [o["id"] for c in board for o in c["orders"]]
    assert client.get(f"{API}/rosters").json()["count"] == 0
    names = [w["technician_id"] for w in client.get(f"{API}/workload").json()]
    assert world.b.staff[Role.TECHNICIAN].pk not in names
    assert client.get(f"{API}?estate={world.b.estate.pk}").json()["count"] == 0
    for page in ("", "list/", f"list/?estate={world.b.estate.pk}", "workload/", "rosters/", "mine/"):
        r = client.get(f"{CONSOLE}/{page}")
        if r.status_code == 200:
            assert b_objects["order"].title not in r.content.decode() or b_objects["order"].title == "甲工单"


def test_b_estate_filters_on_pages_are_404(world, login, b_objects):
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    assert client.get(f"{CONSOLE}/sla/?estate={world.b.estate.pk}").status_code == 404
    assert (
        client.post(
            f"{CONSOLE}/rosters/",
            {"estate": world.b.estate.pk, "technician": 1, "start_time": "08:00", "end_time": "09:00"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{CONSOLE}/rosters/",
            {"estate": world.a.estate.pk, "action": "delete", "roster": b_objects["roster"].pk},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{CONSOLE}/new/", {"estate": world.b.estate.pk, "kind": "complaint", "title": "x"}
        ).status_code
        == 400
    )
