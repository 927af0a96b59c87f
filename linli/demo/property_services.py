"""Demo data of the service modules: billed history, work orders, patrols, notices, votes, devices.

Each module owns its demo data in ``linli/<app>/demo.py``; this file only finds the demo estates and
the staff who work there and calls them in order (billing first: private repairs bill into it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from linli.orgs.roles import Role
from linli.orgs.selectors import staff_over
from linli.places.models import Region, RegionLevel


def _staff(estate: Region, role: str):
    return list(staff_over(estate, roles=[role]).order_by("username"))


def seed_all(*, today: date | None = None, log: Callable[[str], None] = print) -> None:
    from linli.access import demo as access_demo
    from linli.billing import demo as billing_demo
    from linli.demo import messages as messaging_demo
    from linli.devices import demo as devices_demo
    from linli.notices import demo as notices_demo
    from linli.parking import demo as parking_demo
    from linli.patrols import demo as patrols_demo
    from linli.votes import demo as votes_demo
    from linli.workorders import demo as workorders_demo

    for estate in Region.objects.filter(level=RegionLevel.ESTATE).order_by("path"):
        started = time.monotonic()
        billing_demo.seed(estate, months=6, today=today)
        workorders_demo.seed(estate, technicians=_staff(estate, Role.TECHNICIAN), today=today)
        patrols_demo.seed(estate, guards=_staff(estate, Role.GUARD), today=today)
        notices_demo.seed(estate)
        messaging_demo.seed(estate)
        votes_demo.seed(estate)
        devices_demo.seed(estate, log=log)
        access_demo.seed(estate, log=log)
        parking_demo.seed(estate, today=today)
        seconds = time.monotonic() - started
        log(
            f"  {estate.name}: billing, work orders, patrols, notices, messages, votes, devices, access, "
            f"parking ({seconds:.1f} s)"
        )
