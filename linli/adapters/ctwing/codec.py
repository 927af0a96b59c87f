"""CTWing (AEP) subscription pushes → canonical messages (pure, no Django). device_payloads §4.1.

Sequence: ``upPacketSN`` when it is an integer ≥ 0, else a hash of (deviceId, timestamp, payload).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

import orjson

from linli.devices.canonical import Message, Rejected, seq_from_key

# LiAn LwM2M smoke detector (serviceData of the "notification" service)
LIAN_SMOKE = {
    "TData": ("temperature", 1),
    "SNR": ("snr", 1),
    "RSRP": ("rssi", -1),  # sent without its sign: 114 means -114 dBm
    "CSQ": ("csq", 1),
    "Battery_Level": ("battery", 1),
    "Alarm_Status": ("alarm_status", 1),
}
# UITD compact fire JSON (``c`` = message class)
UITD_CLASS = {
    21: "fire_alarm",
    22: "early_warning",
    23: "fault",
    24: "status_report",
    25: "status_report",
    26: "component_action",
    27: "status_report",
}
EVENT_TYPE = {1: "info", 2: "alarm", 3: "fault"}


def _ts(ms) -> datetime:
    if isinstance(ms, bool) or not isinstance(ms, int | float) or ms <= 0:
        raise Rejected("bad_ts", str(ms)[:30])
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _seq(body: dict, device_id: str) -> int:
    sn = body.get("upPacketSN")
    if isinstance(sn, int) and not isinstance(sn, bool) and sn >= 0:
        return sn
    return seq_from_key(
        "ctwing",
        device_id,
        body.get("timestamp"),
        orjson.dumps(body.get("payload"), option=orjson.OPT_SORT_KEYS),
    )


def _number(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return v
        return int(f) if f.is_integer() else f
    return None


def _data_report(body: dict, device_id: str) -> list[Message]:
    payload = body.get("payload")
    ts = _ts(body.get("timestamp"))
    seq = _seq(body, device_id)
    if isinstance(payload, list):  # some products send a list of property objects
        merged: dict = {}
        for item in payload:
            if isinstance(item, dict):
                merged.update(item)
        payload = merged
    if not isinstance(payload, dict):
        raise Rejected("bad_payload", "payload")
    if "serviceData" in payload:
        data = payload["serviceData"]
        if not isinstance(data, dict):
            raise Rejected("bad_payload", "serviceData")
        values = {}
        for src, (key, sign) in LIAN_SMOKE.items():
            if isinstance(data.get(src), int | float) and not isinstance(data.get(src), bool):
                values[key] = data[src] * sign
        if not values:
            raise Rejected("unsupported_payload", "serviceData")
        return [Message(device_id, "telemetry", seq, ts, values)]
    if "APPdata" in payload:
        try:
            raw = base64.b64decode(payload["APPdata"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise Rejected("bad_payload", "APPdata") from None
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            # A vendor binary frame: needs that vendor's codec (the device's own adapter).
            raise Rejected("unsupported_payload", "binary APPdata") from None
        if not isinstance(doc, dict) or "c" not in doc:
            raise Rejected("unsupported_payload", "APPdata JSON")
        event = UITD_CLASS.get(doc.get("c"))
        if event is None:
            raise Rejected("unsupported_payload", f"UITD class {doc.get('c')}")
        parts = [
            {"id": str(p.get("id", "")), "value": str(p.get("v", "")), "type": str(p.get("t", ""))}
            for p in doc.get("b", [])
            if isinstance(p, dict)
        ]
        return [
            Message(
                device_id,
                "event",
                seq_from_key("ctwing-uitd", device_id, doc.get("id")),
                _ts(doc.get("tm", body.get("timestamp"))),
                {},
                event,
                {"class": doc["c"], "parts": parts},
            )
        ]
    values = {k: _number(v) for k, v in payload.items() if _number(v) is not None}
    if not values:
        raise Rejected("unsupported_payload", "empty")
    return [Message(device_id, "telemetry", seq, ts, values)]


def decode(body: dict) -> list[Message]:
    """One AEP push → messages keyed by the AEP ``deviceId``."""
    if not isinstance(body, dict):
        raise Rejected("bad_json", "not an object")
    device_id = body.get("deviceId")
    if not isinstance(device_id, str) or not device_id:
        raise Rejected("bad_payload", "deviceId")
    kind = body.get("messageType")
    if kind == "dataReport":
        return _data_report(body, device_id)
    if kind == "dataReportTupUnion":
        out = []
        for item in body.get("payload") or []:
            if isinstance(item, dict):
                out += _data_report({**body, **item, "messageType": "dataReport"}, device_id)
        return out
    if kind == "eventReport":
        content = body.get("eventContent") if isinstance(body.get("eventContent"), dict) else {}
        event = (
            "low_battery"
            if any("battery" in k for k in content)
            else EVENT_TYPE.get(body.get("eventType"), "info")
        )
        seq = seq_from_key(
            "ctwing-event",
            device_id,
            body.get("timestamp"),
            orjson.dumps(content, option=orjson.OPT_SORT_KEYS),
        )
        return [
            Message(
                device_id,
                "event",
                seq,
                _ts(body.get("timestamp")),
                {},
                event,
                {
                    "event_type": body.get("eventType"),
                    "content": content,
                    "service_id": body.get("serviceId"),
                },
            )
        ]
    if kind == "deviceOnlineOfflineReport":
        seq = seq_from_key("ctwing-status", device_id, body.get("timestamp"))
        return [
            Message(
                device_id, "status", seq, _ts(body.get("timestamp")), {"online": body.get("eventType") == 1}
            )
        ]
    if kind == "commandResponse":
        return []  # downlink results concern the sender of the command, not the device's state
    raise Rejected("unsupported_payload", f"messageType {str(kind)[:30]}")
