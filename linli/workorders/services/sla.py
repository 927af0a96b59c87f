"""Service levels: the response and completion minutes of an estate and kind (its policy, else
``DEFAULT_SLA``), the due times they set, the periodic SLA check and the policies themselves."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.places.models import Region
from linli.places.selectors import require_estate
from linli.workorders.models import (
    DEFAULT_SLA,
    OPEN_STATES,
    UNANSWERED_STATES,
    EventKind,
    Kind,
    SlaPolicy,
    WorkOrder,
)
from linli.workorders.services.common import _event, _notify_supervisors


def sla_minutes(estate: Region, kind: str) -> tuple[int, int]:
    policy = SlaPolicy.objects.filter(estate=estate, kind=kind).first()
    if policy is not None:
        return policy.response_minutes, policy.completion_minutes
    return DEFAULT_SLA[kind]


def _set_due(order: WorkOrder, start: datetime) -> None:
    response, completion = sla_minutes(order.estate, order.kind)
    order.response_due_at = start + timedelta(minutes=response)
    order.completion_due_at = start + timedelta(minutes=completion)


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


@transaction.atomic
def sla_policy_set(
    *, actor: Actor, estate: Region, kind: str, response_minutes: int, completion_minutes: int
) -> SlaPolicy:
    """Set an estate's time limits for one kind (applies to orders created from now on)."""
    require_estate(actor=actor, estate=estate, perm=Perm.WORKORDERS_MANAGE, write=True)
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
