"""Optional face / voiceprint access (R18, R24–R30): separate consent, under-14 guardians, which doors
get the enrolment, deletion everywhere on withdrawal and move-out, samples cleared once the doors
have them, schema separation, pages, and the cross-scope probe."""

import importlib
import io
import re
import struct
import wave
from base64 import b64decode
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image

from linli.access.biometrics import device_sync
from linli.access.biometrics import services as biometrics
from linli.access.models import AccessPoint, AccessSubject, BiometricTemplate, Modality
from linli.access.tests import factories as af
from linli.core.models import AuditEvent
from linli.devices.models import CommandKind, CommandStatus, DeviceCommand, DeviceStatus
from linli.devices.tests import factories as df
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.tests import factories as people_f
from linli.places.tests import factories as places_f
from linli.privacy import services as privacy_services
from linli.privacy.models import Consent, Purpose
from linli.privacy.tests import factories as privacy_f

pytestmark = pytest.mark.django_db
API = "/api/v1/access/biometrics"
FACE_DOOR = ["card", "qr", "pin", "face"]
VOICE_DOOR = ["card", "pin", "voice"]
NO_FACE_DOOR = ["card", "qr", "pin"]


# --- helpers (also used by test_device_sync) ------------------------------------------------------


def ensure_purposes() -> None:
    """face_access / voice_access come from privacy migrations 0002/0003; put them back if a
    transactional test flushed them."""
    defaults = importlib.import_module("linli.privacy.migrations.0002_default_purposes")
    biometric = importlib.import_module("linli.privacy.migrations.0003_biometric_access_notices")
    sources = {"face_access": defaults.PURPOSES, "voice_access": [biometric.VOICE]}
    for code, items in sources.items():
        item = next(p for p in items if p["code"] == code)
        Purpose.objects.get_or_create(
            code=code, defaults={"name": item["name"], "sensitive": True, "notice": item["notice"]}
        )


@pytest.fixture(autouse=True)
def _purposes(db):
    ensure_purposes()


def jpeg(size=(400, 400), *, with_exif: bool = True) -> bytes:
    image = Image.new("RGB", size, (200, 160, 120))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x9003] = "2026:01:02 03:04:05"  # DateTimeOriginal
    image.save(out, format="JPEG", exif=exif.tobytes() if with_exif else b"")
    return out.getvalue()


def wav(seconds: float = 2.0, *, rate: int = 16000, metadata: bool = True) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate))
    data = out.getvalue()
    if metadata:  # a LIST/INFO chunk naming the recorder, as phone apps write it
        info = b"INFO" + b"IART" + struct.pack("<I", 8) + b"Zhang S\x00"
        chunk = b"LIST" + struct.pack("<I", len(info)) + info
        body = data[12:] + chunk
        data = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    return data


def door_device(side, *, adapter: str = "generic", vendor_id: str = "", status: str = DeviceStatus.ACTIVE):
    device, secret = df.device(side, profile="generic", adapter=adapter, vendor_id=vendor_id)
    if status != DeviceStatus.ACTIVE:
        type(device).objects.filter(pk=device.pk).update(status=status)
        device.status = status
    device.test_secret = secret
    return device


def point(estate, device, *, building=None, methods=FACE_DOOR, door_no: int = 1, **kw) -> AccessPoint:
    return af.access_point(
        estate=estate, building=building, device=device, door_no=door_no, methods=methods, **kw
    )


def face_setup(side, n: int = 2):
    """``n`` face-capable door devices the side's resident may use: an estate gate and unit doors of
    their building."""
    devices = [door_device(side) for _ in range(n)]
    point(side.estate, devices[0])
    for device in devices[1:]:
        point(side.estate, device, building=side.building)
    return devices


def upload(data: bytes, name: str = "me.jpg", ctype: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=ctype)


def enrol_face(client, data: bytes | None = None, *, consent: bool = True, person_id=None):
    form = {"photo": upload(jpeg() if data is None else data), "consent": "true" if consent else "false"}
    if person_id:
        form["person_id"] = str(person_id)
    return client.post(f"{API}/me/face", form)


def commands(kind=None, **kw):
    qs = DeviceCommand.objects.filter(**kw).order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)


def template_of(person, modality=Modality.FACE):
    return BiometricTemplate.objects.filter(subject__person=person, modality=modality).first()


# --- consent ------------------------------------------------------------------------------------


def test_enrolment_needs_the_separate_consent(world, login):
    a = world.a
    face_setup(a)
    client = login(a.resident)
    refused = enrol_face(client, consent=False)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "consent_required"
    assert BiometricTemplate.objects.count() == 0 and DeviceCommand.objects.count() == 0

    ok = enrol_face(client, consent=True)
    assert ok.status_code == 201, ok.content
    body = ok.json()
    assert (body["modality"], body["consent_effective"], body["enrolled"], body["devices_total"]) == (
        "face",
        True,
        True,
        2,
    )
    consent = Consent.objects.get(person=a.persons[0], purpose__code="face_access", withdrawn_at__isnull=True)
    assert consent.channel == "h5"
    template = template_of(a.persons[0])
    assert template.consent_id == consent.pk
    with connection.cursor() as cur:  # encrypted at rest (R21)
        cur.execute("SELECT sample FROM access_biometrictemplate WHERE id = %s", [template.pk])
        stored = cur.fetchone()[0]
    assert stored != template.sample and "/9j/" not in stored


def test_status_of_a_resident_who_never_enrolled(world, login):
    body = login(world.a.resident).get(f"{API}/me").json()
    assert body["person_id"] == world.a.persons[0].pk
    assert body["alternatives"] == ["card", "qr", "pin", "staff"]
    face = body["modalities"][0]
    assert (face["modality"], face["consent_granted"], face["enrolled"], face["available"]) == (
        "face",
        False,
        False,
        False,
    )
    assert [m["purpose"] for m in body["modalities"]] == ["face_access", "voice_access"]


def test_under_14_without_guardian_consent_is_refused(world, login):
    a = world.a
    face_setup(a)
    parent = a.persons[0]
    household = people_f.household(room=a.rooms[0], head=parent)
    child = privacy_f.child(estate=a.estate, room=a.rooms[0], age=13, household=household)
    child_client = login(privacy_f.resident_user_for(child))

    asked = enrol_face(child_client, consent=True)  # a 13-year-old cannot consent alone (R18)
    assert (asked.status_code, asked.json()["error"]["code"]) == (403, "guardian_consent_required")
    # A consent on record without a guardian (e.g. given before the birth date was known) is not enough.
    purpose = Purpose.objects.get(code="face_access")
    Consent.objects.create(
        person=child, purpose=purpose, notice_version=purpose.version, granted_at=timezone.now()
    )
    refused = enrol_face(child_client, consent=False)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "guardian_consent_required")
    assert BiometricTemplate.objects.count() == 0

    Consent.objects.filter(person=child).update(withdrawn_at=timezone.now())
    by_parent = enrol_face(login(a.resident), consent=True, person_id=child.pk)
    assert by_parent.status_code == 201, by_parent.content
    consent = Consent.objects.get(person=child, purpose__code="face_access", withdrawn_at__isnull=True)
    assert consent.guardian_id == parent.pk
    assert template_of(child) is not None
    # Now the child's own page shows the guardian's consent as effective.
    assert child_client.get(f"{API}/me").json()["modalities"][0]["consent_effective"] is True


def test_a_neighbour_or_another_estate_cannot_be_acted_for(world, login):
    a, b = world.a, world.b
    face_setup(a)
    client = login(a.resident)
    assert enrol_face(client, person_id=a.persons[1].pk).status_code == 404  # adult, not a ward
    assert enrol_face(client, person_id=b.persons[0].pk).status_code == 404
    assert client.get(f"{API}/me", {"person_id": b.persons[0].pk}).status_code == 404
    staff = login(b.staff[Role.PROPERTY_ADMIN])
    assert staff.get(f"{API}/me").status_code == 403  # residents' own feature
    assert enrol_face(staff).status_code == 403
    assert staff.post(f"{API}/me/face/withdraw", {}, content_type="application/json").status_code == 403
    assert BiometricTemplate.objects.count() == 0


# --- which devices -----------------------------------------------------------------------------


def test_enrolment_queues_one_push_for_exactly_the_devices_of_doors_the_person_may_use(world, login):
    a, b = world.a, world.b
    gate = door_device(a)  # estate-wide gate with face: yes
    point(a.estate, gate)
    unit = door_device(a)  # own building, face: yes
    point(a.estate, unit, building=a.building)
    no_face = door_device(a)  # own building, no face method: no
    point(a.estate, no_face, building=a.building, methods=NO_FACE_DOOR)
    other_building = places_f.building(estate=a.estate, name="9号楼")
    elsewhere = door_device(a)  # another building of the estate: no
    point(a.estate, elsewhere, building=other_building)
    disabled = door_device(a)  # point disabled: no
    point(a.estate, disabled, building=a.building, status=AccessPoint.Status.DISABLED)
    revoked = door_device(a, status=DeviceStatus.REVOKED)  # revoked device: no
    point(a.estate, revoked)
    two_doors = door_device(a)  # one controller, two face doors: one push with both doors
    point(a.estate, two_doors, door_no=1)
    point(a.estate, two_doors, building=a.building, door_no=2)
    other_estate = door_device(b)
    point(b.estate, other_estate)

    assert enrol_face(login(a.resident)).status_code == 201
    subject = AccessSubject.objects.get(person=a.persons[0])
    template = template_of(a.persons[0])
    pushes = commands(CommandKind.PUSH_FACE)
    assert sorted(c.device_id for c in pushes) == sorted([gate.pk, unit.pk, two_doors.pk])
    assert {c.device_id: c.payload for c in pushes}[two_doors.pk] == {
        "employee_no": subject.pseudonym,
        "template": template.pk,
        "doors": [1, 2],
    }
    assert {c.ref for c in pushes} == {f"face:{subject.pseudonym}"}
    # The pseudonymous person record goes first on each device; nothing names the person (R27).
    for device in (gate, unit, two_doors):
        kinds = [c.kind for c in commands(device=device)]
        assert kinds == [CommandKind.PUSH_PERSON, CommandKind.PUSH_FACE]
    person = commands(CommandKind.PUSH_PERSON, device=gate)[0]
    assert person.payload == {"employee_no": subject.pseudonym, "doors": [1]}
    assert a.persons[0].name not in str([c.payload for c in DeviceCommand.objects.all()])
    assert re.fullmatch(r"\d{16}", subject.pseudonym)


def test_no_face_capable_door_means_no_enrolment(world, login):
    a = world.a
    point(a.estate, door_device(a), methods=NO_FACE_DOOR)
    refused = enrol_face(login(a.resident))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "no_device")
    assert BiometricTemplate.objects.count() == 0


# --- samples -----------------------------------------------------------------------------------


def test_photo_is_reencoded_small_without_metadata(world, login):
    a = world.a
    face_setup(a, 1)
    sample = biometrics.clean_face_photo(jpeg((900, 1200)))
    image = Image.open(io.BytesIO(sample))
    assert (image.format, image.size, dict(image.getexif())) == ("JPEG", (900, 1200), {})
    assert b"PhoneMaker" not in sample
    noisy = io.BytesIO()
    Image.effect_noise((1400, 1100), 90).convert("RGB").save(noisy, format="JPEG", quality=90)
    assert 1024 * 1024 < len(noisy.getvalue()) < biometrics.PHOTO_MAX_BYTES
    small = biometrics.clean_face_photo(noisy.getvalue())
    assert len(small) <= biometrics.STORED_PHOTO_MAX_BYTES
    assert max(Image.open(io.BytesIO(small)).size) <= biometrics.PHOTO_MAX_SIDE

    assert enrol_face(login(a.resident), jpeg()).status_code == 201
    stored = b64decode(template_of(a.persons[0]).sample)
    assert stored[:3] == b"\xff\xd8\xff" and b"PhoneMaker" not in stored


def test_bad_photos_are_refused_with_clear_errors(world, login):
    a = world.a
    face_setup(a, 1)
    client = login(a.resident)
    too_big = enrol_face(client, b"\xff\xd8" + b"0" * (2 * 1024 * 1024))
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")
    not_image = enrol_face(client, b"GIF89a not a photo")
    assert (not_image.status_code, list(not_image.json()["error"]["fields"])) == (400, ["photo"])
    huge = io.BytesIO()
    Image.new("L", (5000, 5000)).save(huge, format="PNG")  # 25 MP, a few KB compressed
    assert enrol_face(client, huge.getvalue()).status_code == 400
    tiny = enrol_face(client, jpeg((60, 60)))
    assert tiny.status_code == 400
    assert BiometricTemplate.objects.count() == 0


def test_voice_enrolment_strips_metadata_and_checks_the_wav(world, login):
    a = world.a
    point(a.estate, door_device(a), building=a.building, methods=VOICE_DOOR)
    client = login(a.resident)

    def post(data):
        form = {"sample": upload(data, "v.wav", "audio/wav"), "consent": "true"}
        return client.post(f"{API}/me/voice", form)

    assert post(b"RIFF\x00\x00\x00\x00WAVEjunk").status_code == 400
    assert post(wav(0.3)).status_code == 400  # too short
    assert post(b"ID3 mp3 data").status_code == 400
    ok = post(wav(2.0))
    assert ok.status_code == 201, ok.content
    stored = b64decode(template_of(a.persons[0], Modality.VOICE).sample)
    assert b"LIST" not in stored and b"Zhang" not in stored
    with wave.open(io.BytesIO(stored)) as w:
        assert (w.getframerate(), w.getnframes()) == (16000, 32000)
    assert [c.kind for c in commands()] == [CommandKind.PUSH_PERSON, CommandKind.PUSH_VOICE]
    assert Consent.objects.filter(person=a.persons[0], purpose__code="voice_access").count() == 1
    assert not Consent.objects.filter(person=a.persons[0], purpose__code="face_access").exists()


def test_sample_is_cleared_once_every_push_is_answered(world, login):
    a = world.a
    d1, d2, d3 = face_setup(a, 3)
    enrol_face(login(a.resident))
    template = template_of(a.persons[0])
    for device in (d1, d2, d3):
        device_sync.fetch(device)
    push = {c.device_id: c for c in commands(CommandKind.PUSH_FACE)}
    device_sync.ack(device=d1, command_id=push[d1.pk].pk, ok=True)
    assert template_of(a.persons[0]).sample == template.sample  # two doors still to answer
    device_sync.ack(device=d2, command_id=push[d2.pk].pk, ok=False, error="noFaceDetected")
    assert template_of(a.persons[0]).sample_cleared_at is None
    device_sync.ack(device=d3, command_id=push[d3.pk].pk, ok=True)
    cleared = template_of(a.persons[0])
    assert (cleared.sample, cleared.sample_cleared_at is not None) == ("", True)
    status = login(a.resident).get(f"{API}/me").json()["modalities"][0]
    outcome = [status[k] for k in ("sample_held", "devices_acked", "devices_failed", "device_errors")]
    assert outcome == [False, 2, 1, ["noFaceDetected"]]
    # A push of a cleared sample is never delivered again.
    DeviceCommand.objects.filter(pk=push[d2.pk].pk).update(status=CommandStatus.PENDING)
    assert [d.command.kind for d in device_sync.fetch(d2)] == []
    assert DeviceCommand.objects.get(pk=push[d2.pk].pk).status == CommandStatus.CANCELLED


def test_re_enrolment_deletes_the_old_sample_on_devices_before_pushing_the_new_one(world, login):
    a = world.a
    (d1,) = face_setup(a, 1)
    client = login(a.resident)
    enrol_face(client)
    first = template_of(a.persons[0])
    device_sync.fetch(d1)
    push = commands(CommandKind.PUSH_FACE)[0]
    device_sync.ack(device=d1, command_id=push.pk, ok=True)
    assert enrol_face(client, jpeg((500, 500))).status_code == 201
    second = template_of(a.persons[0])
    assert second.pk == first.pk and second.sample_sha256 != first.sample_sha256
    assert [c.kind for c in commands(device=d1)] == [
        CommandKind.PUSH_PERSON,
        CommandKind.PUSH_FACE,
        CommandKind.DELETE_FACE,
        CommandKind.PUSH_FACE,
    ]
    updates = AuditEvent.objects.filter(action="data.update", object_type="access.biometrictemplate")
    assert updates.count() == 1


# --- withdrawal, move-out (R25, R28) --------------------------------------------------------------


def test_withdrawal_deletes_the_template_in_the_same_request_and_queues_one_delete_per_holding_device(
    world, login
):
    a = world.a
    acked, sent, pending, refused = face_setup(a, 4)
    client = login(a.resident)
    enrol_face(client)
    push = {c.device_id: c for c in commands(CommandKind.PUSH_FACE)}
    for device in (acked, sent, refused):
        device_sync.fetch(device)
    device_sync.ack(device=acked, command_id=push[acked.pk].pk, ok=True)
    device_sync.ack(device=refused, command_id=push[refused.pk].pk, ok=False, error="noFaceDetected")
    pseudonym = AccessSubject.objects.get(person=a.persons[0]).pseudonym

    response = client.post(f"{API}/me/face/withdraw", {}, content_type="application/json")

    assert (response.status_code, response.json()) == (200, {"modality": "face", "devices_queued": 3})
    assert BiometricTemplate.objects.count() == 0
    deletes = commands(CommandKind.DELETE_FACE)
    assert sorted(c.device_id for c in deletes) == sorted([acked.pk, sent.pk, pending.pk])
    assert {(c.status, c.ref) for c in deletes} == {(CommandStatus.PENDING, f"face:{pseudonym}")}
    assert deletes[0].payload == {"employee_no": pseudonym, "modality": "face"}
    assert DeviceCommand.objects.get(pk=push[pending.pk].pk).status == CommandStatus.CANCELLED
    consent = Consent.objects.get(person=a.persons[0], purpose__code="face_access")
    assert consent.withdrawn_at is not None
    deleted = AuditEvent.objects.get(action="data.delete", object_type="access.biometrictemplate")
    assert (deleted.subject_person_id, deleted.detail) == (
        a.persons[0].pk,
        {"modality": "face", "trigger": "withdraw", "devices_queued": 3},
    )
    assert AuditEvent.objects.filter(action="privacy.consent_withdraw").count() == 1
    # Withdrawing again: nothing left (404), and no second round of deletes.
    assert client.post(f"{API}/me/face/withdraw", {}, content_type="application/json").status_code == 404
    assert len(commands(CommandKind.DELETE_FACE)) == 3


def test_consent_withdrawn_in_the_privacy_centre_deletes_through_the_hook(world, login, monkeypatch):
    a = world.a
    face_setup(a, 2)
    enrol_face(login(a.resident))
    actor = actor_for_user(a.resident)
    original = privacy_services.consent_withdraw

    def hooked(**kwargs):  # what the integrator's one-line hook does inside consent_withdraw
        consent = original(**kwargs)
        biometrics.on_consent_withdrawn(consent, actor=kwargs["actor"])
        return consent

    monkeypatch.setattr(privacy_services, "consent_withdraw", hooked)
    privacy_services.consent_withdraw(
        actor=actor, person=a.persons[0], purpose=Purpose.objects.get(code="face_access"), channel="h5"
    )
    assert template_of(a.persons[0]) is None
    assert len(commands(CommandKind.DELETE_FACE)) == 2
    # Idempotent, and the biometrics withdraw endpoint with the hook installed does not double-queue.
    consent = Consent.objects.get(person=a.persons[0], purpose__code="face_access")
    assert biometrics.on_consent_withdrawn(consent) == 0
    enrol_face(login(a.resident))
    assert biometrics.biometric_withdraw(actor=actor, modality=Modality.FACE) == 2
    assert len(commands(CommandKind.DELETE_FACE)) == 4
    # Consents for other purposes do nothing here.
    notifications = privacy_f.consent(person=a.persons[0], code="notifications")
    assert biometrics.on_consent_withdrawn(notifications) == 0


def test_moving_out_deletes_every_template_and_queues_the_device_deletes(world, login):
    a = world.a
    face_setup(a, 2)
    voice = door_device(a)
    point(a.estate, voice, building=a.building, methods=VOICE_DOOR)
    client = login(a.resident)
    enrol_face(client)
    client.post(f"{API}/me/voice", {"sample": upload(wav(), "v.wav", "audio/wav"), "consent": "true"})
    for c in commands():
        device_sync.fetch(c.device)
    assert BiometricTemplate.objects.count() == 2

    assert biometrics.on_person_moved_out(a.persons[0]) == 3
    assert BiometricTemplate.objects.count() == 0
    assert len(commands(CommandKind.DELETE_FACE)) == 2 and len(commands(CommandKind.DELETE_VOICE)) == 1
    assert biometrics.on_person_moved_out(a.persons[0]) == 0
    assert AuditEvent.objects.filter(action="data.delete", detail__trigger="moved_out").count() == 2


def test_ack_of_a_push_after_the_template_was_deleted_is_ignored_safely(world, login):
    a = world.a
    (d1, d2) = face_setup(a, 2)
    client = login(a.resident)
    enrol_face(client)
    device_sync.fetch(d1)  # d1 has the push in flight; d2's is still queued
    push = {c.device_id: c for c in commands(CommandKind.PUSH_FACE)}
    client.post(f"{API}/me/face/withdraw", {}, content_type="application/json")
    late = device_sync.ack(device=d1, command_id=push[d1.pk].pk, ok=True)
    cancelled = device_sync.ack(device=d2, command_id=push[d2.pk].pk, ok=True)
    assert (late.status, cancelled.status) == (CommandStatus.ACKED, CommandStatus.CANCELLED)
    # The delete queued at withdrawal follows the late push on d1.
    assert [d.command.kind for d in device_sync.fetch(d1)] == [CommandKind.DELETE_FACE]


# --- schema (R27, R29, R30) and R24 -----------------------------------------------------------------


def test_biometric_template_is_kept_apart_from_identity_data():
    fields = {f.name: f for f in BiometricTemplate._meta.get_fields()}
    assert set(fields) == {
        "id",
        "subject",
        "modality",
        "sample",
        "sample_sha256",
        "consent",
        "enrolled_at",
        "sample_cleared_at",
    }
    related = {f.name: f.related_model._meta.label for f in fields.values() if f.is_relation}
    assert related == {"subject": "access.AccessSubject", "consent": "privacy.Consent"}
    assert BiometricTemplate._meta.get_field("sample").get_internal_type() == "TextField"
    from linli.core.fields import EncryptedTextField

    assert isinstance(BiometricTemplate._meta.get_field("sample"), EncryptedTextField)


def test_no_age_gender_emotion_attributes_in_access_or_device_commands():
    from django.apps import apps

    pattern = re.compile(r"(^|_)(age|gender|sex|emotion|mood|ethnic|race|attractive|beauty)($|_)")
    for model in [*apps.get_app_config("access").get_models(), DeviceCommand]:
        for f in model._meta.get_fields():
            assert not pattern.search(f.name), f"{model.__name__}.{f.name}"


def test_there_is_no_server_side_search_of_templates(world, login):
    from linli.api import api

    client = login(world.a.resident)
    for path in ("search", "identify", "match", "templates"):
        assert client.get(f"{API}/{path}").status_code == 404
        assert client.post(f"{API}/{path}", {}, content_type="application/json").status_code == 404
    routes = [
        p for prefix, router in api._routers if prefix == "access" for p in _paths(router) if "biometric" in p
    ]
    assert not [p for p in routes if re.search(r"search|identify|match", p)]


def _paths(router, prefix=""):
    for path in router.path_operations:
        yield prefix + path
    for sub_prefix, sub in router._routers:
        yield from _paths(sub, prefix + sub_prefix)


def test_only_the_biometric_modules_depend_on_face_or_voice_consent():
    root = Path(biometrics.__file__).resolve().parents[2]
    allowed = {
        "access/biometrics/services.py",
        "access/biometrics/api.py",
        "access/biometrics/views_h5.py",
        "access/biometrics/device_sync.py",
        "access/api.py",  # mounts the biometrics router
        "access/urls_h5.py",  # includes the biometrics pages
        "access/tasks.py",  # the move-out sweep and the overdue-delete job: deletions only
        "access/subscribers.py",  # move-out and consent withdrawal (events): deletions only
    }
    users = set()
    for file in root.rglob("*.py"):
        rel = file.relative_to(root).as_posix()
        if "/tests/" in rel or "/migrations/" in rel:
            continue
        text = file.read_text(encoding="utf-8")
        if re.search(r"face_access|voice_access|access\.biometrics|import .*\bbiometrics\b", text):
            users.add(rel)
    assert users <= allowed, users - allowed


def test_a_resident_without_face_consent_passes_every_door_of_their_building_by_card(world):
    from linli.access.gate import decision

    a = world.a
    af.resident_policy(estate=a.estate)
    card = af.card_credential(person=a.persons[0])
    doors = [point(a.estate, door_device(a)), point(a.estate, door_device(a), building=a.building)]
    assert not Consent.objects.filter(purpose__code__in=["face_access", "voice_access"]).exists()
    results = [decision.decide(access_point=p, method="card", credential_text=card.number) for p in doors]
    assert [(r.result, r.reason) for r in results] == [("allow", "ok"), ("allow", "ok")]


# --- pages ---------------------------------------------------------------------------------------


def test_face_page_shows_notice_alternatives_consent_box_and_withdraw(world, login):
    a = world.a
    face_setup(a, 2)
    client = login(a.resident)
    page = client.get("/h5/access/face/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "人脸通行（可选）" in html
    notice = Purpose.objects.get(code="face_access").notice
    sections = ["处理者", "处理目的", "处理方式", "个人信息种类", "保存期限", "必要性", "影响", "权利"]
    for section in [*sections, "联系方式"]:
        assert section in notice and section in html
    for way in ("IC 卡", "一码通二维码", "密码", "人工核验"):
        assert way in html
    assert "不影响您使用门禁" in html
    assert re.search(r'<input type="checkbox" name="consent" required>', html)  # never pre-ticked
    assert "删除后将从所有门禁设备移除" not in html  # nothing to withdraw yet

    posted = client.post("/h5/access/face/enrol/", {"photo": upload(jpeg()), "consent": "on"}, follow=True)
    assert posted.status_code == 200
    assert template_of(a.persons[0]) is not None
    html = posted.content.decode()
    assert "删除后将从所有门禁设备移除" in html
    assert "共 2 台" in html

    withdrawn = client.post("/h5/access/face/withdraw/", follow=True)
    assert "已通知 2 台门禁设备移除" in withdrawn.content.decode()
    assert template_of(a.persons[0]) is None


def test_face_page_without_the_box_ticked_enrols_nothing(world, login):
    a = world.a
    face_setup(a, 1)
    client = login(a.resident)
    response = client.post("/h5/access/face/enrol/", {"photo": upload(jpeg())})
    assert response.status_code == 403
    assert BiometricTemplate.objects.count() == 0


def test_voice_and_overview_pages_and_the_childs_page(world, login):
    a = world.a
    parent = a.persons[0]
    household = people_f.household(room=a.rooms[0], head=parent)
    child = privacy_f.child(estate=a.estate, room=a.rooms[0], age=13, household=household)
    client = login(a.resident)
    voice = client.get("/h5/access/voice/")
    assert voice.status_code == 200 and "声纹通行（可选）" in voice.content.decode()
    overview = client.get("/h5/access/biometrics/").content.decode()
    assert "/h5/access/face/" in overview and f"?person={child.pk}" in overview
    child_page = client.get(f"/h5/access/face/?person={child.pk}").content.decode()
    assert "须由您作为监护人单独同意" in child_page
    assert client.get(f"/h5/access/face/?person={a.persons[1].pk}").status_code == 404
    own = login(privacy_f.resident_user_for(child)).get("/h5/access/face/").content.decode()
    assert "请家长在自己的账号中为您开通" in own
    assert login(world.b.resident).get(f"/h5/access/face/?person={child.pk}").status_code == 404
