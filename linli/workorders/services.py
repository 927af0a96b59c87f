"""Writes for work orders: creation with auto-dispatch, the state machine, photos, comments, charges
(billed to the room when a private repair is finished), duty rosters, SLA policies and the SLA check.

State machine (``TRANSITIONS``)::

    new → assigned → accepted → in_progress → done → rated
    cancel: new / assigned / accepted → cancelled      (reporter, or staff with workorders.manage)
    reopen: done / rated → assigned                     (reporter within 7 days of completion, or staff)
    assign: new / assigned / accepted → assigned        (staff: dispatch and reassign)

Every illegal transition raises ``Conflict`` (409) naming the current state and changes nothing.
Order of checks: scope (404) → role/permission (403) → state (409) → input (400).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.images import clean_image
from linli.core.scoping import Actor, build_actor
from linli.orgs.roles import Perm, Role
from linli.people.validators import InvalidIdentifier, parse_contact_phone
from linli.places.models import Region, RegionLevel, Room
from linli.workorders.models import (
    OPEN_STATES,
    UNANSWERED_STATES,
    Charge,
    DutyRoster,
    EventKind,
    Kind,
    SlaPolicy,
    Source,
    State,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)

log = logging.getLogger("linli.workorders")

# Default SLA (response minutes, completion minutes) when an estate has no policy for a kind.
DEFAULT_SLA: dict[str, tuple[int, int]] = {
    Kind.REPAIR_PRIVATE: (30, 24 * 60),
    Kind.REPAIR_COMMON: (30, 24 * 60),
    Kind.COMPLAINT: (60, 72 * 60),
    Kind.SUGGESTION: (24 * 60, 7 * 24 * 60),
    Kind.INCIDENT: (10, 4 * 60),
}
REOPEN_DAYS = 7
MAX_PHOTOS = 9
MAX_CHARGE_FEN = 10_000_000  # 100,000 元 per line: anything above is a typing error

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": ((State.NEW, State.ASSIGNED, State.ACCEPTED), State.ASSIGNED),
    "accept": ((State.ASSIGNED,), State.ACCEPTED),
    "start": ((State.ACCEPTED,), State.IN_PROGRESS),
    "finish": ((State.IN_PROGRESS,), State.DONE),
    "rate": ((State.DONE,), State.RATED),
    "cancel": ((State.NEW, State.ASSIGNED, State.ACCEPTED), State.CANCELLED),
    "reopen": ((State.DONE, State.RATED), State.ASSIGNED),
}
ACTION_LABELS = {
    "assign": gettext_lazy("派单"),
    "accept": gettext_lazy("接单"),
    "start": gettext_lazy("开始处理"),
    "finish": gettext_lazy("完成"),
    "rate": gettext_lazy("评价"),
    "cancel": gettext_lazy("取消"),
    "reopen": gettext_lazy("重新打开"),
    "charge": gettext_lazy("添加费用"),
}


# --- helpers -----------------------------------------------------------------------------------


def _clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationFailed(fields={field: [_("包含无效字符")]})
    if required and not value:
        raise ValidationFailed(fields={field: [_("此项为必填项")]})
    if len(value) > max_length:
        raise ValidationFailed(fields={field: [_("最多 %(n)d 个字符") % {"n": max_length}]})
    return value


def _check_transition(order: WorkOrder, action: str) -> str:
    sources, target = TRANSITIONS[action]
    if order.state not in sources:
        raise Conflict(
            _("工单当前状态为「%(state)s」，不能%(action)s")
            % {"state": order.get_state_display(), "action": ACTION_LABELS[action]}
        )
    return target


def _event(
    order: WorkOrder,
    *,
    kind: str,
    actor: Actor | None,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    at: datetime | None = None,
) -> WorkOrderEvent:
    return WorkOrderEvent.objects.create(
        order=order,
        at=at or timezone.now(),
        actor=actor.user if actor is not None else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note[:1000],
    )


def _in_estate_scope(actor: Actor, order: WorkOrder) -> bool:
    return actor.in_scope_path(order.estate.path)


def is_reporter(actor: Actor, order: WorkOrder) -> bool:
    """The signed-in resident reported this order (or it was reported for their person)."""
    if not actor.is_resident:
        return False
    if order.created_by_id == actor.user.pk:
        return True
    return order.reporter_id is not None and order.reporter.user_id == actor.user.pk


def _check_visible(actor: Actor, order: WorkOrder) -> None:
    """404 unless the actor may see the order: staff in scope with workorders.view, or its reporter."""
    if is_reporter(actor, order):
        return
    if not _in_estate_scope(actor, order) or not actor.has(Perm.WORKORDERS_VIEW):
        raise NotFound()


def _check_staff(actor: Actor, order: WorkOrder, perm: str) -> None:
    if not _in_estate_scope(actor, order):
        raise NotFound()
    actor.require(perm, write=True)


def _check_technician(actor: Actor, order: WorkOrder, action: str) -> None:
    """Technician actions: workorders.work, a legal transition, and the order assigned to the actor."""
    _check_staff(actor, order, Perm.WORKORDERS_WORK)
    _check_transition(order, action)
    if order.assignee_id != actor.user.pk:
        raise PermissionDenied(_("该工单未派给您"))


def _lock(order: WorkOrder) -> WorkOrder:
    """Re-read the order under a row lock so two concurrent transitions cannot both pass the check."""
    return (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("estate", "reporter")
        .get(pk=order.pk)
    )


def sla_minutes(estate: Region, kind: str) -> tuple[int, int]:
    policy = SlaPolicy.objects.filter(estate=estate, kind=kind).first()
    if policy is not None:
        return policy.response_minutes, policy.completion_minutes
    return DEFAULT_SLA[kind]


def _set_due(order: WorkOrder, start: datetime) -> None:
    response, completion = sla_minutes(order.estate, order.kind)
    order.response_due_at = start + timedelta(minutes=response)
    order.completion_due_at = start + timedelta(minutes=completion)


def supervisors_of(estate: Region) -> list:
    """Active property administrators whose scope covers the estate (the SLA escalation recipients)."""
    from linli.accounts.models import User

    parts = [p for p in estate.path.split("/") if p]
    prefixes = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    return list(
        User.objects.filter(
            is_active=True,
            memberships__role=Role.PROPERTY_ADMIN,
            memberships__is_active=True,
            memberships__organization__is_active=True,
            memberships__scope__path__in=prefixes,
        )
        .distinct()
        .order_by("pk")
    )


def _notify_supervisors(order: WorkOrder, *, title: str, body: str = "", kind: str = "workorder") -> int:
    from django.urls import reverse

    from linli.notices.services import staff_notify

    return staff_notify(
        users=supervisors_of(order.estate),
        title=title,
        body=body,
        link=reverse("workorders:detail", args=[order.pk]),
        estate=order.estate,
        kind=kind,
    )


def is_technician_for(user, estate: Region) -> bool:
    if not user.is_active or user.kind != "staff":
        return False
    actor = build_actor(user)
    return actor.has(Perm.WORKORDERS_WORK) and actor.in_scope_path(estate.path)


# --- photos ------------------------------------------------------------------------------------


def _store_photo(order: WorkOrder, *, actor: Actor | None, data: bytes, stage: str) -> WorkOrderPhoto:
    image = clean_image(data)
    photo = WorkOrderPhoto(
        order=order,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
        stage=stage,
        uploaded_by=actor.user if actor is not None else None,
    )
    name = f"{order.estate_id}/{order.pk}/{uuid.uuid4().hex}.{image.extension}"  # under upload_to
    photo.image.save(name, ContentFile(image.data), save=False)
    photo.save()
    return photo


@transaction.atomic
def workorder_photo_add(*, actor: Actor, order: WorkOrder, data: bytes) -> WorkOrderPhoto:
    """Attach a photo: the reporter (before completion), the assigned technician or staff."""
    _check_visible(actor, order)
    if is_reporter(actor, order):
        stage = WorkOrderPhoto.Stage.REPORT
        if order.state not in OPEN_STATES:
            raise Conflict(
                _("工单当前状态为「%(state)s」，不能上传照片") % {"state": order.get_state_display()}
            )
    elif actor.has(Perm.WORKORDERS_MANAGE) or order.assignee_id == actor.user.pk:
        actor.require(Perm.WORKORDERS_VIEW, write=True)
        stage = (
            WorkOrderPhoto.Stage.RESULT if order.assignee_id == actor.user.pk else WorkOrderPhoto.Stage.REPORT
        )
    else:
        raise PermissionDenied()
    if order.photos.count() >= MAX_PHOTOS:
        raise ValidationFailed(fields={"photo": [_("每个工单最多 %(n)d 张照片") % {"n": MAX_PHOTOS}]})
    photo = _store_photo(order, actor=actor, data=data, stage=stage)
    _event(order, kind=EventKind.PHOTO, actor=actor, note=photo.get_stage_display())
    audit.record(Action.CREATE, actor=actor, obj=photo, estate_id=order.estate_id)
    return photo


# --- creation and dispatch ---------------------------------------------------------------------


def _resident_rooms(actor: Actor) -> list[Room]:
    from linli.people.models import Occupancy

    return [
        o.room
        for o in Occupancy.objects.filter(person__user=actor.user, end_date__isnull=True).select_related(
            "room"
        )
    ]


def _check_create_permission(actor: Actor, *, estate: Region, source: str) -> None:
    if actor.is_resident and not actor.has(Perm.WORKORDERS_MANAGE):
        if source != Source.RESIDENT:
            raise PermissionDenied()
        return
    if estate.level != RegionLevel.ESTATE or not actor.in_scope_path(estate.path):
        raise NotFound()
    if source == Source.PATROL and actor.has(Perm.PATROLS_CHECKIN):
        actor.require(Perm.PATROLS_CHECKIN, write=True)
        return
    actor.require(Perm.WORKORDERS_MANAGE, write=True)


@transaction.atomic
def workorder_create(
    *,
    actor: Actor,
    estate: Region,
    kind: str,
    title: str,
    description: str = "",
    room: Room | None = None,
    location: str = "",
    source: str = "staff",
    source_ref: str = "",
    reporter=None,
    photos=(),
    preferred_time: datetime | None = None,
    contact_phone: str = "",
    building: Region | None = None,
) -> WorkOrder:
    """Open a work order and auto-dispatch it to the technician on duty.

    ``source_ref`` (the sending system's event id) makes creation idempotent per source: the same
    (source, source_ref) returns the existing order unchanged. Residents report for their own rooms
    only; staff need ``workorders.manage`` (guards may report patrol findings). ``photos`` are raw
    image bytes (or file objects), validated and re-encoded."""
    if source not in Source.values:
        raise ValidationFailed(fields={"source": [_("无效的选项")]})
    _check_create_permission(actor, estate=estate, source=source)
    if kind not in Kind.values:
        raise ValidationFailed(fields={"kind": [_("无效的选项")]})
    source_ref = _clean_text(source_ref, field="source_ref", max_length=100)
    if source_ref:
        existing = (
            WorkOrder.objects.filter(source=source, source_ref=source_ref).select_related("estate").first()
        )
        if existing is not None:
            if existing.estate_id != estate.pk:
                raise Conflict(_("该来源编号已用于其他小区的工单"))
            return existing
    title = _clean_text(title, field="title", max_length=100, required=True)
    description = _clean_text(description, field="description", max_length=2000)
    location = _clean_text(location, field="location", max_length=200)
    if actor.is_resident and not actor.has(Perm.WORKORDERS_MANAGE):
        from linli.people.models import Person

        me = Person.objects.filter(user=actor.user).select_related("estate").first()
        if me is None or me.estate_id != estate.pk:
            raise NotFound()
        reporter = me
        mine = _resident_rooms(actor)
        if room is not None and room.pk not in {r.pk for r in mine}:
            raise NotFound()
        if room is None and kind == Kind.REPAIR_PRIVATE:
            if len(mine) != 1:
                raise ValidationFailed(fields={"room": [_("请选择报修的房屋")]})
            room = mine[0]
    if room is not None and room.estate_id != estate.pk:
        raise ValidationFailed(fields={"room": [_("房屋不属于该小区")]})
    if kind == Kind.REPAIR_PRIVATE and room is None:
        raise ValidationFailed(fields={"room": [_("户内维修需要选择房屋")]})
    if reporter is not None and reporter.estate_id != estate.pk:
        raise ValidationFailed(fields={"reporter": [_("报修人不属于该小区")]})
    if building is None and room is not None:
        building = room.building
    if building is not None and (
        building.level != RegionLevel.BUILDING or not building.path.startswith(estate.path)
    ):
        raise ValidationFailed(fields={"building": [_("楼栋不属于该小区")]})
    phone = ""
    if contact_phone:
        try:
            phone = parse_contact_phone(contact_phone)
        except InvalidIdentifier as exc:
            raise ValidationFailed(fields={"contact_phone": [str(exc)]}) from exc
    elif reporter is not None:
        phone = reporter.phone
    now = timezone.now()
    if preferred_time is not None and not (
        now - timedelta(days=1) <= preferred_time <= now + timedelta(days=90)
    ):
        raise ValidationFailed(fields={"preferred_time": [_("期望上门时间应在 90 天内")]})
    photo_data = [
        p if isinstance(p, bytes) else p.read(settings.UPLOAD_IMAGE_MAX_BYTES + 1) for p in photos or ()
    ]
    if len(photo_data) > MAX_PHOTOS:
        raise ValidationFailed(fields={"photos": [_("每个工单最多 %(n)d 张照片") % {"n": MAX_PHOTOS}]})
    order = WorkOrder(
        estate=estate,
        kind=kind,
        source=source,
        source_ref=source_ref,
        title=title,
        description=description,
        room=room,
        building=building,
        location=location,
        reporter=reporter,
        created_by=actor.user,
        contact_phone=phone,
        preferred_time=preferred_time,
        state=State.NEW,
    )
    _set_due(order, now)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:  # the same source_ref raced in
        existing = WorkOrder.objects.filter(source=source, source_ref=source_ref).first()
        if existing is None:
            raise
        return existing
    _event(
        order,
        kind=EventKind.CREATED,
        actor=actor,
        to_state=State.NEW,
        note=order.get_source_display(),
        at=now,
    )
    for data in photo_data:
        photo = _store_photo(order, actor=actor, data=data, stage=WorkOrderPhoto.Stage.REPORT)
        _event(order, kind=EventKind.PHOTO, actor=actor, note=photo.get_stage_display(), at=now)
    audit.record(Action.CREATE, actor=actor, obj=order, subject_person_id=order.reporter_id)
    workorder_dispatch(order=order, now=now)
    return order


def _covers(roster: DutyRoster, moment: datetime) -> bool:
    """Whether the shift covers the (local) moment; shifts ending before they start run past midnight."""
    local = timezone.localtime(moment)
    t, today = local.time(), local.date()

    def on(day: date) -> bool:
        return roster.date == day if roster.date is not None else roster.weekday == day.weekday()

    if roster.start_time < roster.end_time:
        return on(today) and roster.start_time <= t < roster.end_time
    # overnight: the part after the start today, or the part before the end of yesterday's shift
    return (on(today) and t >= roster.start_time) or (on(today - timedelta(days=1)) and t < roster.end_time)


def on_duty(*, estate: Region, kind: str, building: Region | None, moment: datetime) -> list:
    """Technicians whose shift covers the moment and the kind, and the building when the shift lists some."""
    rosters = (
        DutyRoster.objects.filter(estate=estate)
        .filter(
            Q(weekday__isnull=False)
            | Q(date__range=(moment.date() - timedelta(days=1), moment.date() + timedelta(days=1)))
        )
        .select_related("technician")
        .prefetch_related("buildings")
        .order_by("pk")
    )
    users: dict[int, object] = {}
    for r in rosters:
        if r.kinds and kind not in r.kinds:
            continue
        listed = {b.pk for b in r.buildings.all()}
        if listed and (building is None or building.pk not in listed):
            continue
        if not _covers(r, moment) or r.technician_id in users:
            continue
        if is_technician_for(r.technician, estate):
            users[r.technician_id] = r.technician
    return list(users.values())


def open_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        WorkOrder.objects.filter(assignee_id__in=user_ids, state__in=OPEN_STATES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
    )
    return {r["assignee_id"]: r["n"] for r in rows}


def workorder_dispatch(*, order: WorkOrder, now: datetime | None = None) -> WorkOrder:
    """Assign a new order to the on-duty technician with the fewest open orders (ties: earliest roster);
    with no one on duty it stays new and the estate's property administrators are notified."""
    now = now or timezone.now()
    if order.state != State.NEW:
        return order
    candidates = on_duty(estate=order.estate, kind=order.kind, building=order.building, moment=now)
    if not candidates:
        _event(order, kind=EventKind.UNDISPATCHED, actor=None, note=_("当前无值班技师，等待人工派单"), at=now)
        _notify_supervisors(
            order,
            title=_("新工单待派单：%(title)s") % {"title": order.title},
            body=_("当前没有值班技师负责此类工单，请人工派单。"),
        )
        return order
    counts = open_counts([u.pk for u in candidates])
    chosen = min(candidates, key=lambda u: counts.get(u.pk, 0))  # min keeps the first of equals
    _assign(order, assignee=chosen, actor=None, now=now, note=_("自动派单"))
    return order


def _assign(order: WorkOrder, *, assignee, actor: Actor | None, now: datetime, note: str = "") -> None:
    from_state = order.state
    order.state = State.ASSIGNED
    order.assignee = assignee
    order.assigned_at = now
    order.accepted_at = None
    order.started_at = None
    order.save(update_fields=["state", "assignee", "assigned_at", "accepted_at", "started_at", "updated_at"])
    label = str(assignee)
    _event(
        order,
        kind=EventKind.ASSIGNED,
        actor=actor,
        from_state=from_state,
        to_state=State.ASSIGNED,
        note=f"{note} → {label}" if note else label,
        at=now,
    )


# --- transitions -------------------------------------------------------------------------------


@transaction.atomic
def workorder_assign(*, actor: Actor, order: WorkOrder, assignee) -> WorkOrder:
    """Dispatch or reassign (staff with workorders.manage) to a technician of the order's estate."""
    order = _lock(order)
    _check_staff(actor, order, Perm.WORKORDERS_MANAGE)
    _check_transition(order, "assign")
    if assignee is None or not is_technician_for(assignee, order.estate):
        raise ValidationFailed(fields={"assignee": [_("请选择本小区的维修技师")]})
    if order.assignee_id == assignee.pk and order.state == State.ASSIGNED:
        raise Conflict(_("工单已派给该技师"))
    _assign(order, assignee=assignee, actor=actor, now=timezone.now(), note=_("人工派单"))
    audit.record(Action.UPDATE, actor=actor, obj=order, detail={"action": "assign", "assignee": assignee.pk})
    return order


def _transition(
    order: WorkOrder,
    *,
    actor: Actor,
    action: str,
    event: str,
    stamp: str,
    note: str = "",
    extra: tuple[str, ...] = (),
) -> WorkOrder:
    target = _check_transition(order, action)
    now = timezone.now()
    from_state = order.state
    order.state = target
    setattr(order, stamp, now)
    order.save(update_fields=["state", stamp, "updated_at", *extra])
    _event(order, kind=event, actor=actor, from_state=from_state, to_state=target, note=note, at=now)
    audit.record(
        Action.UPDATE, actor=actor, obj=order, detail={"action": action, "from": from_state, "to": target}
    )
    return order


@transaction.atomic
def workorder_accept(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    order = _lock(order)
    _check_technician(actor, order, "accept")
    return _transition(order, actor=actor, action="accept", event=EventKind.ACCEPTED, stamp="accepted_at")


@transaction.atomic
def workorder_start(*, actor: Actor, order: WorkOrder) -> WorkOrder:
    order = _lock(order)
    _check_technician(actor, order, "start")
    return _transition(order, actor=actor, action="start", event=EventKind.STARTED, stamp="started_at")


@transaction.atomic
def workorder_finish(*, actor: Actor, order: WorkOrder, note: str = "") -> WorkOrder:
    """The assigned technician finishes the order; charges of a private repair become a bill."""
    order = _lock(order)
    _check_technician(actor, order, "finish")
    note = _clean_text(note, field="note", max_length=500)
    _transition(order, actor=actor, action="finish", event=EventKind.FINISHED, stamp="done_at", note=note)
    _bill_charges(order, actor=actor)
    return order


@transaction.atomic
def workorder_cancel(*, actor: Actor, order: WorkOrder, reason: str = "") -> WorkOrder:
    order = _lock(order)
    _check_visible(actor, order)
    if not is_reporter(actor, order):
        _check_staff(actor, order, Perm.WORKORDERS_MANAGE)
    _check_transition(order, "cancel")
    reason = _clean_text(reason, field="reason", max_length=300)
    return _transition(
        order, actor=actor, action="cancel", event=EventKind.CANCELLED, stamp="cancelled_at", note=reason
    )


@transaction.atomic
def workorder_rate(*, actor: Actor, order: WorkOrder, rating: int, comment: str = "") -> WorkOrder:
    """The reporter rates a finished order (1–5)."""
    order = _lock(order)
    _check_visible(actor, order)
    if not is_reporter(actor, order):
        raise PermissionDenied(_("只有报修人可以评价"))
    _check_transition(order, "rate")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed(fields={"rating": [_("评分为 1 至 5 分")]})
    order.rating = rating
    order.rating_comment = _clean_text(comment, field="comment", max_length=500)
    return _transition(
        order,
        actor=actor,
        action="rate",
        event=EventKind.RATED,
        stamp="rated_at",
        note=f"{rating}★ {order.rating_comment}".strip(),
        extra=("rating", "rating_comment"),
    )


@transaction.atomic
def workorder_reopen(*, actor: Actor, order: WorkOrder, reason: str = "") -> WorkOrder:
    """Reopen a finished order back to its technician: the reporter within 7 days of completion, or staff.
    The SLA clock restarts."""
    order = _lock(order)
    _check_visible(actor, order)
    reporter = is_reporter(actor, order)
    if not reporter:
        _check_staff(actor, order, Perm.WORKORDERS_MANAGE)
    _check_transition(order, "reopen")
    now = timezone.now()
    if reporter and order.done_at and now - order.done_at > timedelta(days=REOPEN_DAYS):
        raise Conflict(_("完成超过 %(n)d 天的工单不能再打开，请联系物业") % {"n": REOPEN_DAYS})
    reason = _clean_text(reason, field="reason", max_length=300, required=True)
    from_state = order.state
    order.state = State.ASSIGNED
    order.reopen_count += 1
    order.assigned_at = now
    order.accepted_at = order.started_at = order.done_at = order.rated_at = None
    order.rating = None
    order.rating_comment = ""
    order.response_breached_at = order.completion_breached_at = None
    _set_due(order, now)
    order.save()
    _event(
        order,
        kind=EventKind.REOPENED,
        actor=actor,
        from_state=from_state,
        to_state=State.ASSIGNED,
        note=reason,
        at=now,
    )
    audit.record(Action.UPDATE, actor=actor, obj=order, detail={"action": "reopen", "from": from_state})
    return order


@transaction.atomic
def workorder_comment(*, actor: Actor, order: WorkOrder, text: str) -> WorkOrderEvent:
    """A note in the history, by staff who may see the order or by its reporter."""
    _check_visible(actor, order)
    if not is_reporter(actor, order):
        actor.require(Perm.WORKORDERS_VIEW, write=True)
    text = _clean_text(text, field="text", max_length=1000, required=True)
    return _event(order, kind=EventKind.COMMENT, actor=actor, to_state=order.state, note=text)


# --- charges -----------------------------------------------------------------------------------


@transaction.atomic
def workorder_add_charge(
    *, actor: Actor, order: WorkOrder, kind: str, description: str, unit_price_fen: int, quantity: int = 1
) -> Charge:
    """A parts or labour line on a private repair (staff, or the assigned technician), before completion."""
    order = _lock(order)
    _check_visible(actor, order)
    if order.assignee_id == actor.user.pk and actor.has(Perm.WORKORDERS_WORK):
        _check_staff(actor, order, Perm.WORKORDERS_WORK)
    else:
        _check_staff(actor, order, Perm.WORKORDERS_MANAGE)
    if order.kind != Kind.REPAIR_PRIVATE or order.room_id is None:
        raise Conflict(_("只有户内维修工单可以收取费用"))
    if order.state not in OPEN_STATES or order.billed_bill_id is not None:
        raise Conflict(
            _("工单当前状态为「%(state)s」，不能%(action)s")
            % {"state": order.get_state_display(), "action": ACTION_LABELS["charge"]}
        )
    if kind not in Charge.LineKind.values:
        raise ValidationFailed(fields={"kind": [_("无效的选项")]})
    description = _clean_text(description, field="description", max_length=100, required=True)
    if not isinstance(quantity, int) or not 1 <= quantity <= 1000:
        raise ValidationFailed(fields={"quantity": [_("数量为 1 至 1000")]})
    if not isinstance(unit_price_fen, int) or not 1 <= unit_price_fen <= MAX_CHARGE_FEN:
        raise ValidationFailed(fields={"unit_price_fen": [_("单价应在 0.01 至 100000 元之间")]})
    amount = unit_price_fen * quantity
    if amount > MAX_CHARGE_FEN:
        raise ValidationFailed(fields={"quantity": [_("单项金额不能超过 100000 元")]})
    charge = Charge.objects.create(
        order=order,
        kind=kind,
        description=description,
        quantity=quantity,
        unit_price_fen=unit_price_fen,
        amount_fen=amount,
        created_by=actor.user,
    )
    _event(
        order,
        kind=EventKind.CHARGE,
        actor=actor,
        to_state=order.state,
        note=f"{charge.get_kind_display()} {description} ×{quantity} = {amount / 100:.2f} 元",
    )
    audit.record(Action.CREATE, actor=actor, obj=charge, estate_id=order.estate_id)
    return charge


def _bill_charges(order: WorkOrder, *, actor: Actor) -> None:
    total = sum(c.amount_fen for c in order.charges.all())
    if not total or order.billed_bill_id is not None:
        return
    from linli.billing.services import charge_create

    bill = charge_create(
        actor=actor,
        room=order.room,
        amount_fen=total,
        title=_("维修费用：%(title)s") % {"title": order.title},
        source_type="workorder",
        source_id=str(order.pk),
    )
    order.billed_bill_id = bill.pk
    order.save(update_fields=["billed_bill_id", "updated_at"])
    _event(order, kind=EventKind.BILLED, actor=actor, to_state=order.state, note=f"{total / 100:.2f} 元")


# --- SLA ---------------------------------------------------------------------------------------


def workorder_sla_check(*, now: datetime | None = None) -> dict[str, int]:
    """Mark each response and completion breach once, write an event and notify the supervisors.
    Idempotent: an order already marked is not marked (or notified) again."""
    now = now or timezone.now()
    counts = {"response": 0, "completion": 0}
    checks = (
        (
            "response",
            "response_due_at",
            "response_breached_at",
            UNANSWERED_STATES,
            EventKind.RESPONSE_BREACH,
            _("工单响应超时：%(title)s"),
        ),
        (
            "completion",
            "completion_due_at",
            "completion_breached_at",
            OPEN_STATES,
            EventKind.COMPLETION_BREACH,
            _("工单完成超时：%(title)s"),
        ),
    )
    for key, due, flag, states, event, title in checks:
        ids = list(
            WorkOrder.objects.filter(state__in=states, **{f"{due}__lt": now, f"{flag}__isnull": True})
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        for pk in ids:
            with transaction.atomic():
                order = (
                    WorkOrder.objects.select_for_update(of=("self",))
                    .select_related("estate", "assignee")
                    .filter(pk=pk, state__in=states, **{f"{flag}__isnull": True})
                    .first()
                )
                if order is None:
                    continue
                setattr(order, flag, now)
                order.save(update_fields=[flag, "updated_at"])
                late = _("应于 %(due)s 前，处理人：%(who)s") % {
                    "due": timezone.localtime(getattr(order, due)).strftime("%Y-%m-%d %H:%M"),
                    "who": str(order.assignee) if order.assignee else _("未派单"),
                }
                _event(order, kind=event, actor=None, to_state=order.state, note=late, at=now)
                _notify_supervisors(order, title=title % {"title": order.title}, body=late, kind="sla")
                counts[key] += 1
    return counts


# --- rosters and SLA policies ------------------------------------------------------------------


def _check_estate(actor: Actor, estate: Region) -> None:
    if estate.level != RegionLevel.ESTATE or not actor.in_scope_path(estate.path):
        raise NotFound()
    actor.require(Perm.WORKORDERS_MANAGE, write=True)


def _roster_values(
    *, estate: Region, technician, weekday, date_, start_time: time, end_time: time, kinds, buildings
) -> dict:
    errors: dict[str, list[str]] = {}
    if technician is None or not is_technician_for(technician, estate):
        errors["technician"] = [_("请选择本小区的维修技师")]
    if (weekday is None) == (date_ is None):
        errors["weekday"] = [_("请填写星期或日期（二选一）")]
    elif weekday is not None and not 0 <= weekday <= 6:
        errors["weekday"] = [_("星期为 0（周一）至 6（周日）")]
    if start_time == end_time:
        errors["end_time"] = [_("结束时间不能与开始时间相同")]
    kinds = list(dict.fromkeys(kinds or []))
    if any(k not in Kind.values for k in kinds):
        errors["kinds"] = [_("无效的选项")]
    buildings = list(buildings or [])
    if any(b.level != RegionLevel.BUILDING or not b.path.startswith(estate.path) for b in buildings):
        errors["buildings"] = [_("楼栋不属于该小区")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "technician": technician,
        "weekday": weekday,
        "date": date_,
        "start_time": start_time,
        "end_time": end_time,
        "kinds": kinds,
        "buildings": buildings,
    }


@transaction.atomic
def roster_create(
    *,
    actor: Actor,
    estate: Region,
    technician,
    start_time: time,
    end_time: time,
    weekday: int | None = None,
    date: date | None = None,
    kinds=(),
    buildings=(),
) -> DutyRoster:
    _check_estate(actor, estate)
    values = _roster_values(
        estate=estate,
        technician=technician,
        weekday=weekday,
        date_=date,
        start_time=start_time,
        end_time=end_time,
        kinds=kinds,
        buildings=buildings,
    )
    buildings = values.pop("buildings")
    roster = DutyRoster.objects.create(estate=estate, **values)
    roster.buildings.set(buildings)
    audit.record(Action.CREATE, actor=actor, obj=roster)
    return roster


@transaction.atomic
def roster_update(
    *,
    actor: Actor,
    roster: DutyRoster,
    technician,
    start_time: time,
    end_time: time,
    weekday: int | None = None,
    date: date | None = None,
    kinds=(),
    buildings=(),
) -> DutyRoster:
    _check_estate(actor, roster.estate)
    values = _roster_values(
        estate=roster.estate,
        technician=technician,
        weekday=weekday,
        date_=date,
        start_time=start_time,
        end_time=end_time,
        kinds=kinds,
        buildings=buildings,
    )
    buildings = values.pop("buildings")
    for key, value in values.items():
        setattr(roster, key, value)
    roster.save()
    roster.buildings.set(buildings)
    audit.record(Action.UPDATE, actor=actor, obj=roster)
    return roster


@transaction.atomic
def roster_delete(*, actor: Actor, roster: DutyRoster) -> None:
    _check_estate(actor, roster.estate)
    audit.record(Action.DELETE, actor=actor, obj=roster)
    roster.delete()


@transaction.atomic
def sla_policy_set(
    *, actor: Actor, estate: Region, kind: str, response_minutes: int, completion_minutes: int
) -> SlaPolicy:
    """Set an estate's time limits for one kind (applies to orders created from now on)."""
    _check_estate(actor, estate)
    errors: dict[str, list[str]] = {}
    if kind not in Kind.values:
        errors["kind"] = [_("无效的选项")]
    if not 1 <= response_minutes <= 30 * 24 * 60:
        errors["response_minutes"] = [_("响应时限为 1 分钟至 30 天")]
    if not 1 <= completion_minutes <= 90 * 24 * 60:
        errors["completion_minutes"] = [_("完成时限为 1 分钟至 90 天")]
    elif completion_minutes < response_minutes:
        errors["completion_minutes"] = [_("完成时限不能短于响应时限")]
    if errors:
        raise ValidationFailed(fields=errors)
    policy, _created = SlaPolicy.objects.update_or_create(
        estate=estate,
        kind=kind,
        defaults={"response_minutes": response_minutes, "completion_minutes": completion_minutes},
    )
    audit.record(Action.UPDATE, actor=actor, obj=policy)
    return policy
