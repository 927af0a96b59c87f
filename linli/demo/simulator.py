"""The demo's device simulator: signed canonical MQTT messages for every simulated device.

    url, stop_broker = embedded.start_broker(data_dir)
    write_demo_devices(data_dir / "demo-devices.json", url)
    stop_simulator = simulator.start(url, data_dir)

``start`` reads ``<data dir>/demo-devices.json`` (written by :func:`write_demo_devices` from the
Device table) and runs in a daemon thread of the calling process; it needs no database. It
publishes over one MQTT 5 connection (the broker's ``linli-simulator`` account when the embedded
broker made one, otherwise the URL's credentials), every message signed with its device's secret,
on ``<root>/{estate_code}/{device_key}/{telemetry|event|status}`` (root ``LINLI_MQTT_TOPIC_ROOT``,
default ``linli/v1``). Outside tools can speak to the broker exactly like a real device with the
per-device username/password listed in the same file.

What it plays:
- periodic telemetry per device type at realistic rates, scaled so the whole demo sends a few
  messages per second (meters every few minutes, elevators every few seconds);
- a status message (online, battery, signal) when it starts and now and then;
- occasional faults: elevator fault codes (E35 door lock, E42 overspeed …) with ``fault`` and
  ``fault_clear`` events, smoke detectors reporting ``low_battery``, hydrants dipping below pressure;
- about one device in twenty never publishes (shows offline after its profile's timeout);
- the fire scenario on request: in one flat the smoke detector's density and temperature rise over
  ~20 s, then it raises ``smoke_alarm`` and ``heat_alarm`` events (the alarm rules turn smoke +
  temperature rise into a fire alarm).

The fire scenario is requested by :func:`fire_scenario_trigger` (the console's button), which
publishes ``{"scenario": "fire", "estate_code": ...}`` on the control topic ``linli/sim/control``
(outside the device tree, so gateways never see it); the simulator subscribes to it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from linli.devices.mqtt import config

log = logging.getLogger("linli.simulator")

DEVICES_FILE = "demo-devices.json"
CONTROL_TOPIC = "linli/sim/control"
TARGET_RATE = 4.0  # messages per second for the whole demo, roughly
OFFLINE_SHARE = 0.05

# Seconds between telemetry messages of one device, before scaling to TARGET_RATE.
INTERVALS = {
    "smoke": 600,
    "gas": 600,
    "temperature": 120,
    "water_pressure": 60,
    "water_meter": 900,
    "electricity_meter": 300,
    "elevator": 15,
    "door_magnet": 300,
    "sos_button": 1800,
    "wearable": 120,
    "camera": 300,
    "electrical_fire": 120,
    "fire_panel": 300,
    "generic": 300,
}
ELEVATOR_FAULTS = [("E35", "门锁回路断开"), ("E42", "超速保护动作"), ("E30", "平层感应器故障")]


@dataclass
class SimDevice:
    key: str
    secret: str
    type: str
    estate_code: str
    room: str = ""
    floor: int | None = None
    state: dict = field(default_factory=dict)
    seq: int = 0

    def next_seq(self) -> int:
        # Time-based, so a restarted simulator never reuses a sequence number (it would be a duplicate).
        self.seq = max(self.seq + 1, int(time.time() * 1000))
        return self.seq


def load_devices(data_dir: Path | str) -> tuple[list[SimDevice], dict]:
    doc = json.loads((Path(data_dir) / DEVICES_FILE).read_text(encoding="utf-8"))
    devices = [
        SimDevice(
            key=d["key"],
            secret=d["secret"],
            type=d["type"],
            estate_code=d["estate_code"],
            room=d.get("room") or "",
            floor=d.get("floor"),
        )
        for d in doc.get("devices", [])
    ]
    return devices, doc


def stays_offline(key: str) -> bool:
    """About one device in twenty never reports (deterministic, so the same ones every run)."""
    return hashlib.sha256(key.encode()).digest()[0] < int(256 * OFFLINE_SHARE)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def telemetry_values(dev: SimDevice, rng: random.Random) -> dict:
    """One realistic reading for ``dev``; keeps running totals in ``dev.state``."""
    s = dev.state
    t = dev.type
    if t == "smoke":
        return {
            "smoke_density": round(rng.uniform(0.0, 0.3), 2),
            "temperature": round(rng.uniform(20, 27), 1),
            "battery": s.setdefault("battery", rng.randint(60, 100)),
        }
    if t == "gas":
        return {
            "gas_concentration": round(rng.uniform(0, 2), 1),
            "battery": s.setdefault("battery", rng.randint(60, 100)),
        }
    if t == "temperature":
        return {"temperature": round(rng.uniform(18, 28), 1), "humidity": round(rng.uniform(30, 70), 1)}
    if t == "water_pressure":
        low = s.get("low_until", 0) > time.time()
        return {"pressure": round(rng.uniform(0.05, 0.09) if low else rng.uniform(0.28, 0.42), 3)}
    if t == "water_meter":
        s["flow"] = round(s.get("flow", rng.uniform(10, 500)) + rng.uniform(0, 0.05), 3)
        return {"cumulative_flow": s["flow"], "valve_state": "open", "battery_low": False}
    if t == "electricity_meter":
        power = rng.uniform(0.1, 4.5)
        s["energy"] = round(s.get("energy", rng.uniform(100, 5000)) + power / 12, 2)
        voltage = rng.uniform(215, 235)
        return {
            "active_energy": s["energy"],
            "active_power": round(power, 3),
            "voltage": round(voltage, 1),
            "current": round(power * 1000 / voltage, 2),
        }
    if t == "elevator":
        floors = s.setdefault("floors", rng.randint(11, 33))
        at = s.get("at", 1)
        target = s.get("target") or rng.randint(1, floors)
        running = at != target
        direction = "up" if target > at else "down" if target < at else "none"
        at = at + (1 if target > at else -1 if target < at else 0)
        s["at"], s["target"] = at, (None if at == target else target)
        fault = s.get("fault_code", "")
        return {
            "floor": str(at),
            "running": running and not fault,
            "direction": direction if not fault else "none",
            "door_open": not running,
            "door_zone": not running,
            "passenger": rng.random() < 0.5,
            "load": rng.randint(0, 80),
            "service_mode": "out_of_service" if fault else "normal",
            "fault_code": fault,
        }
    if t == "door_magnet":
        return {"open": rng.random() < 0.05, "battery": s.setdefault("battery", rng.randint(60, 100))}
    if t == "sos_button":
        return {"battery": s.setdefault("battery", rng.randint(60, 100))}
    if t == "wearable":
        s["steps"] = s.get("steps", 0) + rng.randint(0, 120)
        return {
            "heart_rate": rng.randint(62, 92),
            "spo2": rng.randint(95, 99),
            "body_temperature": round(rng.uniform(36.1, 36.9), 1),
            "steps": s["steps"],
            "worn": True,
            "battery": s.setdefault("battery", rng.randint(40, 100)),
        }
    if t == "camera":
        return {"recording": True, "storage_free": rng.randint(20, 80)}
    if t == "electrical_fire":
        return {
            "residual_current": rng.randint(20, 180),
            "cable_temperature": round(rng.uniform(25, 42), 1),
            "ambient_temperature": round(rng.uniform(20, 32), 1),
            "current": round(rng.uniform(5, 60), 1),
        }
    if t == "fire_panel":
        return {"signal": rng.randint(60, 100)}
    return {"value": round(rng.uniform(0, 100), 2)}


def maybe_fault(dev: SimDevice, rng: random.Random) -> list[tuple[str, dict]]:
    """Occasional faults and their recovery, as (event, data) pairs to publish."""
    s = dev.state
    out: list[tuple[str, dict]] = []
    if dev.type == "elevator":
        if s.get("fault_code"):
            if time.time() > s["fault_until"]:
                out.append(("fault_clear", {"fault_code": s.pop("fault_code")}))
        elif rng.random() < 0.004:
            code, text = rng.choice(ELEVATOR_FAULTS)
            s["fault_code"], s["fault_until"] = code, time.time() + rng.uniform(60, 240)
            out.append(("fault", {"fault_code": code, "description": text}))
    elif dev.type == "smoke" and not s.get("low_battery") and rng.random() < 0.01:
        s["low_battery"], s["battery"] = True, rng.randint(5, 15)
        out.append(("low_battery", {"battery": s["battery"]}))
    elif dev.type == "water_pressure" and s.get("low_until", 0) < time.time() and rng.random() < 0.01:
        s["low_until"] = time.time() + 180
        out.append(("low_pressure", {"pressure": 0.07}))
    return out


def fire_steps(rng: random.Random) -> list[tuple[float, str, dict]]:
    """The fire scenario for one smoke detector: (delay s, kind, body without seq/ts/sig)."""
    steps: list[tuple[float, str, dict]] = []
    for i in range(10):
        density = round(0.3 + i * 2.6 + rng.uniform(0, 0.4), 2)
        temperature = round(24 + i * 5.0 + rng.uniform(0, 1), 1)
        steps.append((2.0, "telemetry", {"values": {"smoke_density": density, "temperature": temperature}}))
        if i == 5:
            steps.append((0.2, "event", {"event": "smoke_alarm", "data": {"smoke_density": density}}))
        if i == 7:
            steps.append((0.2, "event", {"event": "heat_alarm", "data": {"temperature": temperature}}))
    return steps


class Simulator:
    """Publishes for ``devices`` until ``stop()``; runs the fire scenario when asked."""

    def __init__(
        self,
        devices: list[SimDevice],
        *,
        broker: config.BrokerAddress,
        root: str | None = None,
        target_rate: float = TARGET_RATE,
        warmup_seconds: float = 20.0,
        seed: int | None = None,
    ) -> None:
        from linli.devices import canonical

        self._encode = canonical.encode
        self.devices = devices
        self.by_key = {d.key: d for d in devices}
        self.broker = broker
        self.root = root or config.topic_root()
        self.rng = random.Random(seed)
        self.warmup = warmup_seconds
        self.published = 0
        self.fires_played = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, str, str, dict]] = []
        self._counter = 0
        self.active = [d for d in devices if not stays_offline(d.key)]
        rate = sum(1.0 / INTERVALS.get(d.type, 300) for d in self.active) or 1.0
        self.scale = rate / target_rate if target_rate > 0 else 1.0
        self.client = self._make_client()

    def _make_client(self):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"linli-simulator-{os.getpid()}", protocol=mqtt.MQTTv5
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        client.max_inflight_messages_set(50)
        client.max_queued_messages_set(1000)  # bounded: a dead broker cannot make us grow
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_message = self._on_control
        return client

    # --- MQTT ---------------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("simulator: broker refused the connection: %s", reason_code)
            return
        client.subscribe(CONTROL_TOPIC, qos=1)

    def _on_control(self, client, userdata, message) -> None:
        try:
            cmd = json.loads(message.payload)
        except ValueError:
            log.warning("simulator: ignored a malformed control message")
            return
        if cmd.get("scenario") == "fire":
            self.play_fire(cmd.get("estate_code"), cmd.get("device_key"))

    def _publish(self, dev: SimDevice, kind: str, body: dict) -> None:
        topic = config.device_topic(self.root, dev.estate_code, dev.key, kind)
        payload = self._encode(topic, {"seq": dev.next_seq(), "ts": _now_iso(), **body}, dev.secret)
        self.client.publish(topic, payload, qos=1)
        self.published += 1

    # --- scheduling ---------------------------------------------------------------------------

    def _schedule(self, at: float, action: str, key: str, body: dict | None = None) -> None:
        with self._lock:
            self._counter += 1
            heapq.heappush(self._heap, (at, self._counter, action, key, body or {}))

    def _interval(self, dev: SimDevice) -> float:
        base = INTERVALS.get(dev.type, 300) * self.scale
        return base * self.rng.uniform(0.8, 1.2)

    def play_fire(self, estate_code: str | None, device_key: str | None = None) -> str | None:
        """Queue the fire scenario on one smoke detector of ``estate_code``; returns its key."""
        candidates = [
            d
            for d in self.active
            if d.type == "smoke" and (estate_code is None or d.estate_code == estate_code)
        ]
        if device_key:
            candidates = [d for d in candidates if d.key == device_key] or candidates
        if not candidates:
            log.warning("simulator: no smoke detector in %s for the fire scenario", estate_code)
            return None
        candidates.sort(key=lambda d: (not d.room, d.key))
        dev = (
            candidates[0] if device_key else self.rng.choice([d for d in candidates if d.room] or candidates)
        )
        at = time.monotonic()
        for delay, kind, body in fire_steps(self.rng):
            at += delay
            self._schedule(at, "fire:" + kind, dev.key, body)
        self.fires_played += 1
        log.info("simulator: fire scenario started on %s (%s)", dev.key, dev.room or dev.estate_code)
        return dev.key

    def _run_action(self, action: str, dev: SimDevice) -> None:
        if action == "status":
            self._publish(
                dev,
                "status",
                {
                    "online": True,
                    "battery": dev.state.get("battery", 100),
                    "signal": self.rng.randint(12, 31),
                },
            )
        elif action == "telemetry":
            if dev.state.get("fire_until", 0) > time.monotonic():
                return  # the scenario owns this detector for now
            self._publish(dev, "telemetry", {"values": telemetry_values(dev, self.rng)})
            for event, data in maybe_fault(dev, self.rng):
                self._publish(dev, "event", {"event": event, "data": data})

    def _loop(self) -> None:
        start = time.monotonic()
        for dev in self.active:
            first = start + self.rng.uniform(0, self.warmup)
            self._schedule(first, "status", dev.key)
            self._schedule(first + 0.05, "telemetry", dev.key)
        while not self._stop.is_set():
            with self._lock:
                item = self._heap[0] if self._heap else None
            now = time.monotonic()
            if item is None or item[0] > now:
                self._stop.wait(min(0.25, item[0] - now) if item else 0.25)
                continue
            with self._lock:
                _at, _n, action, key, body = heapq.heappop(self._heap)
            dev = self.by_key[key]
            try:
                if action.startswith("fire:"):
                    dev.state["fire_until"] = time.monotonic() + 30
                    self._publish(dev, action.split(":", 1)[1], body)
                else:
                    self._run_action(action, dev)
            except Exception:  # a bad device entry must not stop the whole demo
                log.exception("simulator: publishing for %s failed", key)
            if action == "telemetry":
                self._schedule(now + self._interval(dev), "telemetry", key)
            elif action == "status":
                self._schedule(now + 10 * self._interval(dev), "status", key)

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._loop, name="linli-simulator", daemon=True)
        self._thread.start()
        log.info(
            "simulator: %d devices (%d stay offline), ~%.1f msg/s",
            len(self.devices),
            len(self.devices) - len(self.active),
            TARGET_RATE,
        )

    def stop(self) -> None:
        self._stop.set()
        if getattr(self, "_thread", None):
            self._thread.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()


def _simulator_broker(url: str, data_dir: Path) -> config.BrokerAddress:
    """The URL's host and port with the simulator's own account when the embedded broker made one."""
    from linli.devices.mqtt import embedded

    broker = config.parse_url(url)
    account = embedded.account(data_dir, "simulator")
    if account:
        broker = config.BrokerAddress(broker.host, broker.port, account[0], account[1], broker.tls)
    return broker


def start(url: str, data_dir: Path | str, *, warmup_seconds: float = 20.0, seed: int | None = None):
    """Run the simulator for ``<data_dir>/demo-devices.json`` in a daemon thread; returns ``stop``."""
    data_dir = Path(data_dir)
    devices, _doc = load_devices(data_dir)
    sim = Simulator(
        devices, broker=_simulator_broker(url, data_dir), warmup_seconds=warmup_seconds, seed=seed
    )
    sim.start()
    return sim.stop


# --- Django side: the devices file and the console's trigger -------------------------------------

SIMULATED_TYPES = set(INTERVALS)


def write_demo_devices(path: Path | str, url: str) -> dict:
    """Write ``demo-devices.json`` (mode 0600: it holds device secrets) for every active device."""
    from linli.devices.models import Device, DeviceStatus, estate_code_of

    root = config.topic_root()
    broker = config.parse_url(url)
    devices = []
    qs = (
        Device.objects.filter(status=DeviceStatus.ACTIVE, profile__device_type__in=SIMULATED_TYPES)
        .select_related("profile", "estate", "building", "room")
        .order_by("estate_id", "key")
    )
    for d in qs:
        devices.append(
            {
                "key": d.key,
                "secret": d.secret,
                "username": d.key,
                "password": d.secret,
                "type": d.profile.device_type,
                "profile": d.profile.key,
                "estate": d.estate.name,
                "estate_code": estate_code_of(d.estate),
                "building": d.building.name if d.building else "",
                "floor": d.floor,
                "room": d.room.number if d.room else "",
                "location": d.location,
            }
        )
    doc = {
        "broker": broker.public_url,
        "mqtt_version": "5.0 (3.1.1 also accepted on the same port)",
        "topic_pattern": root + "/{estate_code}/{device_key}/{kind}",
        "kinds": ["telemetry", "event", "status"],
        "control_topic": CONTROL_TOPIC,
        "payload": (
            'JSON, QoS 1. telemetry {"seq","ts","values":{point:value}}; event {"seq","ts","event","data"}; '
            'status {"seq","ts","online","battery","signal"}. seq: integer, unique per device (a repeated '
            "seq is stored once); ts: ISO-8601 with offset or epoch ms. sig: lowercase hex "
            'HMAC-SHA256(device secret, "<topic as published>\\n" + the JSON of the '
            'payload without "sig", keys sorted, separators (",", ":"), UTF-8 not escaped). Connect with '
            "username = device key, password = secret."
        ),
        "devices": devices,
    }
    from linli.access.demo import demo_devices_section  # access points and their controllers (issue #5)

    doc["access_points"] = demo_devices_section()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
    os.chmod(path, 0o600)
    return doc


def fire_scenario_trigger(*, actor, estate) -> str:
    """Ask the demo's simulator to play the fire scenario in ``estate`` (the console's button).

    Needs ``alarms.handle`` and the estate in the actor's scope (else 404). Publishes one QoS 1
    control message to the embedded broker of this data directory and records an audit event;
    raises ``Conflict`` when no embedded broker runs (production has no simulator).
    """
    from django.conf import settings
    from django.db import transaction
    from django.utils.translation import gettext as _

    from linli.core import audit
    from linli.core.errors import Conflict
    from linli.devices.models import estate_code_of
    from linli.devices.mqtt import embedded
    from linli.orgs.roles import Perm
    from linli.places.selectors import require_estate

    require_estate(actor=actor, estate=estate, perm=Perm.ALARMS_HANDLE, write=True)
    url = embedded.running_broker(settings.DATA_DIR)
    credentials = embedded.account(settings.DATA_DIR, "control")
    if url is None or credentials is None:
        raise Conflict(_("演示设备模拟器未运行，无法触发火灾演练"))
    broker = config.parse_url(url)
    code = estate_code_of(estate)
    with transaction.atomic():
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            obj=estate,
            reason=_("演示：触发火灾场景"),
            detail={"scenario": "fire", "estate_code": code},
        )
        try:
            import paho.mqtt.client as mqtt
            import paho.mqtt.publish as publish

            publish.single(
                CONTROL_TOPIC,
                json.dumps({"scenario": "fire", "estate_code": code}),
                qos=1,
                hostname=broker.host,
                port=broker.port,
                auth={"username": credentials[0], "password": credentials[1]},
                protocol=mqtt.MQTTv5,
            )
        except OSError as exc:
            raise Conflict(_("演示设备模拟器未运行，无法触发火灾演练")) from exc
    return code
