"""Periodic jobs (SLA checks, late fees, missed patrols, reminders) run by `linli worker` or `linli tick`.

Apps register idempotent jobs with ``@periodic("name", every=timedelta(...))`` in their ``tasks.py``.
``run_due()`` runs each job whose interval has passed, claiming it with a row lock on its
``PeriodicRun`` row, so N workers on N machines never run the same job twice at the same time.
A job is a plain function taking ``now``; it calls services and returns a short summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.apps import apps
from django.db import transaction
from django.utils import timezone

log = logging.getLogger("linli.periodic")


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    func: Callable[[datetime], object]


REGISTRY: dict[str, Job] = {}


def periodic(name: str, *, every: timedelta):
    def register(func: Callable[[datetime], object]):
        REGISTRY[name] = Job(name=name, every=every, func=func)
        return func

    return register


def autodiscover() -> None:
    """Import every Linli app's ``tasks`` module so its jobs register."""
    for config in apps.get_app_configs():
        if config.name.startswith("linli."):
            try:
                import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.tasks":
                    raise


def run_due(now: datetime | None = None, *, only: str | None = None, force: bool = False) -> dict[str, str]:
    """Run every due job once; returns {job name: summary or error}."""
    from linli.core.models import PeriodicRun

    autodiscover()
    now = now or timezone.now()
    results: dict[str, str] = {}
    for job in sorted(REGISTRY.values(), key=lambda j: j.name):
        if only and job.name != only:
            continue
        PeriodicRun.objects.get_or_create(name=job.name)
        with transaction.atomic():
            run = PeriodicRun.objects.select_for_update().get(name=job.name)
            if not force and run.last_started_at and now - run.last_started_at < job.every:
                continue
            run.last_started_at = now
            run.save(update_fields=["last_started_at"])
        try:
            summary = job.func(now)
            outcome = str(summary if summary is not None else "ok")[:200]
        except Exception as exc:  # one failing job must not stop the others
            log.exception("periodic job %s failed", job.name)
            outcome = f"error: {exc.__class__.__name__}: {exc}"[:200]
        PeriodicRun.objects.filter(name=job.name).update(last_finished_at=timezone.now(), last_result=outcome)
        results[job.name] = outcome
    return results
