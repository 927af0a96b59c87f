"""Reads for work orders. Staff with ``workorders.view`` see the orders of the estates in their scope;
a resident sees only the orders they reported. Out-of-scope ids are 404."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from linli.core.errors import NotFound, ValidationFailed
from linli.core.querying import apply_ordering
from linli.core.scoping import Actor, get_in_scope, id_or_404
from linli.orgs.roles import Perm, Role
from linli.places.models import Region, RegionLevel, Room, ancestor_paths
from linli.places.selectors import estate_list
from linli.workorders.models import (
    DEFAULT_SLA,
    OPEN_STATES,
    UNANSWERED_STATES,
    Charge,
    DutyRoster,
    Kind,
    SlaPolicy,
    State,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)

WORKORDER_ORDERING = {
    "id": "pk",
    "created": "created_at",
    "state": "state",
    "kind": "kind",
    "response_due": "response_due_at",
    "completion_due": "completion_due_at",
}
BOARD_COLUMNS = (State.NEW, State.ASSIGNED, State.ACCEPTED, State.IN_PROGRESS, State.DONE)
BOARD_COLUMN_LIMIT = 30
BOARD_DONE_DAYS = 7


def breached_q(now: datetime | None = None) -> Q:
    """Orders past a deadline: marked by the SLA job, or open and already late (before the next run)."""
    now = now or timezone.now()
    return (
        Q(response_breached_at__isnull=False)
        | Q(completion_breached_at__isnull=False)
        | Q(state__in=UNANSWERED_STATES, response_due_at__lt=now)
        | Q(state__in=OPEN_STATES, completion_due_at__lt=now)
    )


def is_breached(order: WorkOrder, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(
        order.response_breached_at
        or order.completion_breached_at
        or (order.state in UNANSWERED_STATES and order.response_due_at and order.response_due_at < now)
        or (order.state in OPEN_STATES and order.completion_due_at and order.completion_due_at < now)
    )


def _base() -> QuerySet[WorkOrder]:
    return WorkOrder.objects.select_related("estate", "room", "building", "assignee", "reporter")


def _mine_q(actor: Actor) -> Q:
    return Q(created_by=actor.user) | Q(reporter__user=actor.user)


# --- orders ------------------------------------------------------------------------------------


def workorder_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    state: str | None = None,
    kind: str | None = None,
    assignee_id: int | None = None,
    breached: bool | None = None,
    source: str | None = None,
    q: str | None = None,
    ordering: str | None = None,
) -> QuerySet[WorkOrder]:
    """Orders in scope (``workorders.view``), newest first unless ``ordering`` says otherwise."""
    actor.require(Perm.WORKORDERS_VIEW)
    qs = actor.scoped(_base(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if source:
        qs = qs.filter(source=source)
    if breached is True:
        qs = qs.filter(breached_q())
    elif breached is False:
        qs = qs.exclude(breached_q())
    q = (q or "").replace("\x00", "").strip()
    if q:
        cond = Q(title__contains=q) | Q(location__contains=q) | Q(room__standard_address__contains=q)
        if q.lstrip("#").isdigit() and len(q) < 19:
            cond |= Q(pk=int(q.lstrip("#")))
        qs = qs.filter(cond)
    return apply_ordering(qs, ordering, WORKORDER_ORDERING, "-created")


def workorder_get(*, actor: Actor, pk: int) -> WorkOrder:
    """One order: staff in scope with ``workorders.view``, or the resident who reported it."""
    pk = id_or_404(pk)
    if actor.is_resident and not actor.has(Perm.WORKORDERS_VIEW):
        return my_workorder_get(actor=actor, pk=pk)
    return get_in_scope(_base(), actor=actor, path_field="estate__path", pk=pk, perm=Perm.WORKORDERS_VIEW)


def my_workorders(*, actor: Actor, state: str | None = None) -> QuerySet[WorkOrder]:
    """The signed-in resident's own reports."""
    qs = _base().filter(_mine_q(actor))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


def my_workorder_get(*, actor: Actor, pk: int) -> WorkOrder:
    obj = my_workorders(actor=actor).filter(pk=id_or_404(pk)).first()
    if obj is None:
        raise NotFound()
    return obj


def workorder_history(*, order: WorkOrder) -> list[WorkOrderEvent]:
    """The order's events, oldest first (the caller already holds an order it may see)."""
    return list(order.events.select_related("actor").order_by("at", "pk"))


def workorder_photos(*, order: WorkOrder) -> list[WorkOrderPhoto]:
    return list(order.photos.order_by("pk"))


def workorder_photo_get(*, actor: Actor, order_pk: int, pk: int) -> WorkOrderPhoto:
    order = workorder_get(actor=actor, pk=order_pk)
    photo = order.photos.filter(pk=id_or_404(pk)).first()
    if photo is None:
        raise NotFound()
    return photo


def workorder_charges(*, order: WorkOrder) -> list[Charge]:
    return list(order.charges.order_by("pk"))


# --- board and workload ------------------------------------------------------------------------


@dataclass
class BoardColumn:
    state: str
    label: str
    count: int
    breached: int
    orders: list[WorkOrder] = field(default_factory=list)


def board(
    *, actor: Actor, estate_id: int | None = None, kind: str | None = None, assignee_id: int | None = None
) -> list[BoardColumn]:
    """Columns by state (new … done in the last 7 days) with counts, breach counts and the orders;
    late orders carry ``breached = True``. At most six queries whatever the number of orders."""
    actor.require(Perm.WORKORDERS_VIEW)
    now = timezone.now()
    qs = actor.scoped(WorkOrder.objects.all(), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if kind:
        qs = qs.filter(kind=kind)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    qs = qs.filter(
        Q(state__in=OPEN_STATES) | Q(state=State.DONE, done_at__gte=now - timedelta(days=BOARD_DONE_DAYS))
    )
    counts = {
        r["state"]: (r["n"], r["late"])
        for r in qs.values("state").annotate(n=Count("pk"), late=Count("pk", filter=breached_q(now)))
    }
    columns = {
        s: BoardColumn(
            state=s,
            label=str(State(s).label),
            count=counts.get(s, (0, 0))[0],
            breached=counts.get(s, (0, 0))[1],
        )
        for s in BOARD_COLUMNS
    }
    rows = qs.select_related("room", "assignee", "estate").order_by("completion_due_at", "pk")
    for s in BOARD_COLUMNS:
        col = columns[s]
        if not col.count:
            continue
        col.orders = list(rows.filter(state=s)[:BOARD_COLUMN_LIMIT])
        for order in col.orders:
            order.breached = is_breached(order, now)
    return list(columns.values())


@dataclass
class Workload:
    technician_id: int
    name: str
    open: int
    overdue: int
    in_progress: int
    done_7d: int


def technicians(*, actor: Actor, estate_id: int | None = None) -> list:
    """Technicians (staff with the technician role) whose scope covers an estate the actor can see."""
    from linli.accounts.models import User

    actor.require(Perm.WORKORDERS_VIEW)
    estates = estate_list(actor=actor)
    if estate_id is not None:
        estates = estates.filter(pk=estate_id)
    prefixes: set[str] = set()
    for path in estates.values_list("path", flat=True):
        prefixes.update(ancestor_paths(path))
    return list(
        User.objects.filter(
            is_active=True,
            memberships__role=Role.TECHNICIAN,
            memberships__is_active=True,
            memberships__scope__path__in=prefixes,
        )
        .distinct()
        .order_by("display_name", "username", "pk")
    )


def workload(*, actor: Actor, estate_id: int | None = None) -> list[Workload]:
    """Open, overdue and in-progress orders per technician, plus orders finished in the last 7 days."""
    now = timezone.now()
    techs = technicians(actor=actor, estate_id=estate_id)
    qs = actor.scoped(WorkOrder.objects.filter(assignee__isnull=False), "estate__path")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    rows = {
        r["assignee_id"]: r
        for r in qs.values("assignee_id").annotate(
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
            overdue=Count("pk", filter=Q(state__in=OPEN_STATES) & breached_q(now)),
            in_progress=Count("pk", filter=Q(state=State.IN_PROGRESS)),
            done_7d=Count("pk", filter=Q(done_at__gte=now - timedelta(days=7))),
        )
    }
    out = []
    for t in techs:
        r = rows.get(t.pk, {})
        out.append(
            Workload(
                technician_id=t.pk,
                name=str(t),
                open=r.get("open", 0),
                overdue=r.get("overdue", 0),
                in_progress=r.get("in_progress", 0),
                done_7d=r.get("done_7d", 0),
            )
        )
    return sorted(out, key=lambda w: (-w.open, w.name))


def technician_get(*, actor: Actor, pk: int, estate: Region):
    """A technician of the estate (for dispatch and rosters) or a 400."""
    for t in technicians(actor=actor, estate_id=estate.pk):
        if t.pk == pk:
            return t
    raise ValidationFailed(fields={"assignee": ["请选择本小区的维修技师"]})


# --- places the forms refer to -----------------------------------------------------------------


def room_get(*, actor: Actor, pk: int, estate: Region) -> Room:
    room = (
        actor.scoped(Room.objects.select_related("building"), "path")
        .filter(pk=id_or_404(pk), estate=estate)
        .first()
    )
    if room is None:
        raise ValidationFailed(fields={"room_id": ["房屋不存在或不属于该小区"]})
    return room


def building_get(*, actor: Actor, pk: int, estate: Region) -> Region:
    b = Region.objects.filter(pk=id_or_404(pk), level=RegionLevel.BUILDING, parent=estate).first()
    if b is None:
        raise ValidationFailed(fields={"building_id": ["楼栋不存在或不属于该小区"]})
    return b


def my_rooms(*, actor: Actor) -> list[Room]:
    from linli.people.models import Occupancy

    return [
        o.room
        for o in Occupancy.objects.filter(person__user=actor.user, end_date__isnull=True)
        .select_related("room")
        .order_by("room__path")
    ]


def my_estate(*, actor: Actor) -> Region | None:
    from linli.people.models import Person

    me = Person.objects.filter(user=actor.user).select_related("estate").first()
    return me.estate if me else None


# --- rosters and SLA ---------------------------------------------------------------------------


def roster_list(
    *, actor: Actor, estate_id: int | None = None, technician_id: int | None = None
) -> QuerySet[DutyRoster]:
    actor.require(Perm.WORKORDERS_VIEW)
    qs = actor.scoped(DutyRoster.objects.all(), "estate__path").select_related("estate", "technician")
    if estate_id is not None:
        qs = qs.filter(estate_id=estate_id)
    if technician_id is not None:
        qs = qs.filter(technician_id=technician_id)
    return qs.prefetch_related("buildings").order_by("estate_id", "weekday", "date", "start_time", "pk")


def roster_get(*, actor: Actor, pk: int) -> DutyRoster:
    return get_in_scope(
        DutyRoster.objects.select_related("estate", "technician").prefetch_related("buildings"),
        actor=actor,
        path_field="estate__path",
        pk=id_or_404(pk),
        perm=Perm.WORKORDERS_VIEW,
    )


@dataclass
class SlaRow:
    estate_id: int
    kind: str
    label: str
    response_minutes: int
    completion_minutes: int
    is_default: bool


def sla_policies(*, actor: Actor, estate: Region) -> list[SlaRow]:
    """Every kind's limits for the estate: its own policy or the default."""
    actor.require(Perm.WORKORDERS_VIEW)
    own = {p.kind: p for p in SlaPolicy.objects.filter(estate=estate)}
    rows = []
    for k in Kind:
        p = own.get(k.value)
        resp, comp = (p.response_minutes, p.completion_minutes) if p else DEFAULT_SLA[k.value]
        rows.append(SlaRow(estate.pk, k.value, str(k.label), resp, comp, p is None))
    return rows
