"""Writes for notices: create, edit, publish and withdraw a notice, residents' read receipts, and the
staff notifications every other app sends through ``staff_notify``.

Staff services need ``notices.manage`` and an estate in the actor's scope; each writes its audit
record in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from linli.core.errors import NotFound
from linli.core.scoping import Actor
from linli.notices.models import StaffNotification
from linli.places.models import Region

# --- staff notifications -----------------------------------------------------------------------


def staff_notify(
    *,
    users: Iterable,
    title: str,
    body: str = "",
    link: str = "",
    estate: Region | None = None,
    kind: str = "info",
) -> int:
    """Create one console notification per distinct user; returns how many were created.

    Called by other apps inside their own transactions (new work order, SLA breach, missed patrol
    checkpoint). Never raises for an empty list; inactive users and ``None`` entries are skipped.
    """
    seen: set[int] = set()
    rows = []
    for user in users or ():
        if user is None or not getattr(user, "is_active", True) or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            StaffNotification(
                user=user,
                estate=estate,
                kind=(kind or "info")[:32],
                title=(title or "")[:200],
                body=body or "",
                link=(link or "")[:300],
            )
        )
    if rows:
        StaffNotification.objects.bulk_create(rows)
    return len(rows)


def staff_notification_mark_read(*, actor: Actor, notification_id: int) -> StaffNotification:
    """Mark one of the actor's own notifications read (idempotent). Someone else's id → 404."""
    n = StaffNotification.objects.filter(pk=notification_id, user=actor.user).first()
    if n is None:
        raise NotFound()
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at"])
    return n


def staff_notification_mark_all_read(*, actor: Actor) -> int:
    qs = StaffNotification.objects.filter(user=actor.user, read_at__isnull=True)
    return qs.update(read_at=timezone.now())
