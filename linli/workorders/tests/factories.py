"""Test data for work orders, built through the services."""

from __future__ import annotations

from datetime import time

from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.workorders import services


def roster(
    side,
    *,
    technician=None,
    weekday=None,
    date=None,
    start=time(0, 0),
    end=time(23, 59, 59),
    kinds=(),
    buildings=(),
):
    """A shift in ``side``'s estate made by its property admin; by default all day, every day given."""
    admin = actor_for_user(side.staff[Role.PROPERTY_ADMIN])
    return services.roster_create(
        actor=admin,
        estate=side.estate,
        technician=technician or side.staff[Role.TECHNICIAN],
        weekday=weekday,
        date=date,
        start_time=start,
        end_time=end,
        kinds=list(kinds),
        buildings=list(buildings),
    )


def order(side, *, kind="repair_common", title="楼道灯不亮", room=None, actor_user=None, **kwargs):
    """An order in ``side``'s estate created by customer service (auto-dispatch runs)."""
    actor = actor_for_user(actor_user or side.staff[Role.CUSTOMER_SERVICE])
    return services.workorder_create(
        actor=actor, estate=side.estate, kind=kind, title=title, room=room, **kwargs
    )


def resident_order(side, *, kind="repair_private", title="厨房水管漏水", **kwargs):
    actor = actor_for_user(side.resident)
    return services.workorder_create(
        actor=actor,
        estate=side.estate,
        kind=kind,
        title=title,
        source="resident",
        room=side.rooms[0],
        **kwargs,
    )
