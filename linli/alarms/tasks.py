"""Periodic jobs of the alarms app."""

from __future__ import annotations

from datetime import datetime, timedelta

from linli.alarms.services import alarms_escalate
from linli.core.periodic import periodic


@periodic("alarms.escalate", every=timedelta(minutes=1))
def escalate(now: datetime) -> str:
    return f"escalated {alarms_escalate(now=now)}"
