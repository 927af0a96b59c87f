"""Writes of entry-and-exit insights: closing an anomaly with a note of what was done (security
anomalies by gate duty or access managers, care anomalies (R65) by care roles only), audited in the
same transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access.models import (
    AccessAnomaly,
    AnomalyKind,
)
from linli.access.points.services import _text
from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm


def can_handle(actor: Actor, anomaly: AccessAnomaly) -> bool:
    if anomaly.health_sensitive or anomaly.kind == AnomalyKind.NOT_SEEN:
        return actor.has(Perm.PEOPLE_SPECIAL_VIEW)
    return actor.has(Perm.ACCESS_GUARD) or actor.has(Perm.ACCESS_MANAGE)


@transaction.atomic
def anomaly_close(*, actor: Actor, anomaly: AccessAnomaly, note: str) -> AccessAnomaly:
    """Close an anomaly with a note of what was done. Security anomalies: gate duty or access managers;
    care anomalies (R65): care roles only."""
    if not can_handle(actor, anomaly):
        raise PermissionDenied()
    if actor.read_only:
        raise PermissionDenied(_("该令牌为只读令牌"))
    errors: dict[str, list[str]] = {}
    note = _text(note, field="note", max_length=300, errors=errors)
    if errors:
        raise ValidationFailed(fields=errors)
    row = AccessAnomaly.objects.select_for_update().get(pk=anomaly.pk)
    if row.status != AccessAnomaly.Status.OPEN:
        raise Conflict(_("该异常已处理"))
    row.status = AccessAnomaly.Status.CLOSED
    row.note = note
    row.handled_by = actor.user
    row.handled_at = timezone.now()
    row.save(update_fields=["status", "note", "handled_by", "handled_at", "updated_at"])
    audit.record(
        Action.UPDATE,
        actor=actor,
        obj=row,
        subject_person_id=row.person_id,
        reason=note,
        detail={"status": "closed", "kind": row.kind},
    )
    return row
