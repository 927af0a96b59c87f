"""Periodic billing jobs (run by `linli worker` / `linli tick`): late fees and arrears reminders."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from linli.billing import services
from linli.core.periodic import periodic


@periodic("billing.late_fee_apply", every=timedelta(hours=6))
def late_fee_apply(now):
    changed = services.late_fee_apply(today=timezone.localdate(now))
    return f"late fees updated on {changed} bills"


@periodic("billing.arrears_remind", every=timedelta(hours=12))
def arrears_remind(now):
    created = services.arrears_remind(today=timezone.localdate(now))
    return f"{created} reminders"
