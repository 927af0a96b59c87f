"""LiAn platform push (point-number model) → canonical (pure, no Django). device_payloads §5.2."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from linli.devices.canonical import Message, Rejected, seq_from_key

POINTS = {
    "10901": "residual_current",
    "10101": "cable_temperature_a",
    "10102": "cable_temperature_b",
    "10103": "cable_temperature_c",
    "10104": "cable_temperature_n",
    "10105": "ambient_temperature",
    "10301": "voltage_a",
    "10302": "voltage_b",
    "10303": "voltage_c",
    "10304": "voltage_ab",
    "10305": "voltage_bc",
    "10306": "voltage_ca",
    "10201": "current_a",
    "10202": "current_b",
    "10203": "current_c",
    "10401": "active_power",
    "10800": "power_factor",
    "30101": "active_energy",
    "11001": "water_level",
    "11101": "pressure",
    "11201": "smoke_density",
    "11202": "gas_concentration",
    "11203": "battery",
}
ALARMS = {
    "201": "leakage",
    "202": "over_temperature",
    "603": "short_circuit",
    "604": "overload",
    "605": "over_voltage",
    "606": "under_voltage",
    "607": "poor_contact",
    "608": "phase_loss",
    "609": "imbalance",
    "610": "neutral_miswiring",
    "615": "low_battery",
    "205": "alarm",
    "208": "manual_alarm",
    "209": "gas_alarm",
    "100": "hazard",
    "80101": "masked",
    "80102": "unmasked",
    "80501": "supervisory",
    "80502": "supervisory_clear",
    "80301": "reset",
    "80302": "alarm_cleared",
}


def _num(v):
    try:
        f = float(str(v).strip())
    except ValueError:
        return None
    return int(f) if f.is_integer() else f


def decode(body: dict) -> list[Message]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise Rejected("bad_payload", "data")
    try:
        ts = datetime.fromtimestamp(int(str(body.get("time"))) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise Rejected("bad_ts", str(body.get("time"))[:30]) from None
    kind = body.get("type")
    # Keys arrive with stray spaces (" alarmType" in a real push): trim them.
    items = [{str(k).strip(): v for k, v in item.items()} for item in body["data"] if isinstance(item, dict)]
    out: list[Message] = []
    if kind == 1:
        per_device: dict[str, dict] = defaultdict(dict)
        for item in items:
            key = POINTS.get(str(item.get("pointId", "")))
            value = _num(item.get("value"))
            if key and value is not None and item.get("deviceId"):
                per_device[str(item["deviceId"])][key] = value
        for device_id, values in per_device.items():
            out.append(
                Message(
                    device_id,
                    "telemetry",
                    seq_from_key("lian", device_id, body.get("time"), "data"),
                    ts,
                    values,
                )
            )
        return out
    if kind == 2:
        for item in items:
            device_id = str(item.get("deviceId", ""))
            if not device_id:
                continue
            code = str(item.get("alarmType", "")).strip()
            event = ALARMS.get(code, "alarm")
            point = str(item.get("pointId", ""))
            data = {"alarm_type": code, "point": POINTS.get(point, point), "value": _num(item.get("value"))}
            out.append(
                Message(
                    device_id,
                    "event",
                    seq_from_key("lian", device_id, body.get("time"), point, code),
                    ts,
                    {},
                    event,
                    data,
                )
            )
        return out
    if kind == 3:
        for item in items:
            device_id = str(item.get("deviceId", ""))
            if device_id:
                # LiAn: status 0 = online, 1 = offline (the inverse of most vendors)
                out.append(
                    Message(
                        device_id,
                        "status",
                        seq_from_key("lian", device_id, body.get("time"), "status"),
                        ts,
                        {"online": str(item.get("status")).strip() == "0"},
                    )
                )
        return out
    raise Rejected("unsupported_payload", f"type {str(kind)[:10]}")
