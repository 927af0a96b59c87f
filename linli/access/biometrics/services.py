"""Optional face and voiceprint door access under separate consent (R18, R24–R30).

What the platform does, and what it deliberately does not do:

* **Separate, optional consent.** Enrolment needs the person's active, current-version consent to the
  purpose ``face_access`` (voiceprint: ``voice_access``), recorded through ``privacy.services``. Under
  14 that consent must have been given by a guardian (R18). Nothing else in the platform looks at
  these consents: refusing changes nothing for cards, 一码通, PINs, visitors or any other service (R24).
* **Samples, not templates, and only until the doors have them (R26).** The resident uploads one
  photo (JPEG/PNG ≤ 2 MB, pixel count checked from the header before decoding, re-encoded to a JPEG
  ≤ 200 KB, which drops EXIF/GPS and anything appended) or one voice sample (PCM WAV ≤ 1 MB,
  rewritten with only its format and data chunks). The sample is stored encrypted in
  ``BiometricTemplate.sample`` and cleared as soon as no push of it is outstanding: door devices
  extract and match templates themselves. No face-detection model is available offline, so the
  platform cannot tell whether a photo shows a face; the door device's own enrolment rejects such
  photos (Hikvision ``noFaceDetected``), which comes back as a failed push in the command ack and is
  shown on the resident's status page.
* **Pseudonymous (R27).** Templates reference an ``AccessSubject`` (the device ``employeeNo``),
  never the person; device commands carry only the pseudonym, and the sample is read at delivery
  time, so a deleted template can never be sent afterwards.
* **Deletion everywhere (R25, R28).** Withdrawing consent, ``biometric_withdraw`` or moving out
  deletes the template row in the same transaction, cancels pushes not yet fetched, and queues one
  ``delete_face``/``delete_voice`` per device that holds the template or had a push of it pending;
  ``device_sync.overdue_deletes`` raises an alarm for deletes not acknowledged within 24 h.
* **Verification only (R29, R30).** No age, gender, emotion or any other attribute is derived or
  stored, and there is no server-side 1:N search: matching happens on the door device.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import warnings
import wave
from base64 import b64encode
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from linli.access.biometrics import device_sync
from linli.access.models import AccessPoint, AccessSubject, BiometricTemplate, Modality
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PayloadTooLarge, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.devices.models import CommandKind, CommandStatus, Device, DeviceCommand, DeviceStatus

PURPOSE = {Modality.FACE: "face_access", Modality.VOICE: "voice_access"}
MODALITY_OF_PURPOSE = {code: modality for modality, code in PURPOSE.items()}
PUSH = {Modality.FACE: CommandKind.PUSH_FACE, Modality.VOICE: CommandKind.PUSH_VOICE}
DELETE = {Modality.FACE: CommandKind.DELETE_FACE, Modality.VOICE: CommandKind.DELETE_VOICE}
MODALITY_OF_COMMAND = {
    **{kind: modality for modality, kind in PUSH.items()},
    **{kind: modality for modality, kind in DELETE.items()},
}

PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_MAX_PIXELS = 24_000_000  # checked from the header, before decoding (decompression bombs)
PHOTO_MIN_SIDE = 100
PHOTO_MAX_SIDE = 1280
STORED_PHOTO_MAX_BYTES = 200 * 1024  # what door devices accept (device_payloads §1.6)
VOICE_MAX_BYTES = 1024 * 1024
VOICE_MIN_SECONDS = 1.0
VOICE_MAX_SECONDS = 30.0
VOICE_RATES = range(8000, 48001)


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(fields={name: [message]})


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:g}"


# ---------------------------------------------------------------------------------------------
# Samples: validation and cleaning (in memory only: no temporary files, R26)
# ---------------------------------------------------------------------------------------------


def clean_face_photo(raw: bytes, *, name: str = "photo") -> bytes:
    """A JPEG ≤ 200 KB with no metadata from an uploaded JPEG/PNG (≤ 2 MB, ≤ 24 MP)."""
    if not raw:
        raise _invalid(name, _("照片文件为空"))
    if len(raw) > PHOTO_MAX_BYTES:
        raise PayloadTooLarge(_("照片不能超过 %(mb)s MB") % {"mb": _mb(PHOTO_MAX_BYTES)})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=["JPEG", "PNG"])
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise _invalid(name, _("照片像素过多（最多 %(n)d 像素）") % {"n": PHOTO_MAX_PIXELS})
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _invalid(name, _("只支持 JPEG、PNG 格式的照片")) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _invalid(name, _("照片文件已损坏，无法读取")) from exc
    image = ImageOps.exif_transpose(image)
    if min(image.size) < PHOTO_MIN_SIDE:
        raise _invalid(name, _("照片太小（短边至少 %(n)d 像素）") % {"n": PHOTO_MIN_SIDE})
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    else:
        image = image.convert("RGB")
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    while True:
        # A fresh image carries no EXIF, ICC, XMP or comment from the upload.
        bare = Image.new("RGB", image.size)
        bare.paste(image)
        for quality in (90, 80, 70, 60, 50):
            out = io.BytesIO()
            bare.save(out, format="JPEG", quality=quality, optimize=True)
            if out.tell() <= STORED_PHOTO_MAX_BYTES:
                return out.getvalue()
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))


def clean_voice_sample(raw: bytes, *, name: str = "sample") -> bytes:
    """The PCM frames of an uploaded WAV (≤ 1 MB, 1–30 s, 8–48 kHz) in a new WAV without metadata."""
    if not raw:
        raise _invalid(name, _("录音文件为空"))
    if len(raw) > VOICE_MAX_BYTES:
        raise PayloadTooLarge(_("录音不能超过 %(mb)s MB") % {"mb": _mb(VOICE_MAX_BYTES)})
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise _invalid(name, _("只支持 WAV 格式（PCM）的录音"))
    try:
        with wave.open(io.BytesIO(raw), "rb") as src:
            channels, width, rate, frames = (
                src.getnchannels(),
                src.getsampwidth(),
                src.getframerate(),
                src.getnframes(),
            )
            data = src.readframes(frames)
    except (wave.Error, EOFError, ValueError, OSError) as exc:
        raise _invalid(name, _("只支持 WAV 格式（PCM）的录音")) from exc
    if channels not in (1, 2) or width not in (1, 2, 3) or rate not in VOICE_RATES:
        raise _invalid(name, _("录音格式不受支持（单声道或双声道，8–48 kHz）"))
    if not data or len(data) < frames * channels * width:
        raise _invalid(name, _("录音文件已损坏，无法读取"))
    seconds = frames / rate
    if not VOICE_MIN_SECONDS <= seconds <= VOICE_MAX_SECONDS:
        raise _invalid(
            name,
            _("录音时长应在 %(a)d–%(b)d 秒之间") % {"a": VOICE_MIN_SECONDS, "b": VOICE_MAX_SECONDS},
        )
    out = io.BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setnchannels(channels)
        dst.setsampwidth(width)
        dst.setframerate(rate)
        dst.writeframes(data)
    return out.getvalue()


def clean_sample(modality: str, raw: bytes) -> bytes:
    return clean_face_photo(raw) if modality == Modality.FACE else clean_voice_sample(raw)


# ---------------------------------------------------------------------------------------------
# Who, where
# ---------------------------------------------------------------------------------------------


def _new_pseudonym() -> str:
    # 16 digits: accepted as employeeNo / UserID by every door terminal we target (≤ 32 chars).
    return str(10**15 + secrets.randbelow(9 * 10**15))


def subject_for(person) -> AccessSubject:
    """The person's pseudonymous device identity, created on first need."""
    existing = AccessSubject.objects.filter(person=person).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return AccessSubject.objects.create(
                    person=person, estate_id=person.estate_id, pseudonym=_new_pseudonym()
                )
        except IntegrityError:
            existing = AccessSubject.objects.filter(person=person).first()
            if existing is not None:
                return existing  # created concurrently
    raise Conflict(_("无法生成匿名编号，请重试"))


def current_building_ids(person) -> set[int]:
    from linli.people.models import Occupancy

    return set(
        Occupancy.objects.filter(
            person=person, estate_id=person.estate_id, end_date__isnull=True
        ).values_list("room__building_id", flat=True)
    )


def target_devices(person, modality: str) -> dict[Device, list[int]]:
    """Devices (with their door numbers) of the active access points the person may use that accept
    this modality: estate-wide points and the points of the buildings the person currently lives in."""
    buildings = current_building_ids(person)
    if not buildings:
        return {}
    points = (
        AccessPoint.objects.filter(
            estate_id=person.estate_id, status=AccessPoint.Status.ACTIVE, device__isnull=False
        )
        .filter(Q(building__isnull=True) | Q(building_id__in=buildings))
        .exclude(device__status=DeviceStatus.REVOKED)
        .select_related("device")
        .order_by("device_id", "door_no")
    )
    out: dict[Device, list[int]] = {}
    for point in points:
        if modality in (point.allowed_methods or []):
            out.setdefault(point.device, []).append(point.door_no)
    return out


def wards_of(person) -> list:
    """Children under 14 in the person's current households, for whom they act as guardian (R18)."""
    from linli.people.models import Household, Occupancy, Person
    from linli.privacy import selectors as privacy

    households = privacy.current_household_ids(person)
    if not households:
        return []
    today = timezone.localdate()
    member_ids = set(
        Occupancy.objects.filter(household_id__in=households)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .values_list("person_id", flat=True)
    ) | set(Household.objects.filter(pk__in=households).values_list("head_id", flat=True))
    children = Person.objects.filter(pk__in=member_ids - {person.pk, None}).order_by("pk")
    return [c for c in children if (age := privacy.age_of(c)) is not None and age < privacy.MINOR_AGE]


def _is_minor(person) -> bool:
    from linli.privacy import selectors as privacy

    age = privacy.age_of(person)
    return age is not None and age < privacy.MINOR_AGE


def acting_for(actor: Actor, person_id: int | None):
    """(person, guardian): the signed-in resident, or a child under 14 of their household (R18)."""
    from linli.privacy import selectors as privacy

    return privacy.consent_subject(actor=actor, person_id=person_id)


def _purpose(modality: str):
    from linli.privacy.models import Purpose

    purpose = Purpose.objects.filter(code=PURPOSE[modality], is_active=True).first()
    if purpose is None:
        raise Conflict(_("本小区未开通此项服务"), code="purpose_missing")
    return purpose


def _consent_status(person, modality: str):
    from linli.privacy import selectors as privacy

    code = PURPOSE[modality]
    return next((s for s in privacy.consents_for(person) if s.purpose.code == code), None)


def require_consent(person, modality: str):
    """The consent that allows processing now, or 403 (R25; R18: under 14 only a guardian's)."""
    status = _consent_status(person, modality)
    if status is None or not status.effective:
        raise PermissionDenied(
            _("请先阅读告知并单独同意后再录入（不同意不影响其他通行方式）"), code="consent_required"
        )
    if _is_minor(person) and status.consent.guardian_id is None:
        raise PermissionDenied(
            _("不满十四周岁的未成年人须由监护人单独同意后才能录入"), code="guardian_consent_required"
        )
    return status.consent


# ---------------------------------------------------------------------------------------------
# Device commands of a template
# ---------------------------------------------------------------------------------------------


def ref_of(modality: str, pseudonym: str) -> str:
    return f"{modality}:{pseudonym}"


def _holders(ref: str) -> tuple[list[int], list[int]]:
    """(device ids whose latest command for ``ref`` is a push that may have reached them or is still
    queued, ids of pushes not yet fetched). A failed push (the device refused it) holds nothing;
    a pending delete already covers its device."""
    latest: dict[int, DeviceCommand] = {}
    for cmd in (
        DeviceCommand.objects.select_for_update()
        .filter(ref=ref)
        .exclude(status=CommandStatus.CANCELLED)
        .order_by("id")
    ):
        latest[cmd.device_id] = cmd
    holders = []
    pending_pushes = []
    for device_id, cmd in sorted(latest.items()):
        if cmd.kind.startswith("push_") and cmd.status in (
            CommandStatus.PENDING,
            CommandStatus.SENT,
            CommandStatus.ACKED,
        ):
            holders.append(device_id)
            if cmd.status == CommandStatus.PENDING:
                pending_pushes.append(cmd.pk)
    return holders, pending_pushes


def _queue_deletes(subject: AccessSubject, modality: str, now: datetime) -> int:
    ref = ref_of(modality, subject.pseudonym)
    holders, pending = _holders(ref)
    DeviceCommand.objects.filter(pk__in=pending).update(
        status=CommandStatus.CANCELLED, last_error="template_deleted"
    )
    payload = {"employee_no": subject.pseudonym, "modality": modality}
    for device in Device.objects.filter(pk__in=holders).order_by("pk"):
        device_sync.enqueue(device=device, kind=DELETE[modality], ref=ref, payload=payload, now=now)
    return len(holders)


def _ensure_person_on(device: Device, subject: AccessSubject, doors: list[int], now: datetime) -> None:
    """Door terminals attach a face to a known person (Hikvision ``FPID`` = ``employeeNo``): queue the
    pseudonymous person record first unless the device has it or it is already queued."""
    ref = f"person:{subject.pseudonym}"
    last = DeviceCommand.objects.filter(device=device, ref=ref).exclude(status=CommandStatus.CANCELLED).last()
    if (
        last is not None
        and last.kind == CommandKind.PUSH_PERSON
        and last.status in (CommandStatus.PENDING, CommandStatus.SENT, CommandStatus.ACKED)
    ):
        return
    device_sync.enqueue(
        device=device,
        kind=CommandKind.PUSH_PERSON,
        ref=ref,
        payload={"employee_no": subject.pseudonym, "doors": sorted(set(doors))},
        now=now,
    )


def _delete_template(person, modality: str, *, actor, trigger: str, now: datetime) -> tuple[int, bool]:
    """Delete the template row (if any) and queue device deletes; (devices queued, row existed)."""
    subject = AccessSubject.objects.filter(person=person).first()
    if subject is None:
        return 0, False
    deleted, _rows = BiometricTemplate.objects.filter(subject=subject, modality=modality).delete()
    queued = _queue_deletes(subject, modality, now)
    if deleted or queued:
        audit.record(
            Action.DELETE,
            actor=actor,
            object_type="access.biometrictemplate",
            object_id=subject.pseudonym,
            subject_person_id=person.pk,
            estate_id=person.estate_id,
            detail={"modality": modality, "trigger": trigger, "devices_queued": queued},
        )
    return queued, bool(deleted)


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def biometric_enrol(
    *,
    actor: Actor,
    modality: str,
    data: bytes,
    person_id: int | None = None,
    grant_consent: bool = False,
    channel: str = "h5",
) -> BiometricTemplate:
    """Enrol (or replace) the face photo / voice sample of the signed-in resident or their child under
    14. With ``grant_consent`` the separate consent is recorded first (ticked box on the page);
    otherwise it must already exist. Queues one push per device of the access points the person may
    use that accept this modality."""
    from linli.privacy import services as privacy_services

    if modality not in PURPOSE:
        raise NotFound()
    person, guardian = acting_for(actor, person_id)
    purpose = _purpose(modality)
    status = _consent_status(person, modality)
    if grant_consent and (status is None or not status.effective):
        if _is_minor(person) and guardian is None:
            raise PermissionDenied(
                _("不满十四周岁的未成年人须由监护人单独同意后才能录入"), code="guardian_consent_required"
            )
        privacy_services.consent_grant(
            actor=actor, person=person, purpose=purpose, channel=channel, guardian=guardian
        )
    consent = require_consent(person, modality)
    if not current_building_ids(person):
        raise Conflict(_("您当前没有在住房屋，无法开通"), code="not_resident")
    sample = clean_sample(modality, data)
    targets = target_devices(person, modality)
    if not targets:
        raise Conflict(
            _("您可通行的出入口暂无支持此方式的门禁设备，请继续使用门卡、一码通或密码"), code="no_device"
        )
    now = timezone.now()
    subject = subject_for(person)
    template = (
        BiometricTemplate.objects.select_for_update().filter(subject=subject, modality=modality).first()
    )
    replaced = template is not None
    if replaced:
        _queue_deletes(subject, modality, now)  # the old sample goes before the new one arrives
    else:
        template = BiometricTemplate(subject=subject, modality=modality)
    template.sample = b64encode(sample).decode()
    template.sample_sha256 = hashlib.sha256(sample).hexdigest()
    template.consent = consent
    template.enrolled_at = now
    template.sample_cleared_at = None
    template.save()
    ref = ref_of(modality, subject.pseudonym)
    for device, doors in targets.items():
        _ensure_person_on(device, subject, doors, now)
        device_sync.enqueue(
            device=device,
            kind=PUSH[modality],
            ref=ref,
            payload={"employee_no": subject.pseudonym, "template": template.pk, "doors": sorted(set(doors))},
            now=now,
        )
    audit.record(
        Action.UPDATE if replaced else Action.CREATE,
        actor=actor,
        object_type="access.biometrictemplate",
        object_id=subject.pseudonym,
        subject_person_id=person.pk,
        estate_id=person.estate_id,
        detail={
            "modality": modality,
            "devices": len(targets),
            "replaced": replaced,
            "consent_id": consent.pk,
            "guardian_id": guardian.pk if guardian else None,
        },
    )
    return template


@transaction.atomic
def biometric_withdraw(
    *, actor: Actor, modality: str, person_id: int | None = None, channel: str = "h5"
) -> int:
    """Withdraw the separate consent and delete the template in the same transaction; returns how
    many devices were queued to delete it. Deleting comes first, so the ``consent_withdraw`` hook
    (``on_consent_withdrawn``) finds nothing left to do."""
    from linli.privacy import services as privacy_services

    if modality not in PURPOSE:
        raise NotFound()
    person, guardian = acting_for(actor, person_id)
    queued, existed = _delete_template(person, modality, actor=actor, trigger="withdraw", now=timezone.now())
    purpose = _purpose(modality)
    status = _consent_status(person, modality)
    if status is not None and status.granted:
        privacy_services.consent_withdraw(
            actor=actor, person=person, purpose=purpose, channel=channel, guardian=guardian
        )
    elif not existed and not queued:
        raise NotFound(_("没有可撤回的同意或已录入的信息"))
    return queued


def on_consent_withdrawn(consent, *, actor=None) -> int:
    """Hook for ``privacy.services.consent_withdraw``: a withdrawn ``face_access``/``voice_access``
    consent deletes the template and queues device deletes in the same transaction. Idempotent."""
    modality = MODALITY_OF_PURPOSE.get(consent.purpose.code)
    if modality is None:
        return 0
    with transaction.atomic():
        queued, _existed = _delete_template(
            consent.person, modality, actor=actor, trigger="consent_withdrawn", now=timezone.now()
        )
    return queued


def on_person_moved_out(person, *, actor=None) -> int:
    """Move-out / end of tenancy (R28): delete every biometric template of the person and queue the
    device deletes; returns how many device deletes were queued."""
    now = timezone.now()
    with transaction.atomic():
        return sum(
            _delete_template(person, modality, actor=actor, trigger="moved_out", now=now)[0]
            for modality in PURPOSE
        )


# ---------------------------------------------------------------------------------------------
# Reads (the resident's own status)
# ---------------------------------------------------------------------------------------------


@dataclass
class ModalityStatus:
    modality: str
    purpose_code: str
    purpose_name: str
    notice: str
    notice_version: int
    consent_granted: bool
    needs_reconsent: bool
    consent_effective: bool
    guardian_required: bool
    enrolled: bool
    enrolled_at: datetime | None
    sample_held: bool
    devices_total: int = 0
    devices_acked: int = 0
    devices_pending: int = 0
    devices_failed: int = 0
    device_errors: list[str] = field(default_factory=list)
    deletes_pending: int = 0
    available: bool = False


def modality_status(person, modality: str) -> ModalityStatus:
    status = _consent_status(person, modality)
    subject = AccessSubject.objects.filter(person=person).first()
    template = (
        BiometricTemplate.objects.filter(subject=subject, modality=modality)
        .only("pk", "enrolled_at", "sample_cleared_at", "sample_sha256")
        .first()
        if subject
        else None
    )
    minor = _is_minor(person)
    out = ModalityStatus(
        modality=modality,
        purpose_code=PURPOSE[modality],
        purpose_name=status.purpose.name if status else "",
        notice=status.purpose.notice if status else "",
        notice_version=status.purpose.version if status else 0,
        consent_granted=bool(status and status.granted),
        needs_reconsent=bool(status and status.needs_reconsent),
        consent_effective=bool(status and status.effective),
        guardian_required=minor,
        enrolled=template is not None,
        enrolled_at=template.enrolled_at if template else None,
        sample_held=bool(template and template.sample_cleared_at is None),
        available=bool(target_devices(person, modality)),
    )
    if minor and status and status.consent is not None and status.consent.guardian_id is None:
        out.consent_effective = False
    if subject is not None:
        ref = ref_of(modality, subject.pseudonym)
        if template is not None:
            pushes = DeviceCommand.objects.filter(
                ref=ref, kind=PUSH[modality], payload__template=template.pk
            ).exclude(status=CommandStatus.CANCELLED)
            for cmd in pushes.only("status", "last_error"):
                out.devices_total += 1
                if cmd.status == CommandStatus.ACKED:
                    out.devices_acked += 1
                elif cmd.status == CommandStatus.FAILED:
                    out.devices_failed += 1
                    if cmd.last_error and cmd.last_error not in out.device_errors:
                        out.device_errors.append(cmd.last_error)
                else:
                    out.devices_pending += 1
        out.deletes_pending = DeviceCommand.objects.filter(
            ref=ref, kind=DELETE[modality], status__in=[CommandStatus.PENDING, CommandStatus.SENT]
        ).count()
    return out


def biometric_status(*, actor: Actor, person_id: int | None = None) -> tuple[object, list[ModalityStatus]]:
    """(person, status per modality) for the signed-in resident or their child under 14."""
    person, _guardian = acting_for(actor, person_id)
    return person, [modality_status(person, m) for m in PURPOSE]
