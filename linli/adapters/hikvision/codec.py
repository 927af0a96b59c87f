"""Hikvision ISAPI ↔ canonical (pure: no web framework, no database). device_payloads.md §1, §3.1.

Inbound (``decode``):

* access-control pushes (``eventType: AccessControllerEvent``) in all four body forms seen in the
  field: ``multipart/form-data`` with a JSON part (``event_log`` or ``AccessControllerEvent``) plus
  face snapshots (ignored: pictures never enter the platform), bare JSON, JSON wrapped in
  ``EventNotificationAlert``, and XML ``EventNotificationAlert``; alertStream ``multipart/mixed``;
* ``AcsEvent`` search results (``major``/``minor``/``time`` spelling; ``decode_search``);
* ANPR pushes (multipart with ``anpr.xml`` + pictures, or the fields in the query string) and the
  plates polling answer → ``PlateRead``.

Events map through the (major, minor) **pair** (§1.4: ``1027`` is "low battery" under major 2 and
"remote always close" under major 3). Only vendor codes are kept in ``raw``: names, face boxes,
mask/helmet flags and picture URLs are dropped here (R29). Stored events re-uploaded after a
reconnect (``currentEvent: false``) and search results are ``live=False``.

Outbound (``render``): a door-device command as the ISAPI request (method, path, JSON body or
multipart parts), and ``ack_from_response`` maps the device's ``ResponseStatus`` to an ack
(``employeeNoAlreadyExist`` on add → retry as modify, never success).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from linli.devices.canonical import PlateRead, Rejected, VendorAccessEvent

CST = timezone(timedelta(hours=8), "Asia/Shanghai")  # device-local times without an offset
MAX_BODY = 2 * 1024 * 1024
FDID = "1"
FACE_LIB = "blackFD"

# --- (major, minor) → canonical --------------------------------------------------------------

# major 5 (event): authentication passed → method
ALLOW = {1: "card", 38: "", 75: "face", 156: "qr", 181: "pin"}
# major 5: authentication refused → (reason, method; None = from the credential presented)
DENY: dict[int, tuple[str, str | None]] = {
    6: ("no_right", None),
    7: ("outside_window", None),
    8: ("expired", None),
    9: ("invalid_card", None),
    10: ("anti_passback", None),
    39: ("fingerprint_mismatch", ""),
    76: ("face_mismatch", "face"),
    80: ("stranger", "face"),
    104: ("liveness_failed", "face"),
    152: ("unknown_employee", None),
    157: ("qr_invalid", "qr"),
}
FINGERPRINT = {38, 39}  # not a platform method: kept as raw["credential"]
DOOR = {21: "lock_open", 22: "lock_closed", 23: "button", 25: "open", 26: "closed"}
ALARM = {
    (5, 27): "forced",
    (5, 28): "held_open",
    (5, 133): "tailgating",
    (5, 134): "reverse",
    (5, 135): "forced",
    (5, 136): "climbing",
    (5, 138): "intrusion",
    (1, 1028): "tamper",
    (1, 1030): "tamper",
    (1, 1034): "duress",
    (1, 1048): "fire_button",
    (1, 1052): "emergency",
}
STATUS = {(2, 39): "network_down", (2, 1027): "low_battery", (2, 1029): "ac_off", (2, 1033): "reader_offline"}
REMOTE_DOOR = {1025: "remote_close", 1026: "always_open", 1027: "always_closed"}


# --- small readers -------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value.strip())
    return None


def _str(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\x00", "").strip()  # NUL cannot be stored in PostgreSQL text


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def parse_time(value: Any, tz=CST) -> datetime:
    """ISO 8601 (offset optional: device-local ``tz`` when absent) → aware UTC."""
    text = _str(value)
    if not text:
        raise Rejected("bad_ts", "missing")
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected("bad_ts", text[:40]) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=tz)
    return ts.astimezone(UTC)


def normalise_mac(value: Any) -> str:
    hexdigits = re.sub(r"[^0-9a-fA-F]", "", _str(value))
    if len(hexdigits) != 12:
        return ""
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2)).lower()


# --- bodies: multipart, XML ---------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str
    content_type: str
    body: Any  # bytes inbound; a dict (JSON part) or bytes outbound
    filename: str = ""


def _boundary(content_type: str, raw: bytes) -> bytes:
    m = re.search(r'boundary="?([^";]+)"?', content_type or "", re.I)
    if m:
        return m.group(1).strip().encode()
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0].strip()
    if first.startswith(b"--") and len(first) > 2:
        return first[2:]
    raise Rejected("bad_multipart", "no boundary")


def split_multipart(raw: bytes, content_type: str = "") -> list[Part]:
    """Parts of a multipart body; empty parts and stray ``--boundary`` lines are skipped."""
    delimiter = b"--" + _boundary(content_type, raw)
    parts = []
    for segment in raw.split(delimiter)[1:]:
        if segment.startswith(b"--"):
            break  # closing delimiter
        segment = segment[2:] if segment.startswith(b"\r\n") else segment.lstrip(b"\n")
        for sep in (b"\r\n\r\n", b"\n\n"):
            head, found, body = segment.partition(sep)
            if found:
                break
        else:
            continue
        if body.endswith(b"\r\n"):
            body = body[:-2]
        elif body.endswith(b"\n"):
            body = body[:-1]
        headers = {}
        for line in head.decode("latin-1").splitlines():
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = dict(re.findall(r'(\w+)="([^"]*)"', disposition))
        parts.append(
            Part(
                name=params.get("name", ""),
                filename=params.get("filename", ""),
                content_type=headers.get("content-type", "").split(";")[0].strip().lower(),
                body=body,
            )
        )
    return parts


def _tag(elem: ET.Element) -> str:
    return elem.tag.rsplit("}", 1)[-1]


def xml_to_obj(elem: ET.Element) -> Any:
    """Element → str (leaf) or dict (repeated children → list), namespaces dropped."""
    children = list(elem)
    if not children:
        return (elem.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        key, value = _tag(child), xml_to_obj(child)
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def parse_xml(raw: bytes | str) -> tuple[str, Any]:
    """(root tag, object). Document type declarations are refused (entity expansion)."""
    data = raw.encode() if isinstance(raw, str) else raw
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise Rejected("bad_xml", "DTD not allowed")
    try:
        root = ET.fromstring(data)  # noqa: S314 - DTDs refused above; expat resolves no external entities
    except ET.ParseError as exc:
        raise Rejected("bad_xml", str(exc)[:80]) from None
    return _tag(root), xml_to_obj(root)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise Rejected("bad_json") from None


def _as_list(value: Any) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# --- access events -----------------------------------------------------------------------------


def _method_presented(ev: dict) -> str:
    if _str(ev.get("QRCodeInfo")):
        return "qr"
    if _str(ev.get("cardNo")) not in ("", "0"):
        return "card"
    if _str(ev.get("currentVerifyMode")) == "face":
        return "face"
    return ""


def access_event(ev: dict, *, when: datetime, live: bool = True) -> VendorAccessEvent:
    """One ``AccessControllerEvent`` (push) or ``AcsEvent.InfoList`` item (search) → canonical."""
    major = _int(ev.get("majorEventType", ev.get("major")))
    minor = _int(ev.get("subEventType", ev.get("minor")))
    if major is None or minor is None:
        raise Rejected("bad_payload", "major/minor missing")
    employee = _str(ev.get("employeeNoString")) or _str(ev.get("employeeNo"))
    card = _str(ev.get("cardNo"))
    door = _int(ev.get("doorNo"))
    seq = _int(ev.get("serialNo"))
    common = {
        "occurred_at": when,
        "seq": seq if seq is not None and seq >= 0 else None,
        "door_no": door if door and door > 0 else 1,
        "employee_no": employee[:32],
        "card_no": "" if card == "0" else card[:32],
        "qr_code": _str(ev.get("QRCodeInfo"))[:512],
        "live": live and not _false(ev.get("currentEvent")),
        "raw": {"major": major, "minor": minor},
    }
    if major == 5 and minor in FINGERPRINT:
        common["raw"]["credential"] = "fingerprint"
    if major == 5 and minor in ALLOW:
        return VendorAccessEvent(kind="access", result="allow", method=ALLOW[minor], **common)
    if major == 5 and minor in DENY:
        reason, method = DENY[minor]
        return VendorAccessEvent(
            kind="access",
            result="deny",
            reason=reason,
            method=_method_presented(ev) if method is None else method,
            **common,
        )
    if major == 3 and minor == 1024:
        return VendorAccessEvent(kind="access", result="allow", method="remote", **common)
    if major == 5 and minor in DOOR:
        direction = "out" if minor == 23 else "unknown"
        return VendorAccessEvent(kind="door", door_state=DOOR[minor], direction=direction, **common)
    if major == 3 and minor in REMOTE_DOOR:
        return VendorAccessEvent(kind="door", door_state=REMOTE_DOOR[minor], **common)
    if (major, minor) in ALARM:
        return VendorAccessEvent(kind="alarm", alarm=ALARM[(major, minor)], **common)
    if (major, minor) in STATUS:
        return VendorAccessEvent(kind="status", reason=STATUS[(major, minor)], **common)
    return VendorAccessEvent(kind="status", reason="unknown_event", **common)


@dataclass(frozen=True)
class Decoded:
    """What one push (or alertStream chunk) carried."""

    event_types: tuple[str, ...] = ()
    vendor_ids: tuple[str, ...] = ()  # MAC (lower case, colons), then serial: how the device is known
    events: tuple[VendorAccessEvent, ...] = ()
    plates: tuple[PlateRead, ...] = ()
    pictures: tuple[str, ...] = ()  # names of image parts (never their bytes)


@dataclass
class _Acc:
    types: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    events: list[VendorAccessEvent] = field(default_factory=list)
    plates: list[PlateRead] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)

    def vendor(self, *values: str) -> None:
        for v in values:
            if v and v not in self.ids:
                self.ids.append(v)


def _serial(alert: dict) -> str:
    uuid = _str(alert.get("deviceUUID"))
    return uuid.split()[-1] if uuid else ""


def _alert(acc: _Acc, obj: Any, tz, orientation: dict | None, pictures: list[str]) -> None:
    if not isinstance(obj, dict):
        raise Rejected("bad_payload", "not an object")
    if isinstance(obj.get("EventNotificationAlert"), dict):
        obj = obj["EventNotificationAlert"]
    event_type = _str(obj.get("eventType"))
    acc.types.append(event_type)
    acc.vendor(normalise_mac(obj.get("macAddress")), _serial(obj))
    if event_type == "AccessControllerEvent":
        ev = obj.get("AccessControllerEvent")
        if not isinstance(ev, dict):
            raise Rejected("bad_payload", "AccessControllerEvent missing")
        acc.events.append(access_event(ev, when=parse_time(obj.get("dateTime"), tz)))
    elif event_type == "ANPR":
        read = plate_from_anpr(obj, tz=tz, orientation=orientation, pictures=pictures)
        if read is not None:
            acc.plates.append(read)


def decode(
    raw: bytes | dict,
    content_type: str = "",
    *,
    query: dict | None = None,
    tz=CST,
    orientation: dict | None = None,
) -> Decoded:
    """A push body (any of the four forms, or an ANPR push) → what it carried.

    ``orientation`` maps the camera's ``forward``/``reverse`` to ``in``/``out`` for the gate it
    watches; without it the plate direction is ``unknown`` (the access point's direction decides)."""
    acc = _Acc()
    if isinstance(raw, dict):
        _alert(acc, raw, tz, orientation, [])
        return _done(acc)
    if len(raw) > MAX_BODY:
        raise Rejected("too_large")
    ctype = (content_type or "").split(";")[0].strip().lower()
    stripped = raw.lstrip()
    if ctype.startswith("multipart/") or stripped.startswith(b"--"):
        parts = split_multipart(raw, content_type)
        pictures = [p.filename or p.name for p in parts if p.content_type.startswith("image/")]
        acc.pictures.extend(pictures)
        for part in parts:
            body = part.body.lstrip()
            if part.content_type.startswith("image/") or not body:
                continue
            if part.content_type.endswith("json") or body.startswith(b"{"):
                _alert(acc, _json(body), tz, orientation, pictures)
            elif "xml" in part.content_type or body.startswith(b"<"):
                _tag_name, obj = parse_xml(body)
                _alert(acc, obj, tz, orientation, pictures)
    elif stripped.startswith(b"{"):
        _alert(acc, _json(raw), tz, orientation, [])
    elif stripped.startswith(b"<"):
        _tag_name, obj = parse_xml(raw)
        _alert(acc, obj, tz, orientation, [])
    elif stripped and not (query and query.get("licensePlate")):
        raise Rejected("bad_payload", "unknown body")
    if query and _str(query.get("licensePlate")) and not acc.plates:
        read = plate_from_query(query, tz=tz, orientation=orientation)
        if read is not None:
            acc.types.append("ANPR")
            acc.plates.append(read)
    return _done(acc)


def _done(acc: _Acc) -> Decoded:
    return Decoded(
        event_types=tuple(acc.types),
        vendor_ids=tuple(acc.ids),
        events=tuple(acc.events),
        plates=tuple(acc.plates),
        pictures=tuple(acc.pictures),
    )


@dataclass(frozen=True)
class SearchPage:
    events: tuple[VendorAccessEvent, ...]
    status: str  # MORE, OK, NO MATCH
    matches: int
    total: int

    @property
    def more(self) -> bool:
        return self.status == "MORE"


def decode_search(body: dict, *, tz=CST) -> SearchPage:
    """An ``AcsEvent`` search answer → stored events (``live=False``); results are not sorted."""
    page = body.get("AcsEvent") if isinstance(body, dict) else None
    if not isinstance(page, dict):
        raise Rejected("bad_payload", "AcsEvent missing")
    events = tuple(
        access_event(item, when=parse_time(item.get("time"), tz), live=False)
        for item in _as_list(page.get("InfoList"))
        if isinstance(item, dict)
    )
    return SearchPage(
        events=events,
        status=_str(page.get("responseStatusStrg")),
        matches=_int(page.get("numOfMatches")) or 0,
        total=_int(page.get("totalMatches")) or 0,
    )


def search_request(
    *, search_id: str, position: int, start: datetime, end: datetime, max_results: int = 30, major: int = 5
) -> dict:
    """The catch-up search body (``POST /ISAPI/AccessControl/AcsEvent?format=json``); times carry
    the device's offset (mandatory on some firmware)."""
    return {
        "AcsEventCond": {
            "searchID": search_id,
            "searchResultPosition": position,
            "maxResults": max_results,
            "major": major,
            "minor": 0,
            "startTime": start.isoformat(timespec="seconds"),
            "endTime": end.isoformat(timespec="seconds"),
        }
    }


def http_host_notification(*, url_path: str, ip_address: str, port: int, https: bool = True) -> dict:
    """The listening-host configuration (``PUT /ISAPI/Event/notification/httpHosts/1``) that makes the
    terminal push its events, JSON, to ``url_path`` (which holds the per-device token, §1.7)."""
    return {
        "HttpHostNotification": {
            "id": "1",
            "url": url_path,
            "protocolType": "HTTPS" if https else "HTTP",
            "parameterFormatType": "JSON",
            "addressingFormatType": "ipaddress",
            "ipAddress": ip_address,
            "portNo": port,
            "httpAuthenticationMethod": "none",
        }
    }


# --- plates ------------------------------------------------------------------------------------


def _direction(value: Any, orientation: dict | None) -> str:
    mapped = (orientation or {}).get(_str(value).lower(), "unknown")
    return mapped if mapped in ("in", "out") else "unknown"


def _colour(value: Any) -> str:
    word = _str(value).lower()
    return "" if word in ("", "unknown", "unknow") else word


def _confidence(value: Any) -> tuple[int | None, int | None]:
    n = _int(value)
    if n is None:
        return None, None
    return (n, None) if 0 <= n <= 100 else (None, n)


def _local_compact(text: str, tz) -> datetime | None:
    """``20260507174803847`` (yyyyMMddHHmmssSSS) or ``20260424T1616270000`` → aware UTC."""
    digits = text.replace("T", "")
    try:
        ts = datetime.strptime(digits[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    ms = digits[14:17] if "T" not in text else ""
    if ms.isdigit():
        ts = ts.replace(microsecond=int(ms) * 1000)
    return ts.replace(tzinfo=tz).astimezone(UTC)


def _plate_text(value: Any) -> str:
    text = _str(value).replace(" ", "").replace("·", "")
    return "" if text in ("", "无车牌", "unknown") else text[:16]


def plate_from_anpr(
    alert: dict, *, tz=CST, orientation: dict | None = None, pictures: list[str] | None = None
) -> PlateRead | None:
    anpr = alert.get("ANPR")
    if not isinstance(anpr, dict):
        raise Rejected("bad_payload", "ANPR missing")
    plate = _plate_text(anpr.get("licensePlate"))
    if not plate:
        return None
    listing = anpr.get("pictureInfoList")
    infos = _as_list(listing.get("pictureInfo")) if isinstance(listing, dict) else []
    names = tuple(_str(i.get("fileName")) for i in infos if isinstance(i, dict) and _str(i.get("fileName")))
    if alert.get("dateTime"):
        when = parse_time(alert.get("dateTime"), tz)
    else:
        when = next(
            (t for i in infos if isinstance(i, dict) and (t := _local_compact(_str(i.get("absTime")), tz))),
            None,
        )
        if when is None:
            raise Rejected("bad_ts", "missing")
    vehicle = anpr.get("vehicleInfo") if isinstance(anpr.get("vehicleInfo"), dict) else {}
    confidence, confidence_raw = _confidence(anpr.get("confidenceLevel"))
    return PlateRead(
        plate=plate,
        occurred_at=when,
        direction=_direction(anpr.get("direction"), orientation),  # type: ignore[arg-type]
        plate_color=_colour(anpr.get("plateColor")),
        vehicle_type=_str(anpr.get("vehicleType"))[:32],
        vehicle_color=_colour(vehicle.get("color")),
        lane=_int(anpr.get("line")),
        confidence=confidence,
        confidence_raw=confidence_raw,
        source_event_id=_str(alert.get("UUID"))[:64],
        picture_refs=names or tuple(pictures or ()),
    )


def plate_from_query(query: dict, *, tz=CST, orientation: dict | None = None) -> PlateRead | None:
    """Firmware that puts the main ANPR fields in the push URL's query string."""
    plate = _plate_text(query.get("licensePlate"))
    if not plate:
        return None
    when_text = _str(query.get("dateTime"))
    when = parse_time(when_text, tz) if when_text else None
    if when is None:
        raise Rejected("bad_ts", "missing")
    confidence, confidence_raw = _confidence(query.get("confidenceLevel"))
    return PlateRead(
        plate=plate,
        occurred_at=when,
        direction=_direction(query.get("direction"), orientation),  # type: ignore[arg-type]
        plate_color=_colour(query.get("plateColor")),
        confidence=confidence,
        confidence_raw=confidence_raw,
        source_event_id=_str(query.get("UUID"))[:64],
    )


def decode_plates_poll(xml: bytes | str, *, tz=CST, orientation: dict | None = None) -> list[PlateRead]:
    """The polling answer of older cameras (``POST /ISAPI/Traffic/channels/1/vehicleDetect/plates``)."""
    tag, obj = parse_xml(xml)
    if tag != "Plates":
        raise Rejected("bad_payload", "Plates missing")
    out = []
    for item in _as_list(obj.get("Plate") if isinstance(obj, dict) else None):
        if not isinstance(item, dict):
            continue
        plate = _plate_text(item.get("plateNumber"))
        when = _local_compact(_str(item.get("captureTime")), tz)
        if not plate or when is None:
            continue
        out.append(
            PlateRead(
                plate=plate,
                occurred_at=when,
                direction=_direction(item.get("direction"), orientation),  # type: ignore[arg-type]
                lane=_int(item.get("laneNo")),
                source_event_id=_str(item.get("picName"))[:64],
            )
        )
    return out


def next_pic_time(reads: list[PlateRead], previous: str = "") -> str:
    """The ``picTime`` of the next poll: the largest ``picName`` seen (results are not sorted)."""
    return max([previous, *(r.source_event_id for r in reads)], key=lambda s: (len(s), s))


# --- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsapiRequest:
    method: str
    path: str
    content_type: str
    body: Any = None  # JSON object (application/json) or text (XML)
    parts: tuple[Part, ...] = ()


DEFAULT_VALID = ("2020-01-01T00:00:00", "2037-12-31T23:59:59")


def _employee(payload: dict) -> str:
    employee = _str(payload.get("employee_no"))
    if not employee or len(employee) > 32:
        raise Rejected("bad_command", "employee_no")
    return employee


def render(
    kind: str,
    payload: dict,
    *,
    sample: bytes | None = None,
    name: str = "",
    card_no: str = "",
    valid: tuple[str, str] = DEFAULT_VALID,
    face_url: str = "",
) -> IsapiRequest:
    """A door-device command as the ISAPI request (device_payloads §1.6).

    The person's name on the device is the pseudonym unless ``name`` is given; no gender or other
    attribute is sent (R29). ``payload["mode"] == "modify"`` renders the modify call (after the
    device answered ``employeeNoAlreadyExist``)."""
    if kind == "open_door":
        door = _int(payload.get("door")) or 1
        cmd = _str(payload.get("cmd")) or "open"
        return IsapiRequest(
            "PUT",
            f"/ISAPI/AccessControl/RemoteControl/door/{door}?format=json",
            "application/json",
            {"RemoteControlDoor": {"cmd": cmd}},
        )
    employee = _employee(payload)
    if kind == "push_person":
        doors = sorted({d for d in (_int(x) for x in payload.get("doors") or [1]) if d and d > 0}) or [1]
        modify = payload.get("mode") == "modify"
        return IsapiRequest(
            "PUT" if modify else "POST",
            f"/ISAPI/AccessControl/UserInfo/{'Modify' if modify else 'Record'}?format=json",
            "application/json",
            {
                "UserInfo": {
                    "employeeNo": employee,
                    "name": name or employee,
                    "userType": "normal",
                    "Valid": {
                        "enable": True,
                        "beginTime": valid[0],
                        "endTime": valid[1],
                        "timeType": "local",
                    },
                    "doorRight": ",".join(str(d) for d in doors),
                    "RightPlan": [{"doorNo": d, "planTemplateNo": "1"} for d in doors],
                    "localUIRight": False,
                    "password": "",
                }
            },
        )
    if kind == "delete_person":
        return IsapiRequest(
            "PUT",
            "/ISAPI/AccessControl/UserInfo/Delete?format=json",
            "application/json",
            {"UserInfoDetail": {"mode": "byEmployeeNo", "EmployeeNoList": [{"employeeNo": employee}]}},
        )
    if kind == "push_card":
        card = card_no or _str(payload.get("card_no"))
        if not card:
            raise Rejected("bad_command", "card_no")
        return IsapiRequest(
            "POST",
            "/ISAPI/AccessControl/CardInfo/Record?format=json",
            "application/json",
            {"CardInfo": {"employeeNo": employee, "cardNo": card, "cardType": "normalCard"}},
        )
    if kind == "delete_card":
        card = card_no or _str(payload.get("card_no"))
        cond = {"CardNoList": [{"cardNo": card}]} if card else {"EmployeeNoList": [{"employeeNo": employee}]}
        return IsapiRequest(
            "PUT",
            "/ISAPI/AccessControl/CardInfo/Delete?format=json",
            "application/json",
            {"CardInfoDelCond": cond},
        )
    if kind == "push_face":
        path = "/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json"
        record = {"faceLibType": FACE_LIB, "FDID": FDID, "FPID": employee}
        if face_url:
            return IsapiRequest("POST", path, "application/json", {"faceURL": face_url, **record})
        if not sample:
            raise Rejected("bad_command", "sample missing")
        return IsapiRequest(
            "POST",
            path,
            "multipart/form-data",
            parts=(
                Part("FaceDataRecord", "application/json", record),
                Part("img", "image/jpeg", sample, filename=f"{employee}.jpg"),
            ),
        )
    if kind == "delete_face":
        return IsapiRequest(
            "PUT",
            f"/ISAPI/Intelligent/FDLib/FDSearch/Delete?format=json&FDID={FDID}&faceLibType={FACE_LIB}",
            "application/json",
            {
                "FaceInfoDelCond": {
                    "EmployeeNoList": [{"employeeNo": employee}],
                    "faceLibType": FACE_LIB,
                    "FDID": FDID,
                }
            },
        )
    raise Rejected("unsupported_command", kind)  # voiceprints: no ISAPI for them


def remote_door_xml(door: int, cmd: str = "open") -> IsapiRequest:
    """Older firmware without ``?format=json`` on the remote-door call."""
    return IsapiRequest(
        "PUT",
        f"/ISAPI/AccessControl/RemoteControl/door/{int(door)}",
        "application/xml",
        f"<RemoteControlDoor><cmd>{quote(cmd, safe='')}</cmd></RemoteControlDoor>",
    )


def encode_multipart(parts: tuple[Part, ...], boundary: str) -> tuple[str, bytes]:
    """(Content-Type, body) for a multipart request (JSON parts compact, UTF-8)."""
    chunks = []
    for part in parts:
        body = part.body
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        disposition = f'form-data; name="{part.name}"'
        if part.filename:
            disposition += f'; filename="{part.filename}"'
        head = (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {part.content_type}\r\n\r\n"
        )
        chunks.append(head.encode() + body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


@dataclass(frozen=True)
class Ack:
    ok: bool
    error: str = ""
    requeue_mode: str = ""  # "modify": send again as a modify call; "same": device busy, send again


def _response_status(body: Any) -> dict:
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                body = json.loads(stripped)
            except ValueError:
                return {}
        elif stripped.startswith("<"):
            try:
                _tag_name, body = parse_xml(stripped)
            except Rejected:
                return {}
        else:
            return {}
    if isinstance(body, dict) and isinstance(body.get("ResponseStatus"), dict):
        body = body["ResponseStatus"]
    return body if isinstance(body, dict) else {}


def ack_from_response(kind: str, http_status: int, body: Any) -> Ack:
    """The device's answer to a rendered command → ack. ``statusCode`` 1 = OK; ``employeeNoAlreadyExist``
    on an add is "exists → modify" (never success); busy (2) or 503 → send again; anything else fails
    with the ``subStatusCode`` (e.g. ``noFaceDetected``, ``deviceCardFull``) as the error."""
    status = _response_status(body)
    code = _int(status.get("statusCode"))
    sub = _str(status.get("subStatusCode"))
    if 200 <= http_status < 300 and code in (None, 1) and sub in ("", "ok"):
        return Ack(True)
    if sub == "employeeNoAlreadyExist" and kind in ("push_person",):
        return Ack(False, sub, requeue_mode="modify")
    if code == 2 or http_status in (429, 503):
        return Ack(False, sub or "deviceBusy", requeue_mode="same")
    return Ack(False, sub or _str(status.get("statusString")) or f"http_{http_status}")
