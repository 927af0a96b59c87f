"""Work-order photos: every image is decoded, re-encoded without metadata and size-checked before
it is stored (at most ``MAX_PHOTOS`` per order)."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.images import clean_image
from linli.core.scoping import Actor
from linli.orgs.roles import Perm
from linli.workorders.models import (
    OPEN_STATES,
    EventKind,
    WorkOrder,
    WorkOrderPhoto,
)
from linli.workorders.services.common import MAX_PHOTOS, _check_visible, _event, is_reporter


def _store_photo(order: WorkOrder, *, actor: Actor | None, data: bytes, stage: str) -> WorkOrderPhoto:
    image = clean_image(data)
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
