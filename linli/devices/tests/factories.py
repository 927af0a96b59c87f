"""Test data for devices, created through the services (keys, secrets and paths are real)."""

from __future__ import annotations

import itertools

from linli.devices import services
from linli.devices.models import Device, DeviceProfile
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

_seq = itertools.count(1)


def device(
    side,
    *,
    profile: str = "smoke",
    adapter: str = "generic",
    vendor_id: str = "",
    floor: int | None = 3,
    key: str = "",
) -> tuple[Device, str]:
    """A device in ``side``'s building (``world.a`` / ``world.b``); returns (device, secret)."""
    actor = actor_for_user(side.staff[Role.PROPERTY_ADMIN])
    creds = services.device_create(
        actor=actor,
        estate=side.estate,
        profile=DeviceProfile.objects.get(key=profile),
        name=f"{profile} {next(_seq)}",
        key=key,
        building=side.building,
        floor=floor,
        adapter=adapter,
        vendor_id=vendor_id,
    )
    return creds.device, creds.secret
