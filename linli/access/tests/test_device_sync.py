"""The door-device command queue: signed fetch and ack, Hikvision rendering and ack mapping,
redelivery, retries of deletes, the 24 h overdue-delete alarm (R25), audit, cross-scope probe."""

import json
from base64 import b64decode
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from linli.access.biometrics import device_sync
from linli.access.gate import device_auth
from linli.access.models import AccessSubject
from linli.access.tests.test_biometrics import (  # helpers only
    door_device,
    enrol_face,
    ensure_purposes,
    face_setup,
    point,
    template_of,
)
from linli.alarms.models import Alarm
from linli.core.models import AuditEvent
from linli.devices.models import CommandKind, CommandStatus, DeviceCommand, DeviceStatus
from linli.messaging.models import Message
from linli.orgs.roles import Role

pytestmark = pytest.mark.django_db
COMMANDS = "/api/v1/access/biometrics/device/commands"


@pytest.fixture(autouse=True)
def _purposes(db):
    ensure_purposes()
    device_auth.reset_cache()


def signed(device, method: str, path: str, body: bytes = b"", **headers) -> dict:
    return {
        **device_auth.signed_headers(
            key=device.key, secret=device.test_secret, method=method, path=path, body=body
        ),
        **headers,
    }


def fetch(device, limit: int | None = None):
    query = f"?limit={limit}" if limit else ""
    return Client().get(COMMANDS + query, headers=signed(device, "GET", COMMANDS))


def ack(device, command_id: int, payload: dict):
    path = f"{COMMANDS}/{command_id}/ack"
    body = json.dumps(payload).encode()
    return Client().post(
        path, body, content_type="application/json", headers=signed(device, "POST", path, body)
    )


def test_commands_need_a_valid_device_signature(world):
    (device,) = face_setup(world.a, 1)
    assert Client().get(COMMANDS).status_code == 401
    forged = signed(device, "GET", COMMANDS)
    forged[device_auth.HEADER_SIGNATURE] = "0" * 64
    assert Client().get(COMMANDS, headers=forged).status_code == 401
    stale = device_auth.signed_headers(
        key=device.key,
        secret=device.test_secret,
        method="GET",
        path=COMMANDS,
        now=timezone.now().timestamp() - 3600,
    )
    assert Client().get(COMMANDS, headers=stale).status_code == 401
    type(device).objects.filter(pk=device.pk).update(status=DeviceStatus.DISABLED)
    assert fetch(device).status_code == 403
    assert Client().get(COMMANDS, headers={"X-Linli-Device": device.key}).status_code == 401


def test_fetch_returns_commands_in_order_with_the_sample_and_marks_them_sent(world, login):
    a = world.a
    (device,) = face_setup(a, 1)
    enrol_face(login(a.resident))
    response = fetch(device)
    assert response.status_code == 200, response.content
    rows = response.json()
    pseudonym = AccessSubject.objects.get(person=a.persons[0]).pseudonym
    assert [(r["kind"], r["ref"], r["attempts"]) for r in rows] == [
        ("push_person", f"person:{pseudonym}", 1),
        ("push_face", f"face:{pseudonym}", 1),
    ]
    assert rows[0]["sample_b64"] is None and rows[0]["isapi"] is None
    assert b64decode(rows[1]["sample_b64"]) == device_sync.sample_bytes(template_of(a.persons[0]))
    assert {c.status for c in DeviceCommand.objects.all()} == {CommandStatus.SENT}
    assert fetch(device).json() == []  # nothing new until the redelivery delay has passed
    delivered = AuditEvent.objects.get(action="privacy.sensitive_read")
    assert (delivered.actor_label, delivered.detail["kind"]) == (f"device:{device.key}", "push_face")


def test_sent_but_unacknowledged_commands_are_delivered_again(world, login):
    a = world.a
    (device,) = face_setup(a, 1)
    enrol_face(login(a.resident))
    first = device_sync.fetch(device)
    later = timezone.now() + device_sync.REDELIVER_AFTER + timedelta(seconds=1)
    again = device_sync.fetch(device, now=later)
    assert [d.command.pk for d in again] == [d.command.pk for d in first]
    assert [d.command.attempts for d in again] == [2, 2]


def test_fetching_commands_takes_the_same_queries_for_two_or_twenty(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    (device,) = face_setup(world.a, 1)

    def queue(n):
        for i in range(n):
            device_sync.enqueue(device=device, kind=CommandKind.DELETE_PERSON, ref=f"person:{i}", payload={})

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert fetch(device, 20).status_code == 200
        return len(ctx.captured_queries)

    count()  # warms the device-secret cache
    queue(2)
    few = count()
    queue(20)
    assert count() == few


def test_ack_records_the_outcome_and_is_idempotent(world, login):
    a = world.a
    (device,) = face_setup(a, 1)
    enrol_face(login(a.resident))
    rows = fetch(device).json()
    done = ack(device, rows[0]["id"], {"ok": True})
    assert (done.status_code, done.json()) == (
        200,
        {"id": rows[0]["id"], "status": "acked", "last_error": ""},
    )
    assert ack(device, rows[0]["id"], {"ok": False, "error": "late"}).json()["status"] == "acked"
    refused = ack(device, rows[1]["id"], {"ok": False, "error": "noFaceDetected"})
    assert refused.json() == {"id": rows[1]["id"], "status": "failed", "last_error": "noFaceDetected"}
    assert ack(device, rows[1]["id"], {}).status_code == 400  # no outcome given
    assert ack(device, 10**12, {"ok": True}).status_code == 404


def test_a_device_cannot_fetch_or_ack_another_devices_commands(world, login):
    a, b = world.a, world.b
    (device,) = face_setup(a, 1)
    enrol_face(login(a.resident))
    stranger = door_device(b)
    point(b.estate, stranger)
    assert fetch(stranger).json() == []
    command = DeviceCommand.objects.filter(device=device).first()
    assert ack(stranger, command.pk, {"ok": True}).status_code == 404
    assert DeviceCommand.objects.get(pk=command.pk).status == CommandStatus.PENDING


def test_a_failed_delete_stays_queued_until_the_device_confirms(world, login):
    a = world.a
    (device,) = face_setup(a, 1)
    client = login(a.resident)
    enrol_face(client)
    device_sync.fetch(device)
    client.post("/api/v1/access/biometrics/me/face/withdraw", {}, content_type="application/json")
    (delete,) = [d.command for d in device_sync.fetch(device)]
    assert delete.kind == CommandKind.DELETE_FACE
    retried = ack(device, delete.pk, {"ok": False, "error": "deviceBusy"}).json()
    assert (retried["status"], retried["last_error"]) == ("pending", "deviceBusy")
    assert ack(device, delete.pk, {"ok": True}).json()["status"] == "acked"
    audits = AuditEvent.objects.filter(object_type="devices.devicecommand", action="data.delete").order_by(
        "id"
    )
    assert [(e.result, e.subject_person_id, e.actor_label) for e in audits] == [
        ("failure", a.persons[0].pk, f"device:{device.key}"),
        ("success", a.persons[0].pk, f"device:{device.key}"),
    ]


def test_hikvision_devices_get_isapi_requests_and_answer_with_isapi_status(world, login):
    a = world.a
    device = door_device(a, adapter="hikvision", vendor_id="00:00:5e:00:53:01")
    point(a.estate, device, building=a.building, door_no=2)
    enrol_face(login(a.resident))
    rows = fetch(device).json()
    pseudonym = AccessSubject.objects.get(person=a.persons[0]).pseudonym
    person, face = rows
    assert (person["isapi"]["method"], person["isapi"]["path"]) == (
        "POST",
        "/ISAPI/AccessControl/UserInfo/Record?format=json",
    )
    user = person["isapi"]["body"]["UserInfo"]
    assert (user["employeeNo"], user["name"], user["doorRight"]) == (pseudonym, pseudonym, "2")
    assert "gender" not in user
    assert face["isapi"]["content_type"] == "multipart/form-data"
    record, img = face["isapi"]["parts"]
    assert record == {
        "name": "FaceDataRecord",
        "content_type": "application/json",
        "filename": "",
        "body": {"faceLibType": "blackFD", "FDID": "1", "FPID": pseudonym},
    }
    assert b64decode(img["body_b64"]) == b64decode(face["sample_b64"])

    exists = {"statusCode": 6, "statusString": "Invalid Content", "subStatusCode": "employeeNoAlreadyExist"}
    retry = ack(device, person["id"], {"http_status": 400, "response": exists}).json()
    assert (retry["status"], retry["last_error"]) == ("pending", "employeeNoAlreadyExist")
    later = timezone.now()
    (again,) = [d for d in device_sync.fetch(device, now=later) if d.command.kind == CommandKind.PUSH_PERSON]
    from linli.adapters.hikvision.adapter import render_command

    assert render_command(again.command)["path"] == "/ISAPI/AccessControl/UserInfo/Modify?format=json"
    ok = {"statusCode": 1, "statusString": "OK", "subStatusCode": "ok"}
    assert ack(device, person["id"], {"http_status": 200, "response": ok}).json()["status"] == "acked"
    no_face = {"statusCode": 6, "statusString": "Invalid Content", "subStatusCode": "noFaceDetected"}
    failed = ack(device, face["id"], {"http_status": 400, "response": no_face}).json()
    assert (failed["status"], failed["last_error"]) == ("failed", "noFaceDetected")
    generic = door_device(a)
    point(a.estate, generic)
    assert ack(generic, face["id"], {"http_status": 200, "response": ok}).status_code == 400


# --- overdue deletes (R25) ------------------------------------------------------------------------


def _delete(device, *, hours_ago: float, status=CommandStatus.SENT):
    return DeviceCommand.objects.create(
        device=device,
        kind=CommandKind.DELETE_FACE,
        ref="face:1000000000000001",
        payload={"employee_no": "1000000000000001", "modality": "face"},
        status=status,
        created_at=timezone.now() - timedelta(hours=hours_ago),
    )


def test_an_unacknowledged_delete_after_24_hours_alarms_once(world):
    a, b = world.a, world.b
    device = door_device(a)
    overdue = [_delete(device, hours_ago=25), _delete(device, hours_ago=30, status=CommandStatus.PENDING)]
    _delete(device, hours_ago=23)  # not yet due
    _delete(device, hours_ago=48, status=CommandStatus.ACKED)  # done
    other = door_device(b)
    _delete(other, hours_ago=2)

    assert device_sync.overdue_deletes() == 2
    alarm = Alarm.objects.get()
    assert (alarm.device_id, alarm.cause, alarm.severity, alarm.count, alarm.rule_id) == (
        device.pk,
        "biometric_delete_overdue",
        "major",
        2,
        None,
    )
    assert {c.pk for c in DeviceCommand.objects.filter(overdue_alarmed=True)} == {c.pk for c in overdue}
    notes = Message.objects.filter(category="alarm")
    assert [n.user_id for n in notes] == [a.staff[Role.PROPERTY_ADMIN].pk]
    assert notes[0].link == f"/console/alarms/{alarm.pk}/"

    assert device_sync.overdue_deletes() == 0  # once per command
    assert (Alarm.objects.count(), Message.objects.count()) == (1, 1)

    later = timezone.now() + timedelta(hours=2)  # the 23 h one is now due: same open alarm, counted
    assert device_sync.overdue_deletes(later) == 1
    alarm.refresh_from_db()
    assert (Alarm.objects.count(), alarm.count) == (1, 3)


def test_withdrawal_deletes_alarm_when_the_device_never_answers(world, login):
    a = world.a
    (device,) = face_setup(a, 1)
    client = login(a.resident)
    enrol_face(client)
    device_sync.fetch(device)
    client.post("/api/v1/access/biometrics/me/face/withdraw", {}, content_type="application/json")
    assert device_sync.overdue_deletes() == 0
    assert device_sync.overdue_deletes(timezone.now() + timedelta(hours=25)) == 1
    assert Alarm.objects.filter(device=device, cause="biometric_delete_overdue").count() == 1
