"""``linli web``: the web application under gunicorn (gthread workers), for production.

    linli web [--bind 127.0.0.1:8000] [--workers 2] [--threads 4]

Defaults come from ``LINLI_BIND``, ``LINLI_WORKERS`` and ``LINLI_THREADS``. Stateless: run several
behind nginx. It logs the deployment checks (``check --deploy``) at start and refuses to start on a
check error; it never migrates (run ``linli migrate`` as a release step) but warns about unapplied
migrations.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from linli.demo import server

log = logging.getLogger("linli.web")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Serve the site with gunicorn (production); defaults from LINLI_BIND, LINLI_WORKERS, LINLI_THREADS."
    )
    requires_system_checks: list = []  # run below, with the deployment checks, into the log

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--bind",
            action="append",
            default=None,
            help="host:port or unix:/path (repeatable; default $LINLI_BIND or 127.0.0.1:8000)",
        )
        parser.add_argument(
            "--workers", type=_positive, default=None, help="worker processes (default $LINLI_WORKERS or 2)"
        )
        parser.add_argument(
            "--threads", type=_positive, default=None, help="threads per worker (default $LINLI_THREADS or 4)"
        )

    def handle(self, *args, **options) -> None:
        binds = options["bind"] or settings.WEB_BIND
        workers = options["workers"] or settings.WEB_WORKERS
        threads = options["threads"] or settings.WEB_THREADS
        if workers < 1 or threads < 1:
            raise CommandError("LINLI_WORKERS and LINLI_THREADS must be at least 1")
        self._log_checks()
        self._warn_unapplied_migrations()
        connections.close_all()  # each worker opens its own connections
        options = server.gunicorn_options(bind=binds, workers=workers, threads=threads, proc_name="linli-web")
        options["accesslog"] = "-"
        server.LinliServer(options).run()

    def _log_checks(self) -> None:
        messages = checks.run_checks(include_deployment_checks=True)
        serious = [m for m in messages if m.is_serious()]
        for message in messages:
            log.log(logging.ERROR if message.is_serious() else logging.WARNING, "check --deploy: %s", message)
        if not messages:
            log.info("check --deploy: no issues")
        if serious:
            raise CommandError(f"{len(serious)} system check error(s); see the log above", returncode=3)

    def _warn_unapplied_migrations(self) -> None:
        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:  # the database may be unreachable yet; gunicorn workers will report it
            log.warning("could not check migrations: %s", exc)
            return
        if plan:
            log.warning("%d unapplied migration(s): run `linli migrate` before serving", len(plan))
