"""Fixtures for the patrol tests: a route of 3 checkpoints in estate a with a daily 09:00–10:00
schedule, its run on 2025-03-10 (a Monday), and private media storage in a temporary folder."""

from __future__ import annotations

from datetime import date, datetime, time
from types import SimpleNamespace

import pytest
from django.utils import timezone

from linli.orgs.roles import Role
from linli.patrols.tests import factories as f

DAY = date(2025, 3, 10)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return tmp_path


@pytest.fixture
def patrol(world):
    """Estate a: route, checkpoints, schedule and the planned run of DAY; the same in estate b."""
    route = f.route(estate=world.a.estate)
    schedule = f.schedule(route=route)
    run = f.run(schedule=schedule, day=DAY)
    b_route = f.route(estate=world.b.estate, name="乙巡逻")
    b_schedule = f.schedule(route=b_route)
    b_run = f.run(schedule=b_schedule, day=DAY)

    p = SimpleNamespace()
    p.route, p.schedule, p.run, p.cps = route, schedule, run, f.checkpoints(route)
    p.b_route, p.b_schedule, p.b_run, p.b_cps = b_route, b_schedule, b_run, f.checkpoints(b_route)
    p.guard = world.a.staff[Role.GUARD]
    p.admin = world.a.staff[Role.PROPERTY_ADMIN]
    p.b_guard = world.b.staff[Role.GUARD]
    return p
