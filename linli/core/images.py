"""One rule set for uploaded photos (work-order photos, patrol findings, ...).

``clean_image`` accepts JPEG, PNG and WebP only. Too many bytes (``UPLOAD_IMAGE_MAX_BYTES``) or too
many pixels (``UPLOAD_IMAGE_MAX_PIXELS``, read from the header before anything is decoded, so a
decompression bomb never reaches memory) is ``PayloadTooLarge`` (413): both mean "this upload is too
big", whatever the caller. Anything else that is not a readable image is ``ValidationFailed`` (400)
on ``field``. Every accepted photo is decoded and re-encoded in its own format, with the phone's
orientation applied first: EXIF and every other piece of metadata (GPS position, device serial) and
anything appended after the image data are dropped.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from linli.core.errors import PayloadTooLarge, ValidationFailed

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


class Upload(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _too_many_bytes() -> PayloadTooLarge:
    return PayloadTooLarge(
        _("照片不能超过 %(mb).1f MB") % {"mb": settings.UPLOAD_IMAGE_MAX_BYTES / 1024 / 1024}
    )


def _too_many_pixels() -> PayloadTooLarge:
    return PayloadTooLarge(_("照片像素过多（最多 %(n)d 像素）") % {"n": settings.UPLOAD_IMAGE_MAX_PIXELS})


def _read(upload: bytes | Upload) -> bytes:
    """The bytes of the upload, reading at most one byte past the cap (a huge upload is never held)."""
    if isinstance(upload, bytes):
        raw = upload
    else:
        if getattr(upload, "size", None) is not None and upload.size > settings.UPLOAD_IMAGE_MAX_BYTES:  # type: ignore[attr-defined]
            raise _too_many_bytes()
        if hasattr(upload, "seek"):
            upload.seek(0)
        raw = upload.read(settings.UPLOAD_IMAGE_MAX_BYTES + 1)
    if len(raw) > settings.UPLOAD_IMAGE_MAX_BYTES:
        raise _too_many_bytes()
    return raw


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        image.save(out, format="WEBP", quality=85)
    return out.getvalue()


def clean_image(upload: bytes | Upload, *, field: str = "photo") -> CleanImage:
    """Check one uploaded photo (bytes, or a file with ``read``) and return it re-encoded without
    metadata. Raises ``PayloadTooLarge`` (bytes or pixels over the caps) or ``ValidationFailed``
    on ``field`` (empty, not JPEG/PNG/WebP, corrupt)."""
    raw = _read(upload)

    def invalid(message: str) -> ValidationFailed:
        return ValidationFailed(fields={field: [message]})

    if not raw:
        raise invalid(_("照片文件为空"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
            if image.width * image.height > settings.UPLOAD_IMAGE_MAX_PIXELS:
                raise _too_many_pixels()
            fmt = image.format
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        raise invalid(_("只支持 JPEG、PNG、WebP 格式的照片")) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise invalid(_("照片文件已损坏，无法读取")) from exc
    if fmt not in FORMATS:
        raise invalid(_("只支持 JPEG、PNG、WebP 格式的照片"))
    upright = ImageOps.exif_transpose(image) or image
    content_type, extension = FORMATS[fmt]
    return CleanImage(_encode(upright, fmt), content_type, extension, upright.width, upright.height)
