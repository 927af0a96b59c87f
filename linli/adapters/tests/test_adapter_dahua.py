"""Dahua: every captured fixture through the codec with the exact canonical output; the attach-stream
parser fed whole and in small chunks (multi-line JSON, heartbeats, stray bytes, braces in strings);
the §2.6 time rules; the remote-open and attach requests; and the push endpoint."""

import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import RequestFactory

from linli.adapters import registry
from linli.adapters.dahua import adapter, codec, views
from linli.devices.canonical import PlateRead, Rejected, VendorAccessEvent, seq_from_key

ROOT = Path(registry.__file__).parent / "dahua" / "fixtures"


def fx(name: str):
    return json.loads((ROOT / f"{name}.json").read_text(encoding="utf-8"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def stream(name: str, boundary: str = "myboundary") -> bytes:
    """The attach answer as it comes over the wire: each fixture part framed by the boundary."""
    out = ""
    for part in fx(name)["response"]["parts"]:
        body = part["body"]
        out += (
            f"--{boundary}\r\nContent-Type: {part['content_type']}\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        )
    return out.encode()


CARD = VendorAccessEvent(
    kind="access",
    occurred_at=utc(2026, 3, 30, 9, 58, 45),
    seq=1024,
    door_no=1,
    direction="in",
    method="card",
    result="allow",
    employee_no="9901",
    card_no="0A1B2C3D",
    raw={"code": "AccessControl", "method": 1, "error_code": 0},
)
PLATE = PlateRead(
    plate="晋A12345",
    occurred_at=utc(2026, 1, 30, 0, 12, 3, 120000),
    plate_color="blue",
    vehicle_type="light-duty",
    vehicle_color="white",
    lane=1,
    confidence=None,
    confidence_raw=200,
    source_event_id="175707001/1",
)


def test_attach_stream_access_control_card():
    decoded = codec.decode(stream("cgi-attach-accesscontrol-card-composed"))
    assert decoded == codec.Decoded(events=(CARD,), codes=("AccessControl",), heartbeats=1)


def test_attach_stream_traffic_junction_uses_real_utc():
    decoded = codec.decode(stream("cgi-attach-trafficjunction-plate-composed"))
    assert decoded == codec.Decoded(plates=(PLATE,), codes=("TrafficJunction",))
    # Without RealUTC a traffic camera's UTC is local wall-clock time: UTC − zone offset.
    events, _beats = codec.parse_attach(stream("cgi-attach-trafficjunction-plate-composed"))
    data = dict(events[0].data)
    del data["RealUTC"]
    assert (
        codec.plate_read(codec.DahuaEvent("TrafficJunction", "Pulse", 0, data)).occurred_at
        == PLATE.occurred_at
    )


def test_attach_stream_start_stop_edges_are_parsed_and_not_mapped():
    events, beats = codec.parse_attach(stream("cgi-attach-videomotion"))
    assert [(e.code, e.action, e.index, e.data) for e in events] == [
        ("VideoMotion", "Start", 0, {"Id": [0], "RegionName": ["Region1"], "SmartMotionEnable": False}),
        ("VideoMotion", "Stop", 0, {"Id": [0], "RegionName": ["Region1"], "SmartMotionEnable": False}),
    ]
    assert beats == 0
    assert codec.decode(stream("cgi-attach-videomotion")).events == ()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 13, 64])
def test_the_stream_parser_gives_the_same_events_whatever_the_chunking(size):
    raw = (
        stream("cgi-attach-accesscontrol-card-composed")
        + stream("cgi-attach-trafficjunction-plate-composed")
        + stream("cgi-attach-videomotion")
    )
    whole, beats = codec.parse_attach(raw)
    parser = codec.AttachStream()
    pieces = []
    for i in range(0, len(raw), size):  # splits multi-byte characters (晋) and the JSON alike
        pieces += parser.feed(raw[i : i + size])
    pieces += parser.close()
    assert pieces == whole
    assert [e.code for e in whole] == ["AccessControl", "TrafficJunction", "VideoMotion", "VideoMotion"]
    assert (parser.heartbeats, beats, parser.errors) == (1, 1, 0)


def test_stray_bytes_braces_in_strings_unknow_and_data_less_events():
    raw = (
        b"--myboundary\r\nContent-Type: text/plain\r\n\r\n"
        b'Code=AccessControl;action=Pulse;index=1;data={\n "CardNo" : "Unknow", "Name" : "a}b{c\\"}",\n'
        b' "Door" : 1, "Method" : 4, "RecNo" : 7, "Status" : 0, "ErrorCode" : 16, "Type" : "Exit",\n'
        b' "UTC" : 1774864725, "UserID" : "unknow" }garbage after the brace\r\n'
        b"--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=NTPAdjustTime;action=Pulse;index=0\r\n"
        b"--myboundary\r\nContent-Type: text/plain\r\n\r\nHeartbeat\r\n"
    )
    events, beats = codec.parse_attach(raw)
    assert [(e.code, e.index) for e in events] == [("AccessControl", 1), ("NTPAdjustTime", 0)]
    assert events[0].data["Name"] == 'a}b{c"}'
    assert beats == 1
    (denied,) = codec.decode(raw).events
    assert denied == VendorAccessEvent(
        kind="access",
        occurred_at=utc(2026, 3, 30, 9, 58, 45),
        seq=7,
        door_no=2,  # Door is 0-based
        direction="out",
        method="remote",
        result="deny",
        reason="denied",
        raw={"code": "AccessControl", "method": 4, "error_code": 16},
    )


def test_access_control_method_variants_and_missing_rec_no():
    base = {"UTC": 1774864725, "Door": 0, "Status": 1, "UserID": "9901"}
    face = codec.access_event(codec.DahuaEvent("AccessControl", "Pulse", 0, {**base, "Method": 15}))
    button = codec.access_event(codec.DahuaEvent("AccessControl", "Pulse", 0, {**base, "Method": 5}))
    other = codec.access_event(codec.DahuaEvent("AccessControl", "Pulse", 0, {**base, "Method": 9}))
    assert (face.method, face.result) == ("face", "allow")
    assert (button.kind, button.door_state, button.direction) == ("door", "button", "out")
    assert (other.method, other.raw["method"]) == ("", 9)
    assert face.seq == seq_from_key("dahua", "AccessControl", 1774864725.0, "9901")


def test_rpc_door_status_back_key_light_and_door_card():
    (closed,) = codec.decode(fx("rpc-vto-doorstatus")).events
    assert closed == VendorAccessEvent(
        kind="door",
        occurred_at=utc(2021, 4, 11, 13, 34, 52),  # VTO: UTC is true UTC (LocaleTime 21:34:52 +08:00)
        seq=seq_from_key("dahua", "DoorStatus", 1618148092.0, 0, "closed"),
        door_no=1,
        door_state="closed",
        raw={"code": "DoorStatus"},
    )
    (unlocked,) = codec.decode(fx("rpc-vto-backkeylight-unlock")).events
    assert unlocked == VendorAccessEvent(
        kind="access",
        occurred_at=utc(2021, 6, 20, 5, 52, 20),
        seq=seq_from_key("dahua", "BackKeyLight", 1624168340.0, -1, 8),
        door_no=1,
        method="remote",
        result="allow",
        raw={"code": "BackKeyLight", "state": 8},
    )
    card = codec.decode(fx("rpc-vto-doorcard"))
    assert (card.events, card.codes) == ((), ("DoorCard",))  # the decision arrives as AccessControl
    ringing = fx("rpc-vto-backkeylight-unlock")
    ringing["params"]["eventList"][0]["Data"]["State"] = 1
    assert codec.decode(ringing).events == ()


def test_rpc_traffic_junction_without_a_plate_gives_no_plate_read():
    decoded = codec.decode(fx("rpc-trafficjunction-nonmotor"))
    assert (decoded.plates, decoded.codes) == ((), ("TrafficJunction",))
    events = codec.parse_rpc(fx("rpc-trafficjunction-nonmotor"))
    data = dict(events[0].data)
    data["TrafficCar"] = {**data["TrafficCar"], "PlateNumber": "晋B54321"}
    read = codec.plate_read(codec.DahuaEvent("TrafficJunction", "Pulse", 0, data))
    assert (read.plate, read.occurred_at, read.confidence, read.confidence_raw, read.source_event_id) == (
        "晋B54321",
        utc(2024, 1, 30, 7, 34, 55, 305000),  # RealUTC 1706600095 (+305 ms), not UTC 1706625295
        None,
        160,  # Vehicle.Confidence: not a percentage
        "175706653/1",
    )
    assert (read.plate_color, read.vehicle_color, read.lane) == ("", "blue", 2)


def test_requests_match_the_fixtures():
    assert (
        codec.attach_request(["AccessControl", "DoorStatus"])
        == (fx("cgi-attach-accesscontrol-card-composed")["request"]["path"])
    )
    assert (
        codec.attach_request(["TrafficJunction"])
        == (fx("cgi-attach-trafficjunction-plate-composed")["request"]["path"])
    )
    remote = fx("cgi-remote-open-door-request")
    assert codec.open_door_request(1, "101") == remote["path"]
    assert codec.open_door_ok(remote["expected_response_body"]) is True
    assert codec.open_door_ok("Error\r\n") is False
    with pytest.raises(Rejected):
        codec.open_door_request(1, "101&action=reboot")


def test_bad_inputs_are_rejected():
    for raw in (b"{oops", b"random words\nmore words\n", b'{"params": {}}'):
        with pytest.raises(Rejected):
            codec.decode(raw)
    event = codec.DahuaEvent("AccessControl", "Pulse", 0, {"Status": 1})
    with pytest.raises(Rejected) as exc:
        codec.access_event(event)
    assert exc.value.reason == "bad_ts"


# --- the push endpoint ----------------------------------------------------------------------------


@pytest.fixture
def vto(world):
    from linli.access.tests.factories import access_point
    from linli.devices.tests import factories as f

    device, _secret = f.device(world.a, profile="generic", adapter="dahua", vendor_id="ANON0000000000009")
    access_point(estate=world.a.estate, device=device, methods=["card", "qr"])
    return device


def _push(token: str, raw: bytes, ctype: str = "text/plain", **extra):
    request = RequestFactory().post(f"/api/v1/devices/ingest/dahua/{token}", raw, content_type=ctype, **extra)
    return views.ingest_push(request, token)


def test_push_endpoint_stores_access_events_once(vto):
    from linli.access.models import AccessEvent

    raw = stream("cgi-attach-accesscontrol-card-composed")
    token = adapter.push_token(vto)
    first = _push(token, raw)
    assert json.loads(first.content) == {"stored": 1, "duplicates": 0, "rejected": 0}
    # "Content-Encoding: deflate" on a plain-text body, and the same event again: a duplicate.
    again = _push(token, raw, HTTP_CONTENT_ENCODING="deflate")
    assert json.loads(again.content) == {"stored": 0, "duplicates": 1, "rejected": 0}
    event = AccessEvent.objects.get()
    assert (event.device_id, event.device_seq, event.method, event.direction) == (vto.pk, 1024, "card", "in")
    compressed = zlib.compress(json.dumps(fx("rpc-vto-backkeylight-unlock")).encode())
    deflated = _push(token, compressed, "application/json", HTTP_CONTENT_ENCODING="deflate")
    assert json.loads(deflated.content)["stored"] == 1
    assert _push(token, b"Heartbeat\r\n").status_code == 200


def test_push_endpoint_refuses_wrong_tokens_and_counts_unknown_devices(vto):
    from linli.devices.models import RejectedMessage

    raw = stream("cgi-attach-accesscontrol-card-composed")
    assert _push(f"{vto.key}.{'f' * 32}", raw).status_code == 403
    hikvision_token = f"{vto.key}.{adapter.push_token(vto).split('.')[1]}"
    assert _push(hikvision_token.replace(vto.key, "someone-else"), raw).status_code == 403
    assert adapter.handle(raw, vendor_id="ANON-UNKNOWN") == {"stored": 0, "duplicates": 0, "rejected": 1}
    assert RejectedMessage.objects.get().reason == "unknown_device"
    assert adapter.handle(raw, vendor_id="ANON0000000000009")["stored"] == 1
    bad = _push(adapter.push_token(vto), b"{broken json", "application/json")
    assert json.loads(bad.content)["rejected"] == 1
