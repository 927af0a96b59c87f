"""Test data for alarms: devices through the devices app's service, stored items as the ingest hands
them to the engine, and recent telemetry rows for the engine's fallback queries."""

from __future__ import annotations

import itertools
from datetime import datetime

from linli.devices.ingest import StoredItem
from linli.devices.models import DeviceProfile, Telemetry
from linli.orgs.selectors import actor_for_user

_seq = itertools.count(1)


def profile(key: str) -> DeviceProfile:
    return DeviceProfile.objects.get(key=key)


def device(*, admin, estate, profile_key: str, room=None, building=None, name: str | None = None):
    from linli.devices.services import device_create

    n = next(_seq)
    creds = device_create(
        actor=actor_for_user(admin),
        estate=estate,
        profile=profile(profile_key),
        name=name or f"{profile_key}-{n}",
        key=f"t-{profile_key.replace('_', '-')}-{n}",
        room=room,
        building=building,
    )
    return creds.device


def telemetry(dev, ts: datetime, **values) -> StoredItem:
    return StoredItem(
        device_id=dev.pk, kind="telemetry", seq=next(_seq), ts=ts, values=values, event=None, data={}
    )


def event(dev, ts: datetime, name: str, **data) -> StoredItem:
    return StoredItem(device_id=dev.pk, kind="event", seq=next(_seq), ts=ts, values={}, event=name, data=data)


def stored_telemetry(dev, ts: datetime, **values) -> Telemetry:
    """A telemetry row already in the database (what another gateway stored before this one started)."""
    return Telemetry.objects.create(device=dev, seq=next(_seq), ts=ts, received_at=ts, values=values)
