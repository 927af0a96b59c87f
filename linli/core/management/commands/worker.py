"""``linli worker``: drain the task queue (django-tasks database backend) and run periodic jobs.

Run one or more per deployment; periodic jobs are claimed with a row lock, tasks by the backend.
"""

from __future__ import annotations

import logging
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from linli.core.periodic import run_due

log = logging.getLogger("linli.worker")


class Command(BaseCommand):
    help = "Process background tasks and run periodic jobs until stopped."

    def add_arguments(self, parser):
        parser.add_argument(
            "--tick-seconds", type=float, default=30.0, help="how often periodic jobs are checked"
        )
        parser.add_argument("--no-periodic", action="store_true", help="only drain the task queue")

    def handle(self, *args, tick_seconds: float, no_periodic: bool, **options):
        stop = threading.Event()
        if not no_periodic:
            threading.Thread(
                target=self._ticker, args=(stop, tick_seconds), name="linli-ticker", daemon=True
            ).start()
        try:
            call_command("db_worker", interval=1.0)
        finally:
            stop.set()

    @staticmethod
    def _ticker(stop: threading.Event, every: float) -> None:
        while True:
            try:
                for name, outcome in run_due().items():
                    log.info("periodic %s: %s", name, outcome)
            except Exception:
                log.exception("periodic tick failed")
            finally:
                close_old_connections()
            if stop.wait(every):
                return
