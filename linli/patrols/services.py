"""Writes for patrols: routes, checkpoints and schedules (patrols.manage), run planning, guard
check-ins (patrols.checkin), missed-run detection and findings that become work orders.

Every service checks permission and scope, validates, writes in one transaction and appends its audit
record there. ``runs_plan`` and ``runs_close_due`` are system jobs (no actor) and idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.cleaning import clean_text
from linli.core.errors import Conflict, NotFound, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import staff_over
from linli.patrols import photos as photo_check
from linli.patrols.models import (
    OPEN_STATUSES,
    CheckIn,
    CheckInSource,
    Checkpoint,
    Finding,
    FindingPhoto,
    PatrolRoute,
    PatrolRun,
    PatrolSchedule,
    RunStatus,
    new_code,
)
from linli.places.models import Facility, Region, RegionLevel
from linli.places.selectors import require_estate

_UNSET = object()
MAX_WINDOW_MINUTES = 24 * 60
CODE_MAX = 43


# --- helpers -------------------------------------------------------------------------------------


def _weekdays(value: str) -> str:
    value = (value or "").strip()
    days = sorted(set(value))
    if not value or any(d not in "1234567" for d in days):
        raise ValidationFailed(fields={"weekdays": [_("请用 1–7 表示周一到周日，如 12345")]})
    return "".join(days)


def _window(minutes) -> int:
    if not isinstance(minutes, int) or not 5 <= minutes <= MAX_WINDOW_MINUTES:
        raise ValidationFailed(fields={"window_minutes": [_("时长须在 5 到 1440 分钟之间")]})
    return minutes


def _check_guards(estate: Region, guards) -> list:
    guards = list(guards or [])
    allowed = set(staff_over(estate, perm=Perm.PATROLS_CHECKIN).values_list("pk", flat=True))
    bad = [g for g in guards if g.pk not in allowed]
    if bad:
        raise ValidationFailed(fields={"guard_ids": [_("只能指派本小区有巡检签到权限的人员")]})
    return guards


# --- routes --------------------------------------------------------------------------------------


@transaction.atomic
def route_create(
    *, actor: Actor, estate: Region, name: str, description: str = "", active: bool = True
) -> PatrolRoute:
    """Create a patrol route in an estate (name unique per estate)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=estate)
    name = clean_text(name, field="name", max_length=100, required=True)
    description = clean_text(description, field="description", max_length=2000)
    if PatrolRoute.objects.filter(estate=estate, name=name).exists():
        raise ValidationFailed(fields={"name": [_("本小区已有同名路线")]})
    try:
        with transaction.atomic():
            route = PatrolRoute.objects.create(
                estate=estate, name=name, description=description, active=bool(active)
            )
    except IntegrityError as exc:
        raise ValidationFailed(fields={"name": [_("本小区已有同名路线")]}) from exc
    audit.record(Action.CREATE, actor=actor, obj=route, detail={"name": name})
    return route


@transaction.atomic
def route_update(
    *, actor: Actor, route: PatrolRoute, name=_UNSET, description=_UNSET, active=_UNSET
) -> PatrolRoute:
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=route.estate)
    changed: list[str] = []
    if name is not _UNSET:
        name = clean_text(name, field="name", max_length=100, required=True)
        if PatrolRoute.objects.filter(estate_id=route.estate_id, name=name).exclude(pk=route.pk).exists():
            raise ValidationFailed(fields={"name": [_("本小区已有同名路线")]})
        route.name = name
        changed.append("name")
    if description is not _UNSET:
        route.description = clean_text(description, field="description", max_length=2000)
        changed.append("description")
    if active is not _UNSET:
        route.active = bool(active)
        changed.append("active")
    if changed:
        route.save(update_fields=[*changed, "updated_at"])
        audit.record(Action.UPDATE, actor=actor, obj=route, detail={"fields": changed})
    return route


@transaction.atomic
def route_delete(*, actor: Actor, route: PatrolRoute) -> None:
    """Delete a route that was never walked; a route with runs can only be deactivated (409)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=route.estate)
    if route.runs.exists():
        raise Conflict(_("该路线已有巡检记录，不能删除，请改为停用"))
    audit.record(Action.DELETE, actor=actor, obj=route, detail={"name": route.name})
    route.delete()


# --- checkpoints ---------------------------------------------------------------------------------


def _checkpoint_places(route: PatrolRoute, building, facility) -> None:
    errors: dict[str, list[str]] = {}
    if building is not None and (
        building.level != RegionLevel.BUILDING or building.parent_id != route.estate_id
    ):
        errors["building_id"] = [_("楼栋不属于该路线所在小区")]
    if facility is not None and facility.estate_id != route.estate_id:
        errors["facility_id"] = [_("设施不属于该路线所在小区")]
    if errors:
        raise ValidationFailed(fields=errors)


@transaction.atomic
def checkpoint_create(
    *,
    actor: Actor,
    route: PatrolRoute,
    name: str,
    order: int | None = None,
    location: str = "",
    building: Region | None = None,
    facility: Facility | None = None,
    active: bool = True,
) -> Checkpoint:
    """Add a checkpoint to a route with a fresh random QR code (appended when ``order`` is not given)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=route.estate)
    name = clean_text(name, field="name", max_length=100, required=True)
    location = clean_text(location, field="location", max_length=200)
    _checkpoint_places(route, building, facility)
    if order is None:
        last = route.checkpoints.order_by("-order").values_list("order", flat=True).first()
        order = (last or 0) + 1
    if not isinstance(order, int) or not 1 <= order <= 999:
        raise ValidationFailed(fields={"order": [_("顺序须在 1 到 999 之间")]})
    cp = Checkpoint.objects.create(
        route=route,
        name=name,
        order=order,
        location=location,
        building=building,
        facility=facility,
        active=bool(active),
        code=new_code(),
    )
    audit.record(Action.CREATE, actor=actor, obj=cp, estate_id=route.estate_id, detail={"route": route.pk})
    return cp


@transaction.atomic
def checkpoint_update(
    *,
    actor: Actor,
    checkpoint: Checkpoint,
    name=_UNSET,
    order=_UNSET,
    location=_UNSET,
    building=_UNSET,
    facility=_UNSET,
    active=_UNSET,
) -> Checkpoint:
    actor.require(Perm.PATROLS_MANAGE, write=True)
    route = checkpoint.route
    require_estate(actor=actor, estate=route.estate)
    changed: list[str] = []
    if name is not _UNSET:
        checkpoint.name = clean_text(name, field="name", max_length=100, required=True)
        changed.append("name")
    if location is not _UNSET:
        checkpoint.location = clean_text(location, field="location", max_length=200)
        changed.append("location")
    if order is not _UNSET:
        if not isinstance(order, int) or not 1 <= order <= 999:
            raise ValidationFailed(fields={"order": [_("顺序须在 1 到 999 之间")]})
        checkpoint.order = order
        changed.append("order")
    if building is not _UNSET or facility is not _UNSET:
        new_building = checkpoint.building if building is _UNSET else building
        new_facility = checkpoint.facility if facility is _UNSET else facility
        _checkpoint_places(route, new_building, new_facility)
        checkpoint.building, checkpoint.facility = new_building, new_facility
        changed += ["building", "facility"]
    if active is not _UNSET:
        checkpoint.active = bool(active)
        changed.append("active")
    if changed:
        checkpoint.save(update_fields=[*changed, "updated_at"])
        audit.record(
            Action.UPDATE, actor=actor, obj=checkpoint, estate_id=route.estate_id, detail={"fields": changed}
        )
    return checkpoint


@transaction.atomic
def checkpoint_regenerate_code(*, actor: Actor, checkpoint: Checkpoint) -> Checkpoint:
    """Issue a new QR code (the printed old one stops working at once), e.g. after a label was copied."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=checkpoint.route.estate)
    checkpoint.code = new_code()
    checkpoint.save(update_fields=["code", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=checkpoint,
        estate_id=checkpoint.route.estate_id,
        detail={"fields": ["code"], "regenerated": True},
    )
    return checkpoint


@transaction.atomic
def checkpoint_delete(*, actor: Actor, checkpoint: Checkpoint) -> None:
    """Delete a checkpoint never checked in at; otherwise it can only be deactivated (409)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=checkpoint.route.estate)
    if checkpoint.checkins.exists() or checkpoint.findings.exists():
        raise Conflict(_("该巡检点已有签到记录，不能删除，请改为停用"))
    audit.record(Action.DELETE, actor=actor, obj=checkpoint, estate_id=checkpoint.route.estate_id)
    checkpoint.delete()


# --- schedules -----------------------------------------------------------------------------------


@transaction.atomic
def schedule_create(
    *,
    actor: Actor,
    route: PatrolRoute,
    start_time: time,
    weekdays: str = "1234567",
    window_minutes: int = 60,
    guards=(),
    active: bool = True,
) -> PatrolSchedule:
    """Walk ``route`` on ``weekdays`` starting at ``start_time``, finishing within ``window_minutes``;
    ``guards`` limits who may walk it (empty: any guard of the estate)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=route.estate)
    if not isinstance(start_time, time):
        raise ValidationFailed(fields={"start_time": [_("请填写开始时间")]})
    schedule = PatrolSchedule.objects.create(
        route=route,
        start_time=start_time.replace(second=0, microsecond=0, tzinfo=None),
        weekdays=_weekdays(weekdays),
        window_minutes=_window(window_minutes),
        active=bool(active),
    )
    schedule.guards.set(_check_guards(route.estate, guards))
    audit.record(
        Action.CREATE, actor=actor, obj=schedule, estate_id=route.estate_id, detail={"route": route.pk}
    )
    return schedule


@transaction.atomic
def schedule_update(
    *,
    actor: Actor,
    schedule: PatrolSchedule,
    start_time=_UNSET,
    weekdays=_UNSET,
    window_minutes=_UNSET,
    guards=_UNSET,
    active=_UNSET,
) -> PatrolSchedule:
    """Change a schedule; runs already planned keep their window (the next planning uses the new one)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    estate = schedule.route.estate
    require_estate(actor=actor, estate=estate)
    changed: list[str] = []
    if start_time is not _UNSET:
        if not isinstance(start_time, time):
            raise ValidationFailed(fields={"start_time": [_("请填写开始时间")]})
        schedule.start_time = start_time.replace(second=0, microsecond=0, tzinfo=None)
        changed.append("start_time")
    if weekdays is not _UNSET:
        schedule.weekdays = _weekdays(weekdays)
        changed.append("weekdays")
    if window_minutes is not _UNSET:
        schedule.window_minutes = _window(window_minutes)
        changed.append("window_minutes")
    if active is not _UNSET:
        schedule.active = bool(active)
        changed.append("active")
    if changed:
        schedule.save(update_fields=[*changed, "updated_at"])
    if guards is not _UNSET:
        schedule.guards.set(_check_guards(estate, guards))
        changed.append("guards")
    if changed:
        audit.record(
            Action.UPDATE, actor=actor, obj=schedule, estate_id=estate.pk, detail={"fields": changed}
        )
    return schedule


@transaction.atomic
def schedule_delete(*, actor: Actor, schedule: PatrolSchedule) -> None:
    """Delete a schedule without runs; a schedule with runs can only be deactivated (409)."""
    actor.require(Perm.PATROLS_MANAGE, write=True)
    require_estate(actor=actor, estate=schedule.route.estate)
    audit.record(Action.DELETE, actor=actor, obj=schedule, estate_id=schedule.route.estate_id)
    try:
        with transaction.atomic():
            schedule.delete()
    except ProtectedError as exc:
        raise Conflict(_("该计划已有巡检记录，不能删除，请改为停用")) from exc


# --- planning and closing runs (system jobs) ------------------------------------------------------


def _window_of(schedule: PatrolSchedule, day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, schedule.start_time), tz)
    return start, start + timedelta(minutes=schedule.window_minutes)


def runs_plan(*, day: date, estate: Region | None = None) -> int:
    """Create the runs of ``day`` for every active schedule of an active route (optionally one estate).

    Idempotent: a run is unique per (schedule, date), so planning again (or concurrently) adds nothing.
    Returns the number of runs created.
    """
    weekday = str(day.isoweekday())
    schedules = PatrolSchedule.objects.filter(active=True, route__active=True, weekdays__contains=weekday)
    if estate is not None:
        schedules = schedules.filter(route__estate=estate)
    schedules = list(schedules.select_related("route"))
    planned = set(
        PatrolRun.objects.filter(date=day, schedule__in=schedules).values_list("schedule_id", flat=True)
    )
    todo = [s for s in schedules if s.pk not in planned]
    if not todo:
        return 0
    counts = _active_checkpoint_counts([s.route_id for s in todo])
    rows = []
    for s in todo:
        start, end = _window_of(s, day)
        rows.append(
            PatrolRun(
                schedule=s,
                route_id=s.route_id,
                estate_id=s.route.estate_id,
                date=day,
                window_start=start,
                window_end=end,
                expected=counts.get(s.route_id, 0),
            )
        )
    with transaction.atomic():
        PatrolRun.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _active_checkpoint_counts(route_ids) -> dict[int, int]:
    from django.db.models import Count

    return dict(
        Checkpoint.objects.filter(route_id__in=route_ids, active=True)
        .values("route_id")
        .annotate(n=Count("pk"))
        .values_list("route_id", "n")
    )


def _expected_checkpoints(run: PatrolRun) -> list[Checkpoint]:
    """The checkpoints a run must visit: the route's active ones, plus any already checked in at."""
    checked = set(run.checkins.values_list("checkpoint_id", flat=True))
    return [
        cp
        for cp in Checkpoint.objects.filter(route_id=run.route_id).order_by("order", "pk")
        if cp.active or cp.pk in checked
    ]


@dataclass(frozen=True)
class CloseResult:
    closed: int
    missed: int
    partial: int
    completed: int
    notified: int


def runs_close_due(*, now: datetime | None = None) -> CloseResult:
    """Close every open run whose window has ended: completed (all checkpoints), partial (some) or missed
    (none). The estate's supervisors get one notice per run listing its missed checkpoints. Idempotent:
    a run is closed (and notified) once, under a row lock."""
    now = now or timezone.now()
    ids = list(
        PatrolRun.objects.filter(status__in=OPEN_STATUSES, window_end__lt=now)
        .order_by("window_end", "pk")
        .values_list("pk", flat=True)
    )
    counts = {"closed": 0, "missed": 0, "partial": 0, "completed": 0, "notified": 0}
    for pk in ids:
        with transaction.atomic():
            run = (
                PatrolRun.objects.select_for_update()
                .filter(pk=pk, status__in=OPEN_STATUSES, window_end__lt=now)
                .first()
            )
            if run is None:
                continue
            expected = _expected_checkpoints(run)
            checked = set(run.checkins.values_list("checkpoint_id", flat=True))
            missing = [cp for cp in expected if cp.pk not in checked]
            if not missing:
                run.status = RunStatus.COMPLETED
            elif checked:
                run.status = RunStatus.PARTIAL
            else:
                run.status = RunStatus.MISSED
            run.expected, run.checked = len(expected), len(checked)
            run.finished_at = run.finished_at or now
            fields = ["status", "expected", "checked", "finished_at", "updated_at"]
            if missing and run.notified_at is None:
                counts["notified"] += _notify_missed(run, missing)
                run.notified_at = now
                fields.append("notified_at")
            run.save(update_fields=fields)
            counts["closed"] += 1
            counts[run.status] += 1
    return CloseResult(**counts)


def _notify_missed(run: PatrolRun, missing: list[Checkpoint]) -> int:
    from django.urls import reverse

    from linli.messaging.services import message_send

    estate = run.estate
    names = "、".join(f"{cp.order}. {cp.name}" for cp in missing)
    title = _("漏巡：%(route)s %(time)s 有 %(n)d 个巡检点未签到") % {
        "route": run.route.name,
        "time": timezone.localtime(run.window_start).strftime("%m-%d %H:%M"),
        "n": len(missing),
    }
    body = _("%(estate)s · %(route)s（%(start)s–%(end)s）未签到的巡检点：%(names)s") % {
        "estate": estate.name,
        "route": run.route.name,
        "start": timezone.localtime(run.window_start).strftime("%Y-%m-%d %H:%M"),
        "end": timezone.localtime(run.window_end).strftime("%H:%M"),
        "names": names,
    }
    sent = message_send(
        recipients=list(staff_over(estate, roles=[Role.PROPERTY_ADMIN])),
        title=title[:200],
        body=body,
        link=reverse("patrols:run_detail", args=[run.pk]),
        estate=estate,
        category="patrol_missed",
    )
    return len(sent)


# --- check-ins -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInResult:
    checkin: CheckIn
    run: PatrolRun
    created: bool
    done: int
    total: int
    next_checkpoint: Checkpoint | None


def _may_walk(run: PatrolRun, user) -> bool:
    guard_ids = [g.pk for g in run.schedule.guards.all()]
    return not guard_ids or user.pk in guard_ids


def _checkpoint_by_code(actor: Actor, code: str) -> Checkpoint:
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX:
        raise NotFound(_("二维码无效或已作废"))
    cp = (
        Checkpoint.objects.select_related("route", "route__estate")
        .filter(code=code, active=True, route__active=True)
        .first()
    )
    if cp is None:
        raise NotFound(_("二维码无效或已作废"))
    if not actor.in_scope_path(cp.route.estate.path):
        raise NotFound(_("该巡检点不属于您负责的小区"))
    return cp


def _progress(run: PatrolRun) -> tuple[int, int, Checkpoint | None]:
    expected = _expected_checkpoints(run)
    checked = set(run.checkins.values_list("checkpoint_id", flat=True))
    nxt = next((cp for cp in expected if cp.pk not in checked), None)
    return len([cp for cp in expected if cp.pk in checked]), len(expected), nxt


@transaction.atomic
def checkin(
    *, actor: Actor, code: str, source: str = CheckInSource.QR, note: str = "", now: datetime | None = None
) -> CheckInResult:
    """A guard scanned the QR code of a checkpoint: record the check-in on the guard's run of that route
    whose window is open now (starting it when planned). Scanning again is harmless (same check-in).

    Unknown or revoked code, or a checkpoint of an estate outside the guard's scope → 404; no run of the
    route open for this guard now → 409.
    """
    actor.require(Perm.PATROLS_CHECKIN, write=True)
    if source not in CheckInSource.values:
        raise ValidationFailed(fields={"source": [_("无效的选项")]})
    note = clean_text(note, field="note", max_length=200)
    now = now or timezone.now()
    cp = _checkpoint_by_code(actor, code)
    return _record(actor=actor, checkpoint=cp, source=source, note=note, now=now)


def _record(*, actor: Actor, checkpoint: Checkpoint, source: str, note: str, now: datetime) -> CheckInResult:
    runs = list(
        PatrolRun.objects.select_for_update()
        .filter(
            route_id=checkpoint.route_id,
            window_start__lte=now,
            window_end__gte=now,
            status__in=[*OPEN_STATUSES, RunStatus.COMPLETED],
        )
        .select_related("schedule", "route")
        .order_by("window_start", "pk")
    )
    runs = [r for r in runs if _may_walk(r, actor.user)]
    # Already checked in here on one of these runs: the same check-in again (duplicate scan).
    existing = (
        CheckIn.objects.filter(run__in=runs, checkpoint=checkpoint)
        .select_related("run")
        .order_by("pk")
        .first()
    )
    if existing is not None:
        done, total, nxt = _progress(existing.run)
        return CheckInResult(existing, existing.run, False, done, total, nxt)
    candidates = [r for r in runs if r.status in OPEN_STATUSES]
    # Prefer the run this guard already started, then one in progress, then the earliest planned.
    candidates.sort(key=lambda r: (r.started_by_id != actor.user.pk, r.status != RunStatus.IN_PROGRESS))
    if not candidates:
        raise Conflict(
            _("现在不在“%(route)s”的巡检时段内，或您未被安排执行该路线") % {"route": checkpoint.route.name}
        )
    run = candidates[0]
    try:
        with transaction.atomic():
            ci = CheckIn.objects.create(
                run=run, checkpoint=checkpoint, guard=actor.user, at=now, source=source, note=note
            )
    except IntegrityError:  # the same scan raced in from a second tab
        ci = CheckIn.objects.get(run=run, checkpoint=checkpoint)
        done, total, nxt = _progress(run)
        return CheckInResult(ci, run, False, done, total, nxt)
    fields = ["checked", "expected", "status", "updated_at"]
    if run.status == RunStatus.PLANNED:
        run.started_by, run.started_at = actor.user, now
        fields += ["started_by", "started_at"]
    run.status = RunStatus.IN_PROGRESS
    done, total, nxt = _progress(run)
    run.checked, run.expected = done, total
    if nxt is None:
        run.status, run.finished_at = RunStatus.COMPLETED, now
        fields.append("finished_at")
    run.save(update_fields=fields)
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=ci,
        estate_id=run.estate_id,
        detail={"run": run.pk, "checkpoint": checkpoint.pk, "source": source},
    )
    return CheckInResult(ci, run, True, done, total, nxt)


@transaction.atomic
def checkin_manual(
    *, actor: Actor, run: PatrolRun, checkpoint: Checkpoint, note: str, now: datetime | None = None
) -> CheckInResult:
    """Check in without the QR code (label damaged): needs a note and is marked ``manual`` for review."""
    actor.require(Perm.PATROLS_CHECKIN, write=True)
    require_estate(actor=actor, estate=run.estate)
    if checkpoint.route_id != run.route_id or not checkpoint.active:
        raise NotFound()
    note = clean_text(note, field="note", max_length=200, required=True)
    now = now or timezone.now()
    if not (run.window_start <= now <= run.window_end):
        raise Conflict(_("现在不在该次巡检的时段内"))
    return _record(actor=actor, checkpoint=checkpoint, source=CheckInSource.MANUAL, note=note, now=now)


# --- findings ------------------------------------------------------------------------------------


@transaction.atomic
def finding_report(
    *,
    actor: Actor,
    run: PatrolRun,
    checkpoint: Checkpoint | None = None,
    description: str,
    photos=(),
) -> Finding:
    """Report a problem seen on a patrol (with up to 6 photos): stored as a finding and turned into a
    common-area repair work order (idempotent per finding through ``source_ref``)."""
    actor.require(Perm.PATROLS_CHECKIN, write=True)
    require_estate(actor=actor, estate=run.estate)
    if checkpoint is not None and checkpoint.route_id != run.route_id:
        raise ValidationFailed(fields={"checkpoint_id": [_("巡检点不属于该路线")]})
    description = clean_text(description, field="description", max_length=2000, required=True)
    cleaned = photo_check.clean_photos(photos)
    finding = Finding.objects.create(
        run=run, checkpoint=checkpoint, reporter=actor.user, description=description
    )
    stored = []
    for p in cleaned:
        photo = FindingPhoto(
            finding=finding, content_type=p.content_type, width=p.width, height=p.height, size=len(p.data)
        )
        photo.file.save(f"{uuid.uuid4().hex}.{p.extension}", ContentFile(p.data), save=False)
        photo.save()
        stored.append(photo)
    audit.record(
        Action.CREATE,
        actor=actor,
        obj=finding,
        estate_id=run.estate_id,
        detail={"run": run.pk, "checkpoint": checkpoint.pk if checkpoint else None, "photos": len(stored)},
    )
    from linli.workorders.services import workorder_create

    where = checkpoint.location or checkpoint.name if checkpoint else run.route.name
    order = workorder_create(
        actor=actor,
        estate=run.estate,
        kind="repair_common",
        title=_("巡检发现：%(text)s") % {"text": description[:40]},
        description=description,
        location=f"{run.route.name} · {where}"[:200],
        source="patrol",
        source_ref=f"finding:{finding.pk}",
        photos=[
            ContentFile(p.data, name=f"finding-{finding.pk}-{i}.{p.extension}")
            for i, p in enumerate(cleaned, 1)
        ],
    )
    finding.workorder_id = order.pk
    finding.save(update_fields=["workorder_id", "updated_at"])
    return finding
