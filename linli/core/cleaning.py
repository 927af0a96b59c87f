"""Cleaning of free-text inputs for services: one rule for every app's names, notes and reasons."""

from __future__ import annotations

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
