"""Cross-scope probe: a user of estate a never reaches estate b's patrol data, through any endpoint or
page; lists never contain b's rows; a guard of a cannot check in at b's checkpoint."""

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from linli.orgs.selectors import actor_for_user
from linli.patrols import services
from linli.patrols.models import CheckIn
from linli.patrols.tests import factories as f
from linli.patrols.tests.conftest import at

API = "/api/v1/patrols"
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


@pytest.fixture
def b(patrol):
    finding = services.finding_report(
        actor=actor_for_user(patrol.b_guard),
        run=patrol.b_run,
        checkpoint=patrol.b_cps[0],
        description="乙的问题",
        photos=[SimpleUploadedFile("p.jpg", f.image_bytes(), content_type="image/jpeg")],
    )
    return {
        "route": patrol.b_route,
        "checkpoint": patrol.b_cps[0],
        "schedule": patrol.b_schedule,
        "run": patrol.b_run,
        "finding": finding,
        "photo": finding.photos.get(),
    }


def _api_probes(b):
    j = "application/json"
    return [
        ("get", f"{API}/routes/{b['route'].pk}", None, None),
        ("patch", f"{API}/routes/{b['route'].pk}", {"name": "x"}, j),
        ("delete", f"{API}/routes/{b['route'].pk}", None, None),
        ("get", f"{API}/checkpoints/{b['checkpoint'].pk}", None, None),
        ("patch", f"{API}/checkpoints/{b['checkpoint'].pk}", {"name": "x"}, j),
        ("delete", f"{API}/checkpoints/{b['checkpoint'].pk}", None, None),
        ("post", f"{API}/checkpoints/{b['checkpoint'].pk}/regenerate-code", None, None),
        ("post", f"{API}/checkpoints", {"route_id": b["route"].pk, "name": "x"}, j),
        ("get", f"{API}/schedules/{b['schedule'].pk}", None, None),
        ("patch", f"{API}/schedules/{b['schedule'].pk}", {"window_minutes": 30}, j),
        ("delete", f"{API}/schedules/{b['schedule'].pk}", None, None),
        ("post", f"{API}/schedules", {"route_id": b["route"].pk, "start_time": "08:00"}, j),
        ("post", f"{API}/routes", {"estate_id": b["route"].estate_id, "name": "x"}, j),
        ("get", f"{API}/runs/{b['run'].pk}", None, None),
        ("get", f"{API}/findings/{b['finding'].pk}", None, None),
        ("get", f"{API}/photos/{b['photo'].pk}", None, None),
        ("post", f"{API}/findings", {"run_id": b["run"].pk, "description": "x"}, None),
    ]


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_every_endpoint_answers_404_for_estate_b_objects(role, world, b, login):
    c = login(world.a.staff[role])
    for method, url, body, content_type in _api_probes(b):
        kwargs = {"content_type": content_type} if content_type else {}
        r = getattr(c, method)(url, body, **kwargs) if body is not None else getattr(c, method)(url)
        assert (method, url, r.status_code) == (method, url, 404)


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_lists_never_contain_estate_b_rows(role, world, b, patrol, login):
    c = login(world.a.staff[role])
    can_view = Perm.PATROLS_VIEW in ROLE_PERMISSIONS[role]
    for path, b_id in (
        ("routes", b["route"].pk),
        ("checkpoints", b["checkpoint"].pk),
        ("schedules", b["schedule"].pk),
        ("runs", b["run"].pk),
        ("findings", b["finding"].pk),
    ):
        r = c.get(f"{API}/{path}")
        if not can_view:
            assert r.status_code == 403
            continue
        ids = [i["id"] for i in r.json()["items"]]
        assert b_id not in ids
        assert c.get(f"{API}/{path}", {"estate": b["route"].estate_id}).json()["items"] == []
    r = c.get(f"{API}/stats", {"estate": b["route"].estate_id})
    if can_view:
        assert r.json()["routes"] == []


def test_a_guard_of_a_cannot_check_in_at_bs_checkpoint(world, b, login):
    with time_machine.travel(at(9, 5), tick=False):
        api = login(world.a.staff[Role.GUARD]).post(
            f"{API}/checkins", {"code": b["checkpoint"].code}, content_type="application/json"
        )
        page = login(world.a.staff[Role.GUARD]).get(f"/m/patrols/scan/{b['checkpoint'].code}")

    assert (api.status_code, page.status_code) == (404, 404)
    assert CheckIn.objects.count() == 0


def _page_probes(b):
    return [
        f"/console/patrols/routes/{b['route'].pk}/",
        f"/console/patrols/routes/{b['route'].pk}/qr/",
        f"/console/patrols/runs/{b['run'].pk}/",
        f"/console/patrols/photos/{b['photo'].pk}/",
        f"/m/patrols/runs/{b['run'].pk}/",
        f"/m/patrols/runs/{b['run'].pk}/finding/",
    ]


@pytest.mark.parametrize("role", ESTATE_ROLES)
def test_every_page_answers_404_for_estate_b_objects(role, world, b, login):
    c = login(world.a.staff[role])
    for url in _page_probes(b):
        assert (url, c.get(url).status_code) == (url, 404)
    r = c.post(f"/console/patrols/routes/{b['route'].pk}/", {"action": "route_update", "name": "x"})
    assert r.status_code == 404


def test_console_lists_do_not_show_estate_b(world, b, patrol, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    for url in ("/console/patrols/", "/console/patrols/routes/", "/console/patrols/runs/"):
        html = c.get(url).content.decode()
        assert "乙巡逻" not in html
        assert "日常巡逻" in html or url == "/console/patrols/"  # the dashboard shows today's runs only
