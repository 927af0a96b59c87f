import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.devices import canonical
from linli.devices.ingest import ingest
from linli.devices.models import Device, DeviceProfile, DeviceStatus, estate_code_of
from linli.devices.tests import factories as f
from linli.orgs.roles import Role

pytestmark = pytest.mark.django_db
API = "/api/v1/devices"


def _send(dev, secret, kind="telemetry", start_seq=1, items=(), ts_ms=None):
    topic = canonical.make_topic(estate_code_of(dev.estate), dev.key, kind)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    msgs = []
    for i, body in enumerate(items):
        full = {"seq": start_seq + i, "ts": body.pop("ts", ts_ms or now_ms), **body}
        msgs.append((topic, canonical.encode(topic, full, secret)))
    return ingest(msgs, via="test")


@pytest.fixture
def admin(world, login):
    return login(world.a.staff[Role.PROPERTY_ADMIN])


def test_list_is_paginated_filtered_and_never_shows_a_secret(world, admin):
    smoke, _s = f.device(world.a, profile="smoke", floor=3)
    temp, temp_secret = f.device(world.a, profile="temperature", floor=5)
    f.device(world.b)
    _send(temp, temp_secret, items=[{"values": {"temperature": 20}}])
    body = admin.get(API).json()
    assert (body["count"], body["page"], body["page_size"]) == (2, 1, 20)
    assert {d["key"] for d in body["items"]} == {smoke.key, temp.key}
    assert "secret" not in json.dumps(body)
    assert smoke.secret not in json.dumps(body)
    assert [d["key"] for d in admin.get(API, {"online": "true"}).json()["items"]] == [temp.key]
    assert [d["key"] for d in admin.get(API, {"device_type": "smoke"}).json()["items"]] == [smoke.key]
    assert [d["key"] for d in admin.get(API, {"floor": 5}).json()["items"]] == [temp.key]
    assert [d["key"] for d in admin.get(API, {"q": smoke.key[:10]}).json()["items"]] == [smoke.key]
    assert [d["key"] for d in admin.get(API, {"ordering": "-floor"}).json()["items"]] == [temp.key, smoke.key]
    assert admin.get(API, {"ordering": "secret"}).status_code == 400
    assert admin.get(API, {"status": "nosuch"}).status_code == 400


def test_list_query_count_does_not_grow_with_devices(world, admin, django_assert_max_num_queries):
    for _i in range(12):
        f.device(world.a)
    with django_assert_max_num_queries(9):
        body = admin.get(API, {"page_size": 100}).json()
    assert body["count"] == 12


def test_detail_has_health_and_counters_but_no_secret(world, admin):
    dev, secret = f.device(world.a)
    _send(dev, secret, "status", items=[{"online": True, "battery": 77, "signal": -85}])
    _send(dev, secret, start_seq=2, items=[{"values": {"temperature": 20}}])
    body = admin.get(f"{API}/{dev.pk}").json()
    assert (
        body["online"],
        body["battery"],
        body["signal"],
        body["accepted_count"],
        body["rejected_count"],
    ) == (
        True,
        77,
        -85,
        1,
        0,
    )
    assert body["topic_prefix"] == f"linli/v1/{estate_code_of(world.a.estate)}/{dev.key}/"
    assert "secret" not in body
    assert secret not in json.dumps(body)


def test_register_returns_the_secret_once(world, admin):
    profile = DeviceProfile.objects.get(key="smoke")
    response = admin.post(
        API,
        {
            "estate_id": world.a.estate.pk,
            "profile_id": profile.pk,
            "name": "2号楼走廊烟感",
            "key": "api-smoke-1",
            "building_id": world.a.building.pk,
            "floor": 2,
        },
        content_type="application/json",
    )
    body = response.json()
    dev = Device.objects.get(key="api-smoke-1")
    assert response.status_code == 201
    assert (body["key"], body["secret"], body["credential_version"]) == ("api-smoke-1", dev.secret, 1)
    assert dev.secret not in admin.get(f"{API}/{dev.pk}").content.decode()
    assert dev.secret not in admin.get(API).content.decode()
    again = admin.post(
        API,
        {"estate_id": world.a.estate.pk, "profile_id": profile.pk, "name": "x", "key": "api-smoke-1"},
        content_type="application/json",
    )
    assert again.status_code == 409


def test_register_needs_devices_manage(world, login):
    guard = login(world.a.staff[Role.GUARD])
    response = guard.post(
        API,
        {
            "estate_id": world.a.estate.pk,
            "profile_id": DeviceProfile.objects.get(key="smoke").pk,
            "name": "x",
        },
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Device.objects.count() == 0


def test_rotate_revoke_disable_enable(world, admin):
    dev, old = f.device(world.a)
    rotated = admin.post(f"{API}/{dev.pk}/rotate")
    dev.refresh_from_db()
    assert rotated.status_code == 200
    assert (rotated.json()["secret"], rotated.json()["credential_version"]) == (dev.secret, 2)
    assert dev.secret != old
    assert admin.post(f"{API}/{dev.pk}/disable").json()["status"] == DeviceStatus.DISABLED
    assert admin.post(f"{API}/{dev.pk}/enable").json()["status"] == DeviceStatus.ACTIVE
    revoked = admin.post(f"{API}/{dev.pk}/revoke", {"reason": "丢失"}, content_type="application/json")
    assert (revoked.status_code, revoked.json()["status"]) == (200, DeviceStatus.REVOKED)
    assert "secret" not in revoked.json()
    assert admin.post(f"{API}/{dev.pk}/rotate").status_code == 409
    assert admin.post(f"{API}/{dev.pk}/enable").status_code == 409


def test_telemetry_series_is_downsampled_to_bucket_averages(world, admin):
    dev, secret = f.device(world.a, profile="temperature")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start_ms = int(start.timestamp() * 1000)
    # 1,000 readings one second apart: 0,1,…,9,0,1,… → 2-second buckets average (2k, 2k+1).
    items = [{"ts": start_ms + i * 1000, "values": {"temperature": i % 10}} for i in range(1000)]
    assert _send(dev, secret, items=items).stored == 1000
    until = start + timedelta(seconds=1000)
    body = admin.get(
        f"{API}/{dev.pk}/telemetry",
        {"point": "temperature", "since": start.isoformat(), "until": until.isoformat()},
    ).json()
    assert (body["bucket_seconds"], body["raw_count"], len(body["points"])) == (
        2,
        1000,
        500,
    )
    assert [p["value"] for p in body["points"][:6]] == [0.5, 2.5, 4.5, 6.5, 8.5, 0.5]
    assert (body["points"][0]["min"], body["points"][0]["max"], body["points"][0]["count"]) == (0, 1, 2)
    assert (body["unit"], body["min"], body["max"]) == ("°C", -40, 150)


def test_telemetry_series_returns_raw_points_when_few(world, admin):
    dev, secret = f.device(world.a, profile="temperature")
    _send(
        dev, secret, items=[{"values": {"temperature": 20.5, "humidity": 40}}, {"values": {"humidity": 41}}]
    )
    body = admin.get(f"{API}/{dev.pk}/telemetry", {"point": "temperature"}).json()
    assert (body["bucket_seconds"], body["raw_count"]) == (0, 1)
    assert [(p["value"], p["count"]) for p in body["points"]] == [(20.5, 1)]


@pytest.mark.parametrize(
    "query",
    [
        {"point": "nosuch"},
        {"point": "temperature", "since": "2026-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        {"point": "temperature", "since": "2025-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"point": "Bad Point"},
    ],
)
def test_telemetry_series_refuses_bad_queries(world, admin, query):
    dev, _s = f.device(world.a, profile="temperature")
    response = admin.get(f"{API}/{dev.pk}/telemetry", query)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")


def test_health_sensitive_readings_only_for_carers(world, admin, login):
    dev, secret = f.device(world.a, profile="wearable")
    _send(dev, secret, items=[{"values": {"heart_rate": 72}}])
    _send(dev, secret, "event", start_seq=2, items=[{"event": "fall", "data": {}}])
    worker = login(world.a.staff[Role.COMMUNITY_WORKER])
    assert admin.get(f"{API}/{dev.pk}").status_code == 200
    assert admin.get(f"{API}/{dev.pk}/telemetry", {"point": "heart_rate"}).status_code == 403
    assert admin.get(f"{API}/{dev.pk}/events").status_code == 403
    assert admin.get(f"{API}/{dev.pk}/rejected").status_code == 403
    assert worker.get(f"{API}/{dev.pk}/telemetry", {"point": "heart_rate"}).json()["points"][0]["value"] == 72
    assert [e["event"] for e in worker.get(f"{API}/{dev.pk}/events").json()["items"]] == ["fall"]


def test_events_and_rejected_newest_first(world, admin):
    dev, secret = f.device(world.a)
    _send(
        dev,
        secret,
        "event",
        items=[{"event": "self_test", "data": {}}, {"event": "smoke_alarm", "data": {"x": 1}}],
    )
    _send(dev, "forged", items=[{"values": {"temperature": 1}}], start_seq=9)
    events = admin.get(f"{API}/{dev.pk}/events").json()
    rejected = admin.get(f"{API}/{dev.pk}/rejected").json()
    assert [(e["seq"], e["event"]) for e in events["items"]] == [(2, "smoke_alarm"), (1, "self_test")]
    assert [r["reason"] for r in rejected["items"]] == ["bad_signature"]


def test_import_applies_all_or_answers_400_with_the_rows(world, admin):
    header = "名称,设备类型,设备标识,楼栋,楼层\n"
    good = (
        header + f"A,smoke,imp-a,{world.a.building.name},1\nB,gas,imp-b,{world.a.building.name},2\n"
    ).encode()
    bad = (header + f"C,toaster,imp-c,{world.a.building.name},1\n,smoke,imp-d,,1\n").encode()
    ok = admin.post(
        f"{API}/import",
        {"estate_id": world.a.estate.pk, "file": SimpleUploadedFile("d.csv", good, "text/csv")},
    )
    refused = admin.post(
        f"{API}/import",
        {"estate_id": world.a.estate.pk, "file": SimpleUploadedFile("d.csv", bad, "text/csv")},
    )
    assert ok.status_code == 200
    secrets = {c["key"]: c["secret"] for c in ok.json()["credentials"]}
    assert secrets == {
        "imp-a": Device.objects.get(key="imp-a").secret,
        "imp-b": Device.objects.get(key="imp-b").secret,
    }
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "import_rejected"
    assert [(e["row"], e["column"]) for e in refused.json()["job"]["errors"]] == [
        (2, "设备类型"),
        (3, "名称"),
    ]
    assert sorted(Device.objects.values_list("key", flat=True)) == ["imp-a", "imp-b"]


def test_import_template_is_a_csv_for_managers_only(world, admin, login):
    response = admin.get(f"{API}/import-template")
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines()[0].startswith("名称,设备类型,设备标识")
    assert login(world.a.staff[Role.GUARD]).get(f"{API}/import-template").status_code == 403


def test_profiles_list_get_and_ranges(world, admin, login):
    profile = DeviceProfile.objects.get(key="water_pressure")
    keys = [p["key"] for p in admin.get(f"{API}/profiles").json()]
    assert "water_pressure" in keys and "wearable" in keys
    assert [p["key"] for p in admin.get(f"{API}/profiles", {"device_type": "gas"}).json()] == ["gas"]
    assert admin.get(f"{API}/profiles/{profile.pk}").json()["points"][0]["key"] == "pressure"
    url = f"{API}/profiles/{profile.pk}/ranges"
    ok = admin.patch(url, {"ranges": {"pressure": {"min": 0.1, "max": 1.2}}}, content_type="application/json")
    inverted = admin.patch(
        url, {"ranges": {"pressure": {"min": 2, "max": 1}}}, content_type="application/json"
    )
    unknown = admin.patch(url, {"ranges": {"nosuch": {"min": 0, "max": 1}}}, content_type="application/json")
    guard = login(world.a.staff[Role.GUARD]).patch(
        url, {"ranges": {"pressure": {"min": 0, "max": 1}}}, content_type="application/json"
    )
    assert ok.status_code == 200
    assert [(p["min"], p["max"]) for p in ok.json()["points"] if p["key"] == "pressure"] == [(0.1, 1.2)]
    assert (inverted.status_code, unknown.status_code, guard.status_code) == (400, 400, 403)
    assert admin.get(f"{API}/profiles/999999").status_code == 404


def test_anonymous_is_401(world, client):
    dev, _s = f.device(world.a)
    assert client.get(API).status_code == 401
    assert client.get(f"{API}/{dev.pk}").status_code == 401
    assert client.post(f"{API}/{dev.pk}/rotate").status_code == 401


def test_rejected_per_estate_lists_only_devices_in_scope(world, admin):
    mine, _s = f.device(world.a)
    other, _o = f.device(world.b)
    _send(mine, "forged", items=[{"values": {"temperature": 1}}])
    _send(other, "forged", items=[{"values": {"temperature": 1}}])
    body = admin.get(f"{API}/rejected").json()
    assert [(r["device_id"], r["reason"]) for r in body["items"]] == [(mine.pk, "bad_signature")]
    assert admin.get(f"{API}/rejected", {"estate": world.b.estate.pk}).json()["count"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"point": "temperature", "since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00Z"},
        {"point": "temperature", "until": "0001-01-01T00:00:00Z"},
        {"point": "temperature", "since": "9999-12-31T23:59:59", "until": "9999-12-31T23:59:59+14:00"},
    ],
)
def test_telemetry_series_edge_datetimes_are_400_or_read_as_local_time(world, admin, query):
    dev, _s = f.device(world.a, profile="temperature")
    response = admin.get(f"{API}/{dev.pk}/telemetry", query)
    expected = 200 if query.get("since") == "2026-01-01T00:00:00" else 400
    assert response.status_code == expected


def test_rejected_samples_of_health_sensitive_devices_only_for_carers(world, admin, login):
    wearable, _w = f.device(world.a, profile="wearable")
    smoke, _s = f.device(world.a)
    _send(wearable, "forged", items=[{"values": {"heart_rate": 180}}])
    _send(smoke, "forged", items=[{"values": {"temperature": 1}}])
    worker = login(world.a.staff[Role.COMMUNITY_WORKER])
    assert [r["device_id"] for r in admin.get(f"{API}/rejected").json()["items"]] == [smoke.pk]
    assert {r["device_id"] for r in worker.get(f"{API}/rejected").json()["items"]} == {smoke.pk, wearable.pk}
    assert worker.get(f"{API}/{wearable.pk}/rejected").json()["count"] == 1
