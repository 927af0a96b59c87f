"""The life of a work order: creation (residents for their own rooms, staff for the estate) with
auto-dispatch, and the state machine.

State machine (``TRANSITIONS``)::

    new → assigned → accepted → in_progress → done → rated
    cancel: new / assigned / accepted → cancelled      (reporter, or staff with workorders.manage)
    reopen: done / rated → assigned                     (reporter within 7 days of completion, or staff)
    assign: new / assigned / accepted → assigned        (staff: dispatch and reassign)

Every illegal transition raises ``Conflict`` (409) naming the current state and changes nothing.
Order of checks: scope (404) → role/permission (403) → state (409) → input (400)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.pii import InvalidIdentifier, parse_contact_phone
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Region, RegionLevel, Room
from linli.places.selectors import require_estate
from linli.workorders.models import (
    EventKind,
    Kind,
    Source,
    State,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from linli.workorders.services.charges import _bill_charges
from linli.workorders.services.common import (
    MAX_PHOTOS,
    _check_staff,
    _check_technician,
    _check_transition,
    _check_visible,
    _clean_text,
    _event,
    _lock,
    is_reporter,
    is_technician_for,
)
from linli.workorders.services.dispatch import _assign, workorder_dispatch
from linli.workorders.services.photos import _store_photo
from linli.workorders.services.sla import _set_due

REOPEN_DAYS = 7


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
    require_estate(actor=actor, estate=estate)
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
