"""The ``linli`` command: ``linli demo``, ``linli web`` and every Django management command."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.config.settings")
    if len(argv) >= 2 and argv[1] == "demo":
        _demo_env(argv[2:])
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def _demo_env(args: list[str]) -> None:
    """The demo keeps everything in its data directory; set it before settings load."""
    for i, arg in enumerate(args):
        if arg == "--data-dir" and i + 1 < len(args):
            os.environ["LINLI_DATA_DIR"] = os.path.abspath(args[i + 1])
        elif arg.startswith("--data-dir="):
            os.environ["LINLI_DATA_DIR"] = os.path.abspath(arg.split("=", 1)[1])
    os.environ.setdefault("LINLI_DATA_DIR", os.path.abspath("linli-demo"))


if __name__ == "__main__":
    main()
