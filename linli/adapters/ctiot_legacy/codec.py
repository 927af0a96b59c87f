"""China Telecom legacy IoT ``deviceDataChanged`` → canonical (pure). device_payloads §4.2 and §4.5.

Wanlin NB306 smoke detector: ``temperature`` in tenths of °C, ``smokescope`` smoke density,
``electricQuantity`` battery %, ``signal`` CSQ, ``devState`` the event code.
"""

from __future__ import annotations

from datetime import UTC, datetime

from linli.devices.canonical import Message, Rejected, seq_from_key

DEV_STATE = {
    "1": "smoke_alarm",
    "2": "heat_alarm",
    "3": "tamper",
    "4": "low_battery",
    "5": "self_test",
    "f": "smoke_alarm_clear",
}


def _time(text) -> datetime:
    try:
        return datetime.strptime(str(text), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Rejected("bad_ts", str(text)[:30]) from None


def decode(body: dict) -> list[Message]:
    if not isinstance(body, dict) or body.get("notifyType") != "deviceDataChanged":
        raise Rejected("unsupported_payload", "notifyType")
    device_id = body.get("deviceId")
    service = body.get("service")
    if not isinstance(device_id, str) or not device_id or not isinstance(service, dict):
        raise Rejected("bad_payload", "deviceId/service")
    data = service.get("data")
    if not isinstance(data, dict):
        raise Rejected("bad_payload", "data")
    ts = _time(service.get("eventTime"))
    state = str(data.get("devState", "0")).lower()
    values: dict = {}
    if isinstance(data.get("temperature"), int | float):
        values["temperature"] = round(data["temperature"] / 10, 1)
    if isinstance(data.get("smokescope"), int | float):
        values["smoke_density"] = data["smokescope"]
    if isinstance(data.get("electricQuantity"), int | float):
        values["battery"] = data["electricQuantity"]
    if isinstance(data.get("signal"), int | float):
        values["csq"] = data["signal"]
    out = []
    if values:
        out.append(
            Message(
                device_id,
                "telemetry",
                seq_from_key("ctiot", device_id, service.get("eventTime"), "t"),
                ts,
                values,
            )
        )
    event = DEV_STATE.get(state)
    if event:
        out.append(
            Message(
                device_id,
                "event",
                seq_from_key("ctiot", device_id, service.get("eventTime"), state),
                ts,
                {},
                event,
                {"dev_state": state, "cmd_value": str(data.get("cmdValue", ""))},
            )
        )
    return out
