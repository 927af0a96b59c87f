"""Runs mypy over linli and compares its errors per module with ``mypy-baseline.txt`` (ADR 0018).

    python scripts/mypy_baseline.py            # check: exit 1 on any difference
    python scripts/mypy_baseline.py --update   # rewrite the baseline (only to shrink it)

A module not in the baseline must be clean; a listed one must have exactly its listed number of
errors, so the list can only shrink. The comparison lives in ``linli.core.shape`` (tested there).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's linli, not an installed one

from linli.core import shape  # noqa: E402

BASELINE = ROOT / "mypy-baseline.txt"


def main(argv: list[str]) -> int:
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "linli", "--no-error-summary", "--hide-error-context"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        sys.stderr.write(run.stdout + run.stderr)
        return 2
    counts = shape.mypy_error_counts(run.stdout)
    if argv == ["--update"]:
        BASELINE.write_text(shape.format_mypy_baseline(counts), encoding="utf-8")
        print(f"{BASELINE.name}: {sum(counts.values())} errors in {len(counts)} modules")
        return 0
    problems = shape.mypy_baseline_problems(shape.read_mypy_baseline(BASELINE.read_text("utf-8")), counts)
    for problem in problems:
        print(problem)
    if problems:
        new = sorted({line.split(":")[0] for line in problems} & set(counts))
        for line in run.stdout.splitlines():
            if line.split(":")[0] in new:
                print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
