"""Periodic jobs of the workorders app."""

from __future__ import annotations

from datetime import timedelta

from linli.core.periodic import periodic
from linli.workorders.services import workorder_sla_check


@periodic("workorders.sla_check", every=timedelta(minutes=1))
def sla_check(now):
    """Mark response/completion SLA breaches once each and escalate them to the supervisors."""
    counts = workorder_sla_check(now=now)
    return f"response={counts['response']} completion={counts['completion']}"
