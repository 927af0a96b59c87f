"""Writes of the access console: access points, policies, holidays, per-estate settings.

Every change checks ``access.manage``, runs in one transaction and
writes its audit record in it. Rules enforced here:

* R22/R23 — an access point accepts a non-face credential and one usable without a phone or a
  biometric (``models.validate_methods``). A policy says *who* may pass *when*; it never narrows the
  methods of a door, so no policy can make a door face-only.
* A point's building lies inside its estate; its controlling device belongs to the same estate and a
  device's door number drives one point only (409 otherwise).
* The first access point of an estate creates the default policies (``ensure_default_policies``):
  residents at the estate gates and their own buildings all day; visitors 06:00–23:00.
* Settings stay within the requirements' bounds (QR lifetime 15–300 s, refresh below the lifetime,
  visitor records ≤ 180 days (R63), access events ≥ 30 days).
"""

from __future__ import annotations

import re
from datetime import date, time

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.access.models import (
    AccessPoint,
    AccessPointKind,
    AccessPolicy,
    AccessSettings,
    Audience,
    Direction,
    Holiday,
    HolidayMode,
    validate_methods,
)
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.scoping import MAX_ID, Actor
from linli.orgs.roles import STAFF_ROLES, Perm
from linli.places.models import Region, RegionLevel
from linli.places.selectors import require_estate

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
MAX_DOOR_NO = 64
BUILDING_KINDS = {AccessPointKind.UNIT_DOOR, AccessPointKind.LIFT}

RESIDENT_POLICY_NAME = gettext_lazy("住户通行：小区大门与本楼栋")
VISITOR_POLICY_NAME = gettext_lazy("访客通行：小区大门与被访楼栋")
VISITOR_HOURS = (time(6, 0), time(23, 0))
ALL_WEEK = [0, 1, 2, 3, 4, 5, 6]

# (field, minimum, maximum) of AccessSettings; qr_refresh_seconds must also stay below qr_ttl_seconds.
SETTINGS_BOUNDS: dict[str, tuple[int, int]] = {
    "qr_ttl_seconds": (15, 300),
    "qr_refresh_seconds": (5, 299),
    "rapid_reuse_seconds": (10, 3600),
    "denial_threshold": (2, 100),
    "denial_window_minutes": (1, 1440),
    "not_seen_hours": (12, 720),
    "visitor_retention_days": (1, 180),  # R63: at most 180 days
    "event_retention_days": (30, 3650),  # kept long enough to investigate an incident
}


# --- helpers ------------------------------------------------------------------------------------


def _text(value, *, field: str, max_length: int, errors: dict, required: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        errors[field] = [_("须为文本")]
        return ""
    if "\x00" in text:
        errors[field] = [_("包含无效字符")]
    elif required and not text:
        errors[field] = [_("不能为空")]
    elif len(text) > max_length:
        errors[field] = [_("不超过 %(n)s 个字") % {"n": max_length}]
    return text


def _methods(value, errors: dict) -> list[str]:
    if not isinstance(value, list | tuple):
        errors["allowed_methods"] = [_("至少选择一种通行方式")]
        return []
    methods = list(dict.fromkeys(str(m) for m in value))
    try:
        validate_methods(methods)
    except Exception as exc:  # django ValidationError: one message per failed rule
        errors["allowed_methods"] = [str(m) for m in getattr(exc, "messages", [str(exc)])]
    return methods


def _changed(obj, values: dict) -> dict:
    """Set the values on ``obj``; returns {field: [old, new]} of what changed (for the audit record)."""
    diff = {}
    for k, v in values.items():
        old = getattr(obj, k)
        if old != v:
            diff[k] = [_plain(old), _plain(v)]
            setattr(obj, k, v)
    return diff


def _plain(v):
    if hasattr(v, "pk"):
        return v.pk
    if isinstance(v, time | date):
        return v.isoformat()
    return v


# --- access points ------------------------------------------------------------------------------

POINT_FIELDS = (
    "name",
    "code",
    "kind",
    "building",
    "direction",
    "allowed_methods",
    "device",
    "door_no",
    "offline_decisions",
)


def _point_values(estate: Region, values: dict, *, point: AccessPoint | None = None) -> dict:
    """Validate the fields of an access point (create: all; update: the given ones merged over the row)."""
    errors: dict[str, list[str]] = {}
    cur = {f: getattr(point, f) for f in POINT_FIELDS} if point else {}
    merged = {**cur, **values}
    out: dict = {}
    if "name" in values or point is None:
        out["name"] = _text(merged.get("name"), field="name", max_length=100, errors=errors)
    if "code" in values or point is None:
        code = _text(merged.get("code"), field="code", max_length=48, errors=errors).lower()
        if "code" not in errors and not CODE_RE.match(code):
            errors["code"] = [_("编码只能包含小写字母、数字、- 和 _，最多 48 位")]
        out["code"] = code
    kind = merged.get("kind")
    if kind not in AccessPointKind.values:
        errors["kind"] = [_("无效的出入口类型")]
    out["kind"] = kind
    direction = merged.get("direction") or Direction.BOTH
    if direction not in Direction.values:
        errors["direction"] = [_("无效的方向")]
    out["direction"] = direction
    if "allowed_methods" in values or point is None:
        out["allowed_methods"] = _methods(merged.get("allowed_methods"), errors)
    building = merged.get("building")
    if building is not None and (building.level != RegionLevel.BUILDING or building.parent_id != estate.pk):
        errors["building"] = [_("楼栋不属于该小区")]
    elif building is None and kind in BUILDING_KINDS:
        errors["building"] = [_("单元门和电梯须选择所在楼栋")]
    elif building is not None and kind == AccessPointKind.ESTATE_GATE:
        errors["building"] = [_("小区大门不属于某一楼栋，请留空")]
    out["building"] = building
    door_no = merged.get("door_no") if merged.get("door_no") is not None else 1
    if not isinstance(door_no, int) or isinstance(door_no, bool) or not 1 <= door_no <= MAX_DOOR_NO:
        errors["door_no"] = [_("门号应在 1 到 %(n)s 之间") % {"n": MAX_DOOR_NO}]
    out["door_no"] = door_no
    device = merged.get("device")
    if device is not None:
        if device.estate_id != estate.pk:
            errors["device"] = [_("设备不属于该小区")]
        elif device.status == "revoked":
            errors["device"] = [_("设备凭据已吊销，请选择其他设备")]
    out["device"] = device
    out["offline_decisions"] = bool(merged.get("offline_decisions", True))
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _point_conflicts(estate: Region, values: dict, *, exclude_pk: int | None = None) -> None:
    others = AccessPoint.objects.exclude(pk=exclude_pk) if exclude_pk else AccessPoint.objects.all()
    if "code" in values and others.filter(estate=estate, code=values["code"]).exists():
        raise Conflict(_("该小区已有相同编码的出入口"), fields={"code": [_("编码已被使用")]})
    device = values.get("device")
    if device is not None and others.filter(device=device, door_no=values["door_no"]).exists():
        raise Conflict(
            _("该设备的这个门号已用于其他出入口"), fields={"door_no": [_("门号已被同一设备的其他出入口使用")]}
        )


def _save_point(point: AccessPoint) -> None:
    try:
        with transaction.atomic():  # a concurrent create with the same code or door loses cleanly
            point.save()
    except IntegrityError:
        raise Conflict(_("出入口编码或设备门号已被使用")) from None


@transaction.atomic
def access_point_create(
    *,
    actor: Actor,
    estate: Region,
    kind: str,
    name: str,
    code: str,
    allowed_methods: list[str],
    building: Region | None = None,
    direction: str = Direction.BOTH,
    device=None,
    door_no: int = 1,
    offline_decisions: bool = True,
) -> AccessPoint:
    """Register an access point; the estate's first one also creates the default policies."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    values = _point_values(
        estate,
        {
            "name": name,
            "code": code,
            "kind": kind,
            "building": building,
            "direction": direction,
            "allowed_methods": allowed_methods,
            "device": device,
            "door_no": door_no,
            "offline_decisions": offline_decisions,
        },
    )
    # Lock the estate row: two first points created at once must not both create default policies.
    Region.objects.select_for_update().filter(pk=estate.pk).first()
    _point_conflicts(estate, values)
    first = not AccessPoint.objects.filter(estate=estate).exists()
    point = AccessPoint(estate=estate, **values)
    _save_point(point)
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=point,
        detail={
            "code": point.code,
            "kind": point.kind,
            "methods": point.allowed_methods,
            "device": point.device_id,
            "door_no": point.door_no,
        },
    )
    if first:
        ensure_default_policies(estate, actor=actor)
    return point


@transaction.atomic
def access_point_update(*, actor: Actor, point: AccessPoint, **changes) -> AccessPoint:
    """Change some fields of an access point (``POINT_FIELDS``)."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    unknown = set(changes) - set(POINT_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [_("不可修改")] for k in sorted(unknown)})
    point = AccessPoint.objects.select_for_update().select_related("estate").get(pk=point.pk)
    require_estate(actor=actor, estate=point.estate)
    values = _point_values(point.estate, changes, point=point)
    _point_conflicts(point.estate, values, exclude_pk=point.pk)
    diff = _changed(point, values)
    if diff:
        _save_point(point)
        audit.record(Action.UPDATE, actor=actor, obj=point, detail={"changed": diff})
    return point


@transaction.atomic
def access_point_set_status(
    *, actor: Actor, point: AccessPoint, enabled: bool, reason: str = ""
) -> AccessPoint:
    """Disable an access point (decisions there are refused with ``point_disabled``) or enable it again."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    point = AccessPoint.objects.select_for_update().select_related("estate").get(pk=point.pk)
    require_estate(actor=actor, estate=point.estate)
    target = AccessPoint.Status.ACTIVE if enabled else AccessPoint.Status.DISABLED
    if point.status == target:
        raise Conflict(_("出入口已是启用状态") if enabled else _("出入口已停用"))
    point.status = target
    point.save(update_fields=["status", "updated_at", "path"])
    reason = (reason or "").replace("\x00", "").strip()[:300]
    audit.record(Action.UPDATE, actor=actor, obj=point, reason=reason, detail={"status": target})
    return point


# --- policies -----------------------------------------------------------------------------------


def ensure_default_policies(estate: Region, *, actor: Actor | None = None) -> list[AccessPolicy]:
    """Create the estate's default resident and visitor policies when it has none for that audience.

    Residents: every estate-wide point and the points of the buildings they live in, all day, every day.
    Visitors: estate-wide points and the visited building, 06:00–23:00. Returns the policies created.
    """
    created = []
    existing = set(AccessPolicy.objects.filter(estate=estate).values_list("audience", flat=True))
    specs = [
        (Audience.RESIDENTS, str(RESIDENT_POLICY_NAME), None, None),
        (Audience.VISITORS, str(VISITOR_POLICY_NAME), *VISITOR_HOURS),
    ]
    for audience, name, start, end in specs:
        if audience in existing:
            continue
        policy = AccessPolicy.objects.create(
            estate=estate,
            name=name,
            audience=audience,
            own_building_only=True,
            weekdays=[],  # every day
            start_time=start,
            end_time=end,
            holiday_mode=HolidayMode.SAME,
        )
        audit.record(
            Action.CREATE, actor=actor, obj=policy, reason="default_policy", detail={"audience": audience}
        )
        created.append(policy)
    return created


POLICY_FIELDS = (
    "name",
    "audience",
    "roles",
    "own_building_only",
    "access_point_ids",
    "weekdays",
    "start_time",
    "end_time",
    "holiday_mode",
    "is_active",
)


def _policy_values(estate: Region, values: dict, *, policy: AccessPolicy | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    cur: dict = {}
    if policy is not None:
        cur = {f: getattr(policy, f) for f in POLICY_FIELDS if f != "access_point_ids"}
    merged = {**cur, **values}
    out: dict = {}
    out["name"] = _text(merged.get("name"), field="name", max_length=100, errors=errors)
    audience = merged.get("audience")
    if audience not in Audience.values:
        errors["audience"] = [_("无效的适用对象")]
    out["audience"] = audience
    roles = merged.get("roles") or []
    staff_roles = {str(r) for r in STAFF_ROLES}
    if not isinstance(roles, list | tuple) or any(str(r) not in staff_roles for r in roles):
        errors["roles"] = [_("只能选择工作人员角色")]
        roles = []
    elif roles and audience != Audience.STAFF:
        errors["roles"] = [_("只有适用对象为工作人员时才能选择角色")]
    out["roles"] = sorted({str(r) for r in roles})
    weekdays = merged.get("weekdays") or []
    if not isinstance(weekdays, list | tuple) or any(
        not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in weekdays
    ):
        errors["weekdays"] = [_("星期须为 0（周一）到 6（周日）")]
        weekdays = []
    # Every day of the week listed is the same as none listed (= every day), and cheaper to evaluate.
    days = sorted(set(weekdays))
    out["weekdays"] = [] if days == ALL_WEEK else days
    start, end = merged.get("start_time"), merged.get("end_time")
    for f, v in (("start_time", start), ("end_time", end)):
        if v is not None and not isinstance(v, time):
            errors[f] = [_("时间格式应为 HH:MM")]
    if "start_time" not in errors and "end_time" not in errors:
        if (start is None) != (end is None):
            errors["end_time"] = [_("开始和结束时间须同时填写，或同时留空（全天）")]
        elif start is not None and start == end:
            errors["end_time"] = [_("结束时间不能与开始时间相同")]
    out["start_time"], out["end_time"] = start, end
    mode = merged.get("holiday_mode") or HolidayMode.SAME
    if mode not in HolidayMode.values:
        errors["holiday_mode"] = [_("无效的节假日规则")]
    out["holiday_mode"] = mode
    out["own_building_only"] = bool(merged.get("own_building_only", True))
    out["is_active"] = bool(merged.get("is_active", True))
    points = None
    if "access_point_ids" in values:
        ids = values.get("access_point_ids") or []
        if not isinstance(ids, list | tuple) or any(
            not isinstance(i, int) or isinstance(i, bool) or not 1 <= i <= MAX_ID for i in ids
        ):
            errors["access_point_ids"] = [_("出入口编号无效")]
        else:
            points = list(AccessPoint.objects.filter(estate=estate, pk__in=set(ids)))
            if len(points) != len(set(ids)):
                errors["access_point_ids"] = [_("出入口不属于该小区")]
    if errors:
        raise ValidationFailed(fields=errors)
    out["_points"] = points
    return out


@transaction.atomic
def policy_create(*, actor: Actor, estate: Region, **fields) -> AccessPolicy:
    """Create a policy: who (audience, staff roles, own building only), where (access points; none =
    all of the estate) and when (weekdays, a time window that may wrap past midnight, holidays)."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [_("未知字段")] for k in sorted(unknown)})
    fields.setdefault("access_point_ids", [])
    values = _policy_values(estate, fields)
    points = values.pop("_points")
    policy = AccessPolicy.objects.create(estate=estate, **values)
    if points:
        policy.access_points.set(points)
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=policy,
        detail={"audience": policy.audience, "access_points": sorted(p.pk for p in points or [])},
    )
    return policy


@transaction.atomic
def policy_update(*, actor: Actor, policy: AccessPolicy, **changes) -> AccessPolicy:
    actor.require(Perm.ACCESS_MANAGE, write=True)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [_("未知字段")] for k in sorted(unknown)})
    policy = AccessPolicy.objects.select_for_update().select_related("estate").get(pk=policy.pk)
    require_estate(actor=actor, estate=policy.estate)
    values = _policy_values(policy.estate, changes, policy=policy)
    points = values.pop("_points")
    diff = _changed(policy, values)
    if diff:
        policy.save()
    if points is not None:
        before = set(policy.access_points.values_list("pk", flat=True))
        after = {p.pk for p in points}
        if before != after:
            policy.access_points.set(points)
            diff["access_points"] = [sorted(before), sorted(after)]
    if diff:
        audit.record(Action.UPDATE, actor=actor, obj=policy, detail={"changed": diff})
    return policy


@transaction.atomic
def policy_delete(*, actor: Actor, policy: AccessPolicy) -> None:
    actor.require(Perm.ACCESS_MANAGE, write=True)
    require_estate(actor=actor, estate=policy.estate)
    audit.record(
        Action.DELETE, actor=actor, obj=policy, detail={"name": policy.name, "audience": policy.audience}
    )
    policy.delete()


# --- holidays -----------------------------------------------------------------------------------

# 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕… , published by the State Council on
# 2025-11-04). (date, name, is_workday): days off, and the weekend days that are working days (调休上班).
NATIONAL_HOLIDAYS: dict[int, list[tuple[date, str, bool]]] = {
    2026: [
        *((date(2026, 1, d), "元旦", False) for d in (1, 2, 3)),
        (date(2026, 1, 4), "元旦调休上班", True),
        (date(2026, 2, 14), "春节调休上班", True),
        *((date(2026, 2, d), "春节", False) for d in range(15, 24)),
        (date(2026, 2, 28), "春节调休上班", True),
        *((date(2026, 4, d), "清明节", False) for d in (4, 5, 6)),
        *((date(2026, 5, d), "劳动节", False) for d in range(1, 6)),
        (date(2026, 5, 9), "劳动节调休上班", True),
        *((date(2026, 6, d), "端午节", False) for d in (19, 20, 21)),
        (date(2026, 9, 20), "国庆节调休上班", True),
        *((date(2026, 9, d), "中秋节", False) for d in (25, 26, 27)),
        *((date(2026, 10, d), "国庆节", False) for d in range(1, 8)),
        (date(2026, 10, 10), "国庆节调休上班", True),
    ],
}


def _holiday_values(values: dict, *, holiday: Holiday | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    merged = {
        **({"date": holiday.date, "name": holiday.name, "is_workday": holiday.is_workday} if holiday else {}),
        **values,
    }
    day = merged.get("date")
    if not isinstance(day, date) or not 2000 <= day.year <= 2100:
        errors["date"] = [_("日期无效")]
    name = _text(merged.get("name"), field="name", max_length=50, errors=errors)
    if errors:
        raise ValidationFailed(fields=errors)
    return {"date": day, "name": name, "is_workday": bool(merged.get("is_workday", False))}


def _save_holiday(holiday: Holiday) -> None:
    try:
        with transaction.atomic():
            holiday.save()
    except IntegrityError:
        raise Conflict(_("该日期已有节假日安排"), fields={"date": [_("该日期已有节假日安排")]}) from None


@transaction.atomic
def holiday_create(*, actor: Actor, estate: Region, date, name: str, is_workday: bool = False) -> Holiday:
    """An estate holiday or working day (overrides the national calendar for that estate)."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    values = _holiday_values({"date": date, "name": name, "is_workday": is_workday})
    holiday = Holiday(estate=estate, **values)
    _save_holiday(holiday)
    audit.record(Action.CREATE, actor=actor, obj=holiday, detail={"date": values["date"].isoformat()})
    return holiday


@transaction.atomic
def holiday_update(*, actor: Actor, holiday: Holiday, **changes) -> Holiday:
    actor.require(Perm.ACCESS_MANAGE, write=True)
    if holiday.estate is None:
        raise PermissionDenied(_("全国节假日由平台统一维护"))
    require_estate(actor=actor, estate=holiday.estate)
    unknown = set(changes) - {"date", "name", "is_workday"}
    if unknown:
        raise ValidationFailed(fields={k: [_("未知字段")] for k in sorted(unknown)})
    diff = _changed(holiday, _holiday_values(changes, holiday=holiday))
    if diff:
        _save_holiday(holiday)
        audit.record(Action.UPDATE, actor=actor, obj=holiday, detail={"changed": diff})
    return holiday


@transaction.atomic
def holiday_delete(*, actor: Actor, holiday: Holiday) -> None:
    actor.require(Perm.ACCESS_MANAGE, write=True)
    if holiday.estate is None:
        raise PermissionDenied(_("全国节假日由平台统一维护"))
    require_estate(actor=actor, estate=holiday.estate)
    audit.record(Action.DELETE, actor=actor, obj=holiday, detail={"date": holiday.date.isoformat()})
    holiday.delete()


def _import(year: int, estate: Region | None) -> tuple[int, int]:
    rows = NATIONAL_HOLIDAYS.get(year)
    if rows is None:
        raise ValidationFailed(
            fields={
                "year": [
                    _("暂无该年度的全国节假日安排，可选：") + ", ".join(map(str, sorted(NATIONAL_HOLIDAYS)))
                ]
            }
        )
    taken = set(Holiday.objects.filter(estate=estate, date__year=year).values_list("date", flat=True))
    new = [Holiday(estate=estate, date=d, name=n, is_workday=w) for d, n, w in rows if d not in taken]
    Holiday.objects.bulk_create(new)
    return len(new), len(rows) - len(new)


@transaction.atomic
def holidays_import_national(*, actor: Actor, estate: Region, year: int = 2026) -> tuple[int, int]:
    """Copy the national list of ``year`` into the estate's calendar; dates already there are kept.
    Returns (created, skipped)."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    created, skipped = _import(year, estate)
    audit.record(
        Action.IMPORT,
        actor=actor,
        object_type=Holiday._meta.label_lower,
        estate_id=estate.pk,
        detail={"year": year, "created": created, "skipped": skipped},
    )
    return created, skipped


@transaction.atomic
def national_holidays_install(*, year: int = 2026) -> tuple[int, int]:
    """Install the national calendar of ``year`` for every estate (estate empty); idempotent. Run by
    the platform (deployment, demo), not from the console."""
    created, skipped = _import(year, None)
    if created:
        audit.record(
            Action.IMPORT,
            object_type=Holiday._meta.label_lower,
            actor_label="system",
            detail={"year": year, "created": created, "skipped": skipped},
        )
    return created, skipped


# --- settings -----------------------------------------------------------------------------------


@transaction.atomic
def access_settings_update(*, actor: Actor, estate: Region, **changes) -> AccessSettings:
    """Change the estate's knobs within ``SETTINGS_BOUNDS``."""
    actor.require(Perm.ACCESS_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    row, _created = AccessSettings.objects.select_for_update().get_or_create(estate=estate)
    errors: dict[str, list[str]] = {}
    values: dict[str, int] = {}
    for k, v in changes.items():
        if k not in SETTINGS_BOUNDS:
            errors[k] = [_("未知字段")]
            continue
        lo, hi = SETTINGS_BOUNDS[k]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            errors[k] = [_("应在 %(lo)s 到 %(hi)s 之间") % {"lo": lo, "hi": hi}]
            continue
        values[k] = v
    ttl = values.get("qr_ttl_seconds", row.qr_ttl_seconds)
    refresh = values.get("qr_refresh_seconds", row.qr_refresh_seconds)
    if "qr_ttl_seconds" not in errors and "qr_refresh_seconds" not in errors and refresh >= ttl:
        errors["qr_refresh_seconds"] = [_("刷新间隔须短于二维码有效期")]
    if errors:
        raise ValidationFailed(fields=errors)
    diff = _changed(row, values)
    if diff:
        row.save()
        audit.record(Action.UPDATE, actor=actor, obj=row, detail={"changed": diff})
    row.estate = estate
    return row
