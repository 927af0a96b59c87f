"""Hikvision ISAPI: every captured fixture through the codec with the exact canonical output, in all
four push body forms; the (major, minor) table; ANPR; commands rendered against the request fixtures;
the ack mapping; and the push endpoint (token, device mapping, unknown senders, de-duplication)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import RequestFactory

from linli.adapters import registry
from linli.adapters.hikvision import adapter, codec, views
from linli.devices.canonical import PlateRead, Rejected, VendorAccessEvent

ROOT = Path(registry.__file__).parent / "hikvision" / "fixtures"
MAC = "00:00:5e:00:53:01"


def fx(name: str):
    return json.loads((ROOT / f"{name}.json").read_text(encoding="utf-8"))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ev(**kw) -> VendorAccessEvent:
    return VendorAccessEvent(**kw)


PUSHES = {
    "isapi-acs-push-face-pass": ev(
        kind="access",
        occurred_at=utc(2026, 2, 24, 11, 45, 13),
        seq=1199,
        method="face",
        result="allow",
        employee_no="100101",
        raw={"major": 5, "minor": 75},
    ),
    "isapi-acs-push-card-pass-composed": ev(
        kind="access",
        occurred_at=utc(2026, 2, 23, 23, 58, 2),
        seq=1200,
        method="card",
        result="allow",
        employee_no="100102",
        card_no="1234567890",
        raw={"major": 5, "minor": 1},
    ),
    "isapi-acs-push-qr-pass-composed": ev(
        kind="access",
        occurred_at=utc(2026, 2, 24, 2, 15, 40),
        seq=1201,
        method="qr",
        result="allow",
        qr_code="LINLI-VISIT-0f1d4c62-6f52-4a2e-9f42-7d3f6a1b2c3d",
        raw={"major": 5, "minor": 156},
    ),
    "isapi-acs-push-tailgating-composed": ev(
        kind="alarm",
        occurred_at=utc(2026, 2, 24, 10, 2, 11),
        seq=5521,
        alarm="tailgating",
        raw={"major": 5, "minor": 133},
    ),
    "isapi-acs-push-duress-composed": ev(
        kind="alarm",
        occurred_at=utc(2026, 2, 24, 14, 41, 9),
        seq=1202,
        alarm="duress",
        employee_no="100101",
        raw={"major": 1, "minor": 1034},
    ),
}


def _xml(obj, tag="EventNotificationAlert") -> str:
    if isinstance(obj, dict):
        inner = "".join(_xml(v, k) for k, v in obj.items())
    elif isinstance(obj, bool):
        inner = "true" if obj else "false"
    else:
        inner = str(obj)
    ns = (
        ' version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"'
        if tag == "EventNotificationAlert"
        else ""
    )
    return f"<{tag}{ns}>{inner}</{tag}>"


def _multipart(json_part_name: str, body: dict, boundary="MIME_boundary") -> tuple[str, bytes]:
    parts = (
        codec.Part(json_part_name, "application/json", body),
        codec.Part("Picture", "image/jpeg", b"\xff\xd8\xff\xe0 JPEG bytes \xff\xd9", filename="face.jpg"),
    )
    return codec.encode_multipart(parts, boundary)


def body_forms(alert: dict) -> dict[str, tuple[bytes, str]]:
    """The four push body forms of §1.1 (two multipart part names) for one alert."""
    forms = {
        "json": (json.dumps(alert, ensure_ascii=False).encode(), "application/json"),
        "wrapped": (
            json.dumps({"EventNotificationAlert": alert}, ensure_ascii=False).encode(),
            "application/json",
        ),
        "xml": (f'<?xml version="1.0" encoding="UTF-8"?>\n{_xml(alert)}'.encode(), "application/xml"),
    }
    for name in ("event_log", "AccessControllerEvent"):
        ctype, raw = _multipart(name, alert)
        forms[f"multipart:{name}"] = (raw, ctype)
    return forms


@pytest.mark.parametrize("name", sorted(PUSHES))
def test_access_pushes_decode_exactly_in_every_body_form(name):
    alert = fx(name)
    for form, (raw, ctype) in body_forms(alert).items():
        decoded = codec.decode(raw, ctype)
        assert decoded.events == (PUSHES[name],), form
        assert (decoded.vendor_ids, decoded.event_types, decoded.plates) == (
            (MAC,),
            ("AccessControllerEvent",),
            (),
        ), form
    ctype, raw = _multipart("event_log", alert)
    assert codec.decode(raw, ctype).pictures == ("face.jpg",)  # named, never kept


def test_names_face_boxes_and_pictures_never_leave_the_codec():
    decoded = codec.decode(fx("isapi-acs-push-face-pass"))
    text = repr(decoded)
    for dropped in ("测试住户甲", "FaceRect", "mask", "helmet", "0.304"):
        assert dropped not in text


def test_stored_events_re_uploaded_after_reconnect_are_not_live():
    alert = fx("isapi-acs-push-face-pass")
    alert["AccessControllerEvent"]["currentEvent"] = False
    (event,) = codec.decode(alert).events
    assert event.live is False
    (xml_event,) = codec.decode(_xml(alert).encode(), "application/xml").events
    assert xml_event.live is False


def test_acsevent_search_results_with_major_minor_time_spelling():
    page = codec.decode_search(fx("isapi-acsevent-search-response"))
    assert (page.status, page.matches, page.total, page.more) == ("MORE", 4, 1390, True)
    assert page.events == (
        ev(
            kind="access",
            occurred_at=utc(2026, 1, 26, 14, 24, 45),
            seq=168412,
            method="face",
            result="allow",
            employee_no="100101",
            live=False,
            raw={"major": 5, "minor": 75},
        ),
        ev(
            kind="door",
            occurred_at=utc(2026, 1, 25, 21, 52, 25),
            seq=168410,
            door_state="lock_open",
            live=False,
            raw={"major": 5, "minor": 21},
        ),
        ev(
            kind="access",
            occurred_at=utc(2026, 1, 25, 22, 8, 29),
            seq=168409,
            method="",
            result="allow",
            employee_no="100102",
            live=False,
            raw={"major": 5, "minor": 38, "credential": "fingerprint"},
        ),
        ev(
            kind="door",
            occurred_at=utc(2026, 1, 25, 21, 52, 30),
            seq=168411,
            door_state="lock_closed",
            live=False,
            raw={"major": 5, "minor": 22},
        ),
    )
    assert "pictureURL" not in repr(page) and "user:pass" not in repr(page)


def test_search_request_and_listening_host_configuration_match_the_fixtures():
    cst = codec.CST
    body = codec.search_request(
        search_id="1769356800000",
        position=0,
        start=datetime(2026, 1, 26, 0, 0, 0, tzinfo=cst),
        end=datetime(2026, 1, 26, 23, 59, 59, tzinfo=cst),
    )
    assert body == fx("isapi-acsevent-search-request")
    host = codec.http_host_notification(
        url_path="/api/v1/ingest/hikvision/EXAMPLE-PER-DEVICE-TOKEN", ip_address="198.51.100.20", port=443
    )
    assert host == fx("isapi-httphost-notification-config")


@pytest.mark.parametrize(
    ("major", "minor", "kind", "field", "value"),
    [
        (5, 1, "access", "method", "card"),
        (5, 6, "access", "reason", "no_right"),
        (5, 7, "access", "reason", "outside_window"),
        (5, 8, "access", "reason", "expired"),
        (5, 9, "access", "reason", "invalid_card"),
        (5, 10, "access", "reason", "anti_passback"),
        (5, 21, "door", "door_state", "lock_open"),
        (5, 22, "door", "door_state", "lock_closed"),
        (5, 23, "door", "door_state", "button"),
        (5, 25, "door", "door_state", "open"),
        (5, 26, "door", "door_state", "closed"),
        (5, 27, "alarm", "alarm", "forced"),
        (5, 28, "alarm", "alarm", "held_open"),
        (5, 38, "access", "result", "allow"),
        (5, 39, "access", "reason", "fingerprint_mismatch"),
        (5, 75, "access", "method", "face"),
        (5, 76, "access", "reason", "face_mismatch"),
        (5, 80, "access", "reason", "stranger"),
        (5, 104, "access", "reason", "liveness_failed"),
        (5, 133, "alarm", "alarm", "tailgating"),
        (5, 134, "alarm", "alarm", "reverse"),
        (5, 135, "alarm", "alarm", "forced"),
        (5, 136, "alarm", "alarm", "climbing"),
        (5, 138, "alarm", "alarm", "intrusion"),
        (5, 152, "access", "reason", "unknown_employee"),
        (5, 156, "access", "method", "qr"),
        (5, 157, "access", "reason", "qr_invalid"),
        (5, 181, "access", "method", "pin"),
        (1, 1028, "alarm", "alarm", "tamper"),
        (1, 1030, "alarm", "alarm", "tamper"),
        (1, 1034, "alarm", "alarm", "duress"),
        (1, 1048, "alarm", "alarm", "fire_button"),
        (1, 1052, "alarm", "alarm", "emergency"),
        (2, 39, "status", "reason", "network_down"),
        (2, 1027, "status", "reason", "low_battery"),
        (2, 1029, "status", "reason", "ac_off"),
        (2, 1033, "status", "reason", "reader_offline"),
        (3, 1024, "access", "method", "remote"),
        (3, 1025, "door", "door_state", "remote_close"),
        (3, 1026, "door", "door_state", "always_open"),
        (3, 1027, "door", "door_state", "always_closed"),
        (4, 7, "status", "reason", "unknown_event"),
    ],
)
def test_major_minor_pairs(major, minor, kind, field, value):
    event = codec.access_event(
        {"majorEventType": major, "subEventType": minor, "serialNo": 9}, when=utc(2026, 1, 1)
    )
    raw = {"major": major, "minor": minor} | (
        {"credential": "fingerprint"} if (major, minor) in ((5, 38), (5, 39)) else {}
    )
    assert (event.kind, getattr(event, field), event.raw) == (kind, value, raw)
    if kind == "access":
        assert event.result == ("allow" if minor in (1, 38, 75, 156, 181, 1024) else "deny")


def test_denials_take_the_method_of_the_credential_presented():
    when = utc(2026, 1, 1)
    card = codec.access_event({"major": 5, "minor": 9, "cardNo": "123456"}, when=when)
    qr = codec.access_event({"major": 5, "minor": 8, "cardNo": "0", "QRCodeInfo": "LL1.x.y"}, when=when)
    face = codec.access_event({"major": 5, "minor": 152, "currentVerifyMode": "face"}, when=when)
    assert [(e.method, e.reason) for e in (card, qr, face)] == [
        ("card", "invalid_card"),
        ("qr", "expired"),
        ("face", "unknown_employee"),
    ]


def test_bad_bodies_are_rejected_with_a_reason():
    for raw, ctype, reason in [
        (b"{not json", "application/json", "bad_json"),
        (b"<a><b></a>", "application/xml", "bad_xml"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "application/xml", "bad_xml"),
        (b"hello", "text/plain", "bad_payload"),
        (b'{"eventType": "AccessControllerEvent"}', "application/json", "bad_payload"),
        (
            b'--b\r\nContent-Type: application/json\r\n\r\n{"eventType": "AccessControllerEvent"}\r\n--b--',
            "multipart/form-data",
            "bad_payload",
        ),
    ]:
        with pytest.raises(Rejected) as exc:
            codec.decode(raw, ctype)
        assert exc.value.reason == reason, raw
    heartbeat = {"eventType": "videoloss", "eventState": "inactive", "macAddress": MAC}
    assert codec.decode(heartbeat).events == ()


def test_alert_stream_multipart_mixed_with_stray_boundaries():
    alert = json.dumps(fx("isapi-acs-push-card-pass-composed")).encode()
    raw = (
        b"--boundary\r\n--boundary\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n"
        + alert
        + b"\r\n--boundary\r\nContent-Type: application/json\r\n\r\n"
        + json.dumps(fx("isapi-acs-push-duress-composed")).encode()
        + b"\r\n"
    )
    decoded = codec.decode(raw, "multipart/mixed; boundary=boundary")
    assert [e.seq for e in decoded.events] == [1200, 1202]


ANPR = PlateRead(
    plate="晋A12345",
    occurred_at=utc(2026, 5, 7, 9, 48, 3, 847000),
    direction="unknown",
    plate_color="blue",
    vehicle_type="SUVMPV",
    vehicle_color="white",
    lane=1,
    confidence=98,
    confidence_raw=None,
    source_event_id="00000000-0000-4000-8000-000000000040",
    picture_refs=("detectionPicture.jpg", "licensePlatePicture.jpg"),
)


def _anpr_multipart() -> tuple[str, bytes]:
    envelope = fx("isapi-anpr-push-multipart")
    parts = tuple(
        codec.Part(
            p["name"],
            p["content_type"],
            p["body"].encode() if p["body"] is not None else b"\xff\xd8 jpeg \xff\xd9",
            filename=p["filename"],
        )
        for p in envelope["parts"]
    )
    return codec.encode_multipart(parts, "anprBoundary")


def test_anpr_multipart_push():
    ctype, raw = _anpr_multipart()
    decoded = codec.decode(raw, ctype)
    assert decoded.plates == (ANPR,)
    assert (decoded.events, decoded.vendor_ids, decoded.event_types) == (
        (),
        ("00:00:5e:00:53:40", "ANON0000000000000040"),
        ("ANPR",),
    )
    oriented = codec.decode(raw, ctype, orientation={"forward": "in", "reverse": "out"})
    assert oriented.plates[0].direction == "in"
    xml = fx("isapi-anpr-push-multipart")["parts"][0]["body"].encode()  # the bare XML form
    assert codec.decode(xml, "application/xml").plates == (ANPR,)


def test_anpr_fields_in_the_query_string():
    query = {
        "licensePlate": "晋A12345",
        "confidenceLevel": "97",
        "direction": "reverse",
        "dateTime": "2026-05-07T17:48:03+08:00",
    }
    decoded = codec.decode(b"", "", query=query, orientation={"forward": "in", "reverse": "out"})
    assert decoded.plates == (
        PlateRead(plate="晋A12345", occurred_at=utc(2026, 5, 7, 9, 48, 3), direction="out", confidence=97),
    )


def test_plates_polling_answer():
    poll = fx("isapi-anpr-plates-poll")
    reads = codec.decode_plates_poll(poll["response"]["body"])
    assert reads == [
        PlateRead(
            plate="晋A12345",
            occurred_at=utc(2026, 4, 24, 8, 16, 27),
            lane=1,
            source_event_id="202604241616278800",
        )
    ]
    assert codec.next_pic_time(reads, "202604241616270000") == "202604241616278800"


# --- commands ---------------------------------------------------------------------------------------


def test_person_card_face_and_door_requests_match_the_fixtures():
    person = codec.render(
        "push_person",
        {"employee_no": "100101", "doors": [1]},
        name="测试住户甲",
        valid=("2026-01-01T00:00:00", "2036-12-31T23:59:59"),
    )
    expected = fx("isapi-userinfo-record-request")
    del expected["UserInfo"]["gender"]  # R29: no gender is ever sent, not even "unknown"
    assert (person.method, person.path, person.body) == (
        "POST",
        "/ISAPI/AccessControl/UserInfo/Record?format=json",
        expected,
    )
    modify = codec.render("push_person", {"employee_no": "100101", "mode": "modify"})
    assert (modify.method, modify.path) == ("PUT", "/ISAPI/AccessControl/UserInfo/Modify?format=json")
    assert modify.body["UserInfo"]["name"] == "100101"  # the pseudonym, not a name

    delete = codec.render("delete_person", {"employee_no": "100101"})
    assert (delete.method, delete.path, delete.body) == (
        "PUT",
        "/ISAPI/AccessControl/UserInfo/Delete?format=json",
        fx("isapi-userinfo-delete-request"),
    )
    card = codec.render("push_card", {"employee_no": "100101"}, card_no="1234567890")
    assert (card.path, card.body) == (
        "/ISAPI/AccessControl/CardInfo/Record?format=json",
        fx("isapi-cardinfo-record-request"),
    )

    multipart = fx("isapi-facedatarecord-request-multipart")
    face = codec.render("push_face", {"employee_no": "100101"}, sample=b"\xff\xd8jpeg\xff\xd9")
    assert (face.method, face.path, face.content_type) == (
        multipart["method"],
        multipart["path"],
        multipart["content_type"],
    )
    assert [(p.name, p.content_type, p.body if isinstance(p.body, dict) else None) for p in face.parts] == [
        (q["name"], q["content_type"], q["body"]) for q in multipart["parts"]
    ]
    assert (face.parts[1].filename, face.parts[1].body) == ("100101.jpg", b"\xff\xd8jpeg\xff\xd9")
    ctype, raw = codec.encode_multipart(face.parts, "xyz")
    assert [(p.name, p.body) for p in codec.split_multipart(raw, ctype)] == [
        ("FaceDataRecord", b'{"faceLibType":"blackFD","FDID":"1","FPID":"100101"}'),
        ("img", b"\xff\xd8jpeg\xff\xd9"),
    ]
    by_url = codec.render(
        "push_face", {"employee_no": "100101"}, face_url="http://198.51.100.10/enrol/100101.jpg"
    )
    assert by_url.body == fx("isapi-facedatarecord-request-faceurl")

    face_delete = fx("isapi-face-delete-request")
    removed = codec.render("delete_face", {"employee_no": "100101"})
    assert (removed.method, removed.path, removed.body) == (
        face_delete["method"],
        face_delete["path"],
        face_delete["body"],
    )
    door = fx("isapi-remote-door-open-request")
    opened = codec.render("open_door", {"door": 1})
    assert (opened.method, opened.path, opened.body) == (door["method"], door["path"], door["body"])
    fallback = codec.remote_door_xml(1)
    assert (fallback.path, fallback.content_type, fallback.body) == (
        door["xml_fallback"]["path"],
        door["xml_fallback"]["content_type"],
        door["xml_fallback"]["body"],
    )


def test_commands_that_cannot_be_rendered():
    for kind, payload in [
        ("push_voice", {"employee_no": "100101"}),
        ("push_face", {"employee_no": "100101"}),  # no sample, no URL
        ("push_person", {"employee_no": ""}),
        ("push_card", {"employee_no": "100101"}),
    ]:
        with pytest.raises(Rejected):
            codec.render(kind, payload)


def test_ack_mapping_from_response_status():
    ok, exists = fx("isapi-response-ok"), fx("isapi-response-employee-exists")
    assert codec.ack_from_response("push_face", 200, ok) == codec.Ack(True)
    assert codec.ack_from_response("push_person", 400, exists) == codec.Ack(
        False, "employeeNoAlreadyExist", requeue_mode="modify"
    )
    assert codec.ack_from_response("push_card", 400, exists) == codec.Ack(False, "employeeNoAlreadyExist")
    no_face = {"statusCode": 6, "statusString": "Invalid Content", "subStatusCode": "noFaceDetected"}
    assert codec.ack_from_response("push_face", 400, no_face) == codec.Ack(False, "noFaceDetected")
    busy = {"statusCode": 2, "statusString": "Device Busy", "subStatusCode": "deviceBusy"}
    assert codec.ack_from_response("delete_face", 200, busy) == codec.Ack(False, "deviceBusy", "same")
    xml = "<ResponseStatus><statusCode>1</statusCode><statusString>OK</statusString></ResponseStatus>"
    assert codec.ack_from_response("open_door", 200, xml) == codec.Ack(True)
    assert codec.ack_from_response("open_door", 401, "") == codec.Ack(False, "http_401")


# --- the push endpoint (Django side) -----------------------------------------------------------------


def _push(device_or_token, raw: bytes, ctype: str = "application/json"):
    token = device_or_token if isinstance(device_or_token, str) else adapter.push_token(device_or_token)
    request = RequestFactory().post(f"/api/v1/devices/ingest/hikvision/{token}", raw, content_type=ctype)
    return views.ingest_push(request, token)


@pytest.fixture
def terminal(world):
    from linli.access.tests.factories import access_point
    from linli.devices.tests import factories as f

    device, _secret = f.device(world.a, profile="generic", adapter="hikvision", vendor_id=MAC)
    access_point(estate=world.a.estate, device=device, methods=["card", "qr", "face"])
    return device


def test_push_endpoint_stores_access_events_once(terminal):
    from linli.access.models import AccessEvent

    raw = json.dumps(fx("isapi-acs-push-card-pass-composed")).encode()
    first = _push(terminal, raw)
    again = _push(terminal, raw)
    assert (first.status_code, json.loads(first.content)) == (
        200,
        {"stored": 1, "duplicates": 0, "rejected": 0},
    )
    assert json.loads(again.content) == {"stored": 0, "duplicates": 1, "rejected": 0}
    event = AccessEvent.objects.get()
    assert (event.device_id, event.device_seq, event.method, event.result, event.source) == (
        terminal.pk,
        1200,
        "card",
        "allow",
        "vendor",
    )
    terminal.refresh_from_db()
    assert terminal.online is True


def test_push_endpoint_refuses_wrong_tokens_and_counts_foreign_senders(terminal, world):
    from linli.devices.models import RejectedMessage

    raw = json.dumps(fx("isapi-acs-push-card-pass-composed")).encode()
    assert _push(f"{terminal.key}.{'0' * 32}", raw).status_code == 403
    assert _push("nonsense", raw).status_code == 403
    other = fx("isapi-acs-push-card-pass-composed")
    other["macAddress"] = "00:00:5e:00:53:99"  # pushed with this device's token from another terminal
    mismatch = _push(terminal, json.dumps(other).encode())
    assert json.loads(mismatch.content) == {"stored": 0, "duplicates": 0, "rejected": 1}
    assert RejectedMessage.objects.get().reason == "device_mismatch"
    garbage = _push(terminal, b"\x00\x01garbage", "application/octet-stream")
    assert json.loads(garbage.content)["rejected"] == 1
    # Through the adapter without a token: unknown MAC → counted as an unknown device.
    assert adapter.handle(json.dumps(other).encode(), content_type="application/json")["rejected"] == 1
    assert RejectedMessage.objects.filter(reason="unknown_device").count() == 1
    # Known MAC in upper case without colons is found.
    upper = fx("isapi-acs-push-face-pass")
    upper["macAddress"] = "00005E005301"
    assert adapter.handle(json.dumps(upper).encode())["stored"] == 1


def test_anpr_push_goes_to_parking(terminal, monkeypatch):
    from linli.parking import services

    seen = []
    monkeypatch.setattr(services, "plate_read_record", lambda *, device, read: seen.append((device.pk, read)))
    type(terminal).objects.filter(pk=terminal.pk).update(vendor_id="00:00:5e:00:53:40")
    terminal.refresh_from_db()
    ctype, raw = _anpr_multipart()
    response = _push(terminal, raw, ctype)
    assert json.loads(response.content) == {"stored": 1, "duplicates": 0, "rejected": 0}
    assert seen == [(terminal.pk, ANPR)]
