"""Test data for messaging, made through the services."""

from __future__ import annotations

from datetime import time

from linli.messaging.models import Message, MessagePreference
from linli.messaging.services import message_send, prefs_update
from linli.orgs.selectors import actor_for_user


def with_phone(user, phone: str = "13800138000"):
    user.phone = phone
    user.save(update_fields=["phone"])
    return user


def message(user, *, title: str = "物业费账单已出", category: str = "bill", **kwargs) -> Message:
    (sent,) = message_send(recipients=[user], title=title, category=category, **kwargs)
    return sent


def prefs(
    user,
    *,
    channels: dict[str, list[str]] | None = None,
    quiet: tuple[time, time] | None = None,
    wechat_openid: str | None = None,
) -> MessagePreference:
    start, end = quiet or (None, None)
    return prefs_update(
        actor=actor_for_user(user),
        channels=channels or {},
        quiet_start=start,
        quiet_end=end,
        wechat_openid=wechat_openid,
    )
