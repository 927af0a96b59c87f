"""The demo device fleet: registered through the service for one estate only, with credentials, stable
keys, nothing new on a second run, and listed in the simulator's devices file."""

from __future__ import annotations

import json

from linli.demo import simulator
from linli.devices import demo
from linli.devices.models import Device, estate_code_of
from linli.people.models import CareKind
from linli.people.tests import factories as people_f
from linli.places.models import Facility
from linli.places.tests import factories as places_f


def _seed(estate):
    lines: list[str] = []
    return demo.seed(estate, log=lines.append), lines


def test_seed_creates_the_fleet_of_estate_a_only(world):
    # given estate a: one building, one 3-floor unit, three flats, no care tags, no facilities
    a = world.a
    p = estate_code_of(a.estate).lower()
    # when it is seeded
    created, lines = _seed(a.estate)
    # then every kind of device the estate has places for is registered, in estate a only
    assert created == {
        "fire_panel": 1,
        "water_pressure": 1,
        "electrical_fire": 1,
        "door_magnet": 1,
        "gas": 1,
        "water_meter": 3,
        "electricity_meter": 3,
        "smoke": 1,
    }
    devices = list(Device.objects.select_related("profile", "room"))
    assert len(devices) == 12
    assert {d.estate_id for d in devices} == {a.estate.pk}
    assert all(d.path.startswith(a.estate.path) for d in devices)
    assert Device.objects.filter(estate=world.b.estate).count() == 0
    by_key = {d.key: d for d in devices}
    assert by_key[f"{p}-gas-{a.rooms[0].pk}"].name == "1号楼1单元101 可燃气体探测器"
    assert by_key[f"{p}-gas-{a.rooms[0].pk}"].room == a.rooms[0]
    assert by_key[f"{p}-hydrant-{a.building.pk}"].name == "1号楼 消火栓水压"
    assert by_key[f"{p}-hydrant-{a.building.pk}"].facility is None
    assert by_key[f"{p}-door-{a.unit.pk}"].building == a.building
    panel = by_key[f"{p}-firepanel"]
    assert (panel.adapter, len(panel.vendor_id), panel.building) == ("gb26875", 12, None)
    smoke = [d for d in devices if d.profile.device_type == "smoke"]
    assert smoke[0].room in a.rooms
    assert smoke[0].key == f"{p}-smoke-{smoke[0].room.pk}"
    assert len(lines) == 1
    assert lines[0].startswith(f"  {a.estate.name}: 12 devices registered, 0 already there (")


def test_every_seeded_device_has_its_own_secret(world):
    # given the seeded estate a
    _seed(world.a.estate)
    # then every device has a secret of its own (stored encrypted, decrypted on read)
    secrets = [d.secret for d in Device.objects.all()]
    assert len(secrets) == 12
    assert all(len(s) >= 40 for s in secrets)
    assert len(set(secrets)) == 12


def test_a_second_run_creates_nothing(world, django_assert_max_num_queries):
    # given the seeded estate a
    _seed(world.a.estate)
    before = {(d.key, d.secret) for d in Device.objects.all()}
    # when it is seeded again
    with django_assert_max_num_queries(20):
        created, lines = _seed(world.a.estate)
    # then nothing is created and the existing credentials are untouched
    assert created == {}
    assert {(d.key, d.secret) for d in Device.objects.all()} == before
    assert "0 devices registered, 12 already there" in lines[0]


def test_elderly_tall_unit_and_hydrant_get_their_devices(world):
    # given a person living alone in flat 201, a hydrant at the building and a unit of 7 floors
    a = world.a
    p = estate_code_of(a.estate).lower()
    elder = a.persons[1]  # lives in rooms[1] (201)
    people_f.care_tag(person=elder, kind=CareKind.ELDERLY_ALONE)
    people_f.care_tag(person=a.persons[2], kind=CareKind.DISABLED)  # another kind: no devices
    hydrant = places_f.facility(
        estate=a.estate,
        building=a.building,
        kind=Facility.Kind.HYDRANT,
        name="1号楼东侧室外消火栓",
        location="1号楼东侧",
    )
    places_f.room(estate=a.estate, building=a.building, unit=a.unit, floor=7, number="701")
    # when estate a is seeded
    created, _lines = _seed(a.estate)
    # then the elder's flat has an SOS button and a wearable (health-sensitive), the unit an elevator
    # monitor and the hydrant its pressure sensor
    assert (created["sos_button"], created["wearable"], created["elevator"]) == (1, 1, 1)
    sos = Device.objects.select_related("profile").get(key=f"{p}-sos-{a.rooms[1].pk}")
    wearable = Device.objects.select_related("profile").get(key=f"{p}-wear-{elder.pk}")
    assert (sos.room, sos.name, sos.profile.health_sensitive) == (
        a.rooms[1],
        "1号楼1单元201 紧急呼叫按钮",
        True,
    )
    assert (wearable.room, wearable.name, wearable.profile.health_sensitive) == (
        a.rooms[1],
        "1号楼1单元201 老人手环",
        True,
    )
    assert elder.name not in sos.name + wearable.name
    lift = Device.objects.get(key=f"{p}-lift-{a.unit.pk}")
    assert (lift.name, lift.building) == ("1号楼1单元 电梯", a.building)
    pressure = Device.objects.get(key=f"{p}-hydrant-{a.building.pk}")
    assert (pressure.facility, pressure.location) == (hydrant, "1号楼东侧")


def test_the_fleet_stays_within_the_estate_budget(world, monkeypatch):
    # given every flat would get a smoke detector and a budget two above the other devices
    monkeypatch.setattr(demo, "SMOKE_SHARE", 1.0)
    others = [d for d in demo.plan(world.a.estate) if d.device_type != "smoke"]
    monkeypatch.setattr(demo, "MAX_PER_ESTATE", len(others) + 2)
    # when the fleet is planned
    planned = demo.plan(world.a.estate)
    # then smoke detectors give way
    assert len(planned) == len(others) + 2
    assert sum(d.device_type == "smoke" for d in planned) == 2


def test_an_estate_without_property_admin_gets_no_devices(world):
    # given an estate nobody manages
    estate = places_f.estate(name="无人小区")
    places_f.room(estate=estate, floor=1, number="101")
    # when it is seeded
    created, lines = _seed(estate)
    # then nothing is registered
    assert created == {}
    assert Device.objects.count() == 0
    assert lines == ["  无人小区: no property admin, no demo devices"]


def test_the_simulator_devices_file_lists_the_seeded_fleet(world, tmp_path):
    # given the seeded estate a
    _seed(world.a.estate)
    path = tmp_path / "demo-devices.json"
    # when the demo writes the simulator's devices file
    doc = simulator.write_demo_devices(path, "mqtt://127.0.0.1:1883")
    # then it lists exactly the seeded devices with their estate code, type and credentials
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == doc
    code = estate_code_of(world.a.estate)
    expected = {
        (d.key, code, d.profile.device_type, d.secret) for d in Device.objects.select_related("profile")
    }
    assert {(d["key"], d["estate_code"], d["type"], d["secret"]) for d in written["devices"]} == expected
    assert len(written["devices"]) == 12
    # and the simulator can load it
    loaded, _doc = simulator.load_devices(tmp_path)
    assert sorted(d.key for d in loaded) == sorted(d[0] for d in expected)
