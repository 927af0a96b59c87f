"""Constants and helpers shared by the work-order services: the state machine table
(``TRANSITIONS``), scope and role checks, the row lock, the event log and supervisor notices."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm, Role
from linli.orgs.selectors import actor_for_user, staff_over
from linli.places.models import Region
from linli.workorders.models import (
    State,
    WorkOrder,
    WorkOrderEvent,
)

log = logging.getLogger("linli.workorders")

MAX_PHOTOS = 9

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


def _notify_supervisors(order: WorkOrder, *, title: str, body: str = "", kind: str = "workorder") -> int:
    from django.urls import reverse

    from linli.messaging.services import message_send

    sent = message_send(
        recipients=list(staff_over(order.estate, roles=[Role.PROPERTY_ADMIN])),
        title=title,
        body=body,
        link=reverse("workorders:detail", args=[order.pk]),
        estate=order.estate,
        category=kind,
    )
    return len(sent)


def is_technician_for(user, estate: Region) -> bool:
    if not user.is_active or user.kind != "staff":
        return False
    actor = actor_for_user(user)
    return actor.has(Perm.WORKORDERS_WORK) and actor.in_scope_path(estate.path)
