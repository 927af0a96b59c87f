"""Writes for messaging: send a message to people, read it, set preferences, and deliver the queued
SMS/WeChat copies (the worker's side).

``message_send`` is the one way any app reaches a person. The inbox row is written in the caller's
transaction (so a rolled-back change sends nothing); external channels are queued as ``Delivery``
rows and handed to the task worker after commit. A delivery due inside the recipient's quiet hours
waits until they end; a failed attempt is retried with back-off up to ``MESSAGING_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import NotFound, ValidationFailed
from linli.core.scoping import Actor
from linli.messaging.channels import CHANNELS, Undeliverable
from linli.messaging.models import (
    EXTERNAL_CHANNELS as EXTERNAL,
)
from linli.messaging.models import (
    Category,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    Message,
    MessagePreference,
)
from linli.places.models import Region

log = logging.getLogger("linli.messaging")

# Wait before attempt n+1 (n = attempts so far); the last one repeats.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


# --- sending -----------------------------------------------------------------------------------


@transaction.atomic
def message_send(
    *,
    recipients: Iterable,
    title: str,
    body: str = "",
    link: str = "",
    category: str = Category.INFO,
    estate: Region | None = None,
    dedup_key: str = "",
    channels: Iterable[str] | None = None,
    actor: Actor | None = None,
) -> list[Message]:
    """Put one message in each distinct recipient's inbox and queue its SMS/WeChat copies.

    Why one service: every app (work orders, alarms, bills …) reaches residents and staff the same
    way, with the same preferences, quiet hours, de-duplication and delivery log. ``channels`` forces
    the external channels (``[]`` = inbox only); by default each recipient's preference for the
    category decides. A non-empty ``dedup_key`` delivers once per recipient however often it is sent
    (the unique constraint decides, so racing senders are safe). ``None`` and inactive recipients
    are skipped. Returns the messages created now (not the ones de-duplicated away).
    """
    if category not in Category.values:
        raise ValidationFailed(fields={"category": [_("消息类别无效")]})
    title = (title or "").replace("\x00", "").strip()[:200]
    if not title:
        raise ValidationFailed(fields={"title": [_("请填写标题")]})
    forced = None if channels is None else [c for c in EXTERNAL if c in set(channels)]
    users, seen = [], set()
    for user in recipients or ():
        if user is None or not getattr(user, "is_active", True) or user.pk in seen:
            continue
        seen.add(user.pk)
        users.append(user)
    if not users:
        return []
    prefs = {p.user_id: p for p in MessagePreference.objects.filter(user_id__in=seen)}
    now = timezone.now()
    fields = {
        "estate": estate,
        "category": category,
        "title": title,
        "body": (body or "").replace("\x00", ""),
        "link": (link or "")[:300],
        "dedup_key": (dedup_key or "")[:120],
        "sent_by": actor.user if actor is not None else None,
    }
    created: list[Message] = []
    queued: list[Delivery] = []
    for user in users:
        message = _create(user, fields)
        if message is None:
            continue
        created.append(message)
        pref = prefs.get(user.pk)
        wanted = forced if forced is not None else preferred_channels(pref, category)
        for kind in wanted:
            queued.append(Delivery(message=message, channel=kind, not_before=quiet_until(pref, now)))
    inbox = CHANNELS[ChannelKind.IN_APP]
    Delivery.objects.bulk_create(
        [
            Delivery(
                message=m,
                channel=ChannelKind.IN_APP,
                status=DeliveryStatus.SENT,
                attempts=1,
                provider_id=inbox.send(m, inbox.address(m.user)),
                not_before=now,
                sent_at=now,
            )
            for m in created
        ]
        + queued
    )
    if actor is not None and created:
        audit.record(
            Action.CREATE,
            actor=actor,
            object_type="messaging.Message",
            object_id=created[0].pk,
            estate_id=estate.pk if estate is not None else None,
            detail={"category": category, "recipients": len(created)},
        )
    due = [d.pk for d in queued if d.not_before <= now]
    if due:
        transaction.on_commit(lambda: _enqueue(due))
    return created


def _create(user, fields: dict) -> Message | None:
    """Insert one inbox row; ``None`` when the recipient already has this dedup key."""
    if not fields["dedup_key"]:
        return Message.objects.create(user=user, **fields)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a duplicate
            return Message.objects.create(user=user, **fields)
    except IntegrityError:
        return None


def _enqueue(delivery_ids: list[int]) -> None:
    for pk in delivery_ids:
        delivery_attempt_task.enqueue(pk)


@task()
def delivery_attempt_task(delivery_id: int) -> str:
    """First attempt of a queued delivery, right after the send commits (retries: ``deliveries_due``)."""
    return delivery_attempt(delivery_id=delivery_id)


def preferred_channels(pref: MessagePreference | None, category: str) -> list[str]:
    """The external channels the user chose for ``category`` (none unless they opted in)."""
    chosen = (pref.channels or {}).get(category, []) if pref is not None else []
    return [c for c in EXTERNAL if c in chosen]


def in_quiet_hours(pref: MessagePreference | None, at: datetime) -> bool:
    if (
        pref is None
        or pref.quiet_start is None
        or pref.quiet_end is None
        or pref.quiet_start == pref.quiet_end
    ):
        return False
    now = timezone.localtime(at).time()
    start, end = pref.quiet_start, pref.quiet_end
    return start <= now < end if start < end else (now >= start or now < end)


def quiet_until(pref: MessagePreference | None, at: datetime) -> datetime:
    """``at``, or the end of the recipient's quiet window when ``at`` falls inside it."""
    if not in_quiet_hours(pref, at):
        return at
    local = timezone.localtime(at)
    end = local.replace(hour=pref.quiet_end.hour, minute=pref.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


# --- delivering (worker) -----------------------------------------------------------------------


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """Try one queued delivery if it is due; returns its status afterwards.

    The row stays locked while the provider is called, so two workers never send it twice. No
    address or a channel that is off → skipped; an error → retried after ``BACKOFF``, failed after
    ``MESSAGING_MAX_ATTEMPTS``. Idempotent: a sent, failed or skipped delivery is left alone.
    """
    now = now or timezone.now()
    with transaction.atomic():
        d = (
            Delivery.objects.select_for_update()
            .select_related("message__user__message_preference")
            .filter(pk=delivery_id)
            .first()
        )
        if d is None:
            return ""
        if d.status != DeliveryStatus.QUEUED or d.not_before > now:
            return d.status
        message = d.message
        pref = getattr(message.user, "message_preference", None)
        later = quiet_until(pref, now)
        if later > now:  # quiet hours began after it was queued
            d.not_before = later
            d.save(update_fields=["not_before", "updated_at"])
            return d.status
        channel = CHANNELS[d.channel]
        d.attempts += 1
        try:
            if not message.user.is_active:
                raise Undeliverable(_("账号已停用"))
            d.provider_id = (channel.send(message, channel.address(message.user)) or "")[:100]
            d.status, d.sent_at, d.last_error = DeliveryStatus.SENT, now, ""
        except Undeliverable as exc:
            d.status, d.last_error = DeliveryStatus.SKIPPED, str(exc)[:300]
        except Exception as exc:  # a provider failure: retry later, never lose the other deliveries
            log.warning("delivery %s via %s failed: %s", d.pk, d.channel, exc)
            d.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
            if d.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
                d.status = DeliveryStatus.FAILED
            else:
                d.not_before = now + BACKOFF[min(d.attempts, len(BACKOFF)) - 1]
        d.save(
            update_fields=[
                "attempts",
                "provider_id",
                "status",
                "sent_at",
                "last_error",
                "not_before",
                "updated_at",
            ]
        )
        return d.status


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Attempt every queued delivery whose time has come (held by quiet hours or backing off)."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.QUEUED, not_before__lte=now)
        .order_by("not_before", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for pk in ids:
        status = delivery_attempt(delivery_id=pk, now=now)
        counts[status] = counts.get(status, 0) + 1
    return counts


RETENTION = timedelta(days=365)  # the catalogue's "1 年"


def messages_purge(*, now: datetime | None = None) -> int:
    """Delete messages (and their delivery log) older than ``RETENTION``; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _by_model = Message.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- reading -----------------------------------------------------------------------------------


def message_mark_read(*, actor: Actor, message_id: int) -> Message:
    """Mark one of the actor's own messages read (idempotent). Someone else's id → 404."""
    message = Message.objects.filter(pk=message_id, user=actor.user).first()
    if message is None:
        raise NotFound()
    if message.read_at is None:
        message.read_at = timezone.now()
        Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=message.read_at)
    return message


def message_mark_all_read(*, actor: Actor) -> int:
    """Mark every unread message of the actor read; returns how many."""
    return Message.objects.filter(user=actor.user, read_at__isnull=True).update(read_at=timezone.now())


# --- preferences -------------------------------------------------------------------------------


@transaction.atomic
def prefs_update(
    *,
    actor: Actor,
    channels: dict[str, list[str]],
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    wechat_openid: str | None = None,
) -> MessagePreference:
    """Replace the actor's own preferences: extra channels per category and quiet hours (both or
    neither). In-app is always on and is not a choice."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, list[str]] = {}
    for category, chosen in (channels or {}).items():
        if category not in Category.values:
            errors.setdefault("channels", []).append(_("消息类别无效：%(c)s") % {"c": category[:32]})
            continue
        bad = [c for c in chosen if c not in EXTERNAL]
        if bad:
            errors.setdefault("channels", []).append(_("渠道无效：%(c)s") % {"c": str(bad[0])[:16]})
            continue
        if picked := [c for c in EXTERNAL if c in chosen]:
            clean[category] = picked
    if (quiet_start is None) != (quiet_end is None):
        errors["quiet_start"] = [_("免打扰时段需同时填写开始和结束时间")]
    elif any(t is not None and t.tzinfo is not None for t in (quiet_start, quiet_end)):
        errors["quiet_start"] = [_("免打扰时段按本地时间填写，不带时区")]
    if errors:
        raise ValidationFailed(fields=errors)
    pref, _created = MessagePreference.objects.select_for_update().get_or_create(user=actor.user)
    pref.channels = clean
    pref.quiet_start, pref.quiet_end = quiet_start, quiet_end
    fields = ["channels", "quiet_start", "quiet_end", "updated_at"]
    if wechat_openid is not None:
        pref.wechat_openid = wechat_openid.strip()[:64]
        fields.append("wechat_openid")
    pref.save(update_fields=fields)
    audit.record(Action.UPDATE, actor=actor, obj=pref, detail={"categories": sorted(clean)})
    return pref
