"""Periodic jobs of entry and exit: the elderly not-seen scan, retention purges (R63, R64), overdue
device deletions (R25) and the move-out sweep of biometric templates (R28)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from linli.access.insights.anomalies import not_seen_scan
from linli.access.models import AccessEvent, AccessSettings, AccessSubject, BiometricTemplate, CodeUse
from linli.core.periodic import periodic

log = logging.getLogger("linli.access.tasks")

PURGE_BATCH = 5000
CODE_USE_KEEP = timedelta(days=1)


@periodic("access.not_seen_scan", every=timedelta(minutes=15))
def not_seen(now: datetime) -> str:
    result = not_seen_scan(now)
    return f"not seen: opened {result['opened']}, closed {result['closed']}"


def _delete_in_batches(qs) -> int:
    """Delete the rows of ``qs`` a batch at a time (short transactions on a large table)."""
    total = 0
    while True:
        ids = list(qs.order_by().values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return total
        n, _per_model = qs.model.objects.filter(pk__in=ids).delete()
        total += n


def purge_access_events(now: datetime) -> int:
    """Delete access events older than the estate's ``event_retention_days`` (default 180, R64)."""
    default_days = AccessSettings._meta.get_field("event_retention_days").default
    custom: dict[int, list[int]] = {}
    for estate_id, days in AccessSettings.objects.values_list("estate_id", "event_retention_days"):
        custom.setdefault(days, []).append(estate_id)
    listed = [e for ids in custom.values() for e in ids]
    deleted = _delete_in_batches(
        AccessEvent.objects.filter(occurred_at__lt=now - timedelta(days=default_days)).exclude(
            estate_id__in=listed
        )
    )
    for days, estate_ids in sorted(custom.items()):
        deleted += _delete_in_batches(
            AccessEvent.objects.filter(estate_id__in=estate_ids, occurred_at__lt=now - timedelta(days=days))
        )
    return deleted


def purge_code_uses(now: datetime) -> int:
    """Replay-guard rows outlive every code after a day (codes live minutes; printed ones are refused
    by their own window)."""
    return _delete_in_batches(CodeUse.objects.filter(used_at__lt=now - CODE_USE_KEEP))


@periodic("access.purge_events", every=timedelta(hours=1))
def purge_events(now: datetime) -> str:
    events = purge_access_events(now)
    uses = purge_code_uses(now)
    return f"purged {events} access events, {uses} code uses"


@periodic("access.purge_visitors", every=timedelta(hours=1))
def purge_visitors(now: datetime) -> str:
    from linli.access.visitors.services import purge_expired_visitors

    return f"purged {purge_expired_visitors(now)} visitor passes"


@periodic("access.device_deletes_overdue", every=timedelta(hours=1))
def device_deletes_overdue(now: datetime) -> str:
    from linli.access.biometrics.device_sync import overdue_deletes

    return f"overdue device deletions: {overdue_deletes(now=now)}"


def moved_out_subjects():
    """Access subjects that still hold biometric templates although every occupancy of their person
    has ended (the person lived here, and lives here no more)."""
    from linli.people.models import Occupancy

    return (
        AccessSubject.objects.filter(
            Exists(BiometricTemplate.objects.filter(subject=OuterRef("pk"))),
            Exists(Occupancy.objects.filter(person=OuterRef("person_id"))),
        )
        .exclude(Exists(Occupancy.objects.filter(person=OuterRef("person_id"), end_date__isnull=True)))
        .select_related("person")
        .order_by("pk")
    )


@periodic("access.moved_out_sweep", every=timedelta(hours=1))
def moved_out_sweep(now: datetime) -> str:
    """R28: templates of residents who moved out are deleted, and their removal queued for devices."""
    from linli.access.biometrics.services import on_person_moved_out

    done = failed = 0
    for subject in moved_out_subjects()[:1000]:
        try:
            with transaction.atomic():
                on_person_moved_out(subject.person)
            done += 1
        except Exception:  # one person's failure must not stop the others; the next run retries
            log.exception("move-out sweep failed for access subject %s", subject.pk)
            failed += 1
    return f"moved out: {done} persons swept" + (f", {failed} failed" if failed else "")
