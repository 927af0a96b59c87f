"""Test data for notices, made through the services."""

from __future__ import annotations

from linli.notices import services
from linli.notices.models import Notice
from linli.orgs.selectors import actor_for_user


def notice(
    *, staff, estate, target=None, title="停水通知", body="明日 9:00-12:00 停水。", publish=True, **kw
) -> Notice:
    return services.notice_create(
        actor=actor_for_user(staff),
        estate=estate,
        target=target,
        title=title,
        body=body,
        publish=publish,
        **kw,
    )
