"""Notices API: staff create/edit/publish/withdraw and read receipts; residents' own notices
(/notices/me, reading one marks it read). /notices/inbox is kept for API v1 clients: it reads the
caller's messages (``linli.messaging``, ADR 0011); new clients use /messages."""

from ninja import Query, Router, Status
from ninja.pagination import paginate

from linli.core.api import ERRORS, WRITE_ERRORS, Page, PkPath, actor_of
from linli.messaging import selectors as messaging_selectors
from linli.messaging import services as messaging_services
from linli.notices import selectors, services
from linli.notices.schemas import (
    CountOut,
    InboxFilters,
    MyNoticeOut,
    NoticeFilters,
    NoticeIn,
    NoticeListOut,
    NoticeOut,
    NoticePatchIn,
    NoticeWithdrawIn,
    ReceiptsOut,
    StaffNotificationOut,
)
from linli.places.selectors import estate_get

router = Router()

# --- residents (registered before /{pk}) ------------------------------------------------------


@router.get("/me", response={200: list[MyNoticeOut], **ERRORS}, summary="我的通知（未读在前）")
@paginate(Page)
def my_notices(request):
    return selectors.my_notices(actor=actor_of(request))


@router.get("/me/unread", response={200: CountOut, **ERRORS}, summary="我的未读通知数")
def my_unread(request):
    return {"count": selectors.my_unread_count(actor=actor_of(request))}


@router.get("/me/{pk}", response={200: MyNoticeOut, **ERRORS}, summary="通知详情（同时记为已读）")
def my_notice(request, pk: PkPath):
    actor = actor_of(request)
    notice = selectors.my_notice_get(actor=actor, pk=pk)
    receipt = services.notice_mark_read(actor=actor, notice=notice)
    notice.read_at = receipt.read_at
    return notice


# --- staff inbox -------------------------------------------------------------------------------


@router.get("/inbox", response={200: list[StaffNotificationOut], **ERRORS}, summary="工作人员站内通知")
@paginate(Page)
def inbox(request, filters: Query[InboxFilters]):
    return messaging_selectors.message_list(actor=actor_of(request), **filters.selector_args())


@router.get("/inbox/unread", response={200: CountOut, **ERRORS}, summary="未读站内通知数")
def inbox_unread(request):
    return {"count": messaging_selectors.unread_count(actor_of(request).user)}


@router.post("/inbox/read-all", response={200: CountOut, **ERRORS}, summary="全部标为已读")
def inbox_read_all(request):
    return {"count": messaging_services.message_mark_all_read(actor=actor_of(request))}


@router.post("/inbox/{pk}/read", response={200: StaffNotificationOut, **ERRORS}, summary="标为已读")
def inbox_read(request, pk: PkPath):
    return messaging_services.message_mark_read(actor=actor_of(request), message_id=pk)


# --- staff notices -----------------------------------------------------------------------------


@router.get("", response={200: list[NoticeListOut], **ERRORS}, summary="通知列表（置顶在前）")
@paginate(Page)
def notice_list(request, filters: Query[NoticeFilters]):
    return selectors.notice_list(actor=actor_of(request), **filters.selector_args())


@router.post("", response={201: NoticeOut, **WRITE_ERRORS}, summary="创建通知（可立即发布）")
def notice_create(request, body: NoticeIn):
    actor = actor_of(request)
    estate = estate_get(actor=actor, pk=body.estate_id)
    target = selectors.target_get(actor=actor, pk=body.target_id) if body.target_id else None
    notice = services.notice_create(
        actor=actor, estate=estate, target=target, **body.dict(exclude={"estate_id", "target_id"})
    )
    return Status(201, selectors.notice_get(actor=actor, pk=notice.pk))


@router.get("/{pk}", response={200: NoticeOut, **ERRORS}, summary="通知详情")
def notice_get(request, pk: PkPath):
    return selectors.notice_get(actor=actor_of(request), pk=pk)


@router.patch(
    "/{pk}", response={200: NoticeOut, **WRITE_ERRORS}, summary="修改通知（已发布的只能改置顶和截止时间）"
)
def notice_update(request, pk: PkPath, body: NoticePatchIn):
    actor = actor_of(request)
    notice = selectors.notice_get(actor=actor, pk=pk)
    data = body.dict(exclude_unset=True, exclude_none=True)
    target_id = data.pop("target_id", None)
    target = selectors.target_get(actor=actor, pk=target_id) if target_id else None
    services.notice_update(actor=actor, notice=notice, target=target, **data)
    return selectors.notice_get(actor=actor, pk=pk)


@router.post("/{pk}/publish", response={200: NoticeOut, **WRITE_ERRORS}, summary="发布通知")
def notice_publish(request, pk: PkPath):
    actor = actor_of(request)
    services.notice_publish(actor=actor, notice=selectors.notice_get(actor=actor, pk=pk))
    return selectors.notice_get(actor=actor, pk=pk)


@router.post("/{pk}/withdraw", response={200: NoticeOut, **WRITE_ERRORS}, summary="撤回通知")
def notice_withdraw(request, pk: PkPath, body: NoticeWithdrawIn):
    actor = actor_of(request)
    services.notice_withdraw(actor=actor, notice=selectors.notice_get(actor=actor, pk=pk), reason=body.reason)
    return selectors.notice_get(actor=actor, pk=pk)


@router.get("/{pk}/receipts", response={200: ReceiptsOut, **ERRORS}, summary="阅读回执统计（未读名单脱敏）")
def notice_receipts(request, pk: PkPath):
    stats = selectors.notice_receipts(actor=actor_of(request), pk=pk)
    return {
        "notice_id": stats.notice.pk,
        "recipients": stats.recipients,
        "read": stats.read,
        "read_rate": stats.rate_percent,
        "unread": stats.unread,
    }
