"""Reads for notices: staff lists and receipt statistics (scoped), residents' own notices, and the
staff inbox."""

from __future__ import annotations

from django.db.models import QuerySet

from linli.core.scoping import Actor
from linli.notices.models import StaffNotification

# --- staff inbox -------------------------------------------------------------------------------


def staff_notification_list(*, actor: Actor, unread: bool | None = None) -> QuerySet[StaffNotification]:
    """The actor's own notifications, newest first."""
    qs = StaffNotification.objects.filter(user=actor.user).select_related("estate")
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.order_by("-created_at", "-pk")


def staff_notification_unread_count(user) -> int:
    """Unread console notifications of ``user`` (0 for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return StaffNotification.objects.filter(user=user, read_at__isnull=True).count()
