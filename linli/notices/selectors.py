"""Reads for notices: staff lists and receipt statistics (scoped), and residents' own notices."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from linli.core.errors import NotFound
from linli.core.pii import mask_name
from linli.core.scoping import Actor, get_in_scope
from linli.notices.models import Notice, NoticeReceipt, NoticeStatus
from linli.orgs.roles import Perm
from linli.people.models import Occupancy, Person
from linli.places.models import Region

# --- notices (staff) ---------------------------------------------------------------------------


def _staff_qs(actor: Actor) -> QuerySet[Notice]:
    actor.require(Perm.NOTICES_MANAGE)
    return actor.scoped(Notice.objects.select_related("estate", "target", "created_by"), "estate__path")


def notice_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    status: str | None = None,
    category: str | None = None,
    q: str | None = None,
) -> QuerySet[Notice]:
    """Notices of the estates in scope, pinned first, newest first."""
    qs = _staff_qs(actor)
    if estate_id:
        qs = qs.filter(estate_id=estate_id)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if q:
        qs = qs.filter(title__icontains=q)
    return qs.annotate(read_count=Count("receipts")).order_by(
        "-pinned", F("published_at").desc(nulls_first=True), "-pk"
    )


def notice_get(*, actor: Actor, pk: int) -> Notice:
    """A notice in scope (404 outside it), then the permission (403)."""
    return get_in_scope(
        Notice.objects.select_related("estate", "target", "created_by"),
        actor=actor,
        path_field="estate__path",
        pk=pk,
        perm=Perm.NOTICES_MANAGE,
    )


def target_get(*, actor: Actor, pk: int) -> Region:
    """A region in scope to address a notice to (the service checks it lies under the estate)."""
    return get_in_scope(Region.objects.all(), actor=actor, path_field="path", pk=pk)


def _recipients(notice: Notice) -> QuerySet[Person]:
    """Persons with an active occupancy of a room under the notice's target."""
    rooms = Occupancy.objects.filter(
        estate_id=notice.estate_id, end_date__isnull=True, room__path__startswith=notice.path
    ).values("person_id")
    return Person.objects.filter(pk__in=rooms)


@dataclass
class ReceiptStats:
    notice: Notice
    recipients: int
    read: int
    rate: Fraction
    unread: list[dict]

    @property
    def rate_percent(self) -> str:
        if not self.recipients:
            return "—"
        return f"{float(self.rate * 100):.1f}%"


def notice_receipts(*, actor: Actor, pk: int, unread_limit: int = 200) -> ReceiptStats:
    """Read-receipt statistics of a notice: recipients (persons living under its target now), how many
    of them read it, and the unread recipients (names masked, with their rooms)."""
    notice = notice_get(actor=actor, pk=pk)
    recipients = _recipients(notice)
    total = recipients.count()
    read_ids = NoticeReceipt.objects.filter(notice=notice).values("person_id")
    read = recipients.filter(pk__in=read_ids).count()
    unread_people = (
        recipients.exclude(pk__in=read_ids)
        .prefetch_related(
            Prefetch(
                "occupancies",
                queryset=Occupancy.objects.filter(end_date__isnull=True, room__path__startswith=notice.path)
                .select_related("room")
                .order_by("room__path", "room__number"),
                to_attr="scope_occupancies",
            )
        )
        .order_by("pk")[:unread_limit]
    )
    unread = [
        {
            "person_id": p.pk,
            "name": mask_name(p.name),
            "rooms": [o.room.standard_address for o in p.scope_occupancies],
        }
        for p in unread_people
    ]
    return ReceiptStats(
        notice=notice,
        recipients=total,
        read=read,
        rate=Fraction(read, total) if total else Fraction(0),
        unread=unread,
    )


# --- notices (residents) -----------------------------------------------------------------------


def _my_room_paths(actor: Actor) -> list[tuple[int, str]]:
    person = getattr(actor.user, "person", None) if actor.is_resident else None
    if person is None:
        return []
    return list(
        Occupancy.objects.filter(person=person, end_date__isnull=True).values_list("estate_id", "room__path")
    )


def _my_qs(actor: Actor) -> QuerySet[Notice]:
    """Published, unexpired notices whose target contains one of the resident's rooms."""
    rooms = _my_room_paths(actor)
    if not rooms:
        return Notice.objects.none()
    q = Q()
    for estate_id, room_path in rooms:
        # target path is a prefix of the room path: the room lies under the target
        prefixes = [room_path[: i + 1] for i, ch in enumerate(room_path) if ch == "/" and i > 0]
        q |= Q(estate_id=estate_id, path__in=prefixes)
    now = timezone.now()
    return (
        Notice.objects.filter(q, status=NoticeStatus.PUBLISHED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("estate", "target")
    )


def my_notices(*, actor: Actor) -> QuerySet[Notice]:
    """The resident's notices: unread first, then pinned, then newest. Each row has ``read_at``."""
    person = getattr(actor.user, "person", None) if actor.is_resident else None
    if person is None:
        return Notice.objects.none()
    read_at = NoticeReceipt.objects.filter(notice=OuterRef("pk"), person=person).values("read_at")[:1]
    return (
        _my_qs(actor)
        .annotate(read_at=Subquery(read_at))
        .order_by(F("read_at").desc(nulls_first=True), "-pinned", "-published_at", "-pk")
    )


def my_notice_get(*, actor: Actor, pk: int) -> Notice:
    notice = _my_qs(actor).filter(pk=pk).first()
    if notice is None:
        raise NotFound()
    return notice


def my_unread_count(*, actor: Actor) -> int:
    person = getattr(actor.user, "person", None) if actor.is_resident else None
    if person is None:
        return 0
    return _my_qs(actor).exclude(receipts__person=person).count()
