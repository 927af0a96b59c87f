"""``linli check_adapters``: validate every adapter folder (manifest keys, codec/adapter import, fixtures)."""

from django.core.management.base import BaseCommand, CommandError

from linli.adapters import registry


class Command(BaseCommand):
    help = "Validate every device adapter's manifest.toml, codec, adapter and fixtures."

    def handle(self, *args, **options) -> None:
        problems = registry.check_all()
        for p in problems:
            self.stderr.write(p)
        if problems:
            raise CommandError(f"{len(problems)} adapter problem(s)")
        self.stdout.write(f"{len(registry.folders())} adapters OK: {', '.join(registry.keys())}")
