"""Wanlin pushes → canonical (pure, no Django). device_payloads §5.2 and §6.4 (3).

Electrical monitor: ``current1..4`` residual current (mA, "0_02" means 0.02), ``temperature1..4``
cable temperature (°C), ``eventdate`` epoch seconds, ``event`` Contact-ID style (1xxx alarm, 3xxx
restore). LoRa fire host: ``event`` "0003" alarm, whose ``content`` says what (烟感 / SOS / 防拆).
"""

from __future__ import annotations

from datetime import UTC, datetime

from linli.devices.canonical import Message, Rejected, seq_from_key

EVENTS = {
    "1361": "over_current",
    "3361": "over_current_clear",
    "1360": "power_loss",
    "3360": "power_loss_clear",
    "1364": "over_temperature",
    "3364": "over_temperature_clear",
    "1363": "under_temperature",
    "3363": "under_temperature_clear",
    "1366": "monitor_offline",
    "3366": "monitor_online",
    "3921": "silenced",
    "3922": "alarm_cleared",
    "1941": "pgm_on",
    "3941": "pgm_off",
}
HOST_EVENTS = {"0006": "fault", "0007": "reset"}


def _num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return v
    try:
        f = float(str(v).strip().replace("_", "."))
    except ValueError:
        return None
    return int(f) if f.is_integer() else f


def _ts(v) -> datetime:
    try:
        return datetime.fromtimestamp(int(v), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise Rejected("bad_ts", str(v)[:30]) from None


def _electrical(body: dict) -> list[Message]:
    chip = str(body["chipcode"])
    ts = _ts(body.get("eventdate"))
    values = {}
    for i in range(1, 5):
        c, t = _num(body.get(f"current{i}")), _num(body.get(f"temperature{i}"))
        if c is not None:
            values[f"residual_current_{i}"] = c
        if t is not None:
            values[f"cable_temperature_{i}"] = t
    if isinstance(body.get("signal_intensity"), int):
        values["signal"] = body["signal_intensity"]
    out = []
    if values:
        out.append(
            Message(
                chip,
                "telemetry",
                seq_from_key("wanlin", chip, body.get("eventdate"), body.get("type")),
                ts,
                values,
            )
        )
    if str(body.get("type")) == "0302":
        code = str(body.get("event", "")).strip()
        event = EVENTS.get(code, "alarm" if code.startswith("1") else "alarm_cleared")
        out.append(
            Message(
                chip,
                "event",
                seq_from_key("wanlin", chip, body.get("eventdate"), code),
                ts,
                {},
                event,
                {"code": code},
            )
        )
    return out


def _fire_host(body: dict) -> list[Message]:
    dcode = str(body["dcode"])
    ts = _ts(body.get("eventdate"))
    code = str(body.get("event", "")).strip()
    content = str(body.get("content", ""))[:200]
    seq = seq_from_key(
        "wanlin-host", dcode, body.get("eventdate"), code, body.get("loop"), body.get("address")
    )
    if code in ("0001", "0002"):
        return [Message(dcode, "status", seq, ts, {"online": True})]
    if code == "0003":
        if "SOS" in content.upper():
            event = "sos"
        elif "防拆" in content:
            event = "tamper"
        elif "烟" in content or "火" in content:
            event = "smoke_alarm"
        elif "低压" in content or "欠压" in content:
            event = "low_battery"
        else:
            event = "smoke_alarm"  # an unlabelled fire-host alarm is treated as a fire alarm
    elif code in HOST_EVENTS:
        event = HOST_EVENTS[code]
    else:
        return []  # accessory reports and time sync carry no state
    data = {"loop": str(body.get("loop", "")), "address": str(body.get("address", "")), "content": content}
    return [Message(dcode, "event", seq, ts, {}, event, data)]


def decode(body: dict) -> list[Message]:
    if not isinstance(body, dict):
        raise Rejected("bad_json", "not an object")
    if body.get("chipcode"):
        return _electrical(body)
    if body.get("dcode"):
        return _fire_host(body)
    raise Rejected("bad_payload", "chipcode/dcode")
