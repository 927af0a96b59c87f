"""Checks a gettext catalogue: every entry translated, none fuzzy, placeholders kept, .mo up to date.

    python scripts/i18n_check.py linli/locale/en/LC_MESSAGES/django.po [--mo]

Prints one line per problem and exits 1 when there is any. ``--mo`` also compares the compiled
``django.mo`` beside the .po with it. Pure Python (no gettext tools, no polib), so the test suite
(``linli/console/tests/test_i18n.py``) uses the same functions.
"""

from __future__ import annotations

import ast
import gettext
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')
# %(name)s / %(n).1f / %s / %d and {name} placeholders; "%%" is a literal percent sign.
_PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*(?:\.\d+)?[sdifr]|\{[A-Za-z_]\w*\}"
)


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def parse_po(path: Path | str) -> list[Entry]:
    """The entries of a .po file (the header included, obsolete ``#~`` entries marked)."""
    entries: list[Entry] = []
    cur = Entry()
    target: tuple[str, int] | None = None
    started = False

    def flush() -> None:
        nonlocal cur, started, target
        if started:
            entries.append(cur)
        cur, started, target = Entry(), False, None

    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#~"):
            cur.obsolete = True
            continue
        if line.startswith("#,"):
            cur.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            text = ast.literal_eval(literal)
            if keyword in ("msgctxt", "msgid") and started and cur.msgstr:
                flush()  # a new entry without a blank line before it
            if not started:
                cur.line, started = number, True
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                cur.msgstr[target[1]] = text
            else:
                target = (keyword, 0)
                setattr(cur, keyword, text)
        elif line.startswith('"') and target is not None:
            text = ast.literal_eval(line)
            if target[0] == "msgstr":
                cur.msgstr[target[1]] += text
            else:
                setattr(cur, target[0], getattr(cur, target[0]) + text)
        else:
            raise ValueError(f"{path}:{number}: cannot parse {raw!r}")
    flush()
    return entries


def _placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text.replace("%%", "")))


def problems(po_path: Path | str) -> list[str]:
    """Untranslated, fuzzy and placeholder-changing entries (obsolete entries are ignored)."""
    found: list[str] = []
    for e in parse_po(po_path):
        if e.obsolete:
            continue
        if "fuzzy" in e.flags:
            found.append(f"fuzzy: {e.label}")
        if e.is_header:
            continue
        forms = [e.msgstr.get(i, "") for i in range(max(len(e.msgstr), 2 if e.msgid_plural else 1))]
        if any(not s.strip() for s in forms):
            found.append(f"untranslated: {e.label}")
            continue
        if "python-format" in e.flags or "python-brace-format" in e.flags or _placeholders(e.msgid):
            expected = _placeholders(e.msgid_plural or e.msgid)
            for index, text in enumerate(forms):
                got = _placeholders(text)
                # The singular of a plural may leave the count out ("one room"), never add one.
                if got != expected and not (e.msgid_plural and index == 0 and set(got) <= set(expected)):
                    found.append(f"placeholders {got} instead of {expected}: {e.label}")
    return found


def mo_problems(po_path: Path | str, mo_path: Path | str | None = None) -> list[str]:
    """Entries whose translation in the compiled .mo differs from the .po (run compilemessages)."""
    po_path = Path(po_path)
    mo_path = Path(mo_path) if mo_path else po_path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{mo_path} is missing"]
    with mo_path.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    found: list[str] = []
    for e in parse_po(po_path):
        if e.obsolete or e.is_header or "fuzzy" in e.flags:
            continue
        if e.msgid_plural:
            compiled = [
                mo.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                if e.msgctxt
                else mo.ngettext(e.msgid, e.msgid_plural, n)
                for n in (1, 2)
            ]
            expected = [e.msgstr.get(0, "") or e.msgid, e.msgstr.get(1, "") or e.msgid_plural]
        else:
            compiled = [mo.pgettext(e.msgctxt, e.msgid) if e.msgctxt else mo.gettext(e.msgid)]
            expected = [e.msgstr.get(0, "") or e.msgid]
        if compiled != expected:
            found.append(f"not compiled: {e.label}")
    return found


def main(argv: list[str]) -> int:
    paths = [a for a in argv if not a.startswith("--")]
    failed = False
    for path in paths:
        found = problems(path) + (mo_problems(path) if "--mo" in argv else [])
        for problem in found:
            print(f"{path}: {problem}", file=sys.stderr)
        failed = failed or bool(found)
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
