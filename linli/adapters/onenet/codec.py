"""OneNET pushes → canonical messages, and OneNET's signature (pure, no Django). device_payloads §4.3–4.4.

Signature: ``Base64(MD5(token + nonce + msg))`` over the ``msg`` value *as it appears in the body*
(classic: the raw JSON object text; Studio: the string's value). Idempotency: classic
(dev_id, ds_id, at); Studio: the push ``id``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import orjson

from linli.devices.canonical import Message, Rejected, seq_from_key

# LwM2M resources that have a platform meaning (object_instance_resource)
LWM2M = {"3_0_9": "battery", "3_0_20": "battery_status", "3200_0_5500": "input", "3200_0_5750": "input_type"}


def signature(token: str, nonce: str, msg: str | bytes) -> str:
    msg_b = msg if isinstance(msg, bytes) else msg.encode()
    return base64.b64encode(hashlib.md5(token.encode() + nonce.encode() + msg_b).digest()).decode()  # noqa: S324 - OneNET's scheme


def check_signature(token: str, nonce: str, msg: str | bytes, sig: str) -> bool:
    if not token or not isinstance(sig, str) or not isinstance(nonce, str):
        return False
    sig = sig.replace(" ", "+")  # '+' arrives as a space when the signature travelled in a query string
    return hmac.compare_digest(signature(token, nonce, msg), sig)


def raw_member(raw: bytes, name: str) -> bytes | None:
    """The exact bytes of the top-level member ``name`` of a JSON object (no re-serialisation)."""
    key = b'"' + name.encode() + b'"'
    depth = 0
    i = 0
    n = len(raw)
    in_str = False
    while i < n:
        c = raw[i]
        if in_str:
            if c == 0x5C:  # backslash
                i += 2
                continue
            if c == 0x22:
                in_str = False
            i += 1
            continue
        if c == 0x22:
            if depth == 1 and raw.startswith(key, i):
                j = i + len(key)
                while j < n and raw[j] in b" \t\r\n":
                    j += 1
                if j < n and raw[j] == 0x3A:
                    j += 1
                    while j < n and raw[j] in b" \t\r\n":
                        j += 1
                    return _value_end(raw, j)
            in_str = True
        elif c in b"{[":
            depth += 1
        elif c in b"}]":
            depth -= 1
        i += 1
    return None


def _value_end(raw: bytes, start: int) -> bytes | None:
    depth = 0
    in_str = False
    i = start
    while i < len(raw):
        c = raw[i]
        if in_str:
            if c == 0x5C:
                i += 2
                continue
            if c == 0x22:
                in_str = False
                if depth == 0:
                    return raw[start : i + 1]
        elif c == 0x22:
            in_str = True
        elif c in b"{[":
            depth += 1
        elif c in b"}]":
            depth -= 1
            if depth == 0:
                return raw[start : i + 1]
            if depth < 0:
                return raw[start:i].strip()
        elif c == 0x2C and depth == 0:
            return raw[start:i].strip()
        i += 1
    return None


def verify_push(raw: bytes, body: dict, token: str) -> bool:
    """Check a push's signature (classic ``msg_signature`` or Studio ``signature``)."""
    sig = body.get("msg_signature", body.get("signature"))
    nonce = body.get("nonce")
    msg = body.get("msg")
    if not isinstance(sig, str) or not isinstance(nonce, str) or msg is None:
        return False
    if isinstance(msg, str):
        return check_signature(token, nonce, msg, sig)
    cut = raw_member(raw, "msg")
    if cut is not None and check_signature(token, nonce, cut, sig):
        return True
    # A relay may have re-serialised the body: accept the compact rendering in the original key order.
    return check_signature(token, nonce, orjson.dumps(msg), sig)


def _ts(ms) -> datetime:
    if isinstance(ms, bool) or not isinstance(ms, int | float) or ms <= 0:
        raise Rejected("bad_ts", str(ms)[:30])
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _value(v):
    if isinstance(v, bool | int | float):
        return v
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return v[:200]
        return int(f) if f.is_integer() else f
    return None


def _classic(msg: dict) -> list[Message]:
    dev = msg.get("dev_id")
    if isinstance(dev, bool) or not isinstance(dev, int | str) or dev == "":
        raise Rejected("bad_payload", "dev_id")
    dev_id = str(dev)
    ts = _ts(msg.get("at"))
    if msg.get("type") == 2:
        return [
            Message(
                dev_id,
                "status",
                seq_from_key("onenet", dev_id, "status", msg.get("at")),
                ts,
                {"online": msg.get("status") == 1},
            )
        ]
    if msg.get("type") != 1:
        raise Rejected("unsupported_payload", f"type {str(msg.get('type'))[:10]}")
    ds = msg.get("ds_id")
    value = _value(msg.get("value"))
    if not isinstance(ds, str) or not ds or value is None:
        raise Rejected("bad_payload", "ds_id/value")
    key = LWM2M.get(ds, ds)
    return [Message(dev_id, "telemetry", seq_from_key("onenet", dev_id, ds, msg.get("at")), ts, {key: value})]


def _studio(body: dict, msg: dict) -> list[Message]:
    device = msg.get("deviceName")
    if not isinstance(device, str) or not device:
        raise Rejected("bad_payload", "deviceName")
    data = msg.get("data") if isinstance(msg.get("data"), dict) else {}
    push_id = body.get("id") or seq_from_key(orjson.dumps(msg))
    if msg.get("messageType") == "lifeCycle":
        return [
            Message(
                device,
                "status",
                seq_from_key("onenet-studio", push_id),
                _ts(data.get("time", body.get("time"))),
                {"online": data.get("status") == "online"},
            )
        ]
    if msg.get("messageType") != "notify":
        return []  # service-call replies carry no device state
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    if msg.get("notifyType") == "event":
        out = []
        for name, item in sorted(params.items()):
            item = item if isinstance(item, dict) else {}
            out.append(
                Message(
                    device,
                    "event",
                    seq_from_key("onenet-studio", push_id, name),
                    _ts(item.get("time", body.get("time"))),
                    {},
                    name,
                    item.get("value")
                    if isinstance(item.get("value"), dict)
                    else {"value": item.get("value")},
                )
            )
        return out
    values = {}
    times = []
    for name, item in params.items():
        if not isinstance(item, dict):
            continue
        v = _value(item.get("value"))
        if v is not None:
            values[LWM2M.get(name, name)] = v
            if isinstance(item.get("time"), int):
                times.append(item["time"])
    if not values:
        raise Rejected("bad_payload", "params")
    return [
        Message(
            device,
            "telemetry",
            seq_from_key("onenet-studio", push_id),
            _ts(max(times) if times else body.get("time")),
            values,
        )
    ]


def decode(body: dict) -> list[Message]:
    """A push body (classic or Studio) → messages keyed by dev_id / deviceName. Signature not checked here."""
    if not isinstance(body, dict):
        raise Rejected("bad_json", "not an object")
    msg = body.get("msg")
    if isinstance(msg, str):
        try:
            inner = orjson.loads(msg)
        except orjson.JSONDecodeError:
            raise Rejected("bad_json", "msg") from None
        if not isinstance(inner, dict):
            raise Rejected("bad_payload", "msg")
        return _studio(body, inner)
    if isinstance(msg, dict):
        return _classic(msg)
    if isinstance(msg, list):
        out = []
        for m in msg:
            if isinstance(m, dict):
                out += _classic(m)
        return out
    raise Rejected("bad_payload", "msg")
