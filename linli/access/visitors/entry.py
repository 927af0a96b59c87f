"""Staff-assisted entry (R23): a guard lets a visitor in at an access point. The pass gets the decision
core's visitor checks, so one rule set decides every entry; the decision core in turn only takes an
entry through ``services.consume_entry`` (no import back into this module)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access.gate import decision
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessResult,
    Direction,
    EventSource,
    Method,
    SubjectKind,
    VisitorPass,
    VisitorPassStatus,
)
from linli.access.visitors.selectors import visitor_pass_get
from linli.access.visitors.services import consume_entry
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import ValidationFailed
from linli.core.scoping import Actor, get_in_scope
from linli.orgs.roles import Perm


def _staff_entry_reason(p: VisitorPass, ap: AccessPoint, now: datetime) -> str:
    """The first failing check of a staff-assisted entry ("" = may enter): the point must accept staff
    entry, then the pass gets the decision core's visitor checks."""
    if ap.status != AccessPoint.Status.ACTIVE:
        return "point_disabled"
    if Method.STAFF not in (ap.allowed_methods or ()):
        return "method_not_allowed"
    return decision.visitor_pass_reason(token=p.token, access_point=ap, at=now)


@dataclass(frozen=True)
class StaffEntry:
    """The outcome of a staff-assisted entry (the stored ``AccessEvent`` is ``event``)."""

    result: str
    reason: str
    event: AccessEvent

    @property
    def event_id(self) -> int:
        return self.event.pk

    @property
    def allowed(self) -> bool:
        return self.result == AccessResult.ALLOW


@transaction.atomic
def visitor_staff_entry(
    *, actor: Actor, visitor_pass: VisitorPass, access_point_id: int, now: datetime | None = None
) -> StaffEntry:
    """A guard checks a visitor and lets them in at an access point in scope (staff-assisted entry,
    R23: the way in without a phone). The same rules as a visitor code apply — the point accepts
    staff entry, the pass is within its window with an entry left, the point is estate-wide or in
    the host's building, the visitor policies allow it — and an allowed entry takes one entry.

    Every attempt is stored as an ``AccessEvent`` (method ``staff``, source ``staff``; the decision
    core's ``decide`` handles presented credentials only) and audited with the guard's name."""
    actor.require(Perm.ACCESS_GUARD, write=True)
    now = now or timezone.now()
    p = visitor_pass_get(actor=actor, pk=visitor_pass.pk)
    ap = get_in_scope(
        AccessPoint.objects.filter(estate_id=p.estate_id), actor=actor, path_field="path", pk=access_point_id
    )
    if ap.direction == Direction.OUT:
        raise ValidationFailed(fields={"access_point_id": [_("该出入口只出不进")]})
    p = VisitorPass.objects.select_for_update(of=("self",)).select_related("host_room").get(pk=p.pk)
    reason = _staff_entry_reason(p, ap, now)
    if not reason and not consume_entry(p.pk):
        reason = VisitorPassStatus.USED_UP
    event = AccessEvent.objects.create(
        estate_id=p.estate_id,
        path=ap.path,
        access_point=ap,
        device=None,
        occurred_at=now,
        received_at=now,
        direction=Direction.IN,
        method=Method.STAFF,
        result=AccessResult.DENY if reason else AccessResult.ALLOW,
        reason=reason or "ok",
        subject_kind=SubjectKind.VISITOR,
        visitor_pass=p,
        source=EventSource.STAFF,
        detail={"guard_user_id": actor.user.pk},
    )
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=p,
        subject_person_id=p.host_person_id,
        reason="staff_entry",
        detail={
            "access_point_id": ap.pk,
            "event_id": event.pk,
            "result": event.result,
            "reason": event.reason,
        },
    )
    transaction.on_commit(lambda: _anomaly_rules(event))
    return StaffEntry(result=event.result, reason=event.reason, event=event)


def _anomaly_rules(event: AccessEvent) -> None:
    decision.run_anomaly_rules([event])
