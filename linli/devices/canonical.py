"""The canonical device protocol (pure: no Django).

Topics: ``{root}/{estate_code}/{device_key}/{telemetry|event|status}`` with ``root`` = ``linli/v1``
(``LINLI_MQTT_TOPIC_ROOT`` overrides it, e.g. for tests sharing one broker).

Payloads are JSON objects:

* telemetry ``{"seq": 12, "ts": "2026-05-01T08:00:00+08:00", "values": {"smoke_density": 0.1}, "sig": "…"}``
* event ``{"seq": 13, "ts": 1777593600000, "event": "smoke_alarm", "data": {…}, "sig": "…"}``
* status ``{"seq": 14, "ts": …, "online": true, "battery": 87, "signal": 21, "sig": "…"}``

``sig`` is the lowercase hex HMAC-SHA256, keyed with the device's secret, of
``f"{topic}\\n" + json.dumps(body_without_sig, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
It binds the message to its topic, so a device holding only its own secret cannot publish as another
device or into another estate, even on a broker without per-device ACLs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from linli.config import env

MAX_PAYLOAD = 8 * 1024
MAX_FUTURE = timedelta(hours=24)
MAX_SEQ = 2**63 - 1
KINDS = ("telemetry", "event", "status")

Kind = Literal["telemetry", "event", "status"]
Value = float | int | bool | str


@dataclass(frozen=True, slots=True)
class Message:
    """One canonical message of one device."""

    device_key: str
    kind: Kind
    seq: int
    ts: datetime
    values: dict[str, Value] = field(default_factory=dict)
    event: str | None = None
    data: dict = field(default_factory=dict)


class Rejected(Exception):
    """A message that must not be stored; ``reason`` is a short machine code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def topic_root() -> str:
    return env.mqtt().topic_root


def make_topic(estate_code: str, device_key: str, kind: str, root: str | None = None) -> str:
    return f"{root if root is not None else topic_root()}/{estate_code}/{device_key}/{kind}"


def parse_topic(topic: str, root: str | None = None) -> tuple[str, str, Kind]:
    """``linli/v1/<estate>/<device>/<kind>`` → (estate_code, device_key, kind)."""
    root = root if root is not None else topic_root()
    prefix = root + "/"
    if not topic.startswith(prefix):
        raise Rejected("bad_topic", topic[:100])
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 3 or not parts[0] or not parts[1] or parts[2] not in KINDS:
        raise Rejected("bad_topic", topic[:100])
    return parts[0], parts[1], parts[2]  # type: ignore[return-value]


def signing_text(topic: str, body: dict) -> bytes:
    """The exact bytes the signature covers (the reference serialisation, ``json.dumps``)."""
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{topic}\n{text}".encode()


def sign(topic: str, body: dict, secret: str) -> str:
    return hmac.new(secret.encode(), signing_text(topic, body), hashlib.sha256).hexdigest()


def verify(topic: str, body: dict, sig: str, secret: str) -> bool:
    if not isinstance(sig, str) or not sig or not secret:
        return False
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    return verify_unsigned(topic, unsigned, sig, signer(secret))


def signer(secret: str) -> Any:
    """The HMAC-SHA256 state keyed with ``secret``, to ``copy()`` per message (saves the key setup).

    CPython keeps OpenSSL's HMAC object in ``_hmac``; copying that directly skips a Python wrapper
    per message. Anything with ``copy``/``update``/``hexdigest`` works.
    """
    keyed = hmac.new(secret.encode(), digestmod="sha256")
    return getattr(keyed, "_hmac", None) or keyed


def verify_unsigned(topic: str, unsigned: dict, sig: Any, keyed: Any) -> bool:
    """Check ``sig`` over ``topic`` and the body without its ``sig`` member, with ``signer(secret)``."""
    if keyed is None or not isinstance(sig, str) or not sig or not sig.isascii():
        return False
    # Fast path: orjson renders small JSON objects byte-identically to the reference json.dumps in
    # nearly every case; when it does not (key order of non-ASCII keys, float exponents), fall back
    # to the reference serialisation before refusing.
    try:
        fast = orjson.dumps(unsigned, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        fast = b""
    if fast:
        h = keyed.copy()
        h.update(topic.encode() + b"\n" + fast)
        if hmac.compare_digest(h.hexdigest(), sig):
            return True
    h = keyed.copy()
    h.update(signing_text(topic, unsigned))
    return hmac.compare_digest(h.hexdigest(), sig)


def parse_ts(value: Any, *, now: datetime | None = None) -> datetime:
    """ISO-8601 with an offset, or epoch milliseconds → aware UTC datetime (refuses >24 h ahead)."""
    if isinstance(value, bool):
        raise Rejected("bad_ts", "boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0 or value > 32503680000000:
            raise Rejected("bad_ts", str(value)[:40])
        ts = datetime.fromtimestamp(value / 1000, tz=UTC)
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise Rejected("bad_ts", value[:40]) from None
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise Rejected("bad_ts", "no offset")
        ts = ts.astimezone(UTC)
    else:
        raise Rejected("bad_ts", type(value).__name__)
    if ts - (now or datetime.now(UTC)) > MAX_FUTURE:
        raise Rejected("bad_ts", "in the future")
    return ts


def parse_seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_SEQ:
        raise Rejected("bad_seq", str(value)[:40])
    return value


def _scalar_dict(value: Any, reason: str) -> dict[str, Value]:
    if not isinstance(value, dict):
        raise Rejected(reason, "not an object")
    for k, v in value.items():
        if not isinstance(v, bool | int | float | str) or (isinstance(v, float) and not math.isfinite(v)):
            raise Rejected(reason, f"{k}: not a scalar")
        if isinstance(v, str) and len(v) > 200:
            raise Rejected(reason, f"{k}: too long")
    return value


def message_from_body(device_key: str, kind: Kind, body: dict, *, now: datetime | None = None) -> Message:
    """Validate a canonical body (already parsed JSON) for ``kind`` and build the Message."""
    if not isinstance(body, dict):
        raise Rejected("bad_json", "not an object")
    seq = parse_seq(body.get("seq"))
    ts = parse_ts(body.get("ts"), now=now)
    if kind == "telemetry":
        values = _scalar_dict(body.get("values"), "bad_values")
        if not values:
            raise Rejected("bad_values", "empty")
        return Message(device_key, "telemetry", seq, ts, values, None, {})
    if kind == "event":
        event = body.get("event")
        if not isinstance(event, str) or not event or len(event) > 64:
            raise Rejected("bad_event", str(event)[:64])
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise Rejected("bad_event", "data not an object")
        return Message(device_key, "event", seq, ts, {}, event, data)
    values: dict[str, Value] = {}
    if "online" in body:
        if not isinstance(body["online"], bool):
            raise Rejected("bad_status", "online")
        values["online"] = body["online"]
    for key in ("battery", "signal"):
        if key in body:
            v = body[key]
            if isinstance(v, bool) or not isinstance(v, int) or not -200 <= v <= 200:
                raise Rejected("bad_status", key)
            values[key] = v
    if not values:
        raise Rejected("bad_status", "empty")
    return Message(device_key, "status", seq, ts, values, None, {})


def decode(topic: str, payload: bytes, *, now: datetime | None = None) -> tuple[str, Message, dict, str]:
    """Parse topic and payload → (estate_code, message, body, sig). Does not check the signature."""
    now = now or datetime.now(UTC)
    estate_code, device_key, kind, seq, ts, values, event, data, body, sig = decode_fields(
        topic, payload, root_prefix(), now + MAX_FUTURE
    )
    if sig is not _NO_SIG:
        body["sig"] = sig
    message = Message(device_key, kind, seq, ts, values, event, data)
    return estate_code, message, body, sig if isinstance(sig, str) else ""


_NO_SIG = object()
_EPOCH_MS_MAX = 32503680000000
_fromtimestamp = datetime.fromtimestamp


def root_prefix(root: str | None = None) -> str:
    return (root if root is not None else topic_root()) + "/"


def decode_fields(topic: str, payload: bytes, prefix: str, ts_limit: datetime) -> tuple:
    """The hot path of ``decode``, without building a ``Message``; the same checks in the same order.

    ``prefix`` is ``root_prefix()`` and ``ts_limit`` is now + ``MAX_FUTURE`` (both once per batch).
    Returns (estate_code, device_key, kind, seq, ts, values, event, data, unsigned_body, sig) where
    ``unsigned_body`` is the parsed body without ``sig`` and ``sig`` is its raw value (``_NO_SIG``
    when absent). Raises ``Rejected``.
    """
    if len(payload) > MAX_PAYLOAD:
        raise Rejected("oversize", str(len(payload)))
    if not topic.startswith(prefix):
        raise Rejected("bad_topic", topic[:100])
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 3 or not parts[0] or not parts[1] or parts[2] not in KINDS:
        raise Rejected("bad_topic", topic[:100])
    estate_code, device_key, kind = parts
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise Rejected("bad_json") from None
    if type(body) is not dict:
        raise Rejected("bad_json", "not an object")
    sig = body.pop("sig", _NO_SIG)
    seq = body.get("seq")
    if type(seq) is not int or seq < 0 or seq > MAX_SEQ:
        seq = parse_seq(seq)  # raises bad_seq (or accepts an int subclass, as parse_seq does)
    raw_ts = body.get("ts")
    if type(raw_ts) is int and 0 <= raw_ts <= _EPOCH_MS_MAX:
        ts = _fromtimestamp(raw_ts / 1000, tz=UTC)
        if ts > ts_limit:
            raise Rejected("bad_ts", "in the future")
    else:
        ts = parse_ts(raw_ts, now=ts_limit - MAX_FUTURE)
    if kind == "telemetry":
        values = body.get("values")
        if type(values) is not dict or not values or not _plain_scalars(values):
            values = _scalar_dict(values, "bad_values")  # raises with the exact reason
            if not values:
                raise Rejected("bad_values", "empty")
        return estate_code, device_key, kind, seq, ts, values, None, {}, body, sig
    m = message_from_body(device_key, kind, body, now=ts_limit - MAX_FUTURE)  # type: ignore[arg-type]
    return estate_code, device_key, kind, seq, ts, m.values, m.event, m.data, body, sig


def _plain_scalars(values: dict) -> bool:
    """True when every value is what ``_scalar_dict`` accepts (types as orjson produces them)."""
    for v in values.values():
        t = type(v)
        if t is float:
            if v - v != 0.0:  # inf or nan
                return False
        elif t is str:
            if len(v) > 200:
                return False
        elif t is not int and t is not bool:
            return False
    return True


def decode_payload(topic: str, payload: bytes) -> tuple[Message, str]:
    """Contract entry point: (Message, sig); raises Rejected."""
    _, message, _, sig = decode(topic, payload)
    return message, sig


def encode(topic: str, body: dict, secret: str) -> bytes:
    """Sign ``body`` for ``topic`` and serialise it (what a device or the simulator publishes)."""
    signed = dict(body)
    signed.pop("sig", None)
    signed["sig"] = sign(topic, signed, secret)
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":")).encode()


def seq_from_key(*parts: Any) -> int:
    """A stable non-negative int64 sequence from a vendor idempotency key (first 8 bytes of SHA-256)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") & MAX_SEQ


# --- what door controllers and gate cameras report (decoded by the vendor adapters, announced as
# ``devices.events.AccessEventsReported`` / ``PlatesRead``; device_payloads.md §1.4, §2.3, §3.3, §8)

VendorKind = Literal["access", "door", "alarm", "status"]


@dataclass(frozen=True, slots=True)
class VendorAccessEvent:
    """One event of an access-control device, normalised.

    * ``kind``: ``access`` (an authentication result: ``result`` allow/deny with ``method``),
      ``door`` (lock/door state: ``door_state``), ``alarm`` (tailgating, forced, duress, tamper:
      ``alarm``), ``status`` (device health: low battery, reader offline, AC off).
    * ``seq``: the device's own event counter (Hikvision ``serialNo``, Dahua ``RecNo``): with the
      device it is the idempotency key.
    * ``employee_no``: the person key on the device (our ``AccessSubject.pseudonym``), if any.
    * ``live``: False for stored events re-uploaded after a reconnect (never raise live alarms).
    * ``raw``: vendor codes kept for the record (major/minor, Method/ErrorCode); never names or images.
    """

    kind: VendorKind
    occurred_at: datetime
    seq: int | None = None
    door_no: int = 1
    direction: Literal["in", "out", "unknown"] = "unknown"
    method: str = ""  # access.models.Method value: card, qr, pin, face, voice, remote, staff
    result: Literal["allow", "deny", ""] = ""
    reason: str = ""  # e.g. no_right, expired, invalid_card, stranger, liveness_failed
    employee_no: str = ""
    card_no: str = ""
    qr_code: str = ""
    door_state: str = ""  # open, closed, lock_open, lock_closed, held_open, button
    alarm: str = ""  # tailgating, forced, duress, tamper, reverse, climbing, fire_button, emergency
    live: bool = True
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate recognised by a gate camera.

    ``plate`` as read (province character first, no separator); ``direction`` ``in``/``out`` from the
    camera's configured orientation (``unknown`` when the adapter cannot tell: the access point's
    direction decides); ``confidence`` 0–100 when the vendor gives a percentage, else None with the raw
    value in ``confidence_raw``; ``source_event_id`` the vendor's event id (Hikvision ``UUID``, Dahua
    ``GroupID/IndexInGroup``) → idempotency key with the device; ``picture_refs`` are part names or
    fetch URLs, never image bytes (R64: pictures stay out of the default path).
    """

    plate: str
    occurred_at: datetime
    direction: Literal["in", "out", "unknown"] = "unknown"
    plate_color: str = ""
    vehicle_type: str = ""
    vehicle_color: str = ""
    lane: int | None = None
    confidence: int | None = None
    confidence_raw: int | None = None
    source_event_id: str = ""
    picture_refs: tuple[str, ...] = ()
