"""Periodic patrol jobs: plan the runs of today and tomorrow, close runs whose window has ended."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from linli.core.periodic import periodic
from linli.patrols import services


@periodic("patrols.plan_runs", every=timedelta(hours=1))
def plan_runs(now: datetime) -> str:
    """Create today's and tomorrow's runs (idempotent: one run per schedule and day)."""
    today = timezone.localdate(now)
    created = services.runs_plan(day=today) + services.runs_plan(day=today + timedelta(days=1))
    return f"planned {created} runs"


@periodic("patrols.detect_missed", every=timedelta(minutes=5))
def detect_missed(now: datetime) -> str:
    """Close runs whose window has ended (completed / partial / missed) and notify supervisors once."""
    r = services.runs_close_due(now=now)
    return (
        f"closed {r.closed} runs: {r.completed} completed, {r.partial} partial, {r.missed} missed; "
        f"{r.notified} notices"
    )
