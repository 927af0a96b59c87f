"""Dahua access control, intercom (VTO) and traffic-camera events → canonical (pure: no web framework,
no database). device_payloads.md §2, §3.2.

Inputs:

* the CGI attach stream (``eventManager.cgi?action=attach``, ``multipart/x-mixed-replace``): text
  parts ``Code=<code>;action=<Start|Stop|Pulse>;index=<n>[;data=<JSON>]`` whose JSON is usually
  pretty-printed over many lines, split across TCP chunks and sometimes followed by stray bytes —
  ``AttachStream`` buffers until the braces balance (braces inside strings ignored), skips part
  headers, boundaries, empty parts and ``Heartbeat`` parts (counted);
* the JSON-RPC ``client.notifyEventStream`` of door stations, and the same text or JSON POSTed by
  "event HTTP upload".

Mapping: ``AccessControl`` → access result (``Status`` 1 allow / 0 deny; ``Method`` 1 card, 4 remote,
15 face, 5 exit button → door event; other methods keep their number in ``raw``), ``Door`` is
0-based (door 1 = ``Door`` 0), ``RecNo`` is the idempotency key; ``DoorStatus`` → door state;
``BackKeyLight`` state 8 (unlocked from the indoor unit) / 9 (unlock failed) → remote access result;
``TrafficJunction`` → ``PlateRead``. ``DoorCard`` is the raw swipe before the decision (the decision
arrives as ``AccessControl``) and is not mapped; ``Unknow`` spellings count as unknown.

Time (§2.6): intercom/access ``UTC`` is true UTC; traffic cameras send ``UTC`` = local wall clock read
as UTC and ``RealUTC`` = the instant. Rule: ``RealUTC`` when present, else access/VTO ``UTC`` as is,
traffic ``UTC`` minus the device's zone offset; ``LocaleTime`` (local, no offset) last.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from linli.devices.canonical import PlateRead, Rejected, VendorAccessEvent, seq_from_key

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_JSON = 256 * 1024  # one event's data; beyond that the stream is out of step: resynchronise
MAX_BODY = 1024 * 1024

METHOD = {1: "card", 4: "remote", 15: "face"}
EXIT_BUTTON = 5
UNKNOWN_WORDS = {"", "unknow", "unknown"}


@dataclass(frozen=True)
class DahuaEvent:
    code: str
    action: str = ""
    index: int = 0
    data: dict | None = None


HEARTBEAT = "Heartbeat"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value.strip())
    return None


def _str(value: Any) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).replace("\x00", "").strip()  # NUL cannot be stored in PostgreSQL text


def _word(value: Any) -> str:
    word = _str(value).lower()
    return "" if word in UNKNOWN_WORDS else word


# --- the attach stream -------------------------------------------------------------------------


def _header(text: str) -> tuple[str, str, int]:
    fields = {}
    for item in text.strip().strip(";").split(";"):
        key, eq, value = item.partition("=")
        if eq:
            fields[key.strip().lower()] = value.strip()
    index = _int(fields.get("index"))
    return fields.get("code", ""), fields.get("action", ""), index if index is not None else 0


class AttachStream:
    """Incremental parser: ``feed`` chunks as they arrive, get the complete events back."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._head: tuple[str, str, int] | None = None  # event whose JSON is being collected
        self._depth = 0
        self._pos = 0
        self._in_str = False
        self._esc = False
        self.heartbeats = 0
        self.errors = 0

    def feed(self, chunk: bytes | str) -> list[DahuaEvent]:
        self._buf += chunk if isinstance(chunk, str) else self._decoder.decode(chunk)
        return self._drain()

    def close(self) -> list[DahuaEvent]:
        out = self.feed(b"\n")
        if self._head is not None:  # the stream ended inside an event's JSON
            self.errors += 1
            self._head = None
            self._buf = ""
        return out

    def _drain(self) -> list[DahuaEvent]:
        out: list[DahuaEvent] = []
        while True:
            if self._head is not None:
                event = self._collect_json()
                if event is None:
                    return out
                if event.code:
                    out.append(event)
                continue
            stripped = self._buf.lstrip("\r\n")
            self._buf = stripped
            if not stripped:
                return out
            newline = stripped.find("\n")
            if stripped.startswith("Code="):
                data_at = stripped.find("data=")
                if data_at != -1 and (newline == -1 or data_at < newline):
                    self._head = _header(stripped[:data_at])
                    self._buf = stripped[data_at + 5 :]
                    self._depth, self._pos, self._in_str, self._esc = 0, 0, False, False
                    continue
                if newline == -1:
                    return out
                code, action, index = _header(stripped[:newline])
                self._buf = stripped[newline + 1 :]
                if code:
                    out.append(DahuaEvent(code, action, index, None))
                continue
            if newline == -1:
                if len(stripped) > MAX_JSON:  # no line end in sight: drop what cannot be a header
                    self._buf = ""
                    self.errors += 1
                return out
            line = stripped[:newline].strip()
            self._buf = stripped[newline + 1 :]
            if line == HEARTBEAT:
                self.heartbeats += 1
            # boundaries (--myboundary), part headers, stray bytes after a JSON object: skipped

    def _collect_json(self) -> DahuaEvent | None:
        buf = self._buf
        i = self._pos
        if self._depth == 0:
            while i < len(buf) and buf[i] in " \t\r\n":
                i += 1
            if i >= len(buf):
                self._pos = i
                return None
            if buf[i] not in "{[":  # data= without an object: treat as no data
                assert self._head is not None
                head, self._head = self._head, None
                self._buf = buf[i:]
                return DahuaEvent(head[0], head[1], head[2], None)
        while i < len(buf):
            c = buf[i]
            if self._in_str:
                if self._esc:
                    self._esc = False
                elif c == "\\":
                    self._esc = True
                elif c == '"':
                    self._in_str = False
            elif c == '"':
                self._in_str = True
            elif c in "{[":
                self._depth += 1
            elif c in "}]":
                self._depth -= 1
                if self._depth == 0:
                    text, self._buf = buf[: i + 1], buf[i + 1 :]
                    assert self._head is not None
                    head, self._head = self._head, None
                    try:
                        data = json.loads(text)
                    except ValueError:
                        self.errors += 1
                        return DahuaEvent("", "", 0, None)
                    return DahuaEvent(head[0], head[1], head[2], data if isinstance(data, dict) else None)
            i += 1
        self._pos = i
        if len(buf) > MAX_JSON:
            self.errors += 1
            self._head, self._buf = None, ""
            return DahuaEvent("", "", 0, None)
        return None


def parse_attach(body: bytes | str) -> tuple[list[DahuaEvent], int]:
    """(events, heartbeats) of a complete attach-stream text."""
    stream = AttachStream()
    events = stream.feed(body)
    events += stream.close()
    return events, stream.heartbeats


def parse_rpc(message: dict) -> list[DahuaEvent]:
    """``client.notifyEventStream`` → events (other RPC methods carry none)."""
    if message.get("method") != "client.notifyEventStream":
        return []
    params = message.get("params")
    items = params.get("eventList") if isinstance(params, dict) else None
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        index = _int(item.get("Index"))
        data = item.get("Data")
        out.append(
            DahuaEvent(
                code=_str(item.get("Code")),
                action=_str(item.get("Action")),
                index=index if index is not None else 0,
                data=data if isinstance(data, dict) else None,
            )
        )
    return out


def attach_request(codes: list[str], heartbeat: int = 5) -> str:
    """Path of the attach request (HTTP Digest), e.g. ``codes=[AccessControl,DoorStatus]``."""
    return f"/cgi-bin/eventManager.cgi?action=attach&codes=[{','.join(codes)}]&heartbeat={int(heartbeat)}"


def open_door_request(door_no: int, user_id: str) -> str:
    """Path of the remote-open call; ``channel`` is 1 for the first door (unlike the 0-based ``Door``)."""
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,32}", user_id or ""):
        raise Rejected("bad_command", "user_id")
    return f"/cgi-bin/accessControl.cgi?action=openDoor&channel={int(door_no)}&UserID={user_id}&Type=Remote"


def open_door_ok(body: bytes | str) -> bool:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text.strip() == "OK"


# --- time ------------------------------------------------------------------------------------


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < 32503680000:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _locale(value: Any, tz) -> datetime | None:
    try:
        return datetime.strptime(_str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None


def instant(data: dict, *, traffic: bool, tz=CST) -> datetime:
    """When the event happened (UTC), following the §2.6 rule for the product family."""
    real = _epoch(data.get("RealUTC"))
    ms = _int(data.get("UTCMS")) or 0
    if real is not None:
        return real + timedelta(milliseconds=ms if 0 <= ms < 1000 else 0)
    utc = _epoch(data.get("UTC"))
    if utc is not None:
        if traffic:  # local wall clock read as if it were UTC
            local = utc.replace(tzinfo=None).replace(tzinfo=tz)
            return local.astimezone(UTC) + timedelta(milliseconds=ms if 0 <= ms < 1000 else 0)
        return utc
    local = _locale(data.get("LocaleTime"), tz)
    if local is None:
        raise Rejected("bad_ts", "no UTC, RealUTC or LocaleTime")
    return local


# --- mapping ---------------------------------------------------------------------------------


def _door(index: int) -> int:
    return index + 1 if index >= 0 else 1


def access_event(ev: DahuaEvent, *, tz=CST) -> VendorAccessEvent | None:
    d = ev.data or {}
    if ev.code == "AccessControl":
        when = instant(d, traffic=False, tz=tz)
        method = _int(d.get("Method"))
        status = _int(d.get("Status"))
        door = _int(d.get("Door"))
        user = _str(d.get("UserID"))
        card = _str(d.get("CardNo"))
        rec = _int(d.get("RecNo"))
        seq = (
            rec
            if rec is not None and rec >= 0
            else seq_from_key("dahua", ev.code, when.timestamp(), user or card)
        )
        kind_of_pass = _word(d.get("Type"))
        common = {
            "occurred_at": when,
            "seq": seq,
            "door_no": door + 1 if door is not None and door >= 0 else 1,
            "direction": {"entry": "in", "exit": "out"}.get(kind_of_pass, "unknown"),
            "employee_no": "" if _word(user) == "" else user[:32],
            "card_no": "" if _word(card) == "" else card[:32],
            "raw": {"code": ev.code, "method": method, "error_code": _int(d.get("ErrorCode"))},
        }
        if method == EXIT_BUTTON:
            return VendorAccessEvent(kind="door", door_state="button", **{**common, "direction": "out"})
        allowed = status == 1
        return VendorAccessEvent(
            kind="access",
            result="allow" if allowed else "deny",
            reason="" if allowed else "denied",
            method=METHOD.get(method, "") if method is not None else "",
            **common,
        )
    if ev.code == "DoorStatus":
        state = {"open": "open", "close": "closed", "closed": "closed"}.get(_word(d.get("Status")))
        if state is None:
            return None
        when = instant(d, traffic=False, tz=tz)
        return VendorAccessEvent(
            kind="door",
            occurred_at=when,
            seq=seq_from_key("dahua", ev.code, when.timestamp(), ev.index, state),
            door_no=_door(ev.index),
            door_state=state,
            raw={"code": ev.code},
        )
    if ev.code == "BackKeyLight":
        state = _int(d.get("State"))
        if state not in (8, 9):
            return None  # ringing, answered, messages … are calls, not door decisions
        when = instant(d, traffic=False, tz=tz)
        return VendorAccessEvent(
            kind="access",
            occurred_at=when,
            seq=seq_from_key("dahua", ev.code, when.timestamp(), ev.index, state),
            door_no=_door(ev.index),
            method="remote",
            result="allow" if state == 8 else "deny",
            reason="" if state == 8 else "unlock_failed",
            raw={"code": ev.code, "state": state},
        )
    return None


def plate_read(ev: DahuaEvent, *, tz=CST) -> PlateRead | None:
    if ev.code != "TrafficJunction" or not ev.data:
        return None
    d = ev.data
    obj = d.get("Object") if isinstance(d.get("Object"), dict) else {}
    car = d.get("TrafficCar") if isinstance(d.get("TrafficCar"), dict) else {}
    vehicle = d.get("Vehicle") if isinstance(d.get("Vehicle"), dict) else {}
    object_plate = _str(obj.get("Text")).replace(" ", "") if obj.get("ObjectType") == "Plate" else ""
    plate = object_plate if _word(object_plate) else _str(car.get("PlateNumber")).replace(" ", "")
    if _word(plate) == "":
        return None  # e.g. a tricycle without a plate
    # The plate object's confidence describes the plate only when the text came from it.
    raw_conf = _int(obj.get("Confidence")) if plate == object_plate else None
    if raw_conf is None:
        raw_conf = _int(vehicle.get("Confidence"))
    lane = _int(d.get("Lane"))
    group, index = _int(d.get("GroupID")), _int(d.get("IndexInGroup"))
    return PlateRead(
        plate=plate[:16],
        occurred_at=instant(d, traffic=True, tz=tz),
        plate_color=_word(car.get("PlateColor")),
        vehicle_type=_word(car.get("VehicleSize"))[:32],
        vehicle_color=_word(car.get("VehicleColor")),
        lane=lane if lane is not None else _int(car.get("Lane")),
        confidence=None,  # Dahua confidences are not percentages (§3.2)
        confidence_raw=raw_conf,
        source_event_id=f"{group}/{index}" if group is not None and index is not None else "",
    )


@dataclass(frozen=True)
class Decoded:
    events: tuple[VendorAccessEvent, ...] = ()
    plates: tuple[PlateRead, ...] = ()
    codes: tuple[str, ...] = ()  # every event code seen (mapped or not)
    heartbeats: int = 0


@dataclass
class _Acc:
    events: list[VendorAccessEvent] = field(default_factory=list)
    plates: list[PlateRead] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)


def map_events(events: list[DahuaEvent], *, tz=CST, heartbeats: int = 0) -> Decoded:
    acc = _Acc()
    for ev in events:
        acc.codes.append(ev.code)
        if ev.code == "TrafficJunction":
            read = plate_read(ev, tz=tz)
            if read is not None:
                acc.plates.append(read)
            continue
        mapped = access_event(ev, tz=tz)
        if mapped is not None:
            acc.events.append(mapped)
    return Decoded(tuple(acc.events), tuple(acc.plates), tuple(acc.codes), heartbeats)


def _from_json(obj: Any) -> list[DahuaEvent]:
    if isinstance(obj, list):
        return [e for item in obj for e in _from_json(item)]
    if not isinstance(obj, dict):
        raise Rejected("bad_payload", "not an object")
    if "method" in obj:
        return parse_rpc(obj)
    if "Code" in obj:  # one event as uploaded by "event HTTP upload" in JSON mode
        return parse_rpc({"method": "client.notifyEventStream", "params": {"eventList": [obj]}})
    raise Rejected("bad_payload", "no event")


def decode(raw: bytes | str | dict | list, content_type: str = "", *, tz=CST) -> Decoded:
    """An RPC message, a JSON event, or attach-stream text (multipart or bare) → canonical."""
    if isinstance(raw, dict | list):
        return map_events(_from_json(raw), tz=tz)
    if len(raw) > MAX_BODY:
        raise Rejected("too_large")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        try:
            obj = json.loads(stripped)
        except ValueError:
            raise Rejected("bad_json") from None
        return map_events(_from_json(obj), tz=tz)
    events, heartbeats = parse_attach(text)
    if not events and not heartbeats and stripped:
        raise Rejected("bad_payload", "no event")
    return map_events(events, tz=tz, heartbeats=heartbeats)
