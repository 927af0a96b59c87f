"""Writes of the device registry: register, import, rotate and revoke credentials, disable, edit a
profile's point ranges; the periodic offline check and the purge of rejected-message samples.

A device's secret is generated here (32 random bytes, URL-safe text) and returned once by
``device_create`` / ``device_rotate_credentials``; afterwards it is stored encrypted and never shown.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit, events
from linli.core.audit import Action
from linli.core.errors import Conflict, ValidationFailed
from linli.core.models import ImportJob
from linli.core.scoping import Actor
from linli.core.tabular import FileRejected, check_size, safe_file_name
from linli.devices import imports, ingest, vendors
from linli.devices.events import ConnectivityChanged
from linli.devices.models import (
    DEVICES_IMPORT_KIND,
    KEY_RE,
    Device,
    DeviceProfile,
    DeviceStatus,
    RejectedMessage,
)
from linli.orgs.roles import Perm
from linli.places.models import Facility, Region, RegionLevel, Room
from linli.places.selectors import require_estate

REJECTED_KEEP_DAYS = 7
REJECTED_KEEP_ROWS = 100_000


@dataclass(frozen=True)
class Credentials:
    """Shown once: the device key, its secret and the MQTT topic prefix."""

    device: Device
    secret: str

    @property
    def topic_prefix(self) -> str:
        from linli.devices.canonical import topic_root
        from linli.devices.models import estate_code_of

        return f"{topic_root()}/{estate_code_of(self.device.estate)}/{self.device.key}/"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_key(device_type: str) -> str:
    return f"{device_type.replace('_', '-')}-{secrets.token_hex(5)}"


def _invalidate_on_commit(key: str, vendor: tuple[str, str] | None = None) -> None:
    transaction.on_commit(lambda: ingest.invalidate_device(key, vendor))


def _location(estate: Region, building: Region | None, room: Room | None, facility: Facility | None) -> str:
    if room is not None:
        if room.estate_id != estate.pk:
            raise ValidationFailed(fields={"room": [_("房屋不属于该小区")]})
        building = building or Region.objects.get(pk=room.building_id)
        if room.building_id != building.pk:
            raise ValidationFailed(fields={"room": [_("房屋不在所选楼栋")]})
    if building is not None and (building.level != RegionLevel.BUILDING or building.parent_id != estate.pk):
        raise ValidationFailed(fields={"building": [_("楼栋不属于该小区")]})
    if facility is not None and facility.estate_id != estate.pk:
        raise ValidationFailed(fields={"facility": [_("设施不属于该小区")]})
    return (building or estate).path


@transaction.atomic
def device_create(
    *,
    actor: Actor,
    estate: Region,
    profile: DeviceProfile,
    name: str,
    key: str = "",
    building: Region | None = None,
    floor: int | None = None,
    room: Room | None = None,
    facility: Facility | None = None,
    location: str = "",
    adapter: str = "generic",
    vendor_id: str = "",
) -> Credentials:
    """Register a device; returns its credentials (the secret is shown only this once)."""
    actor.require(Perm.DEVICES_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(fields={"name": [_("名称不能为空，且不超过 100 个字")]})
    key = (key or "").strip().lower() or new_key(profile.device_type)
    if not KEY_RE.match(key):
        raise ValidationFailed(fields={"key": [_("设备标识只能包含小写字母、数字、- 和 _，2–64 位")]})
    if floor is not None and not -20 <= floor <= 300:
        raise ValidationFailed(fields={"floor": [_("楼层应在 -20 到 300 之间")]})
    if vendors.get(adapter) is None:
        raise ValidationFailed(fields={"adapter": [_("未知的接入适配器")]})
    vendor_id = (vendor_id or "").strip()[:64]
    if room is not None and building is None:
        building = room.building
    path = _location(estate, building, room, facility)
    if Device.objects.filter(key=key).exists():
        raise Conflict(_("设备标识已存在"))
    if vendor_id and Device.objects.filter(adapter=adapter, vendor_id=vendor_id).exists():
        raise Conflict(_("该适配器下已存在相同的厂商设备号"))
    secret = new_secret()
    device = Device(
        estate=estate,
        profile=profile,
        key=key,
        name=name,
        building=building,
        floor=floor,
        room=room,
        facility=facility,
        location=(location or "").strip()[:200],
        path=path,
        adapter=adapter,
        vendor_id=vendor_id,
        secret=secret,
    )
    try:
        with transaction.atomic():  # a concurrent registration of the same key loses cleanly
            device.save()
    except IntegrityError:
        raise Conflict(_("设备标识或厂商设备号已存在")) from None
    audit.record(Action.CREATE, actor=actor, obj=device, detail={"key": key, "profile": profile.key})
    _invalidate_on_commit(key, (adapter, vendor_id) if vendor_id else None)
    return Credentials(device=device, secret=secret)


@transaction.atomic
def device_rotate_credentials(*, actor: Actor, device: Device) -> Credentials:
    """Issue a new secret; the old one stops working at once in this process, within seconds elsewhere."""
    actor.require(Perm.DEVICES_MANAGE, write=True)
    if device.status == DeviceStatus.REVOKED:
        raise Conflict(_("设备凭据已吊销，无法轮换"))
    secret = new_secret()
    device.secret = secret
    device.credential_version = F("credential_version") + 1
    device.save(update_fields=["secret", "credential_version", "updated_at"])
    device.refresh_from_db(fields=["credential_version"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=device,
        detail={"credential_version": device.credential_version},
        reason="rotate_credentials",
    )
    _invalidate_on_commit(device.key)
    return Credentials(device=device, secret=secret)


@transaction.atomic
def device_revoke(*, actor: Actor, device: Device, reason: str = "") -> Device:
    """Revoke the device's credentials for good: its messages are rejected from now on."""
    actor.require(Perm.DEVICES_MANAGE, write=True)
    if device.status == DeviceStatus.REVOKED:
        raise Conflict(_("设备凭据已吊销"))
    device.status = DeviceStatus.REVOKED
    device.secret = new_secret()  # the old secret is gone even from the database
    device.online = False
    device.save(update_fields=["status", "secret", "online", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=device,
        reason=(reason or "revoke")[:300],
        detail={"status": "revoked"},
    )
    _invalidate_on_commit(device.key)
    return device


@transaction.atomic
def device_set_enabled(*, actor: Actor, device: Device, enabled: bool) -> Device:
    """Disable (messages rejected, credentials kept) or re-enable a device."""
    actor.require(Perm.DEVICES_MANAGE, write=True)
    if device.status == DeviceStatus.REVOKED:
        raise Conflict(_("设备凭据已吊销，请重新登记"))
    device.status = DeviceStatus.ACTIVE if enabled else DeviceStatus.DISABLED
    device.save(update_fields=["status", "updated_at"])
    audit.record(Action.UPDATE, actor=actor, obj=device, detail={"status": device.status})
    _invalidate_on_commit(device.key)
    return device


# --- profiles ------------------------------------------------------------------------------------

POINT_KINDS = {"number", "bool", "enum", "text"}


def validate_points(points: list) -> list[dict]:
    """A profile's point list: unique slug keys, known kinds, numeric min ≤ max, enum values."""
    if not isinstance(points, list):
        raise ValidationFailed(fields={"points": [_("监测点必须是列表")]})
    seen: set[str] = set()
    out = []
    for i, p in enumerate(points):
        where = f"points[{i}]"
        if not isinstance(p, dict):
            raise ValidationFailed(fields={where: [_("监测点必须是对象")]})
        key = str(p.get("key", ""))
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", key) or key in seen:
            raise ValidationFailed(fields={where: [_("监测点标识无效或重复")]})
        seen.add(key)
        kind = p.get("kind", "number")
        if kind not in POINT_KINDS:
            raise ValidationFailed(fields={where: [_("未知的监测点类型")]})
        item = {
            "key": key,
            "name": str(p.get("name", key))[:100],
            "unit": str(p.get("unit", ""))[:20],
            "kind": kind,
        }
        if kind == "number":
            lo, hi = p.get("min"), p.get("max")
            for bound in (lo, hi):
                if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
                    raise ValidationFailed(fields={where: [_("量程必须是数字")]})
            if lo is not None and hi is not None and lo > hi:
                raise ValidationFailed(fields={where: [_("量程下限不能大于上限")]})
            item["min"], item["max"] = lo, hi
        if kind == "enum":
            values = p.get("values")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise ValidationFailed(fields={where: [_("枚举监测点须列出取值")]})
            item["values"] = values
        out.append(item)
    return out


@transaction.atomic
def profile_update_ranges(*, actor: Actor, profile: DeviceProfile, ranges: dict[str, tuple]) -> DeviceProfile:
    """Staff edit of a profile's numeric point ranges: ``{"pressure": (0.1, 1.2)}``."""
    actor.require(Perm.DEVICES_MANAGE, write=True)
    points = [dict(p) for p in profile.points]
    by_key = {p["key"]: p for p in points}
    for key, (lo, hi) in ranges.items():
        p = by_key.get(key)
        if p is None or p.get("kind", "number") != "number":
            raise ValidationFailed(fields={key: [_("不是该设备类型的数值监测点")]})
        p["min"], p["max"] = lo, hi
    profile.points = validate_points(points)
    profile.save(update_fields=["points", "updated_at"])
    audit.record(
        Action.UPDATE, actor=actor, obj=profile, detail={"ranges": {k: list(v) for k, v in ranges.items()}}
    )
    keys = list(profile.devices.values_list("key", flat=True))
    transaction.on_commit(lambda: [ingest.invalidate_device(k) for k in keys])
    return profile


@transaction.atomic
def profile_create(
    *,
    actor: Actor,
    key: str,
    name: str,
    device_type: str,
    points: list,
    events: list,
    offline_after_minutes: int = 30,
    health_sensitive: bool = False,
) -> DeviceProfile:
    """A custom profile (platform operators: profiles are shared by every estate)."""
    actor.require(Perm.DEVICES_MANAGE, write=True)
    if not actor.is_platform:
        raise ValidationFailed(fields={"key": [_("只有平台管理员可以新增设备类型")]})
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,63}", key or ""):
        raise ValidationFailed(fields={"key": [_("标识只能包含小写字母、数字、- 和 _")]})
    if not isinstance(events, list) or not all(isinstance(e, dict) and e.get("key") for e in events):
        raise ValidationFailed(fields={"events": [_("事件必须是含 key 的对象列表")]})
    if not 1 <= offline_after_minutes <= 10080:
        raise ValidationFailed(fields={"offline_after_minutes": [_("离线判定应在 1 到 10080 分钟之间")]})
    try:
        with transaction.atomic():
            profile = DeviceProfile.objects.create(
                key=key,
                name=(name or key)[:100],
                device_type=device_type,
                points=validate_points(points),
                events=[
                    {
                        "key": str(e["key"])[:64],
                        "name": str(e.get("name", e["key"]))[:100],
                        "severity": str(e.get("severity", "minor")),
                    }
                    for e in events
                ],
                offline_after_minutes=offline_after_minutes,
                health_sensitive=health_sensitive,
            )
    except IntegrityError:
        raise Conflict(_("设备类型标识已存在")) from None
    audit.record(Action.CREATE, actor=actor, obj=profile)
    return profile


# --- import --------------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    job: ImportJob
    credentials: list[Credentials]


def _import_reject(actor, estate, file_name, errors, total, started) -> ImportOutcome:
    job = ImportJob.objects.create(
        kind=DEVICES_IMPORT_KIND,
        estate=estate,
        file_name=file_name,
        status=ImportJob.Status.REJECTED,
        total_rows=total,
        created_count=0,
        errors=errors,
        created_by=actor.user,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return ImportOutcome(job=job, credentials=[])


def devices_import(*, actor: Actor, estate: Region, file_name: str, data: bytes) -> ImportOutcome:
    """Register many devices from an XLSX/CSV sheet, all or nothing, with an error per bad row.

    Columns: 名称, 设备类型 (profile key or name), 设备标识 (optional), 楼栋, 楼层, 房号, 位置,
    接入方式 (adapter, default generic), 厂商设备号. Returns the job and each device's credentials
    (shown once).
    """
    actor.require(Perm.DEVICES_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    check_size(len(data))
    started = time.monotonic()
    file_name = safe_file_name(file_name)
    try:
        parsed = imports.parse_devices(file_name, data, estate=estate, max_rows=settings.IMPORT_MAX_ROWS)
    except FileRejected as exc:
        return _import_reject(
            actor, estate, file_name, [{"row": 0, "column": exc.column, "message": exc.message}], 0, started
        )
    rows = parsed.rows
    if parsed.errors:
        errors = [e.as_dict() for e in parsed.errors]
        return _import_reject(actor, estate, file_name, errors, parsed.total_rows, started)
    try:
        with transaction.atomic():
            creds = []
            for row in rows:
                key = row.key or new_key(row.profile.device_type)
                secret = new_secret()
                device = Device(
                    estate=estate,
                    profile=row.profile,
                    key=key,
                    name=row.name,
                    building=row.building,
                    floor=row.floor,
                    room=row.room,
                    location=row.location[:200],
                    path=(row.building or estate).path,
                    adapter=row.adapter,
                    vendor_id=row.vendor_id,
                    secret=secret,
                )
                creds.append(Credentials(device=device, secret=secret))
            Device.objects.bulk_create([c.device for c in creds])
            transaction.on_commit(ingest.cache.clear)  # negative cache entries of the new keys / vendor ids
            job = ImportJob.objects.create(
                kind=DEVICES_IMPORT_KIND,
                estate=estate,
                file_name=file_name,
                status=ImportJob.Status.APPLIED,
                total_rows=len(rows),
                created_count=len(rows),
                errors=[],
                created_by=actor.user,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            audit.record(
                Action.IMPORT,
                actor=actor,
                obj=job,
                estate_id=estate.pk,
                detail={"kind": DEVICES_IMPORT_KIND, "created": len(rows)},
            )
    except IntegrityError:
        return _import_reject(
            actor,
            estate,
            file_name,
            [{"row": 0, "column": "", "message": _("导入期间设备数据发生变化，未导入任何数据，请重新上传")}],
            len(rows),
            started,
        )
    return ImportOutcome(job=job, credentials=creds)


def import_template_csv() -> bytes:
    return imports.SPEC.template_csv()


# --- periodic ------------------------------------------------------------------------------------


def devices_offline_check(*, now=None) -> tuple[list[int], list[int]]:
    """Mark devices offline whose last message is older than their profile's offline_after_minutes.

    Returns (went_offline, came_back) and announces ``ConnectivityChanged`` (the alarm engine
    listens). ``came_back`` is always empty here: a device comes back online when ingest stores a
    message from it (it reports that itself).
    """
    now = now or timezone.now()
    went: list[int] = []
    for minutes in set(DeviceProfile.objects.values_list("offline_after_minutes", flat=True)):
        cutoff = now - timedelta(minutes=minutes)
        qs = Device.objects.filter(
            online=True, status=DeviceStatus.ACTIVE, profile__offline_after_minutes=minutes
        ).filter(last_seen_at__lt=cutoff)
        ids = list(qs.values_list("pk", flat=True))
        if ids:
            Device.objects.filter(pk__in=ids, online=True).update(online=False)
            went.extend(ids)
    if went:
        with transaction.atomic():
            events.publish(ConnectivityChanged(went_offline=tuple(went), came_back=()))
    return went, []


def rejected_purge(*, now=None) -> int:
    """Delete rejected-message samples older than 7 days, and beyond the newest 100,000."""
    now = now or timezone.now()
    deleted, _x = RejectedMessage.objects.filter(
        received_at__lt=now - timedelta(days=REJECTED_KEEP_DAYS)
    ).delete()
    beyond = list(
        RejectedMessage.objects.order_by("-id").values_list("id", flat=True)[
            REJECTED_KEEP_ROWS : REJECTED_KEEP_ROWS + 1
        ]
    )
    if beyond:
        more, _y = RejectedMessage.objects.filter(id__lte=beyond[0]).delete()
        deleted += more
    return deleted
