from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.devices import canonical
from linli.devices.ingest import ingest
from linli.devices.models import Device, DeviceProfile, DeviceStatus, estate_code_of
from linli.devices.tests import factories as f
from linli.orgs.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world, login):
    return login(world.a.staff[Role.PROPERTY_ADMIN])


def _status(dev, secret, seq=1, **body):
    topic = canonical.make_topic(estate_code_of(dev.estate), dev.key, "status")
    body = {"seq": seq, "ts": int(datetime.now(UTC).timestamp() * 1000), **body}
    ingest([(topic, canonical.encode(topic, body, secret))], via="test")


def test_list_groups_devices_by_building_and_floor_with_health(world, admin):
    top, top_secret = f.device(world.a, floor=9)
    low, _s = f.device(world.a, floor=1)
    other, _o = f.device(world.b)
    _status(top, top_secret, online=True, battery=12, signal=-101)
    response = admin.get(reverse("devices:list"))
    html = response.content.decode()
    groups = response.context["groups"]
    assert response.status_code == 200
    assert [(g.building.pk, [fl.floor for fl in g.floors]) for g in groups] == [(world.a.building.pk, [9, 1])]
    assert [[d.pk for d in fl.devices] for fl in groups[0].floors] == [[top.pk], [low.pk]]
    assert response.context["counts"] == {"total": 2, "online": 1, "offline": 1}
    assert "12%" in html and "-101 dBm" in html
    assert other.key not in html
    assert top.secret not in html


def test_list_filters(world, admin):
    smoke, _s = f.device(world.a, profile="smoke")
    gas, _g = f.device(world.a, profile="gas")
    response = admin.get(reverse("devices:list"), {"device_type": "gas", "online": "0"})
    assert [d.pk for g in response.context["groups"] for fl in g.floors for d in fl.devices] == [gas.pk]
    assert smoke.key not in response.content.decode()


def test_list_query_count_does_not_grow_with_devices(world, admin, django_assert_max_num_queries):
    for floor in range(1, 16):
        f.device(world.a, floor=floor)
    with django_assert_max_num_queries(16):
        response = admin.get(reverse("devices:list"))
    assert response.context["counts"]["total"] == 15


def test_detail_shows_health_and_charts_but_never_the_secret(world, admin):
    dev, secret = f.device(world.a, profile="water_pressure")
    response = admin.get(reverse("devices:detail", args=[dev.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert secret not in html
    assert [p["key"] for p in response.context["points"]] == ["pressure", "water_level", "battery", "rssi"]
    assert f'/api/v1/devices/{dev.pk}/telemetry?point=pressure"' in html
    assert "linli/vendor/uplot/uPlot.iife.min.js" in html and "linli/devices-chart.js" in html
    assert response["Cache-Control"] == "no-store"


def test_register_shows_the_secret_once(world, admin):
    response = admin.post(
        reverse("devices:create"),
        {
            "estate": world.a.estate.pk,
            "profile": DeviceProfile.objects.get(key="smoke").pk,
            "name": "5层烟感",
            "key": "page-smoke-5",
            "building": world.a.building.pk,
            "floor": "5",
            "adapter": "generic",
        },
    )
    dev = Device.objects.get(key="page-smoke-5")
    assert response.status_code == 201
    assert dev.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert dev.secret not in admin.get(reverse("devices:detail", args=[dev.pk])).content.decode()
    assert dev.secret not in admin.get(reverse("devices:list")).content.decode()


def test_register_form_errors_and_permission(world, admin, login):
    smoke = DeviceProfile.objects.get(key="smoke")
    bad_floor = admin.post(
        reverse("devices:create"),
        {"estate": world.a.estate.pk, "profile": smoke.pk, "name": "x", "floor": "999"},
    )
    other_estate = admin.post(
        reverse("devices:create"), {"estate": world.b.estate.pk, "profile": smoke.pk, "name": "x"}
    )
    assert (bad_floor.status_code, other_estate.status_code) == (400, 400)
    assert Device.objects.count() == 0
    guard = login(world.a.staff[Role.GUARD])
    assert guard.get(reverse("devices:create")).status_code == 403
    assert admin.get(reverse("devices:create")).status_code == 200


def test_rotate_shows_the_new_secret_once_and_actions_change_status(world, admin):
    dev, old = f.device(world.a)
    rotated = admin.post(reverse("devices:act", args=[dev.pk, "rotate"]))
    dev.refresh_from_db()
    assert rotated.status_code == 200
    assert dev.secret in rotated.content.decode() and old not in rotated.content.decode()
    assert dev.secret not in admin.get(reverse("devices:detail", args=[dev.pk])).content.decode()
    admin.post(reverse("devices:act", args=[dev.pk, "disable"]))
    dev.refresh_from_db()
    assert dev.status == DeviceStatus.DISABLED
    admin.post(reverse("devices:act", args=[dev.pk, "enable"]))
    dev.refresh_from_db()
    assert dev.status == DeviceStatus.ACTIVE
    admin.post(reverse("devices:act", args=[dev.pk, "revoke"]), {"reason": "丢失"})
    dev.refresh_from_db()
    assert dev.status == DeviceStatus.REVOKED
    assert admin.post(reverse("devices:act", args=[dev.pk, "explode"])).status_code == 404


def test_guard_sees_devices_but_no_credential_actions(world, login):
    dev, _s = f.device(world.a)
    guard = login(world.a.staff[Role.GUARD])
    html = guard.get(reverse("devices:detail", args=[dev.pk])).content.decode()
    assert reverse("devices:act", args=[dev.pk, "rotate"]) not in html
    assert guard.post(reverse("devices:act", args=[dev.pk, "rotate"])).status_code == 403


def test_health_sensitive_readings_hidden_from_property_staff(world, admin, login):
    dev, _s = f.device(world.a, profile="wearable")
    property_page = admin.get(reverse("devices:detail", args=[dev.pk]))
    worker_page = login(world.a.staff[Role.COMMUNITY_WORKER]).get(reverse("devices:detail", args=[dev.pk]))
    assert (property_page.context["readings"], property_page.context["points"]) == (False, [])
    assert (property_page.context["events"], property_page.context["rejected"]) == ([], [])
    assert "telemetry?point=heart_rate" not in property_page.content.decode()
    assert "telemetry?point=heart_rate" in worker_page.content.decode()


def test_import_page_applies_or_lists_row_errors(world, admin):
    header = "名称,设备类型,设备标识,楼栋,楼层\n"
    good = (header + f"A,smoke,pg-a,{world.a.building.name},1\n").encode()
    bad = (header + "B,toaster,pg-b,,1\nC,smoke,pg-c,99号楼,1\n").encode()
    ok = admin.post(
        reverse("devices:import"),
        {"estate": world.a.estate.pk, "file": SimpleUploadedFile("d.csv", good, "text/csv")},
    )
    refused = admin.post(
        reverse("devices:import"),
        {"estate": world.a.estate.pk, "file": SimpleUploadedFile("d.csv", bad, "text/csv")},
    )
    assert ok.status_code == 200
    assert Device.objects.get(key="pg-a").secret in ok.content.decode()
    assert refused.status_code == 400
    assert [(e["row"], e["column"]) for e in refused.context["outcome"].job.errors] == [
        (2, "设备类型"),
        (3, "楼栋"),
    ]
    assert "未知的设备类型" in refused.content.decode()
    assert list(Device.objects.values_list("key", flat=True)) == ["pg-a"]
    listing = admin.get(reverse("devices:import"))
    assert [j.status for j in listing.context["page"].object_list] == ["rejected", "applied"]
    assert Device.objects.get(key="pg-a").secret not in listing.content.decode()


def test_import_template_download(world, admin):
    response = admin.get(reverse("devices:import_template"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_profiles_page_edits_ranges(world, admin, login):
    profile = DeviceProfile.objects.get(key="water_pressure")
    page = admin.get(reverse("devices:profiles"))
    assert page.status_code == 200 and "water_pressure" in page.content.decode()
    admin.post(
        reverse("devices:profiles"),
        {"profile": profile.pk, "pressure_min": "0.1", "pressure_max": "1.2", "water_level_min": "0"},
    )
    profile.refresh_from_db()
    assert (profile.point("pressure")["min"], profile.point("pressure")["max"]) == (0.1, 1.2)
    assert (profile.point("water_level")["min"], profile.point("water_level")["max"]) == (0.0, None)
    admin.post(reverse("devices:profiles"), {"profile": profile.pk, "pressure_min": "5", "pressure_max": "1"})
    profile.refresh_from_db()
    assert profile.point("pressure")["max"] == 1.2
    guard = login(world.a.staff[Role.GUARD])
    assert guard.get(reverse("devices:profiles")).status_code == 200
    assert guard.post(reverse("devices:profiles"), {"profile": profile.pk}).status_code == 403


def test_pages_need_devices_view(world, login):
    dev, _s = f.device(world.a)
    police = login(world.a.staff[Role.POLICE_OFFICER])
    assert police.get(reverse("devices:list")).status_code == 403
    assert police.get(reverse("devices:detail", args=[dev.pk])).status_code == 403
