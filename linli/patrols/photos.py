"""Checking and cleaning uploaded photos (finding photos taken on a guard's phone).

Only JPEG, PNG and WebP are accepted; the byte size is limited by ``UPLOAD_IMAGE_MAX_BYTES`` (413)
and the pixel count by ``UPLOAD_IMAGE_MAX_PIXELS`` (400, checked from the header before decoding).
Every photo is decoded and re-encoded, which drops EXIF and any other metadata (GPS position,
device serial) and anything appended to the file; the phone's orientation tag is applied first.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from linli.core.errors import PayloadTooLarge, ValidationFailed

MAX_PHOTOS = 6
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(fields={field: [message]})


def clean_photo(upload, *, field: str = "photos") -> CleanPhoto:
    """Validate one uploaded file (anything with ``size`` and ``read()``) and re-encode it."""
    size = getattr(upload, "size", None)
    if size is None:
        raw = upload.read()
        size = len(raw)
    else:
        if size > settings.UPLOAD_IMAGE_MAX_BYTES:
            raise PayloadTooLarge(
                _("照片不能超过 %(mb).1f MB") % {"mb": settings.UPLOAD_IMAGE_MAX_BYTES / 1024 / 1024}
            )
        upload.seek(0)
        raw = upload.read(settings.UPLOAD_IMAGE_MAX_BYTES + 1)
    if len(raw) > settings.UPLOAD_IMAGE_MAX_BYTES:
        raise PayloadTooLarge(
            _("照片不能超过 %(mb).1f MB") % {"mb": settings.UPLOAD_IMAGE_MAX_BYTES / 1024 / 1024}
        )
    if not raw:
        raise _invalid(field, _("照片文件为空"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
            if image.width * image.height > settings.UPLOAD_IMAGE_MAX_PIXELS:
                raise _invalid(
                    field, _("照片像素过多（最多 %(n)d 像素）") % {"n": settings.UPLOAD_IMAGE_MAX_PIXELS}
                )
            fmt = image.format
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _invalid(field, _("只支持 JPEG、PNG、WebP 格式的照片")) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise _invalid(field, _("照片文件已损坏，无法读取")) from exc
    if fmt not in FORMATS:
        raise _invalid(field, _("只支持 JPEG、PNG、WebP 格式的照片"))
    image = ImageOps.exif_transpose(image)
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
    content_type, extension = FORMATS[fmt]
    return CleanPhoto(
        data=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=image.width,
        height=image.height,
    )


def clean_photos(uploads, *, field: str = "photos") -> list[CleanPhoto]:
    uploads = [u for u in (uploads or ()) if u is not None]
    if len(uploads) > MAX_PHOTOS:
        raise _invalid(field, _("最多上传 %(n)d 张照片") % {"n": MAX_PHOTOS})
    return [clean_photo(u, field=field) for u in uploads]
