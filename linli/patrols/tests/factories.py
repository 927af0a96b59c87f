"""Patrol data for tests, made through the services (a system manager actor per estate)."""

from __future__ import annotations

import io
from datetime import date, time

from PIL import Image

from linli.core.scoping import Actor
from linli.orgs.roles import ROLE_PERMISSIONS, Role
from linli.patrols import services
from linli.patrols.models import Checkpoint, PatrolRoute, PatrolRun, PatrolSchedule


def manager(estate) -> Actor:
    from linli.accounts.models import User

    user = User.objects.filter(username="patrols-factory").first() or User.objects.create(
        username="patrols-factory", kind="staff"
    )
    return Actor(
        user=user,
        roles=frozenset({Role.PROPERTY_ADMIN}),
        permissions=ROLE_PERMISSIONS[Role.PROPERTY_ADMIN],
        scope_paths=(estate.path,),
        primary_role=Role.PROPERTY_ADMIN,
    )


def route(*, estate, name: str = "日常巡逻", checkpoints: int = 3) -> PatrolRoute:
    r = services.route_create(actor=manager(estate), estate=estate, name=name)
    for i in range(1, checkpoints + 1):
        services.checkpoint_create(actor=manager(estate), route=r, name=f"巡检点{i}", location=f"位置{i}")
    return r


def checkpoints(r: PatrolRoute) -> list[Checkpoint]:
    return list(r.checkpoints.order_by("order", "pk"))


def schedule(
    *, route: PatrolRoute, start: time = time(9, 0), minutes: int = 60, weekdays: str = "1234567", guards=()
) -> PatrolSchedule:
    return services.schedule_create(
        actor=manager(route.estate),
        route=route,
        start_time=start,
        window_minutes=minutes,
        weekdays=weekdays,
        guards=guards,
    )


def run(*, schedule: PatrolSchedule, day: date) -> PatrolRun:
    services.runs_plan(day=day, estate=schedule.route.estate)
    return PatrolRun.objects.get(schedule=schedule, date=day)


def image_bytes(fmt: str = "JPEG", size=(40, 30), exif: bool = False) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    buf = io.BytesIO()
    kwargs = {}
    if exif:
        e = Image.Exif()
        e[0x010F] = "LeakyPhone"  # Make
        e[0x0132] = "2025:01:01 10:00:00"  # DateTime
        kwargs["exif"] = e.tobytes()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()
