"""Console and H5 pages: board (with htmx partial), list, detail actions by role, technician's orders,
rosters, SLA, workload, staff create, resident report/detail/rate."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.orgs.roles import Role
from linli.workorders.models import DutyRoster, SlaPolicy, State, WorkOrder
from linli.workorders.tests import factories as f
from linli.workorders.tests.conftest import image_bytes

SH = ZoneInfo("Asia/Shanghai")


def test_board_highlights_breaches_and_serves_htmx_partial(world, login, django_assert_max_num_queries):
    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH)):
        late = f.order(world.a, kind="incident", title="电梯困人")
        fine = f.order(world.a, kind="suggestion", title="增加座椅")
        f.order(world.b, title="乙小区工单")
    client = login(world.a.staff[Role.PROPERTY_ADMIN])
    with time_machine.travel(datetime(2026, 3, 4, 10, 30, tzinfo=SH)):
        page = client.get(reverse("workorders:board"))
        with django_assert_max_num_queries(14):
            partial = client.get(reverse("workorders:board"), HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'hx-trigger="every 5s"' in html
    assert f'class="wo-card breached" href="/console/workorders/{late.pk}/"' in html
    assert f'class="wo-card" href="/console/workorders/{fine.pk}/"' in html
    assert "乙小区工单" not in html
    assert "<html" not in partial.content.decode() and "电梯困人" in partial.content.decode()


def test_list_masks_phone(world, login):
    f.order(world.a, contact_phone="13912345678")
    html = login(world.a.staff[Role.CUSTOMER_SERVICE]).get(reverse("workorders:list")).content.decode()
    assert "139****5678" in html and "13912345678" not in html


def test_detail_actions_by_role(world, login):
    order = f.resident_order(world.a)
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    tech = world.a.staff[Role.TECHNICIAN]
    html = admin.get(reverse("workorders:detail", args=[order.pk])).content.decode()
    assert 'value="assign"' in html and 'value="cancel"' in html and 'value="accept"' not in html
    url = reverse("workorders:action", args=[order.pk])
    r = admin.post(url, {"action": "assign", "assignee": tech.pk})
    assert r.status_code == 302
    tech_client = login(tech)
    assert 'value="accept"' in tech_client.get(reverse("workorders:detail", args=[order.pk])).content.decode()
    assert tech_client.post(url, {"action": "start"}).status_code == 409
    assert tech_client.post(url, {"action": "accept"}).status_code == 302
    assert tech_client.post(url, {"action": "start"}).status_code == 302
    assert (
        tech_client.post(
            url,
            {
                "action": "charge",
                "kind": "parts",
                "description": "角阀",
                "unit_price": "18.5",
                "quantity": "2",
            },
        ).status_code
        == 302
    )
    assert (
        tech_client.post(
            url, {"action": "photo", "photo": SimpleUploadedFile("a.jpg", image_bytes())}
        ).status_code
        == 302
    )
    assert (
        tech_client.post(url, {"action": "photo", "photo": SimpleUploadedFile("a.txt", b"text")}).status_code
        == 400
    )
    assert tech_client.post(url, {"action": "finish", "note": "好了"}).status_code == 302
    order.refresh_from_db()
    assert (order.state, order.charges.get().amount_fen, order.photos.count()) == (State.DONE, 3700, 1)
    html = admin.get(reverse("workorders:detail", args=[order.pk])).content.decode()
    assert "37.00" in html and "18.50" in html
    photo = order.photos.get()
    got = admin.get(reverse("workorders:photo", args=[order.pk, photo.pk]))
    assert (got.status_code, got["Content-Type"]) == (200, "image/jpeg")
    assert login(world.a.staff[Role.GUARD]).post(url, {"action": "cancel"}).status_code == 403


def test_technician_my_orders(world, login):
    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH)):
        f.roster(world.a, weekday=2)
        f.order(world.a, title="我的工单一")
    f.order(world.a, title="未派的工单")
    html = login(world.a.staff[Role.TECHNICIAN]).get(reverse("workorders:mine")).content.decode()
    assert "我的工单一" in html and "未派的工单" not in html
    assert login(world.a.staff[Role.CUSTOMER_SERVICE]).get(reverse("workorders:mine")).status_code == 403


def test_rosters_page_create_and_delete(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    tech = world.a.staff[Role.TECHNICIAN]
    url = reverse("workorders:rosters")
    r = admin.post(
        url,
        {
            "estate": world.a.estate.pk,
            "technician": tech.pk,
            "weekday": "1",
            "start_time": "08:00",
            "end_time": "17:00",
            "kinds": ["complaint"],
            "buildings": [world.a.building.pk],
        },
    )
    assert r.status_code == 302
    roster = DutyRoster.objects.get()
    assert (roster.weekday, roster.kinds, list(roster.buildings.all())) == (
        1,
        ["complaint"],
        [world.a.building],
    )
    assert (
        admin.post(url, {"estate": world.a.estate.pk, "technician": tech.pk, "start_time": "x"}).status_code
        == 400
    )
    assert "周二" in admin.get(url).content.decode()
    assert (
        admin.post(url, {"estate": world.a.estate.pk, "action": "delete", "roster": roster.pk}).status_code
        == 302
    )
    assert not DutyRoster.objects.exists()


def test_sla_and_workload_pages(world, login):
    admin = login(world.a.staff[Role.PROPERTY_ADMIN])
    r = admin.post(
        reverse("workorders:sla"),
        {
            "estate": world.a.estate.pk,
            "kind": "complaint",
            "response_minutes": "20",
            "completion_minutes": "600",
        },
    )
    assert r.status_code == 302
    assert SlaPolicy.objects.get().response_minutes == 20
    assert (
        admin.post(
            reverse("workorders:sla"),
            {
                "estate": world.a.estate.pk,
                "kind": "complaint",
                "response_minutes": "0",
                "completion_minutes": "1",
            },
        ).status_code
        == 400
    )
    html = admin.get(reverse("workorders:workload")).content.decode()
    assert str(world.a.staff[Role.TECHNICIAN]) in html


def test_staff_create_page(world, login):
    client = login(world.a.staff[Role.CUSTOMER_SERVICE])
    r = client.post(
        reverse("workorders:create"),
        {
            "estate": world.a.estate.pk,
            "kind": "complaint",
            "title": "夜间噪音",
            "contact_phone": "13912345678",
        },
    )
    assert r.status_code == 302
    assert WorkOrder.objects.get().title == "夜间噪音"
    assert (
        client.post(
            reverse("workorders:create"), {"estate": world.a.estate.pk, "kind": "complaint", "title": ""}
        ).status_code
        == 400
    )
    assert login(world.a.staff[Role.TECHNICIAN]).get(reverse("workorders:create")).status_code == 403


def test_h5_report_with_photo_then_rate(world, login):
    resident = login(world.a.resident)
    assert resident.get(reverse("h5repairs:home")).status_code == 200
    form = resident.get(reverse("h5repairs:new")).content.decode()
    assert 'accept="image/*" capture' in form
    r = resident.post(
        reverse("h5repairs:new"),
        {
            "kind": "repair_private",
            "room": world.a.rooms[0].pk,
            "title": "马桶堵塞",
            "photos": [SimpleUploadedFile("a.jpg", image_bytes())],
        },
    )
    assert r.status_code == 302
    order = WorkOrder.objects.get()
    assert (order.source, order.reporter, order.photos.count()) == ("resident", world.a.persons[0], 1)
    tech = world.a.staff[Role.TECHNICIAN]
    tech.display_name = "李明"
    tech.save()
    from linli.orgs.selectors import actor_for_user
    from linli.workorders import services

    services.workorder_assign(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), order=order, assignee=tech
    )
    t = actor_for_user(tech)
    services.workorder_accept(actor=t, order=order)
    services.workorder_start(actor=t, order=order)
    services.workorder_finish(actor=t, order=order)
    html = resident.get(reverse("h5repairs:detail", args=[order.pk])).content.decode()
    assert "李师傅" in html and "李明" not in html
    assert resident.get(reverse("h5repairs:photo", args=[order.pk, order.photos.get().pk])).status_code == 200
    r = resident.post(
        reverse("h5repairs:detail", args=[order.pk]), {"action": "rate", "rating": "4", "comment": "及时"}
    )
    assert r.status_code == 302
    order.refresh_from_db()
    assert (order.state, order.rating) == (State.RATED, 4)
    assert (
        resident.post(reverse("h5repairs:detail", args=[order.pk]), {"action": "cancel"}).status_code == 409
    )
    assert "我的报修" in resident.get(reverse("h5repairs:home")).content.decode()


def test_h5_oversize_photo_is_413(world, login, settings):
    settings.UPLOAD_IMAGE_MAX_BYTES = 100
    r = login(world.a.resident).post(
        reverse("h5repairs:new"),
        {"title": "漏水", "photos": [SimpleUploadedFile("a.jpg", image_bytes(size=(100, 100)))]},
    )
    assert r.status_code == 413
    assert not WorkOrder.objects.exists()
