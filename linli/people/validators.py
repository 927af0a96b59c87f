"""Transitional re-export: identifier validation and masking live in ``linli.core.pii``.

Only ``linli/access`` still imports these names from here (issue #9 follow-up: point it at
``linli.core.pii`` and delete this module).
"""

from linli.core.pii import InvalidIdentifier, mask_name, mask_phone, parse_mobile, parse_plate

__all__ = ["InvalidIdentifier", "mask_name", "mask_phone", "parse_mobile", "parse_plate"]
