from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent, ImportJob
from linli.devices import canonical, services
from linli.devices.ingest import ingest
from linli.devices.models import Device, DeviceProfile, DeviceStatus, RejectedMessage, estate_code_of
from linli.devices.tests import factories as f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db


def _telemetry(dev, secret, seq, values=None, ts_ms=None):
    topic = canonical.make_topic(estate_code_of(dev.estate), dev.key, "telemetry")
    ts_ms = ts_ms if ts_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
    body = {"seq": seq, "ts": ts_ms, "values": values or {"temperature": 21.5}}
    return topic, canonical.encode(topic, body, secret)


def _admin(side):
    return actor_for_user(side.staff[Role.PROPERTY_ADMIN])


def _reasons(dev):
    return list(RejectedMessage.objects.filter(device=dev).values_list("reason", flat=True))


# --- credentials -----------------------------------------------------------------------------------


def test_create_returns_a_secret_that_signs_messages_and_is_stored_encrypted(world):
    creds = services.device_create(
        actor=_admin(world.a),
        estate=world.a.estate,
        profile=DeviceProfile.objects.get(key="smoke"),
        name="1号楼3层烟感",
        key="smoke-a-301",
        building=world.a.building,
        floor=3,
    )
    dev = Device.objects.get(key="smoke-a-301")
    result = ingest([_telemetry(dev, creds.secret, 1)], via="mqtt")
    assert (result.stored, result.rejected) == (1, 0)
    assert (dev.path, dev.credential_version, dev.status) == (world.a.building.path, 1, DeviceStatus.ACTIVE)
    assert dev.secret == creds.secret
    assert creds.topic_prefix == f"linli/v1/{estate_code_of(world.a.estate)}/smoke-a-301/"
    assert AuditEvent.objects.filter(action=Action.CREATE, object_type="devices.device").count() == 1


def test_create_refuses_a_duplicate_key_and_another_estates_building(world):
    admin = _admin(world.a)
    smoke = DeviceProfile.objects.get(key="smoke")
    f.device(world.a, key="dup-key")
    with pytest.raises(Conflict):
        services.device_create(actor=admin, estate=world.a.estate, profile=smoke, name="x", key="dup-key")
    with pytest.raises(ValidationFailed) as exc:
        services.device_create(
            actor=admin, estate=world.a.estate, profile=smoke, name="x", building=world.b.building
        )
    assert list(exc.value.fields) == ["building"]
    with pytest.raises(NotFound):
        services.device_create(actor=admin, estate=world.b.estate, profile=smoke, name="x")


def test_create_needs_devices_manage(world):
    with pytest.raises(PermissionDenied):
        services.device_create(
            actor=actor_for_user(world.a.staff[Role.GUARD]),
            estate=world.a.estate,
            profile=DeviceProfile.objects.get(key="smoke"),
            name="x",
        )


def test_after_rotation_the_old_secret_is_rejected_by_ingest(world, django_capture_on_commit_callbacks):
    dev, old = f.device(world.a)
    assert ingest([_telemetry(dev, old, 1)], via="mqtt").stored == 1  # the device is now cached
    with django_capture_on_commit_callbacks(execute=True):
        creds = services.device_rotate_credentials(actor=_admin(world.a), device=dev)
    stale = ingest([_telemetry(dev, old, 2)], via="mqtt")
    fresh = ingest([_telemetry(dev, creds.secret, 3)], via="mqtt")
    assert (stale.stored, stale.rejected) == (0, 1)
    assert (fresh.stored, fresh.rejected) == (1, 0)
    assert creds.secret != old
    assert creds.device.credential_version == 2
    assert _reasons(dev) == ["bad_signature"]


def test_revoke_rejects_every_message_and_cannot_be_rotated(world, django_capture_on_commit_callbacks):
    dev, secret = f.device(world.a)
    assert ingest([_telemetry(dev, secret, 1)], via="mqtt").stored == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.device_revoke(actor=_admin(world.a), device=dev, reason="设备丢失")
    result = ingest([_telemetry(dev, secret, 2)], via="mqtt")
    dev.refresh_from_db()
    assert (result.stored, result.rejected) == (0, 1)
    assert (dev.status, dev.online) == (DeviceStatus.REVOKED, False)
    assert dev.secret != secret
    with pytest.raises(Conflict):
        services.device_rotate_credentials(actor=_admin(world.a), device=dev)
    with pytest.raises(Conflict):
        services.device_set_enabled(actor=_admin(world.a), device=dev, enabled=True)


def test_disable_rejects_messages_until_enabled_again(world, django_capture_on_commit_callbacks):
    dev, secret = f.device(world.a)
    assert ingest([_telemetry(dev, secret, 1)], via="mqtt").stored == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.device_set_enabled(actor=_admin(world.a), device=dev, enabled=False)
    disabled = ingest([_telemetry(dev, secret, 2)], via="mqtt")
    with django_capture_on_commit_callbacks(execute=True):
        services.device_set_enabled(actor=_admin(world.a), device=dev, enabled=True)
    enabled = ingest([_telemetry(dev, secret, 3)], via="mqtt")
    assert (disabled.stored, disabled.rejected) == (0, 1)
    assert (enabled.stored, enabled.rejected) == (1, 0)


# --- import ----------------------------------------------------------------------------------------


def _csv(*rows: str) -> bytes:
    return (
        "\n".join(["名称,设备类型,设备标识,楼栋,楼层,房号,位置,接入方式,厂商设备号", *rows]) + "\n"
    ).encode()


def test_import_registers_every_row_with_its_own_secret(world):
    building = world.a.building.name
    room = world.a.rooms[0].number
    data = _csv(
        f"3层烟感,smoke,imp-smoke-3,{building},3,,3层走廊,generic,",
        f"泵房水压,water_pressure,,{building},-1,,地下泵房,ctwing,860000000000003",
        f"户内燃气,点型可燃气体探测器,imp-gas-1,{building},1,{room},厨房,generic,",
    )
    outcome = services.devices_import(
        actor=_admin(world.a), estate=world.a.estate, file_name="d.csv", data=data
    )
    assert outcome.job.status == ImportJob.Status.APPLIED
    assert (outcome.job.total_rows, outcome.job.created_count) == (3, 3)
    devices = {c.device.name: c for c in outcome.credentials}
    assert set(devices) == {"3层烟感", "泵房水压", "户内燃气"}
    assert len({c.secret for c in outcome.credentials}) == 3
    gas = Device.objects.get(key="imp-gas-1")
    assert (gas.room_id, gas.floor, gas.profile.key, gas.path) == (
        world.a.rooms[0].pk,
        1,
        "gas",
        world.a.building.path,
    )
    pump = Device.objects.get(name="泵房水压")
    assert (pump.adapter, pump.vendor_id, pump.floor) == ("ctwing", "860000000000003", -1)
    result = ingest([_telemetry(gas, devices["户内燃气"].secret, 1, {"gas_concentration": 3})], via="mqtt")
    assert result.stored == 1


def test_import_with_several_bad_rows_changes_nothing(world):
    f.device(world.a, key="taken-key")
    building = world.a.building.name
    before = set(Device.objects.values_list("key", flat=True))
    data = _csv(
        f"好的一行,smoke,good-1,{building},3,,,generic,",
        f",smoke,,{building},3,,,generic,",  # row 3: no name
        f"未知类型,toaster,,{building},3,,,generic,",  # row 4
        f"重复标识,smoke,taken-key,{building},3,,,generic,",  # row 5
        "不存在的楼栋,smoke,,99号楼,3,,,generic,",  # row 6
        f"楼层越界,smoke,,{building},999,,,generic,",  # row 7
        f"未知接入,smoke,,{building},3,,,nosuch,",  # row 8
        f"与上行重复,smoke,good-1,{building},3,,,generic,",  # row 9
    )
    outcome = services.devices_import(
        actor=_admin(world.a), estate=world.a.estate, file_name="d.csv", data=data
    )
    assert outcome.job.status == ImportJob.Status.REJECTED
    assert outcome.credentials == []
    assert [(e["row"], e["column"]) for e in outcome.job.errors] == [
        (3, "名称"),
        (4, "设备类型"),
        (5, "设备标识"),
        (6, "楼栋"),
        (7, "楼层"),
        (8, "接入方式"),
        (9, "设备标识"),
    ]
    assert set(Device.objects.values_list("key", flat=True)) == before


def test_import_into_another_estate_is_not_found(world):
    with pytest.raises(NotFound):
        services.devices_import(
            actor=_admin(world.a), estate=world.b.estate, file_name="d.csv", data=_csv("x,smoke,,,,,,,")
        )


# --- profiles --------------------------------------------------------------------------------------


def test_profile_ranges_are_validated_and_applied_to_ingest(world, django_capture_on_commit_callbacks):
    admin = _admin(world.a)
    profile = DeviceProfile.objects.get(key="water_pressure")
    dev, secret = f.device(world.a, profile="water_pressure")
    with pytest.raises(ValidationFailed):
        services.profile_update_ranges(actor=admin, profile=profile, ranges={"pressure": (1.0, 0.5)})
    with pytest.raises(ValidationFailed):
        services.profile_update_ranges(actor=admin, profile=profile, ranges={"nosuch": (0, 1)})
    with pytest.raises(PermissionDenied):
        services.profile_update_ranges(
            actor=actor_for_user(world.a.staff[Role.GUARD]), profile=profile, ranges={"pressure": (0, 1)}
        )
    assert ingest([_telemetry(dev, secret, 1, {"pressure": 1.5})], via="mqtt").stored == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.profile_update_ranges(actor=admin, profile=profile, ranges={"pressure": (0.0, 1.2)})
    result = ingest([_telemetry(dev, secret, 2, {"pressure": 1.5})], via="mqtt")
    profile.refresh_from_db()
    assert (profile.point("pressure")["min"], profile.point("pressure")["max"]) == (0.0, 1.2)
    assert (result.stored, result.rejected) == (0, 1)
    assert _reasons(dev) == ["out_of_range"]


def test_validate_points_refuses_bad_declarations():
    for points in (
        [{"key": "Bad Key"}],
        [{"key": "a"}, {"key": "a"}],
        [{"key": "a", "kind": "colour"}],
        [{"key": "a", "min": "low"}],
        [{"key": "a", "kind": "enum", "values": []}],
    ):
        with pytest.raises(ValidationFailed):
            services.validate_points(points)


# --- offline check ---------------------------------------------------------------------------------


def test_offline_check_marks_silent_devices_offline_after_their_profile_delay(world):
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        temp, temp_secret = f.device(world.a, profile="temperature")  # offline after 60 min
        smoke, smoke_secret = f.device(world.a, profile="smoke")  # offline after 1500 min
        ms = int(start.timestamp() * 1000)
        ingest(
            [_telemetry(temp, temp_secret, 1, ts_ms=ms), _telemetry(smoke, smoke_secret, 1, ts_ms=ms)],
            via="t",
        )
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        early = services.devices_offline_check()
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        late = services.devices_offline_check()
        again = services.devices_offline_check()
    temp.refresh_from_db()
    smoke.refresh_from_db()
    assert (early, late, again) == (([], []), ([temp.pk], []), ([], []))
    assert (temp.online, smoke.online) == (False, True)
