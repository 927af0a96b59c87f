"""The photos of a finding (taken on a guard's phone): at most ``MAX_PHOTOS``, each checked and
re-encoded by ``linli.core.images.clean_image`` (413 for too many bytes or pixels, EXIF dropped)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from linli.core.errors import ValidationFailed
from linli.core.images import CleanImage, clean_image

MAX_PHOTOS = 6


def clean_photos(uploads, *, field: str = "photos") -> list[CleanImage]:
    uploads = [u for u in (uploads or ()) if u is not None]
    if len(uploads) > MAX_PHOTOS:
        raise ValidationFailed(fields={field: [_("最多上传 %(n)d 张照片") % {"n": MAX_PHOTOS}]})
    return [clean_image(u, field=field) for u in uploads]
