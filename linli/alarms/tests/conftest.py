"""Fixtures of the alarm tests: a fresh engine per test, SMS into memory, and devices in both estates."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from linli.accounts.sms import MemorySmsSender
from linli.alarms import engine
from linli.alarms.tests import factories as f
from linli.orgs.roles import Role

T0 = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)  # Monday 12:00 in Asia/Shanghai


@pytest.fixture(autouse=True)
def fresh_engine(settings):
    settings.SMS_BACKEND = "linli.accounts.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    engine.reset()
    yield
    engine.reset()


@pytest.fixture
def dev(world):
    """One device of each kind the tests need in estate a (smoke and temperature share room 0), and a
    smoke detector and a wearable in estate b."""
    a, b = world.a, world.b
    admin, b_admin = a.staff[Role.PROPERTY_ADMIN], b.staff[Role.PROPERTY_ADMIN]
    mk = f.device
    return SimpleNamespace(
        smoke=mk(admin=admin, estate=a.estate, profile_key="smoke", room=a.rooms[0], name="1-101 烟感"),
        temp=mk(admin=admin, estate=a.estate, profile_key="temperature", room=a.rooms[0], name="1-101 温度"),
        gas=mk(admin=admin, estate=a.estate, profile_key="gas", building=a.building),
        hydrant=mk(
            admin=admin, estate=a.estate, profile_key="water_pressure", building=a.building, name="1号消火栓"
        ),
        elec=mk(admin=admin, estate=a.estate, profile_key="electrical_fire", building=a.building),
        lift=mk(admin=admin, estate=a.estate, profile_key="elevator", building=a.building, name="1号梯"),
        door=mk(admin=admin, estate=a.estate, profile_key="door_magnet", building=a.building),
        watch=mk(admin=admin, estate=a.estate, profile_key="wearable", room=a.rooms[1], name="老人手环"),
        b_smoke=mk(admin=b_admin, estate=b.estate, profile_key="smoke", room=b.rooms[0]),
        b_watch=mk(admin=b_admin, estate=b.estate, profile_key="wearable", room=b.rooms[1]),
    )
