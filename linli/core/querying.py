"""Query helpers for selectors (no API-layer imports: selectors must not depend on ninja)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from linli.core.errors import ValidationFailed


def apply_ordering(qs, ordering: str | None, allowed: dict[str, str], default: str):
    """Sort by a whitelisted key; ``-key`` for descending. Unknown keys are a 400."""
    key = ordering or default
    desc = key.startswith("-")
    name = key.lstrip("-")
    if name not in allowed:
        raise ValidationFailed(fields={"ordering": [_("可选值：") + ", ".join(sorted(allowed))]})
    column = allowed[name]
    return qs.order_by(f"-{column}" if desc else column, "-pk" if desc else "pk")
