"""The door-device command queue: what a device must apply (person, card, face, voiceprint records,
remote open), delivered to the device and acknowledged by it.

* ``enqueue`` adds a command; ``pending_for`` lists what a device should fetch next (pending, and
  sent ones never acknowledged within ``REDELIVER_AFTER``), oldest first, so a delete queued before
  a push is applied before it; ``fetch`` = ``pending_for`` + the sample read at delivery time +
  ``mark_sent``.
* ``ack`` records the device's answer. A push acknowledged after its template was deleted (or after
  the push was cancelled) is ignored safely: the delete queued at withdrawal follows it. A failed
  delete goes back to the queue (it must eventually succeed); a failed push is final (the device
  refused the sample, e.g. ``noFaceDetected``).
* ``overdue_deletes`` (periodic): a biometric delete not acknowledged within 24 h raises one alarm
  on its device (cause ``biometric_delete_overdue``, major) and notifies the estate's property admins;
  each command alarms once (``overdue_alarmed``). R25.
"""

from __future__ import annotations

from base64 import b64decode
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access.models import AccessSubject, BiometricTemplate
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import NotFound, ValidationFailed
from linli.devices.models import CommandKind, CommandStatus, Device, DeviceCommand

DELETE_OVERDUE_AFTER = timedelta(hours=24)
REDELIVER_AFTER = timedelta(minutes=10)
OVERDUE_CAUSE = "biometric_delete_overdue"
BIOMETRIC_DELETES = (CommandKind.DELETE_FACE, CommandKind.DELETE_VOICE)
SAMPLE_PUSHES = (CommandKind.PUSH_FACE, CommandKind.PUSH_VOICE)
OPEN = (CommandStatus.PENDING, CommandStatus.SENT)
MAX_FETCH = 50


def enqueue(*, device: Device, kind: str, ref: str, payload: dict | None = None, now=None) -> DeviceCommand:
    if kind not in CommandKind.values:
        raise ValidationFailed(fields={"kind": [_("未知的指令类型")]})
    return DeviceCommand.objects.create(
        device=device,
        kind=kind,
        ref=ref[:64],
        payload=payload or {},
        status=CommandStatus.PENDING,
        created_at=now or timezone.now(),
    )


def pending_for(device: Device, limit: int = 20, *, now: datetime | None = None) -> list[DeviceCommand]:
    """Commands the device should apply next, oldest first: pending ones and sent ones that were
    never acknowledged within ``REDELIVER_AFTER`` (the device may have lost them)."""
    now = now or timezone.now()
    limit = max(1, min(int(limit), MAX_FETCH))
    return list(
        DeviceCommand.objects.filter(device=device)
        .filter(
            Q(status=CommandStatus.PENDING) | Q(status=CommandStatus.SENT, sent_at__lt=now - REDELIVER_AFTER)
        )
        .order_by("id")[:limit]
    )


def mark_sent(commands, *, now: datetime | None = None) -> int:
    ids = [c.pk if isinstance(c, DeviceCommand) else int(c) for c in commands]
    if not ids:
        return 0
    return DeviceCommand.objects.filter(pk__in=ids, status__in=OPEN).update(
        status=CommandStatus.SENT, sent_at=now or timezone.now(), attempts=F("attempts") + 1
    )


@dataclass
class Delivery:
    command: DeviceCommand
    sample: bytes | None = None


@transaction.atomic
def fetch(device: Device, limit: int = 20, *, now: datetime | None = None) -> list[Delivery]:
    """Next commands for the device with what they need, marked sent. A sample push whose template
    is gone (withdrawn, moved out) or whose sample was already cleared is cancelled, never sent."""
    now = now or timezone.now()
    commands = pending_for(device, limit, now=now)
    templates = {
        t.pk: t
        for t in BiometricTemplate.objects.filter(
            pk__in=[c.payload.get("template") for c in commands if c.kind in SAMPLE_PUSHES]
        )
    }
    out: list[Delivery] = []
    dead: list[int] = []
    for cmd in commands:
        if cmd.kind in SAMPLE_PUSHES:
            template = templates.get(cmd.payload.get("template"))
            sample = sample_bytes(template) if template is not None else None
            if sample is None:
                dead.append(cmd.pk)
                continue
            out.append(Delivery(cmd, sample))
        else:
            out.append(Delivery(cmd))
    if dead:
        DeviceCommand.objects.filter(pk__in=dead).update(
            status=CommandStatus.CANCELLED, last_error="template_gone"
        )
    mark_sent([d.command for d in out], now=now)
    for d in out:  # what mark_sent wrote, without reading every row back
        d.command.status, d.command.sent_at, d.command.attempts = (
            CommandStatus.SENT,
            now,
            d.command.attempts + 1,
        )
    return out


def _audit_delete_ack(device: Device, cmd: DeviceCommand, ok: bool, error: str) -> None:
    pseudonym = str(cmd.payload.get("employee_no", ""))
    person_id = (
        AccessSubject.objects.filter(pseudonym=pseudonym).values_list("person_id", flat=True).first()
        if pseudonym
        else None
    )
    audit.record(
        Action.DELETE,
        actor=None,
        actor_label=f"device:{device.key}"[:150],
        result="success" if ok else "failure",
        obj=cmd,
        subject_person_id=person_id,
        estate_id=device.estate_id,
        detail={"kind": cmd.kind, "device_id": device.pk, "ok": ok, "error": error[:200]},
    )


@transaction.atomic
def ack(
    *,
    device: Device,
    command_id: int,
    ok: bool,
    error: str = "",
    requeue_mode: str = "",
    now: datetime | None = None,
) -> DeviceCommand:
    """Record the device's answer to one of its commands (another device's id → 404).

    Idempotent: an acknowledged, failed or cancelled command is returned unchanged. ``requeue_mode``
    (from a vendor ack mapping, e.g. Hikvision ``employeeNoAlreadyExist`` → ``modify``, busy →
    ``same``) puts the command back in the queue (in that mode) instead of finishing it."""
    now = now or timezone.now()
    error = (error or "").replace("\x00", "")[:200]
    cmd = DeviceCommand.objects.select_for_update().filter(pk=command_id, device=device).first()
    if cmd is None:
        raise NotFound()
    if cmd.status not in OPEN:
        return cmd  # already answered, or cancelled: a late ack changes nothing
    if requeue_mode:  # "same": the device was busy; anything else: send again in that mode
        if requeue_mode != "same":
            cmd.payload = {**cmd.payload, "mode": requeue_mode[:16]}
        cmd.status, cmd.last_error = CommandStatus.PENDING, error
        cmd.save(update_fields=["payload", "status", "last_error"])
        return cmd
    is_delete = cmd.kind.startswith("delete_")
    if ok:
        cmd.status, cmd.acked_at, cmd.last_error = CommandStatus.ACKED, now, ""
    elif is_delete:
        cmd.status, cmd.last_error = CommandStatus.PENDING, error or "failed"  # retried until it succeeds
    else:
        cmd.status, cmd.acked_at, cmd.last_error = CommandStatus.FAILED, now, error or "failed"
    cmd.save(update_fields=["status", "acked_at", "last_error"])
    if cmd.kind in BIOMETRIC_DELETES:
        _audit_delete_ack(device, cmd, ok, error)
    if cmd.kind in SAMPLE_PUSHES:
        template = (
            BiometricTemplate.objects.select_related("subject")
            .filter(pk=cmd.payload.get("template"))
            .only("pk", "modality", "sample", "subject__pseudonym")
            .first()
        )
        if template is not None:  # None: deleted meanwhile; the queued delete follows this push
            _clear_sample_once_delivered(template, cmd)
    return cmd


def sample_bytes(template) -> bytes | None:
    """The stored sample (read by device delivery only), or None once cleared."""
    return b64decode(template.sample) if template.sample else None


def _clear_sample_once_delivered(template, push: DeviceCommand) -> None:
    """Clear the stored sample once no push of this template is still outstanding (R26)."""
    if not template.sample:
        return
    outstanding = DeviceCommand.objects.filter(
        ref=push.ref, kind=push.kind, payload__template=template.pk, status__in=OPEN
    ).exists()
    if not outstanding:
        BiometricTemplate.objects.filter(pk=template.pk).update(sample="", sample_cleared_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# Overdue deletes → alarm (R25)
# ---------------------------------------------------------------------------------------------


def _raise_alarm(device: Device, count: int, oldest: datetime, now: datetime):
    """One open alarm per (device, cause): a new one, or the open one's count goes up."""
    from linli.alarms.models import Alarm, AlarmEvent, AlarmEventKind, Severity

    title = _("门禁设备未确认删除生物识别信息：%(d)s") % {"d": device.name}
    detail = {"commands": count, "oldest": oldest.isoformat()}
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(
                device=device,
                estate_id=device.estate_id,
                building_id=device.building_id,
                path=device.path,
                rule=None,
                cause=OVERDUE_CAUSE,
                severity=Severity.MAJOR,
                title=title[:200],
                detail=detail,
                first_at=now,
                last_at=now,
                count=count,
                notify_channels=["console"],
            )
            AlarmEvent.objects.create(alarm=alarm, at=now, kind=AlarmEventKind.RAISED, note=title[:300])
            return alarm, True
    except IntegrityError:
        Alarm.objects.filter(device=device, cause=OVERDUE_CAUSE, cleared_at__isnull=True).update(
            count=F("count") + count, last_at=now
        )
        return Alarm.objects.filter(
            device=device, cause=OVERDUE_CAUSE, cleared_at__isnull=True
        ).first(), False


def overdue_deletes(now: datetime | None = None) -> int:
    """Biometric deletes still unacknowledged 24 h after they were queued: mark each once, raise one
    alarm per device and notify the estate's property admins. Returns how many commands alarmed."""
    from linli.messaging.services import message_send
    from linli.orgs.roles import Role
    from linli.orgs.selectors import staff_over

    now = now or timezone.now()
    total = 0
    due = (
        DeviceCommand.objects.filter(
            kind__in=BIOMETRIC_DELETES,
            status__in=OPEN,
            overdue_alarmed=False,
            created_at__lt=now - DELETE_OVERDUE_AFTER,
        )
        .values_list("device_id", flat=True)
        .distinct()
    )
    for device_id in sorted(set(due)):
        with transaction.atomic():
            ids = list(
                DeviceCommand.objects.select_for_update()
                .filter(
                    device_id=device_id,
                    kind__in=BIOMETRIC_DELETES,
                    status__in=OPEN,
                    overdue_alarmed=False,
                    created_at__lt=now - DELETE_OVERDUE_AFTER,
                )
                .order_by("created_at")
                .values_list("pk", "created_at")
            )
            if not ids:
                continue
            DeviceCommand.objects.filter(pk__in=[pk for pk, _at in ids]).update(overdue_alarmed=True)
            device = Device.objects.select_related("estate").get(pk=device_id)
            alarm, _new = _raise_alarm(device, len(ids), ids[0][1], now)
            message_send(
                recipients=staff_over(device.estate, roles=[Role.PROPERTY_ADMIN]),
                title=_("门禁设备超过 24 小时未确认删除人脸/声纹：%(d)s") % {"d": device.name},
                body=_(
                    "%(n)d 条删除指令未被设备确认。请检查设备是否在线，必要时到现场在设备上删除，"
                    "确认后该告警方可消除。"
                )
                % {"n": len(ids)},
                link=f"/console/alarms/{alarm.pk}/" if alarm else "",
                estate=device.estate,
                category="alarm",
            )
            total += len(ids)
    return total
