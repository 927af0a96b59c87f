"""The console page for meter readings (抄表): entering and correcting readings, the import form, the
import template, scope and permissions."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.billing import imports, services
from linli.billing.models import FeeKind, MeterReading
from linli.billing.tests import factories as f
from linli.core.models import AuditEvent, ImportJob
from linli.orgs.roles import Role
from linli.places.tests import factories as places_f

pytestmark = pytest.mark.django_db
URL = reverse("billing:readings")


def _url(estate, period="2026-10", kind="water", **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"period": period, "kind": kind, **extra}.items())
    return f"{URL}?estate={estate.pk}&{query}"


def _enter(estate, room, previous, current, *, period="2026-10", kind="water") -> dict:
    return {
        "estate": estate.pk,
        "period": period,
        "kind": kind,
        "room": room.pk,
        "previous": previous,
        "current": current,
    }


def _reading(actor, room, period, previous, current, kind="water"):
    return services.meter_reading_enter(
        actor=actor,
        room=room,
        kind=kind,
        period=period,
        previous=Decimal(previous),
        current=Decimal(current),
    )


def _row_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr id="room-(\d+)"', html)}


def _csv(rows: list[str]) -> SimpleUploadedFile:
    head = "楼栋,单元,房号,类型,月份,上期读数,本期读数"
    data = ("\n".join([head, *rows]) + "\n").encode()
    return SimpleUploadedFile("readings.csv", data, content_type="text/csv")


@pytest.mark.parametrize("role", [Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE])
def test_page_renders_rooms_with_previous_and_current_readings(world, login, mgr, role):
    # given room 0 read in September and October, room 1 read in August only
    a = world.a
    _reading(mgr, a.rooms[0], "2026-09", "100", "120.50")
    _reading(mgr, a.rooms[0], "2026-10", "120.50", "131")
    _reading(mgr, a.rooms[1], "2026-08", "7", "9.25")
    _reading(mgr, a.rooms[1], "2026-10", "1", "2", kind="electricity")  # another meter: not shown
    # when the October water page is opened
    r = login(a.staff[role]).get(_url(a.estate))
    html = r.content.decode()
    # then every room of the estate is listed with the latest earlier reading, the month's and the usage
    assert r.status_code == 200
    assert _row_ids(html) == {room.pk for room in a.rooms}
    row0 = html.split(f'<tr id="room-{a.rooms[0].pk}">')[1].split("</tr>")[0]
    assert '120.50 <span class="muted">（2026-09）</span>' in row0
    assert "120.50 → 131.00" in row0 and "<td>10.50</td>" in row0 and "更正" in row0
    row1 = html.split(f'<tr id="room-{a.rooms[1].pk}">')[1].split("</tr>")[0]
    assert '9.25 <span class="muted">（2026-08）</span>' in row1
    assert "未录入" in row1 and 'name="previous" value="9.25"' in row1  # the form starts from it
    assert reverse("billing:readings_template") in html
    assert (
        reverse("billing:readings") in login(a.staff[role]).get(reverse("billing:dashboard")).content.decode()
    )


def test_entering_a_reading_stores_it_through_the_service(world, login, clerk):
    a = world.a
    c = login(a.staff[Role.CUSTOMER_SERVICE])
    # when a clerk enters room 1's October water reading
    r = c.post(URL, _enter(a.estate, a.rooms[1], "10", "22.5"))
    # then it is stored with the exact values, by that user, with an audit record
    assert r.status_code == 302
    assert r["Location"] == f"{URL}?estate={a.estate.pk}&period=2026-10&kind=water&page=1"
    reading = MeterReading.objects.get()
    assert (reading.room_id, reading.estate_id, reading.kind, reading.period) == (
        a.rooms[1].pk,
        a.estate.pk,
        "water",
        "2026-10",
    )
    assert (reading.previous, reading.current, reading.usage) == (
        Decimal("10.00"),
        Decimal("22.50"),
        Decimal("12.50"),
    )
    assert reading.entered_by == a.staff[Role.CUSTOMER_SERVICE]
    assert (
        AuditEvent.objects.filter(object_type="billing.meterreading", object_id=str(reading.pk)).count() == 1
    )
    page = c.get(r["Location"]).content.decode()
    assert "已保存" in page and "10.00 → 22.50" in page
    # when it is corrected before billing
    r = c.post(URL, _enter(a.estate, a.rooms[1], "10", "23.75"))
    # then the same reading now holds the new value
    assert r.status_code == 302
    reading.refresh_from_db()
    assert (MeterReading.objects.count(), reading.current) == (1, Decimal("23.75"))


@pytest.mark.parametrize(
    ("previous", "current", "message"),
    [
        ("-1", "5", "数值超出允许范围"),
        ("5", "4", "本期读数不能小于上期读数"),
        ("abc", "5", "请输入数字"),
        ("5", "六", "请输入数字"),
        ("5", "6.123", "最多 2 位小数"),
        ("", "6", "请输入数字"),
    ],
)
def test_bad_input_shows_the_service_error_and_stores_nothing(world, login, previous, current, message):
    a = world.a
    c = login(a.staff[Role.PROPERTY_ADMIN])
    r = c.post(URL, _enter(a.estate, a.rooms[0], previous, current))
    html = r.content.decode()
    assert r.status_code == 400
    row = html.split(f'<tr id="room-{a.rooms[0].pk}">')[1].split("</tr>")[0]
    assert f"<li>{message}</li>" in row  # the error sits on the row that was posted
    assert f'name="current" value="{current}"' in row  # what was typed is kept
    assert MeterReading.objects.count() == 0


def test_bad_period_or_kind_in_the_form_is_refused(world, login):
    a = world.a
    c = login(a.staff[Role.PROPERTY_ADMIN])
    r = c.post(URL, _enter(a.estate, a.rooms[0], "1", "2", period="2026-13"))
    assert r.status_code == 400 and "账期格式为 2026-10（月）或 2026-Q4（季度）" in r.content.decode()
    r = c.post(URL, _enter(a.estate, a.rooms[0], "1", "2", kind="gas"))
    assert r.status_code == 400 and "只能是 water 或 electricity" in r.content.decode()
    assert MeterReading.objects.count() == 0
    r = c.get(_url(a.estate, period="10/2026"))
    assert r.status_code == 200 and "月份格式为 2026-10" in r.content.decode()


def test_a_correction_after_billing_is_refused_and_the_row_is_read_only(world, login, mgr):
    # given room 0's October water reading, billed by the October run
    a = world.a
    reading = _reading(mgr, a.rooms[0], "2026-10", "5", "7")
    f.fee_item(estate=a.estate, kind=FeeKind.WATER, unit_price="5")
    services.bill_run_start(actor=mgr, estate=a.estate, period="2026-10")
    c = login(a.staff[Role.PROPERTY_ADMIN])
    # when someone posts a correction anyway
    r = c.post(URL, _enter(a.estate, a.rooms[0], "5", "8"))
    # then it is refused with the service's 409 message and nothing changes
    assert r.status_code == 409
    row = r.content.decode().split(f'<tr id="room-{a.rooms[0].pk}">')[1].split("</tr>")[0]
    assert "<li>该月读数已出账，不能再修改</li>" in row
    reading.refresh_from_db()
    assert (reading.previous, reading.current) == (Decimal("5.00"), Decimal("7.00"))
    # and the page shows that row as billed, without a form
    html = c.get(_url(a.estate)).content.decode()
    row = html.split(f'<tr id="room-{a.rooms[0].pk}">')[1].split("</tr>")[0]
    assert "已出账" in row and "<form" not in row
    other = html.split(f'<tr id="room-{a.rooms[1].pk}">')[1].split("</tr>")[0]
    assert "<form" in other and "已出账" not in other  # not billed: a new reading would still be stored


def test_import_with_a_bad_row_changes_nothing_and_lists_the_error(world, login):
    a = world.a
    unit = a.unit.name
    c = login(a.staff[Role.CUSTOMER_SERVICE])
    bad = _csv(
        [
            f"1号楼,{unit},101,水,2026-10,1,2",
            f"1号楼,{unit},999,水,2026-10,1,2",
            f"1号楼,{unit},201,电,2026-10,5,4",
        ]
    )
    # when a file with two bad rows is uploaded
    r = c.post(URL, {"action": "import", "estate": a.estate.pk, "file": bad})
    html = r.content.decode()
    # then nothing is stored and every rejected row is listed with its reason
    assert r.status_code == 422
    assert MeterReading.objects.count() == 0
    assert ImportJob.objects.get().status == ImportJob.Status.REJECTED
    assert "文件有 2 处错误，未导入任何数据" in html
    assert "<tr><td>3</td><td>房号</td><td>本小区没有这套房屋</td></tr>" in html
    assert "<tr><td>4</td><td>本期读数</td><td>本期读数不能小于上期读数</td></tr>" in html
    # when the corrected file is uploaded
    good = _csv([f"1号楼,{unit},101,水,2026-10,1,2", f"1号楼,{unit},201,电,2026-10,5,40.5"])
    r = c.post(URL, {"action": "import", "estate": a.estate.pk, "file": good})
    # then both rows are stored
    assert r.status_code == 302
    assert sorted(MeterReading.objects.values_list("room_id", "kind", "previous", "current")) == sorted(
        [
            (a.rooms[0].pk, "water", Decimal("1.00"), Decimal("2.00")),
            (a.rooms[1].pk, "electricity", Decimal("5.00"), Decimal("40.50")),
        ]
    )
    assert "导入成功：新增 2 条读数" in c.get(r["Location"]).content.decode()


def test_import_without_a_file_or_too_large_is_refused(world, login, settings):
    a = world.a
    c = login(a.staff[Role.PROPERTY_ADMIN])
    r = c.post(URL, {"action": "import", "estate": a.estate.pk})
    assert r.status_code == 400 and "请选择要上传的文件" in r.content.decode()
    settings.IMPORT_MAX_BYTES = 10
    r = c.post(
        URL, {"action": "import", "estate": a.estate.pk, "file": _csv(["1号楼,1单元,101,水,2026-10,1,2"])}
    )
    assert r.status_code == 413
    assert ImportJob.objects.count() == 0 and MeterReading.objects.count() == 0


def test_import_template_has_the_headers_the_import_expects(world, login):
    from openpyxl import load_workbook

    r = login(world.a.staff[Role.CUSTOMER_SERVICE]).get(reverse("billing:readings_template"))
    assert r.status_code == 200
    assert r["Content-Disposition"] == 'attachment; filename="meter-readings-template.xlsx"'
    ws = load_workbook(io.BytesIO(r.content), read_only=True).active
    header = list(next(ws.iter_rows(values_only=True)))
    assert header == ["楼栋", "单元", "房号", "类型", "月份", "上期读数", "本期读数"]
    assert header == [h for h, _aliases in imports.COLUMNS.values()]


def test_building_filter_and_pagination(world, login):
    a = world.a
    other = places_f.building(estate=a.estate, name="2号楼")
    extra = [places_f.room(estate=a.estate, building=other, floor=1, number=f"1{i:02d}") for i in range(21)]
    c = login(a.staff[Role.PROPERTY_ADMIN])
    page1 = c.get(_url(a.estate, building=other.pk)).content.decode()
    page2 = c.get(_url(a.estate, building=other.pk, page=2)).content.decode()
    assert len(_row_ids(page1)) == 20 and len(_row_ids(page2)) == 1
    assert _row_ids(page1) | _row_ids(page2) == {r.pk for r in extra}
    assert f"building={other.pk}&amp;page=2" in page1
    assert _row_ids(c.get(_url(a.estate, building=a.building.pk)).content.decode()) == {r.pk for r in a.rooms}


def test_cross_scope_probe(world, login):
    # given readings in estate b
    a, b = world.a, world.b
    b_mgr = f.manager(b.estate)
    _reading(b_mgr, b.rooms[0], "2026-10", "1", "2")
    for role in (Role.PROPERTY_ADMIN, Role.CUSTOMER_SERVICE):
        c = login(a.staff[role])
        # b's estate id is not found, on the page and in every form
        assert c.get(_url(b.estate)).status_code == 404
        assert c.post(URL, _enter(b.estate, b.rooms[0], "1", "3")).status_code == 404
        assert c.post(URL, _enter(a.estate, b.rooms[0], "1", "3")).status_code == 404
        assert c.post(URL, _enter(a.estate, b.rooms[1], "1", "3")).status_code == 404
        r = c.post(
            URL, {"action": "import", "estate": b.estate.pk, "file": _csv(["1号楼,1单元,101,水,2026-10,1,2"])}
        )
        assert r.status_code == 404
        # a's page never lists b's rooms, not even when filtered by b's building
        assert _row_ids(c.get(URL).content.decode()) == {room.pk for room in a.rooms}
        html = c.get(_url(a.estate, building=b.building.pk)).content.decode()
        assert _row_ids(html) == set() and b.estate.name not in html
    assert list(MeterReading.objects.values_list("room_id", "current")) == [(b.rooms[0].pk, Decimal("2.00"))]
    assert ImportJob.objects.count() == 0


def test_roles_without_billing_view_are_refused(world, login):
    a = world.a
    for role in (Role.TECHNICIAN, Role.GUARD, Role.COMMUNITY_WORKER, Role.POLICE_OFFICER):
        c = login(a.staff[role])
        assert c.get(_url(a.estate)).status_code == 403, role
        assert c.post(URL, _enter(a.estate, a.rooms[0], "1", "2")).status_code == 403, role
        assert c.get(reverse("billing:readings_template")).status_code == 403, role
    assert MeterReading.objects.count() == 0


def test_query_count_does_not_grow_with_rooms(world, login, mgr, django_assert_max_num_queries):
    # given a full page of rooms, each with several months of readings and a billed month
    a = world.a
    rooms = [
        *a.rooms,
        *[
            places_f.room(estate=a.estate, building=a.building, floor=9, number=f"9{i:02d}")
            for i in range(17)
        ],
    ]
    for room in rooms:
        _reading(mgr, room, "2026-08", "0", "5")
        _reading(mgr, room, "2026-09", "5", "9")
        _reading(mgr, room, "2026-10", "9", "12")
    f.fee_item(estate=a.estate, kind=FeeKind.WATER, unit_price="5")
    services.bill_run_start(actor=mgr, estate=a.estate, period="2026-09")
    c = login(a.staff[Role.PROPERTY_ADMIN])
    c.get(_url(a.estate))  # warm the session
    with django_assert_max_num_queries(16):
        r = c.get(_url(a.estate, period="2026-09"))
    html = r.content.decode()
    assert len(_row_ids(html)) == 20 and html.count("已出账，不能修改") == 20
