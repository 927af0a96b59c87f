"""Console and guard phone pages: dashboard, routes management, QR sheet, runs; my runs, scan, finding."""

from datetime import timedelta

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.patrols import services
from linli.patrols.models import Checkpoint, Finding, PatrolRoute
from linli.patrols.tests import factories as f
from linli.patrols.tests.conftest import DAY, at


def test_dashboard_shows_todays_runs_and_30_day_rates(world, login):
    route = f.route(estate=world.a.estate)
    schedule = f.schedule(route=route)
    today = timezone.localdate()
    run = f.run(schedule=schedule, day=today)
    old = f.run(schedule=schedule, day=today - timedelta(days=3))
    services.runs_close_due(now=old.window_end + timedelta(minutes=1))

    html = login(world.a.staff[Role.PROPERTY_ADMIN]).get("/console/patrols/").content.decode()

    assert f'href="/console/patrols/runs/{run.pk}/"' in html
    assert "漏巡次数" in html
    assert "<td>日常巡逻</td><td>1</td><td>0</td><td>0</td><td>1</td>" in html


def test_routes_page_creates_a_route(world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])

    r = c.post("/console/patrols/routes/", {"estate": world.a.estate.pk, "name": "夜巡"})

    route = PatrolRoute.objects.get(name="夜巡")
    assert (r.status_code, r["Location"]) == (302, f"/console/patrols/routes/{route.pk}/")
    bad = c.post("/console/patrols/routes/", {"estate": world.a.estate.pk, "name": ""})
    assert bad.status_code == 400


def test_route_page_adds_checkpoints_and_schedules(world, login):
    route = f.route(estate=world.a.estate, checkpoints=0)
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    url = f"/console/patrols/routes/{route.pk}/"

    assert (
        c.post(
            url, {"action": "checkpoint_add", "name": "水泵房", "building": world.a.building.pk}
        ).status_code
        == 302
    )
    r = c.post(
        url,
        {
            "action": "schedule_add",
            "start_time": "22:00",
            "window_minutes": "45",
            "weekdays": ["1", "3"],
            "guards": [world.a.staff[Role.GUARD].pk],
        },
    )
    assert r.status_code == 302
    s = route.schedules.get()
    assert (s.weekdays, s.window_minutes, [g.pk for g in s.guards.all()]) == (
        "13",
        45,
        [world.a.staff[Role.GUARD].pk],
    )
    cp = Checkpoint.objects.get(route=route)
    assert cp.building == world.a.building
    old = cp.code
    assert c.post(url, {"action": "checkpoint_regenerate", "checkpoint": cp.pk}).status_code == 302
    cp.refresh_from_db()
    assert cp.code != old
    assert (
        c.post(url, {"action": "schedule_add", "start_time": "", "window_minutes": "45"}).status_code == 400
    )
    html = c.get(url).content.decode()
    assert "水泵房" in html and "22:00" in html


def test_guard_sees_the_route_but_cannot_change_it(patrol, login):
    c = login(patrol.guard)
    url = f"/console/patrols/routes/{patrol.route.pk}/"

    html = c.get(url).content.decode()
    assert "巡检点1" in html and "添加巡检点" not in html
    assert patrol.cps[0].code not in html
    assert c.post(url, {"action": "route_update", "name": "x"}).status_code == 403
    assert c.get(f"/console/patrols/routes/{patrol.route.pk}/qr/").status_code == 403


def test_qr_sheet_has_an_svg_per_checkpoint_with_the_absolute_scan_url(patrol, login):
    r = login(patrol.admin).get(f"/console/patrols/routes/{patrol.route.pk}/qr/")

    html = r.content.decode()
    assert r.status_code == 200
    assert html.count("<svg") == 3
    assert f"http://testserver/m/patrols/scan/{patrol.cps[0].code}" in html
    assert "@media print" in html
    assert r["Cache-Control"] == "no-store"


def test_qr_svg_is_an_inline_svg_element_without_xml_declaration():
    from linli.patrols.qr import svg

    out = svg("http://testserver/m/patrols/scan/abc")
    assert out.startswith("<svg") and "<path" in out and "<?xml" not in out


def test_runs_page_filters(patrol, login):
    f.run(schedule=patrol.schedule, day=DAY + timedelta(days=1))
    c = login(patrol.admin)

    html = c.get("/console/patrols/runs/", {"date_from": "2025-03-11"}).content.decode()
    assert "2025-03-11" in html and f"/console/patrols/runs/{patrol.run.pk}/" not in html
    assert (
        c.get("/console/patrols/runs/", {"date_from": "garbage", "status": "x", "route": "-1"}).status_code
        == 200
    )
    assert c.get(f"/console/patrols/runs/{patrol.run.pk}/").status_code == 200


def test_m_home_lists_my_runs_today_with_progress(world, login):
    guard = world.a.staff[Role.GUARD]
    route = f.route(estate=world.a.estate)
    schedule = f.schedule(
        route=route,
        start=(timezone.localtime() - timedelta(minutes=10)).time().replace(second=0, microsecond=0),
        minutes=120,
    )
    run = f.run(schedule=schedule, day=timezone.localdate())
    services.checkin(actor=actor_for_user(guard), code=f.checkpoints(route)[0].code)

    r = login(guard).get("/m/patrols/")

    html = r.content.decode()
    assert r.status_code == 200
    assert f'href="/m/patrols/runs/{run.pk}/"' in html
    assert "已签到 1/3" in html
    assert 'value="33"' in html


def test_scan_page_records_the_checkin_and_shows_the_next_checkpoint(patrol, login):
    with time_machine.travel(at(9, 5), tick=False):
        c = login(patrol.guard)
        first = c.get(f"/m/patrols/scan/{patrol.cps[0].code}")
        again = c.get(f"/m/patrols/scan/{patrol.cps[0].code}")
        bad = c.get("/m/patrols/scan/nope")

    assert first.status_code == 200
    assert "签到成功" in first.content.decode() and "巡检点2" in first.content.decode()
    assert "重复扫码" in again.content.decode()
    assert bad.status_code == 404
    with time_machine.travel(at(11), tick=False):
        late = login(patrol.guard).get(f"/m/patrols/scan/{patrol.cps[1].code}")
    assert late.status_code == 409


def test_scan_page_asks_to_sign_in_and_returns_there(patrol, client):
    r = client.get(f"/m/patrols/scan/{patrol.cps[0].code}")

    assert r.status_code == 302
    assert r["Location"] == f"/accounts/login/?next=/m/patrols/scan/{patrol.cps[0].code}"


def test_staff_with_an_initial_password_change_it_before_using_the_phone_pages(patrol, login):
    patrol.guard.must_change_password = True
    patrol.guard.save(update_fields=["must_change_password"])

    r = login(patrol.guard).get("/m/patrols/")

    assert (r.status_code, r["Location"]) == (
        302,
        "/accounts/security/password/",
    )


def test_residents_are_sent_home_from_the_guard_pages(patrol, world, login):
    c = login(world.a.resident)

    pages = [c.get("/m/patrols/"), c.get(f"/m/patrols/scan/{patrol.cps[0].code}")]

    assert [(r.status_code, r["Location"]) for r in pages] == [(302, "/h5/")] * 2
    assert not patrol.run.checkins.exists()


def test_finding_page_reports_with_a_photo(patrol, login):
    c = login(patrol.guard)
    url = f"/m/patrols/runs/{patrol.run.pk}/finding/"
    page = c.get(url, {"checkpoint": patrol.cps[1].pk}).content.decode()
    assert 'accept="image/*" capture="environment"' in page

    photo = SimpleUploadedFile("a.jpg", f.image_bytes(), content_type="image/jpeg")
    r = c.post(url, {"checkpoint": patrol.cps[1].pk, "description": "路灯不亮", "photos": [photo]})

    assert (r.status_code, r["Location"]) == (302, f"/m/patrols/runs/{patrol.run.pk}/")
    finding = Finding.objects.get()
    assert (finding.checkpoint, finding.photos.count(), finding.workorder_id is not None) == (
        patrol.cps[1],
        1,
        True,
    )
    junk = SimpleUploadedFile("a.jpg", b"junk", content_type="image/jpeg")
    assert c.post(url, {"description": "x", "photos": [junk]}).status_code == 400


def test_finding_page_photo_too_large_is_413(patrol, login, settings):
    settings.UPLOAD_IMAGE_MAX_BYTES = 100
    photo = SimpleUploadedFile("a.png", f.image_bytes("PNG", size=(100, 100)), content_type="image/png")

    r = login(patrol.guard).post(
        f"/m/patrols/runs/{patrol.run.pk}/finding/", {"description": "x", "photos": [photo]}
    )

    assert r.status_code == 413


def test_console_pages_have_bounded_queries(patrol, login, django_assert_max_num_queries):
    for day in range(1, 10):
        f.run(schedule=patrol.schedule, day=DAY + timedelta(days=day))
    c = login(patrol.admin)
    c.get("/console/patrols/runs/")
    for url in (
        "/console/patrols/",
        "/console/patrols/routes/",
        "/console/patrols/runs/",
        f"/console/patrols/routes/{patrol.route.pk}/",
    ):
        with django_assert_max_num_queries(20):
            assert c.get(url).status_code == 200
