"""Periodic jobs of the devices app (run by ``linli worker``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from linli.core.periodic import periodic
from linli.devices import services


@periodic("devices.offline_check", every=timedelta(minutes=1))
def offline_check(now: datetime) -> str:
    went_offline, _came_back = services.devices_offline_check(now=now)
    return f"{len(went_offline)} went offline"


@periodic("devices.purge_rejected", every=timedelta(hours=1))
def purge_rejected(now: datetime) -> str:
    return f"{services.rejected_purge(now=now)} samples purged"
