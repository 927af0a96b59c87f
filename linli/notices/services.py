"""Writes for notices: create, edit, publish and withdraw a notice, and residents' read receipts.

Staff services need ``notices.manage`` and an estate in the actor's scope; each writes its audit
record in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import Action
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.scoping import Actor
from linli.notices.models import Notice, NoticeCategory, NoticeReceipt, NoticeStatus
from linli.orgs.roles import Perm
from linli.places.models import Region, RegionLevel
from linli.places.selectors import require_estate

# --- notices -----------------------------------------------------------------------------------

TITLE_MAX = 120
BODY_MAX = 20000


def _resolve_target(estate: Region, target: Region | None) -> Region:
    """The notice's target: the estate itself, or a building or unit under it."""
    if target is None:
        return estate
    if target.pk == estate.pk:
        return estate
    if target.level not in (RegionLevel.BUILDING, RegionLevel.UNIT) or not target.path.startswith(
        estate.path
    ):
        raise ValidationFailed(fields={"target_id": [_("发布范围必须是本小区、本小区的楼栋或单元")]})
    return target


def _clean(title: str, body: str, category: str, expires_at: datetime | None) -> dict:
    errors: dict[str, list[str]] = {}
    title = (title or "").replace("\x00", "").strip()
    body = (body or "").replace("\x00", "").strip()
    if not title:
        errors["title"] = [_("请填写标题")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("标题不能超过 %(n)d 个字") % {"n": TITLE_MAX}]
    if not body:
        errors["body"] = [_("请填写正文")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("正文不能超过 %(n)d 个字") % {"n": BODY_MAX}]
    if category not in NoticeCategory.values:
        errors["category"] = [_("类别无效")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("截止时间必须晚于当前时间")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {"title": title, "body": body, "category": category, "expires_at": expires_at}


@transaction.atomic
def notice_create(
    *,
    actor: Actor,
    estate: Region,
    title: str,
    body: str,
    category: str = NoticeCategory.NOTICE,
    target: Region | None = None,
    pinned: bool = False,
    expires_at: datetime | None = None,
    publish: bool = False,
) -> Notice:
    """A draft notice (or published at once with ``publish=True``) for the estate or part of it."""
    require_estate(actor=actor, estate=estate, perm=Perm.NOTICES_MANAGE, write=True)
    target = _resolve_target(estate, target)
    data = _clean(title, body, category, expires_at)
    notice = Notice.objects.create(
        estate=estate, target=target, path=target.path, pinned=bool(pinned), created_by=actor.user, **data
    )
    audit.record(Action.CREATE, actor=actor, obj=notice, detail={"target": target.pk})
    if publish:
        notice = notice_publish(actor=actor, notice=notice)
    return notice


@transaction.atomic
def notice_update(
    *,
    actor: Actor,
    notice: Notice,
    title: str | None = None,
    body: str | None = None,
    category: str | None = None,
    target: Region | None = None,
    pinned: bool | None = None,
    expires_at: datetime | None = None,
) -> Notice:
    """Edit a notice. Title, body and scope only while it is a draft; pinning and the expiry any time
    before it is withdrawn."""
    require_estate(actor=actor, estate=notice.estate, perm=Perm.NOTICES_MANAGE, write=True)
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.status == NoticeStatus.WITHDRAWN:
        raise Conflict(_("通知已撤回，不能再修改"))
    content_change = any(v is not None for v in (title, body, category, target))
    if content_change and notice.status != NoticeStatus.DRAFT:
        raise Conflict(_("通知已发布，只能修改置顶和截止时间；如需更正请撤回后重新发布"))
    data = _clean(
        title if title is not None else notice.title,
        body if body is not None else notice.body,
        category if category is not None else notice.category,
        expires_at if expires_at is not None else None,
    )
    changed = []
    for key in ("title", "body", "category"):
        if getattr(notice, key) != data[key]:
            setattr(notice, key, data[key])
            changed.append(key)
    if expires_at is not None:
        notice.expires_at = data["expires_at"]
        changed.append("expires_at")
    if target is not None:
        target = _resolve_target(notice.estate, target)
        notice.target, notice.path = target, target.path
        changed += ["target", "path"]
    if pinned is not None and notice.pinned != bool(pinned):
        notice.pinned = bool(pinned)
        changed.append("pinned")
    if changed:
        notice.save(update_fields=[*changed, "updated_at"])
        audit.record(Action.UPDATE, actor=actor, obj=notice, detail={"fields": sorted(set(changed))})
    return notice


@transaction.atomic
def notice_publish(*, actor: Actor, notice: Notice) -> Notice:
    require_estate(actor=actor, estate=notice.estate, perm=Perm.NOTICES_MANAGE, write=True)
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.DRAFT:
        raise Conflict(_("只有草稿可以发布"))
    if notice.expires_at is not None and notice.expires_at <= timezone.now():
        raise ValidationFailed(fields={"expires_at": [_("截止时间必须晚于当前时间")]})
    notice.status = NoticeStatus.PUBLISHED
    notice.published_at = timezone.now()
    notice.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(Action.UPDATE, actor=actor, obj=notice, detail={"status": "published"})
    return notice


@transaction.atomic
def notice_withdraw(*, actor: Actor, notice: Notice, reason: str = "") -> Notice:
    require_estate(actor=actor, estate=notice.estate, perm=Perm.NOTICES_MANAGE, write=True)
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.PUBLISHED:
        raise Conflict(_("只有已发布的通知可以撤回"))
    notice.status = NoticeStatus.WITHDRAWN
    notice.withdrawn_at = timezone.now()
    notice.save(update_fields=["status", "withdrawn_at", "updated_at"])
    audit.record(Action.UPDATE, actor=actor, obj=notice, reason=reason, detail={"status": "withdrawn"})
    return notice


def notice_mark_read(*, actor: Actor, notice: Notice) -> NoticeReceipt:
    """Record that the signed-in resident read ``notice`` (idempotent: the first read time stays).

    The caller fetched ``notice`` through ``selectors.my_notice_get``, so it is published and
    addressed to one of the resident's rooms."""
    person = getattr(actor.user, "person", None) if actor.is_resident else None
    if person is None:
        raise PermissionDenied()
    existing = NoticeReceipt.objects.filter(notice=notice, person=person).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return NoticeReceipt.objects.create(notice=notice, person=person, read_at=timezone.now())
    except IntegrityError:  # a concurrent first read won
        return NoticeReceipt.objects.get(notice=notice, person=person)
