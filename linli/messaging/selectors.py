"""Reads for messaging. Everyone sees only their own messages and preferences: every query filters
on the signed-in user, so another user's message id is a 404 whatever the caller's roles."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from linli.core.errors import NotFound
from linli.core.scoping import Actor
from linli.messaging.models import EXTERNAL_CHANNELS as EXTERNAL
from linli.messaging.models import RESIDENT_CATEGORIES, Category, Message, MessagePreference


def message_list(
    *, actor: Actor, unread: bool | None = None, category: str | None = None
) -> QuerySet[Message]:
    """The actor's own messages, newest first."""
    qs = Message.objects.filter(user=actor.user)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("-created_at", "-pk")


def message_get(*, actor: Actor, pk: int) -> Message:
    message = Message.objects.filter(pk=pk, user=actor.user).first()
    if message is None:
        raise NotFound()
    return message


def unread_count(user) -> int:
    """Unread messages of ``user`` (0 for anonymous users): the badge on the console and H5."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return Message.objects.filter(user=user, read_at__isnull=True).count()


@dataclass(frozen=True)
class CategoryPrefs:
    category: str
    label: str
    channels: list[str]


@dataclass(frozen=True)
class Prefs:
    categories: list[CategoryPrefs]
    quiet_start: object
    quiet_end: object
    wechat_bound: bool


def categories_for(actor: Actor) -> list[str]:
    """The categories a user can receive: residents get theirs, staff every other one."""
    if actor.is_resident:
        return list(RESIDENT_CATEGORIES)
    return [c for c in Category.values if c not in RESIDENT_CATEGORIES or c == Category.INFO]


def prefs_get(*, actor: Actor) -> Prefs:
    """The actor's preferences with every category they can receive (defaults: inbox only)."""
    pref = MessagePreference.objects.filter(user=actor.user).first()
    chosen = (pref.channels or {}) if pref is not None else {}
    labels = dict(Category.choices)
    return Prefs(
        categories=[
            CategoryPrefs(
                category=c, label=str(labels[c]), channels=[k for k in EXTERNAL if k in chosen.get(c, [])]
            )
            for c in categories_for(actor)
        ],
        quiet_start=pref.quiet_start if pref is not None else None,
        quiet_end=pref.quiet_end if pref is not None else None,
        wechat_bound=bool(pref and pref.wechat_openid),
    )
