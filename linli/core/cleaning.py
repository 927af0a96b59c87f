"""Cleaning of free-text inputs for services: one rule for every app's names, notes and reasons."""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext as _

from linli.core.errors import ValidationFailed


def clean_text(value, *, field: str, max_length: int, required: bool = False) -> str:
    """A text input as it is stored: NUL characters dropped (PostgreSQL refuses them), surrounding space
    stripped, then required and length checked. A failure is ``ValidationFailed`` on ``field`` (400)."""
    text = ("" if value is None else str(value)).replace("\x00", "").strip()
    if required and not text:
        raise ValidationFailed(fields={field: [_("此项为必填项")]})
    if len(text) > max_length:
        raise ValidationFailed(fields={field: [_("最多 %(n)d 个字符") % {"n": max_length}]})
    return text


# Characters that change how a name is displayed without being seen: controls (Cc), format characters
# (Cf: bidi embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, marks U+200E/U+200F,
# zero-width U+200B–U+200D, word joiner U+2060…U+2064, BOM U+FEFF, tag characters), line and paragraph
# separators, surrogates, private use and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Blank letters that render as nothing (Hangul fillers, braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def strip_invisible(value) -> str:
    """``value`` without invisible, control and bidi characters; tabs, newlines and other spaces made
    plain, runs of space collapsed and the ends trimmed: ``"王\\u202e五\\u200b"`` → ``"王五"``."""
    text = "" if value is None else str(value)
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES:
            kept.append(ch)
    return " ".join("".join(kept).split())


def clean_name(value, *, field: str, max_length: int, required: bool = False) -> str:
    """A name that identifies someone or something (person, user, visitor, organisation) as it is
    stored: ``strip_invisible`` then the rules of ``clean_text``."""
    return clean_text(strip_invisible(value), field=field, max_length=max_length, required=required)
