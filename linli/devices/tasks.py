"""Periodic jobs of the devices app (run by ``linli worker``)."""

from __future__ import annotations

from datetime import timedelta

from linli.core.periodic import periodic
from linli.devices import services


@periodic("devices.offline_check", every=timedelta(minutes=1))
def offline_check() -> None:
    services.devices_offline_check()


@periodic("devices.purge_rejected", every=timedelta(hours=1))
def purge_rejected() -> None:
    services.rejected_purge()
