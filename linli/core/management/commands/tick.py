"""``linli tick``: run the periodic jobs that are due, once (for cron, or to catch up by hand)."""

from django.core.management.base import BaseCommand

from linli.core.periodic import run_due


class Command(BaseCommand):
    help = "Run every periodic job that is due (SLA checks, late fees, missed patrols, reminders) once."

    def add_arguments(self, parser):
        parser.add_argument("--only", help="run just this job")
        parser.add_argument("--force", action="store_true", help="run even if not due yet")

    def handle(self, *args, only=None, force=False, **options):
        results = run_due(only=only, force=force)
        for name, outcome in results.items():
            self.stdout.write(f"{name}: {outcome}")
        if not results:
            self.stdout.write("no job due")
