"""Write the v1 OpenAPI schema to a file, or check that the committed file matches the code."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


def render_schema() -> str:
    from linli.api import api

    # The trailing slash matters: ninja joins the prefix to each router's prefix without a separator, and
    # nested routers (access) have prefixes without a leading slash ("/api/v1access/..." otherwise).
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "Export the OpenAPI schema of /api/v1 (use --check in CI to fail when the committed file drifts)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default="docs/openapi.json")
        parser.add_argument("--check", action="store_true", help="fail if the file differs from the code")

    def handle(self, *args, path: str, check: bool, **options):
        current = render_schema()
        target = Path(path)
        if check:
            committed = target.read_text(encoding="utf-8") if target.exists() else ""
            if committed != current:
                diff = "".join(
                    list(
                        difflib.unified_diff(
                            committed.splitlines(True), current.splitlines(True), "committed", "generated"
                        )
                    )[:60]
                )
                raise CommandError(
                    f"{path} is out of date with the API code. "
                    f"Run 'linli export_openapi {path}' and commit it.\n" + diff
                )
            self.stdout.write(f"{path} matches the code.")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(current, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
