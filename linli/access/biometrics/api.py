"""Optional face / voiceprint access (``/api/v1/access/biometrics/…``).

Residents (their own record, or a child under 14 of their household via ``person_id``):

* ``GET /me`` — per modality: consent state, enrolled or not, how many doors have it / are pending
  / refused it, deletes still pending, and the equal alternatives (card, 一码通, PIN, staff);
* ``POST /me/face`` (photo) / ``POST /me/voice`` (WAV) — enrol under the separate consent
  (``consent=true`` records it first: the ticked box on the page); 403 without it, and under 14
  without a guardian's consent;
* ``POST /me/{modality}/withdraw`` — withdraw the consent and delete the template in the same request;
  answers how many devices were queued to delete it.

Door devices (``/device/…``, signed like every device call: ``access.gate.device_auth``):

* ``GET /device/commands`` — the next commands for this device, oldest first, marked sent: a
  face/voice push carries the sample (base64) read at delivery time; on Hikvision devices each
  command also carries the ISAPI request to relay on the LAN;
* ``POST /device/commands/{id}/ack`` — ``{"ok", "error"}``, or the device's raw ISAPI answer
  ``{"http_status", "response"}`` for Hikvision devices (``employeeNoAlreadyExist`` → retried as
  a modify call).

There is no search endpoint of any kind: matching happens on the devices (R30).
"""

from base64 import b64encode
from datetime import datetime
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile

from linli.access.biometrics import device_sync
from linli.access.biometrics import services as biometrics
from linli.access.gate.api import DeviceAuth
from linli.access.models import Modality
from linli.core import audit
from linli.core.api import ERRORS, WRITE_ERRORS, ErrorOut, Id, actor_of
from linli.core.audit import Action
from linli.core.errors import PayloadTooLarge, ValidationFailed
from linli.devices import vendors

ModalityCode = Literal["face", "voice"]
ALTERNATIVES = ["card", "qr", "pin", "staff"]

router = Router()


class ModalityOut(Schema):
    modality: ModalityCode
    purpose: str = Field(..., description="同意的处理目的编码（face_access / voice_access）")
    notice_version: int
    consent_granted: bool
    consent_effective: bool = Field(..., description="同意有效（当前版本告知；不满十四周岁须为监护人同意）")
    needs_reconsent: bool
    guardian_required: bool
    available: bool = Field(..., description="本人可通行的出入口中有支持此方式的门禁设备")
    enrolled: bool
    enrolled_at: datetime | None
    sample_held: bool = Field(..., description="服务器仍加密暂存样本（全部设备确认后清除）")
    devices_total: int
    devices_acked: int
    devices_pending: int
    devices_failed: int
    device_errors: list[str] = Field(..., description="设备拒绝的原因，如 noFaceDetected（未检测到人脸）")
    deletes_pending: int


class StatusOut(Schema):
    person_id: int
    modalities: list[ModalityOut]
    alternatives: list[str] = Field(..., description="同等有效的其他通行方式；不开通生物识别不影响任何服务")


class BiometricWithdrawIn(Schema):
    person_id: Id | None = Field(None, description="为不满十四周岁的子女操作时填写")


class WithdrawOut(Schema):
    modality: ModalityCode
    devices_queued: int


class PersonQuery(Schema):
    person_id: Id | None = None


def _modality_out(s: biometrics.ModalityStatus) -> dict:
    return {
        "modality": s.modality,
        "purpose": s.purpose_code,
        "notice_version": s.notice_version,
        "consent_granted": s.consent_granted,
        "consent_effective": s.consent_effective,
        "needs_reconsent": s.needs_reconsent,
        "guardian_required": s.guardian_required,
        "available": s.available,
        "enrolled": s.enrolled,
        "enrolled_at": s.enrolled_at,
        "sample_held": s.sample_held,
        "devices_total": s.devices_total,
        "devices_acked": s.devices_acked,
        "devices_pending": s.devices_pending,
        "devices_failed": s.devices_failed,
        "device_errors": s.device_errors,
        "deletes_pending": s.deletes_pending,
    }


@router.get("/me", response={200: StatusOut, **ERRORS}, summary="我的人脸/声纹通行状态（可选功能）")
def my_status(request, query: Query[PersonQuery]):
    person, statuses = biometrics.biometric_status(actor=actor_of(request), person_id=query.person_id)
    return {
        "person_id": person.pk,
        "modalities": [_modality_out(s) for s in statuses],
        "alternatives": ALTERNATIVES,
    }


def _read(upload: UploadedFile, limit: int) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge()
    return upload.read(limit + 1)


def _enrol(request, modality: str, data: bytes, consent: bool, person_id: int | None):
    actor = actor_of(request)
    biometrics.biometric_enrol(
        actor=actor,
        modality=modality,
        data=data,
        person_id=person_id,
        grant_consent=consent,
        channel="api" if actor.via != "session" else "h5",
    )
    person, _guardian = biometrics.acting_for(actor, person_id)
    return Status(201, _modality_out(biometrics.modality_status(person, modality)))


@router.post(
    "/me/face",
    response={201: ModalityOut, **WRITE_ERRORS, 413: ErrorOut},
    summary="录入人脸照片（JPEG/PNG ≤ 2 MB；须单独同意，可随时撤回）",
)
def enrol_face(
    request,
    photo: File[UploadedFile],
    consent: Form[bool] = False,
    person_id: Form[Id | None] = None,
):
    data = _read(photo, biometrics.PHOTO_MAX_BYTES)
    return _enrol(request, Modality.FACE, data, consent, person_id)


@router.post(
    "/me/voice",
    response={201: ModalityOut, **WRITE_ERRORS, 413: ErrorOut},
    summary="录入声纹样本（WAV ≤ 1 MB；须单独同意，可随时撤回）",
)
def enrol_voice(
    request,
    sample: File[UploadedFile],
    consent: Form[bool] = False,
    person_id: Form[Id | None] = None,
):
    data = _read(sample, biometrics.VOICE_MAX_BYTES)
    return _enrol(request, Modality.VOICE, data, consent, person_id)


@router.post(
    "/me/{modality}/withdraw",
    response={200: WithdrawOut, **ERRORS},
    summary="撤回同意并删除（同一请求内删除服务器记录，并通知所有门禁设备删除）",
)
def withdraw(request, modality: Path[ModalityCode], body: BiometricWithdrawIn):
    queued = biometrics.biometric_withdraw(
        actor=actor_of(request), modality=modality, person_id=body.person_id, channel="h5"
    )
    return {"modality": modality, "devices_queued": queued}


# ---------------------------------------------------------------------------------------------
# Device-facing: the command queue
# ---------------------------------------------------------------------------------------------


device_router = Router(auth=DeviceAuth())


class CommandOut(Schema):
    id: int
    kind: str
    ref: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    sample_b64: str | None = Field(None, description="人脸照片（JPEG）或声纹录音（WAV），仅下发指令携带")
    isapi: dict[str, Any] | None = Field(None, description="海康设备：对应的 ISAPI 请求（供局域网中继转发）")


class CommandQuery(Schema):
    limit: int = Field(10, ge=1, le=20)


class AckIn(Schema):
    ok: bool | None = Field(None, description="设备是否执行成功（通用设备）")
    error: str = Field("", max_length=200)
    http_status: int | None = Field(None, ge=100, le=599, description="海康设备：ISAPI 响应状态码")
    response: dict[str, Any] | None = Field(None, description="海康设备：ISAPI ResponseStatus 原文")


class AckOut(Schema):
    id: int
    status: str
    last_error: str


@device_router.get(
    "/commands",
    response={200: list[CommandOut], **ERRORS},
    summary="设备拉取待执行指令（按顺序，已标记为已下发）",
)
def device_commands(request, query: Query[CommandQuery]):
    device = request.auth
    out = []
    for delivery in device_sync.fetch(device, query.limit):
        cmd = delivery.command
        row = {
            "id": cmd.pk,
            "kind": cmd.kind,
            "ref": cmd.ref,
            "payload": cmd.payload,
            "created_at": cmd.created_at,
            "attempts": cmd.attempts,
            "sample_b64": b64encode(delivery.sample).decode() if delivery.sample else None,
            "isapi": vendors.render_command(device.adapter, cmd, delivery.sample),
        }
        if delivery.sample:
            audit.record(
                Action.SENSITIVE_READ,
                actor=None,
                actor_label=f"device:{device.key}"[:150],
                obj=cmd,
                estate_id=device.estate_id,
                detail={"kind": cmd.kind, "device_id": device.pk, "delivered": "sample"},
            )
        out.append(row)
    return out


@device_router.post(
    "/commands/{command_id}/ack", response={200: AckOut, **ERRORS}, summary="设备确认指令执行结果"
)
def device_command_ack(request, command_id: Path[Id], body: AckIn):
    device = request.auth
    requeue = ""
    if body.response is not None or body.http_status is not None:
        if device.adapter != "hikvision":
            raise ValidationFailed(fields={"response": [_("仅海康设备可提交 ISAPI 响应原文")]})
        from linli.devices.models import DeviceCommand

        cmd = DeviceCommand.objects.filter(pk=command_id, device=device).only("kind").first()
        outcome = (
            vendors.ack_outcome(device.adapter, cmd, body.http_status or 200, body.response or {})
            if cmd
            else None
        )
        ok, error, requeue = (outcome.ok, outcome.error, outcome.requeue_mode) if outcome else (False, "", "")
    elif body.ok is None:
        raise ValidationFailed(fields={"ok": [_("请填写执行结果")]})
    else:
        ok, error = body.ok, body.error
    cmd = device_sync.ack(device=device, command_id=command_id, ok=ok, error=error, requeue_mode=requeue)
    return {"id": cmd.pk, "status": cmd.status, "last_error": cmd.last_error}


router.add_router("/device", device_router)
