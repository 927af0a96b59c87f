"""QR codes of checkpoints as inline SVG (qrcode's SVG path factory: one <path>, crisp in print)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.utils.safestring import SafeString, mark_safe


def svg(data: str, *, box_size: int = 10) -> SafeString:
    """An ``<svg>`` element (no XML declaration) drawing ``data`` as a QR code, error correction M."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=2,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image()
    text = image.to_string(encoding="unicode")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :]
    # The content is generated here from our own URL (escaped by ElementTree), never user markup.
    return mark_safe(text.strip())  # noqa: S308
