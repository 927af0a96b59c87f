"""Work-order photos: every image is decoded, re-encoded without metadata and size-checked before
it is stored (at most ``MAX_PHOTOS`` per order)."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, PayloadTooLarge, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.workorders.models import (
    OPEN_STATES,
    EventKind,
    WorkOrder,
    WorkOrderPhoto,
)
from linli.workorders.services.common import MAX_PHOTOS, _check_visible, _event, is_reporter

IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def image_clean(data: bytes) -> CleanImage:
    """Validate an uploaded photo (JPEG/PNG/WebP, size, pixel count) and re-encode it without EXIF or
    other metadata (a phone photo's EXIF carries the location). Too large → 413, not an image → 400."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > settings.UPLOAD_IMAGE_MAX_BYTES:
        raise PayloadTooLarge(
            _("照片不能超过 %(mb).1f MB") % {"mb": settings.UPLOAD_IMAGE_MAX_BYTES / 1024 / 1024}
        )
    invalid = ValidationFailed(fields={"photo": [_("请上传 JPEG、PNG 或 WebP 格式的图片")]})
    try:
        img = Image.open(io.BytesIO(data))
        fmt = img.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise invalid from exc
    if fmt not in IMAGE_FORMATS:
        raise invalid
    width, height = img.size
    if width * height > settings.UPLOAD_IMAGE_MAX_PIXELS:
        raise PayloadTooLarge(_("照片像素过多（最多 %(n)d 像素）") % {"n": settings.UPLOAD_IMAGE_MAX_PIXELS})
    try:
        img.load()
        img = ImageOps.exif_transpose(img) or img
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        clean = img.copy()
        clean.info = {}
        out = io.BytesIO()
        options = {"quality": 88} if fmt in ("JPEG", "WEBP") else {}
        clean.save(out, format=fmt, **options)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise invalid from exc
    content_type, ext = IMAGE_FORMATS[fmt]
    return CleanImage(out.getvalue(), content_type, ext, clean.width, clean.height)


def _store_photo(order: WorkOrder, *, actor: Actor | None, data: bytes, stage: str) -> WorkOrderPhoto:
    image = image_clean(data)
    photo = WorkOrderPhoto(
        order=order,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
        stage=stage,
        uploaded_by=actor.user if actor is not None else None,
    )
    name = f"{order.estate_id}/{order.pk}/{uuid.uuid4().hex}.{image.extension}"  # under upload_to
    photo.image.save(name, ContentFile(image.data), save=False)
    photo.save()
    return photo


@transaction.atomic
def workorder_photo_add(*, actor: Actor, order: WorkOrder, data: bytes) -> WorkOrderPhoto:
    """Attach a photo: the reporter (before completion), the assigned technician or staff."""
    _check_visible(actor, order)
    if is_reporter(actor, order):
        stage = WorkOrderPhoto.Stage.REPORT
        if order.state not in OPEN_STATES:
            raise Conflict(
                _("工单当前状态为「%(state)s」，不能上传照片") % {"state": order.get_state_display()}
            )
    elif actor.has(Perm.WORKORDERS_MANAGE) or order.assignee_id == actor.user.pk:
        actor.require(Perm.WORKORDERS_VIEW, write=True)
        stage = (
            WorkOrderPhoto.Stage.RESULT if order.assignee_id == actor.user.pk else WorkOrderPhoto.Stage.REPORT
        )
    else:
        raise PermissionDenied()
    if order.photos.count() >= MAX_PHOTOS:
        raise ValidationFailed(fields={"photo": [_("每个工单最多 %(n)d 张照片") % {"n": MAX_PHOTOS}]})
    photo = _store_photo(order, actor=actor, data=data, stage=stage)
    _event(order, kind=EventKind.PHOTO, actor=actor, note=photo.get_stage_display())
    audit.record(Action.CREATE, actor=actor, obj=photo, estate_id=order.estate_id)
    return photo
