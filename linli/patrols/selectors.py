"""Reads for patrols: every selector takes the actor, needs ``patrols.view`` and limits rows to the
actor's scope (an id outside it is simply not found). A checkpoint's QR code is shown only to
``patrols.manage`` holders: a guard who could read codes could check in without walking the route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import NotFound, ValidationFailed
from linli.core.scoping import Actor, get_in_scope, id_or_404
from linli.orgs.roles import Perm
from linli.orgs.selectors import staff_over
from linli.patrols.models import (
    CheckIn,
    Checkpoint,
    Finding,
    FindingPhoto,
    PatrolRoute,
    PatrolRun,
    PatrolSchedule,
    RunStatus,
)
from linli.places.models import Region, RegionLevel

MAX_STATS_DAYS = 366
CLOSED = (RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.MISSED)


def _view(actor: Actor) -> None:
    actor.require(Perm.PATROLS_VIEW)


def can_see_codes(actor: Actor) -> bool:
    return actor.has(Perm.PATROLS_MANAGE)


# --- routes and checkpoints ----------------------------------------------------------------------


def route_list(
    *, actor: Actor, estate_id: int | None = None, active: bool | None = None
) -> QuerySet[PatrolRoute]:
    _view(actor)
    qs = actor.scoped(PatrolRoute.objects.select_related("estate"), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.annotate(
        checkpoint_count=Count("checkpoints", filter=Q(checkpoints__active=True), distinct=True)
    ).order_by("estate__path", "name", "pk")


def _with_counts(qs: QuerySet[PatrolRoute]) -> QuerySet[PatrolRoute]:
    return qs.annotate(
        checkpoint_count=Count("checkpoints", filter=Q(checkpoints__active=True), distinct=True)
    )


def route_get(*, actor: Actor, pk: int) -> PatrolRoute:
    obj = get_in_scope(
        _with_counts(PatrolRoute.objects.select_related("estate")),
        actor=actor,
        path_field="estate__path",
        pk=id_or_404(pk),
    )
    _view(actor)
    return obj


def checkpoint_list(
    *, actor: Actor, route_id: int | None = None, estate_id: int | None = None, active: bool | None = None
) -> QuerySet[Checkpoint]:
    _view(actor)
    qs = actor.scoped(
        Checkpoint.objects.select_related("route", "route__estate", "building", "facility"),
        "route__estate__path",
    )
    if route_id is not None:
        qs = qs.filter(route_id=route_id)
    if estate_id is not None:
        qs = qs.filter(route__estate_id=estate_id)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("route__estate__path", "route__name", "route_id", "order", "pk")


def checkpoint_get(*, actor: Actor, pk: int) -> Checkpoint:
    obj = get_in_scope(
        Checkpoint.objects.select_related("route", "route__estate", "building", "facility"),
        actor=actor,
        path_field="route__estate__path",
        pk=id_or_404(pk),
    )
    _view(actor)
    return obj


def checkpoint_by_code(*, actor: Actor, code: str) -> Checkpoint:
    """The checkpoint of a scanned code, in scope (used by the scan page before checking in)."""
    code = (code or "").strip()
    if not code or len(code) > 43:
        raise NotFound()
    return get_in_scope(
        Checkpoint.objects.select_related("route", "route__estate"),
        actor=actor,
        path_field="route__estate__path",
        code=code,
    )


def checkpoint_places(*, route: PatrolRoute, building_id: int | None, facility_id: int | None) -> dict:
    """Resolve a checkpoint's building / facility ids within the route's estate (other ids → 400)."""
    from linli.places.models import Facility

    out: dict = {}
    if building_id is not None:
        b = Region.objects.filter(
            pk=id_or_404(building_id), level=RegionLevel.BUILDING, parent_id=route.estate_id
        ).first()
        if b is None:
            raise ValidationFailed(fields={"building_id": [_("楼栋不属于该路线所在小区")]})
        out["building"] = b
    if facility_id is not None:
        f = Facility.objects.filter(pk=id_or_404(facility_id), estate_id=route.estate_id).first()
        if f is None:
            raise ValidationFailed(fields={"facility_id": [_("设施不属于该路线所在小区")]})
        out["facility"] = f
    return out


def qr_sheet(*, actor: Actor, route_pk: int) -> tuple[PatrolRoute, list[Checkpoint]]:
    """The route and its active checkpoints with their codes (needs ``patrols.manage``)."""
    route = route_get(actor=actor, pk=route_pk)
    actor.require(Perm.PATROLS_MANAGE)
    return route, list(
        route.checkpoints.filter(active=True).select_related("building", "facility").order_by("order", "pk")
    )


# --- schedules -----------------------------------------------------------------------------------


def schedule_list(
    *, actor: Actor, route_id: int | None = None, estate_id: int | None = None
) -> QuerySet[PatrolSchedule]:
    _view(actor)
    qs = actor.scoped(PatrolSchedule.objects.select_related("route", "route__estate"), "route__estate__path")
    if route_id is not None:
        qs = qs.filter(route_id=route_id)
    if estate_id is not None:
        qs = qs.filter(route__estate_id=estate_id)
    return qs.prefetch_related("guards").order_by("route__estate__path", "route__name", "start_time", "pk")


def schedule_get(*, actor: Actor, pk: int) -> PatrolSchedule:
    obj = get_in_scope(
        PatrolSchedule.objects.select_related("route", "route__estate").prefetch_related("guards"),
        actor=actor,
        path_field="route__estate__path",
        pk=id_or_404(pk),
    )
    _view(actor)
    return obj


def guard_choices(*, actor: Actor, estate: Region):
    """Users who may be assigned to schedules of ``estate``."""
    _view(actor)
    if not actor.in_scope_path(estate.path):
        raise NotFound()
    return staff_over(estate, perm=Perm.PATROLS_CHECKIN).order_by("username")


def guards_by_ids(*, actor: Actor, estate: Region, ids) -> list:
    """The assignable guards with these ids; any other id → 400 (a user outside the estate is not named)."""
    ids = sorted(set(ids or []))
    if not ids:
        return []
    found = list(guard_choices(actor=actor, estate=estate).filter(pk__in=ids))
    if len(found) != len(ids):
        raise ValidationFailed(fields={"guard_ids": [_("只能指派本小区有巡检签到权限的人员")]})
    return found


# --- runs ----------------------------------------------------------------------------------------


def _run_qs() -> QuerySet[PatrolRun]:
    return PatrolRun.objects.select_related("route", "estate", "started_by", "schedule")


def run_list(
    *,
    actor: Actor,
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
    route_id: int | None = None,
    guard_id: int | None = None,
    estate_id: int | None = None,
) -> QuerySet[PatrolRun]:
    _view(actor)
    if status not in (None, "") and status not in RunStatus.values:
        raise ValidationFailed(fields={"status": [_("可选值：") + ", ".join(RunStatus.values)]})
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed(fields={"date_to": [_("结束日期不能早于开始日期")]})
    qs = actor.scoped(_run_qs(), "estate__path")
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if status:
        qs = qs.filter(status=status)
    if route_id is not None:
        qs = qs.filter(route_id=route_id)
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if guard_id is not None:
        qs = qs.filter(Q(started_by_id=guard_id) | Q(checkins__guard_id=guard_id)).distinct()
    return qs.order_by("-window_start", "pk")


def run_get(*, actor: Actor, pk: int) -> PatrolRun:
    obj = get_in_scope(
        _run_qs().prefetch_related(
            Prefetch(
                "checkins",
                queryset=CheckIn.objects.select_related("checkpoint", "guard").order_by("at", "pk"),
            ),
            Prefetch(
                "findings",
                queryset=Finding.objects.select_related("checkpoint", "reporter").prefetch_related("photos"),
            ),
        ),
        actor=actor,
        path_field="estate__path",
        pk=id_or_404(pk),
    )
    _view(actor)
    return obj


@dataclass
class RunStep:
    checkpoint: Checkpoint
    checkin: CheckIn | None


def run_steps(run: PatrolRun) -> list[RunStep]:
    """The checkpoints of a run in order, each with its check-in (the route's active checkpoints plus any
    checked in at before being deactivated)."""
    by_cp = {ci.checkpoint_id: ci for ci in run.checkins.all()}
    cps = Checkpoint.objects.filter(route_id=run.route_id).order_by("order", "pk")
    return [RunStep(cp, by_cp.get(cp.pk)) for cp in cps if cp.active or cp.pk in by_cp]


def my_runs_today(*, actor: Actor, now: datetime | None = None) -> list[PatrolRun]:
    """Today's runs the guard may walk (assigned to them, or open to every guard of the estate)."""
    actor.require(Perm.PATROLS_CHECKIN)
    now = now or timezone.now()
    today = timezone.localdate(now)
    qs = (
        actor.scoped(_run_qs(), "estate__path")
        .filter(date=today)
        .filter(Q(schedule__guards=actor.user) | Q(schedule__guards__isnull=True))
        .distinct()
        .order_by("window_start", "pk")
    )
    return list(qs)


# --- findings ------------------------------------------------------------------------------------


def finding_list(
    *, actor: Actor, run_id: int | None = None, estate_id: int | None = None
) -> QuerySet[Finding]:
    _view(actor)
    qs = actor.scoped(
        Finding.objects.select_related("run", "run__route", "checkpoint", "reporter"), "run__estate__path"
    ).prefetch_related("photos")
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    if estate_id is not None:
        qs = qs.filter(run__estate_id=estate_id)
    return qs.order_by("-created_at", "-pk")


def finding_get(*, actor: Actor, pk: int) -> Finding:
    obj = get_in_scope(
        Finding.objects.select_related("run", "run__route", "checkpoint", "reporter").prefetch_related(
            "photos"
        ),
        actor=actor,
        path_field="run__estate__path",
        pk=id_or_404(pk),
    )
    _view(actor)
    return obj


def photo_get(*, actor: Actor, pk: int) -> FindingPhoto:
    obj = get_in_scope(
        FindingPhoto.objects.select_related("finding"),
        actor=actor,
        path_field="finding__run__estate__path",
        pk=id_or_404(pk),
    )
    _view(actor)
    return obj


# --- statistics ----------------------------------------------------------------------------------


@dataclass
class StatRow:
    key: int
    label: str
    runs: int = 0
    completed: int = 0
    partial: int = 0
    missed: int = 0
    expected: int = 0
    checked: int = 0

    @property
    def run_rate(self) -> float | None:
        return round(self.completed / self.runs, 4) if self.runs else None

    @property
    def checkpoint_rate(self) -> float | None:
        return round(self.checked / self.expected, 4) if self.expected else None


@dataclass
class Stats:
    date_from: date
    date_to: date
    total: StatRow
    routes: list[StatRow]
    guards: list[StatRow]


def stats(
    *, actor: Actor, date_from: date | None = None, date_to: date | None = None, estate_id: int | None = None
) -> Stats:
    """Completion of the closed runs (completed, partial, missed) in a date range (default: the last 30
    days) per route and per guard who walked them; the checkpoint rate is checked / expected checkpoints."""
    _view(actor)
    today = timezone.localdate()
    date_to = date_to or today
    date_from = date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise ValidationFailed(fields={"date_to": [_("结束日期不能早于开始日期")]})
    if (date_to - date_from).days >= MAX_STATS_DAYS:
        raise ValidationFailed(fields={"date_from": [_("统计区间最长 366 天")]})
    qs = actor.scoped(PatrolRun.objects.all(), "estate__path").filter(
        date__gte=date_from, date__lte=date_to, status__in=CLOSED
    )
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    aggregates = {
        "runs": Count("pk"),
        "completed": Count("pk", filter=Q(status=RunStatus.COMPLETED)),
        "partial": Count("pk", filter=Q(status=RunStatus.PARTIAL)),
        "missed": Count("pk", filter=Q(status=RunStatus.MISSED)),
        "expected": Sum("expected"),
        "checked": Sum("checked"),
    }

    def rows(base: QuerySet, group: str, label: str) -> list[StatRow]:
        out = []
        for r in base.values(group, label).annotate(**aggregates).order_by(label, group):
            out.append(
                StatRow(
                    key=r[group],
                    label=r[label],
                    **{k: r[k] or 0 for k in aggregates},
                )
            )
        return out

    total = qs.aggregate(**aggregates)
    return Stats(
        date_from=date_from,
        date_to=date_to,
        total=StatRow(key=0, label=_("合计"), **{k: total[k] or 0 for k in aggregates}),
        routes=rows(qs, "route_id", "route__name"),
        guards=rows(qs.filter(started_by__isnull=False), "started_by_id", "started_by__username"),
    )
