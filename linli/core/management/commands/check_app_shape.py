"""``linli check_app_shape``: every app has the standard parts, no module is over 800 lines unless
allow-listed with its ADR, ``LINLI_*`` variables are read only in ``linli/config`` (ADR 0018).
Exits non-zero naming each problem; the exceptions live in ``linli/core/shape_allowlist.toml``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

import linli
from linli.core import shape

ALLOWLIST = Path(__file__).resolve().parents[2] / "shape_allowlist.toml"


class Command(BaseCommand):
    help = "Check the shape of the apps: standard parts, module length, env reads only in linli/config."

    def add_arguments(self, parser):
        parser.add_argument(
            "--root",
            type=Path,
            default=Path(linli.__file__).resolve().parent.parent,
            help="project root holding linli/ and docs/adr/ (default: this checkout)",
        )
        parser.add_argument("--allowlist", type=Path, default=ALLOWLIST, help="exceptions file (TOML)")

    def handle(self, *args, root: Path, allowlist: Path, **options):
        allow = shape.Allowlist.load(allowlist)
        problems = [
            *shape.missing_parts(root, allow),
            *shape.long_modules(root, allow),
            *shape.env_reads(root),
        ]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(
                f"{len(problems)} shape problem(s); exceptions go in {allowlist} with a reason"
            )
        self.stdout.write(f"{len(shape.apps(root))} apps in shape")
