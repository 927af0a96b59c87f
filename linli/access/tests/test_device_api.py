"""Device-facing API: signed decisions, offline uploads stored once, public keys for offline
verification, device authentication failures; vendor events from door-device adapters."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from linli.access.credentials import keys, qr
from linli.access.credentials import services as credentials
from linli.access.gate import decision, device_auth, vendor_events
from linli.access.models import AccessEvent, AccessSubject, CodeUse, VisitorPass
from linli.access.tests import factories as f
from linli.devices import services as device_services
from linli.devices.canonical import VendorAccessEvent
from linli.devices.tests import factories as devices_f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db
BASE = "/api/v1/access/device"
J = "application/json"


@pytest.fixture(autouse=True)
def _fresh_caches():
    decision.reset_caches()
    device_auth.reset_cache()
    yield
    decision.reset_caches()
    device_auth.reset_cache()


@pytest.fixture
def gate(world):
    """A device controlling the estate gate (door 1) and the resident's unit door (door 2)."""
    device, secret = devices_f.device(world.a, profile="generic")
    f.resident_policy(estate=world.a.estate)
    f.visitor_policy(estate=world.a.estate)
    main = f.access_point(estate=world.a.estate, device=device, door_no=1, code="main-gate")
    unit = f.access_point(
        estate=world.a.estate, building=world.a.building, device=device, door_no=2, code="unit-1"
    )
    return {"device": device, "secret": secret, "main": main, "unit": unit}


def send(
    client, gate, method: str, path: str, payload=None, *, now=None, secret=None, key=None, tamper=False
):
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = device_auth.signed_headers(
        key=key or gate["device"].key,
        secret=secret or gate["secret"],
        method=method,
        path=BASE + path,
        body=body,
        now=now,
    )
    if tamper:
        body = body.replace(b"in", b"ot", 1)
    if method == "GET":
        return client.get(BASE + path, headers=headers)
    return client.post(BASE + path, data=body, content_type=J, headers=headers)


def resident_code(world) -> str:
    return credentials.qr_code_for(actor=actor_for_user(world.a.resident))[0]


# --- decisions -------------------------------------------------------------------------------------


def test_a_resident_code_opens_the_gate(world, client, gate):
    r = send(client, gate, "POST", "/decisions", {"method": "qr", "credential": resident_code(world)})
    body = r.json()
    event = AccessEvent.objects.get(pk=body["event_id"])
    assert (r.status_code, body["result"], body["reason"], body["display"]) == (
        200,
        "allow",
        "ok",
        "欢迎回家",
    )
    assert (event.device_id, event.access_point_id, event.person_id) == (
        gate["device"].pk,
        gate["main"].pk,
        world.a.persons[0].pk,
    )


def test_refusals_are_answers_with_a_screen_text(world, client, gate):
    code = resident_code(world)
    send(client, gate, "POST", "/decisions", {"method": "qr", "credential": code, "door_no": 2})
    again = send(
        client, gate, "POST", "/decisions", {"method": "qr", "credential": code, "door_no": 2}
    ).json()
    junk = send(client, gate, "POST", "/decisions", {"method": "card", "credential": "12"}).json()
    assert [(again["result"], again["reason"], again["display"]), (junk["reason"], junk["display"])] == [
        ("deny", "replayed", "二维码已使用，请刷新"),
        ("malformed", "无法识别的凭证"),
    ]


def test_the_point_can_be_named_by_its_code(world, client, gate):
    r = send(
        client,
        gate,
        "POST",
        "/decisions",
        {"method": "qr", "credential": resident_code(world), "access_point": "unit-1"},
    )
    assert AccessEvent.objects.get(pk=r.json()["event_id"]).access_point_id == gate["unit"].pk


def test_unknown_door_or_another_estates_point_is_404(world, client, gate):
    f.access_point(estate=world.b.estate, code="b-gate")
    r1 = send(client, gate, "POST", "/decisions", {"method": "card", "credential": "1234", "door_no": 9})
    r2 = send(
        client, gate, "POST", "/decisions", {"method": "card", "credential": "1234", "access_point": "b-gate"}
    )
    assert [(r1.status_code, r1.json()["error"]["code"]), r2.status_code] == [(404, "not_found"), 404]
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"method": "face", "credential": "x"},
        {"method": "qr"},
        {"method": "qr", "credential": "x" * 201},
        {"method": "qr", "credential": "x", "door_no": 0},
        {"method": "qr", "credential": "x", "direction": "up"},
        {"method": "qr", "credential": "x", "occurred_at": "2020-01-01T00:00:00+08:00"},
        {"method": "qr", "credential": "x", "occurred_at": "not a time"},
    ],
)
def test_bad_decision_requests_are_400(world, client, gate, payload):
    r = send(client, gate, "POST", "/decisions", payload)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")


def test_a_recent_device_timestamp_is_used_as_the_decision_time(world, client, gate):
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
    payload = {"method": "qr", "credential": resident_code(world), "occurred_at": moment.isoformat()}
    r = send(client, gate, "POST", "/decisions", payload)
    assert AccessEvent.objects.get(pk=r.json()["event_id"]).occurred_at == moment


# --- authentication --------------------------------------------------------------------------------


def test_missing_headers(client, gate):
    r = client.post(BASE + "/decisions", data=b"{}", content_type=J)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "device_auth_missing")


def test_bad_signature_and_unknown_device(world, client, gate):
    wrong = send(
        client, gate, "POST", "/decisions", {"method": "card", "credential": "1234"}, secret="not-the-secret"
    )
    tampered = send(
        client,
        gate,
        "POST",
        "/decisions",
        {"method": "card", "credential": "1234", "direction": "in"},
        tamper=True,
    )
    nobody = send(
        client, gate, "POST", "/decisions", {"method": "card", "credential": "1234"}, key="no-such-device"
    )
    assert [r.status_code for r in (wrong, tampered, nobody)] == [401, 401, 401]
    assert {r.json()["error"]["code"] for r in (wrong, tampered, nobody)} == {"device_auth_invalid"}
    assert not AccessEvent.objects.exists()


def test_stale_timestamp(world, client, gate):
    old = send(
        client, gate, "POST", "/decisions", {"method": "card", "credential": "1234"}, now=time.time() - 301
    )
    ahead = send(
        client, gate, "POST", "/decisions", {"method": "card", "credential": "1234"}, now=time.time() + 301
    )
    assert [(r.status_code, r.json()["error"]["code"]) for r in (old, ahead)] == [
        (401, "device_clock_skew")
    ] * 2


def test_disabled_and_revoked_devices_are_refused(world, client, gate):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    device_services.device_set_enabled(actor=admin, device=gate["device"], enabled=False)
    disabled = send(client, gate, "POST", "/decisions", {"method": "card", "credential": "1234"})
    device_services.device_set_enabled(actor=admin, device=gate["device"], enabled=True)
    enabled = send(client, gate, "POST", "/decisions", {"method": "card", "credential": "1234"})
    device_services.device_revoke(actor=admin, device=gate["device"])
    revoked = send(client, gate, "GET", "/keys")
    assert [disabled.status_code, enabled.status_code, revoked.status_code] == [403, 200, 403]
    assert revoked.json()["error"]["code"] == "device_inactive"


def test_rotated_secret_stops_the_old_one_at_once(world, client, gate):
    assert send(client, gate, "GET", "/keys").status_code == 200
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    new = device_services.device_rotate_credentials(actor=admin, device=gate["device"]).secret
    assert send(client, gate, "GET", "/keys").status_code == 401
    assert send(client, gate, "GET", "/keys", secret=new).status_code == 200


def test_a_user_session_is_not_a_device(world, login, gate):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    assert c.get(BASE + "/keys").status_code == 401


# --- offline uploads -------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def test_offline_upload_is_stored_once_and_counts_visitor_entries_once(world, client, gate):
    visit = f.visitor_pass(estate=world.a.estate, host_room=world.a.rooms[0], max_entries=2)
    now = int(time.time())
    visitor_code = keys.sign_for(
        world.a.estate.pk, kind="V", subject=visit.token, issued_at=now - 90, expires_at=now + 30
    )
    card = credentials.credential_issue_card(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), person=world.a.persons[0], number="ABCD0001"
    )
    moment = datetime.now(UTC) - timedelta(minutes=1)
    batch = {
        "events": [
            {
                "seq": 10,
                "door_no": 1,
                "method": "qr",
                "credential": visitor_code,
                "result": "allow",
                "direction": "in",
                "occurred_at": _iso(moment),
            },
            {
                "seq": 11,
                "door_no": 2,
                "method": "card",
                "credential": "ABCD0001",
                "result": "allow",
                "occurred_at": _iso(moment),
            },
            {
                "seq": 12,
                "access_point": "main-gate",
                "method": "pin",
                "credential": "000000",
                "result": "deny",
                "reason": "bad_pin",
                "occurred_at": _iso(moment),
            },
            {"seq": 13, "door_no": 1, "method": "face", "result": "allow", "occurred_at": _iso(moment)},
        ]
    }
    first = send(client, gate, "POST", "/events", batch).json()
    second = send(client, gate, "POST", "/events", batch).json()
    visit.refresh_from_db()
    assert (first, second) == (
        {"stored": 4, "duplicates": 0, "rejected": []},
        {"stored": 0, "duplicates": 4, "rejected": []},
    )
    assert visit.entries_used == 1
    rows = {e.device_seq: e for e in AccessEvent.objects.filter(device=gate["device"])}
    assert [(s, rows[s].result, rows[s].reason, rows[s].source) for s in sorted(rows)] == [
        (10, "allow", "ok", "offline"),
        (11, "allow", "ok", "offline"),
        (12, "deny", "unknown_credential", "offline"),
        (13, "allow", "ok", "offline"),
    ]
    assert (rows[10].visitor_pass_id, rows[11].credential_id, rows[11].person_id) == (
        visit.pk,
        card.pk,
        world.a.persons[0].pk,
    )
    assert (rows[12].detail, rows[13].detail) == (
        {"server_reason": "unknown_credential", "device_reason": "bad_pin"},
        {"server_reason": "unverified"},
    )
    # The code used offline is a replay online at the same gate.
    online = send(
        client, gate, "POST", "/decisions", {"method": "qr", "credential": visitor_code, "door_no": 1}
    ).json()
    assert online["reason"] == "replayed"
    assert CodeUse.objects.filter(access_point=gate["main"]).count() == 1


def test_offline_upload_keeps_the_gates_answer_and_notes_the_servers(world, client, gate):
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    card = credentials.credential_issue_card(actor=admin, person=world.a.persons[0], number="BEEF0001")
    credentials.credential_suspend(actor=admin, credential=card)
    moment = datetime.now(UTC) - timedelta(hours=1)
    batch = {
        "events": [
            {
                "seq": 1,
                "method": "card",
                "credential": "BEEF0001",
                "result": "allow",
                "occurred_at": _iso(moment),
            }
        ]
    }
    send(client, gate, "POST", "/events", batch)
    event = AccessEvent.objects.get(device=gate["device"], device_seq=1)
    assert (event.result, event.detail["server_reason"], event.occurred_at) == ("allow", "revoked", moment)


def test_offline_upload_rejects_unknown_doors_and_future_events(world, client, gate):
    now = datetime.now(UTC)
    batch = {
        "events": [
            {
                "seq": 1,
                "door_no": 7,
                "method": "card",
                "credential": "1234",
                "result": "deny",
                "occurred_at": _iso(now),
            },
            {
                "seq": 2,
                "method": "card",
                "credential": "1234",
                "result": "deny",
                "occurred_at": _iso(now + timedelta(hours=1)),
            },
            {"seq": 3, "method": "card", "credential": "1234", "result": "deny", "occurred_at": _iso(now)},
            {"seq": 3, "method": "card", "credential": "1234", "result": "deny", "occurred_at": _iso(now)},
        ]
    }
    body = send(client, gate, "POST", "/events", batch).json()
    assert body == {
        "stored": 1,
        "duplicates": 1,
        "rejected": [{"seq": 1, "reason": "unknown_access_point"}, {"seq": 2, "reason": "in_future"}],
    }


def test_offline_batches_are_limited_to_500(world, client, gate):
    now = _iso(datetime.now(UTC))
    batch = {
        "events": [{"seq": i, "method": "card", "result": "deny", "occurred_at": now} for i in range(501)]
    }
    r = send(client, gate, "POST", "/events", batch)
    assert (r.status_code, AccessEvent.objects.count()) == (400, 0)


def test_naive_device_times_are_local_time(world, client, gate):
    batch = {
        "events": [
            {
                "seq": 5,
                "method": "card",
                "credential": "1234",
                "result": "deny",
                "occurred_at": "2025-06-06T08:30:00",
            }
        ]
    }
    send(client, gate, "POST", "/events", batch)
    event = AccessEvent.objects.get(device_seq=5)
    assert event.occurred_at == datetime(2025, 6, 6, 0, 30, tzinfo=UTC)


# --- public keys -----------------------------------------------------------------------------------


def test_keys_let_a_gate_verify_offline_and_name_the_refused_subjects(world, client, gate):
    code = resident_code(world)
    admin = actor_for_user(world.a.staff[Role.PROPERTY_ADMIN])
    lost = credentials.qr_identity(world.a.persons[1])
    credentials.credential_suspend(actor=admin, credential=lost)
    gone = f.visitor_pass(estate=world.a.estate, host_room=world.a.rooms[0])
    VisitorPass.objects.filter(pk=gone.pk).update(status="revoked")
    keys.active_key(world.b.estate.pk)
    body = send(client, gate, "GET", "/keys").json()
    public = {k["kid"]: qr.load_public_key(k["public_key"]) for k in body["keys"]}
    assert qr.verify(code, public, time.time()).subject == credentials.qr_identity(world.a.persons[0]).token
    assert [k["kid"] for k in body["keys"]] == [keys.active_key(world.a.estate.pk).kid]
    assert (body["estate_id"], body["skew_seconds"]) == (world.a.estate.pk, qr.DEFAULT_SKEW)
    assert sorted(body["revoked_subjects"]) == sorted([lost.token, gone.token])


# --- vendor events ---------------------------------------------------------------------------------


def test_vendor_events_are_stored_once_with_their_subject(world, gate, monkeypatch):
    from linli.access.insights import anomalies

    alarms = []
    monkeypatch.setattr(anomalies, "report_device_alarm", lambda **kw: alarms.append(kw))
    person = world.a.persons[0]
    AccessSubject.objects.create(pseudonym="E0001", person=person, estate=world.a.estate)
    card = credentials.credential_issue_card(
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), person=world.a.persons[1], number="C0FFEE01"
    )
    at = datetime.now(UTC) - timedelta(minutes=5)
    batch = [
        VendorAccessEvent(
            kind="access",
            occurred_at=at,
            seq=100,
            door_no=1,
            method="face",
            result="allow",
            employee_no="E0001",
            raw={"major": 5, "minor": 75},
        ),
        VendorAccessEvent(
            kind="access",
            occurred_at=at,
            seq=101,
            door_no=2,
            method="card",
            result="deny",
            reason="no_right",
            card_no="C0FFEE01",
        ),
        VendorAccessEvent(
            kind="access",
            occurred_at=at,
            seq=102,
            door_no=9,
            method="fingerprint",
            result="deny",
            reason="stranger",
        ),
        VendorAccessEvent(kind="alarm", occurred_at=at, seq=103, door_no=1, alarm="tailgating"),
        VendorAccessEvent(kind="door", occurred_at=at, seq=104, door_no=1, door_state="open"),
    ]
    first = vendor_events.record_vendor_events(device=gate["device"], events=batch)
    second = vendor_events.record_vendor_events(device=gate["device"], events=batch[:3])
    rows = {e.device_seq: e for e in AccessEvent.objects.filter(device=gate["device"])}
    assert (first, second) == (
        {"stored": 3, "duplicates": 0, "alarms": 1, "ignored": 1},
        {"stored": 0, "duplicates": 3, "alarms": 0, "ignored": 0},
    )
    assert [
        (s, rows[s].result, rows[s].reason, rows[s].person_id, rows[s].subject_kind, rows[s].source)
        for s in sorted(rows)
    ] == [
        (100, "allow", "ok", person.pk, "resident", "vendor"),
        (101, "deny", "not_allowed", world.a.persons[1].pk, "resident", "vendor"),
        (102, "deny", "unknown_credential", None, "unknown", "vendor"),
    ]
    assert (
        rows[101].credential_id,
        rows[102].access_point_id,
        rows[102].detail["door_no"],
        rows[102].method,
    ) == (card.pk, None, 9, "")
    assert rows[100].detail == {"live": True, "vendor": {"major": 5, "minor": 75}}
    assert [(a["alarm"], a["access_point"].pk, a["event"]) for a in alarms] == [
        ("tailgating", gate["main"].pk, None)
    ]


def test_vendor_qr_entry_of_a_visitor_takes_one_entry(world, gate):
    visit = f.visitor_pass(estate=world.a.estate, host_room=world.a.rooms[0], max_entries=3)
    now = int(time.time())
    code = keys.sign_for(world.a.estate.pk, kind="V", subject=visit.token, issued_at=now, expires_at=now + 60)
    e = VendorAccessEvent(
        kind="access",
        occurred_at=datetime.now(UTC),
        seq=1,
        door_no=1,
        method="qr",
        result="allow",
        direction="in",
        qr_code=code,
    )
    vendor_events.record_vendor_events(device=gate["device"], events=[e, e])
    visit.refresh_from_db()
    row = AccessEvent.objects.get(device=gate["device"])
    assert (visit.entries_used, row.visitor_pass_id, row.subject_kind, row.code_nonce) == (
        1,
        visit.pk,
        "visitor",
        qr.parse(code).nonce,
    )
