"""The demo's embedded broker and simulator: signed telemetry is stored within seconds, the fire
scenario plays, the devices file lists what outside tools need, and the console's trigger is scoped."""

from __future__ import annotations

import json
import random
import stat

import pytest

from linli.core.errors import Conflict, NotFound, PermissionDenied
from linli.demo import simulator
from linli.devices.models import DeviceEvent, DeviceProfile, Telemetry
from linli.devices.mqtt import config, embedded
from linli.devices.services import device_create
from linli.devices.tests import mqtt_support as ms
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user


def _fleet(world):
    actor = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    created = []
    for key, profile in [
        ("sim-smoke-1", "smoke"),
        ("sim-lift-1", "elevator"),
        ("sim-meter-1", "electricity_meter"),
    ]:
        created.append(
            device_create(
                actor=actor,
                estate=world.a.estate,
                profile=DeviceProfile.objects.get(key=profile),
                name=key,
                key=key,
                building=world.a.building,
                room=world.a.rooms[0] if profile == "smoke" else None,
            )
        )
    return created


@pytest.mark.django_db(transaction=True)
def test_embedded_broker_and_simulator_store_telemetry_within_seconds(world, tmp_path, monkeypatch):
    monkeypatch.setenv("LINLI_MQTT_TOPIC_ROOT", ms.unique_root())
    # given three devices, the embedded broker, the devices file and a gateway on that broker
    _fleet(world)
    url, stop_broker = embedded.start_broker(tmp_path)
    try:
        doc = simulator.write_demo_devices(tmp_path / "demo-devices.json", url)
        with ms.GatewayThread(config.parse_url(url), config.topic_root()) as gw:
            # when the simulator starts (no warm-up spread)
            stop_sim = simulator.start(url, tmp_path, warmup_seconds=0.5, seed=1)
            try:
                stored = ms.wait_until(lambda: Telemetry.objects.count() >= 3, 10)
            finally:
                stop_sim()
    finally:
        stop_broker()
    # then each device's telemetry is stored, nothing was refused, and the file describes the fleet
    assert stored
    assert set(Telemetry.objects.values_list("device__key", flat=True)) == {
        "sim-smoke-1",
        "sim-lift-1",
        "sim-meter-1",
    }
    assert gw.stats.rejected == 0
    assert doc["broker"].startswith("mqtt://127.0.0.1:") and "@" not in doc["broker"]
    assert doc["topic_pattern"] == config.topic_root() + "/{estate_code}/{device_key}/{kind}"
    assert {d["key"]: (d["type"], d["estate_code"], d["room"]) for d in doc["devices"]} == {
        "sim-smoke-1": ("smoke", world.a.estate.code, world.a.rooms[0].number),
        "sim-lift-1": ("elevator", world.a.estate.code, ""),
        "sim-meter-1": ("electricity_meter", world.a.estate.code, ""),
    }
    assert stat.S_IMODE((tmp_path / "demo-devices.json").stat().st_mode) == 0o600


@pytest.mark.django_db(transaction=True)
def test_fire_scenario_stores_rising_smoke_and_the_smoke_alarm_event(world, tmp_path, monkeypatch):
    monkeypatch.setenv("LINLI_MQTT_TOPIC_ROOT", ms.unique_root())
    monkeypatch.setattr(simulator, "fire_steps", lambda rng: [(0.05, k, b) for _d, k, b in _STEPS])
    # given the simulator running on the embedded broker with a gateway
    _fleet(world)
    url, stop_broker = embedded.start_broker(tmp_path)
    try:
        simulator.write_demo_devices(tmp_path / "demo-devices.json", url)
        with ms.GatewayThread(config.parse_url(url), config.topic_root()):
            devices, _ = simulator.load_devices(tmp_path)
            sim = simulator.Simulator(
                devices, broker=simulator._simulator_broker(url, tmp_path), warmup_seconds=60, seed=2
            )
            sim.start()
            try:
                # when the fire scenario is played in estate a
                key = sim.play_fire(world.a.estate.code)
                ok = ms.wait_until(lambda: DeviceEvent.objects.filter(event="smoke_alarm").exists(), 10)
            finally:
                sim.stop()
    finally:
        stop_broker()
    # then the detector's smoke density rose and its smoke_alarm event is stored
    assert ok and key == "sim-smoke-1"
    densities = [t.values["smoke_density"] for t in Telemetry.objects.filter(device__key=key).order_by("seq")]
    assert densities == sorted(densities) and densities[-1] > 10
    assert list(DeviceEvent.objects.filter(device__key=key).values_list("event", flat=True)) == [
        "smoke_alarm"
    ]


_STEPS = [
    (0, "telemetry", {"values": {"smoke_density": d, "temperature": t}})
    for d, t in ((1, 25), (6, 40), (12, 60))
]
_STEPS.append((0, "event", {"event": "smoke_alarm", "data": {"smoke_density": 12}}))


def test_fire_steps_rise_and_raise_smoke_then_heat_alarm():
    steps = simulator.fire_steps(random.Random(3))
    densities = [b["values"]["smoke_density"] for _d, k, b in steps if k == "telemetry"]
    events = [b["event"] for _d, k, b in steps if k == "event"]
    assert densities == sorted(densities) and densities[0] < 1 and densities[-1] > 20
    assert events == ["smoke_alarm", "heat_alarm"]


def test_about_one_device_in_twenty_stays_offline_and_always_the_same():
    keys = [f"dev-{i}" for i in range(2000)]
    offline = [k for k in keys if simulator.stays_offline(k)]
    assert 50 < len(offline) < 150
    assert offline == [k for k in keys if simulator.stays_offline(k)]


@pytest.mark.django_db
def test_fire_trigger_is_scoped_and_needs_the_permission_and_a_running_simulator(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    guard = actor_for_user(world.a.staff[Role.GUARD])
    # a guard of estate a cannot reach estate b; a role without alarms.handle is refused
    with pytest.raises(NotFound):
        simulator.fire_scenario_trigger(actor=guard, estate=world.b.estate)
    with pytest.raises(PermissionDenied):
        simulator.fire_scenario_trigger(
            actor=actor_for_user(world.a.staff[Role.POLICE_OFFICER]), estate=world.a.estate
        )
    # without an embedded broker (production) the trigger explains itself
    with pytest.raises(Conflict):
        simulator.fire_scenario_trigger(actor=guard, estate=world.a.estate)


@pytest.mark.django_db(transaction=True)
def test_fire_trigger_publishes_the_control_message_the_simulator_listens_to(world, settings, tmp_path):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    settings.DATA_DIR = tmp_path
    url, stop_broker = embedded.start_broker(tmp_path, include_devices=False)
    got: list[dict] = []
    try:
        user, password = embedded.account(tmp_path, "simulator")
        broker = config.parse_url(url)
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        sub.username_pw_set(user, password)
        sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe(simulator.CONTROL_TOPIC, qos=1)
        sub.connect(broker.host, broker.port)
        sub.loop_start()
        ms.wait_until(sub.is_connected, 5)
        import time

        time.sleep(0.3)
        code = simulator.fire_scenario_trigger(
            actor=actor_for_user(world.a.staff[Role.GUARD]), estate=world.a.estate
        )
        ms.wait_until(lambda: got, 5)
        sub.disconnect()
        sub.loop_stop()
    finally:
        stop_broker()
    assert code == world.a.estate.code
    assert got == [{"scenario": "fire", "estate_code": world.a.estate.code}]


@pytest.mark.django_db
def test_rumqttd_config_lists_devices_and_platform_accounts(tmp_path):
    accounts = embedded._accounts(tmp_path)
    text = embedded.rumqttd_config(18999, {"dev-1": "s1", **dict(accounts.values())})
    assert 'listen = "127.0.0.1:18999"' in text
    assert '"dev-1" = "s1"' in text
    assert f'"linli-gateway" = "{accounts["gateway"][1]}"' in text
    assert embedded._accounts(tmp_path) == accounts  # generated once, reused
    assert stat.S_IMODE((tmp_path / "mqtt" / "accounts.json").stat().st_mode) == 0o600
