"""Messaging API: my messages (list, unread count, mark read, mark all read) and my preferences.
Everyone — resident or staff — sees only their own; another user's message id answers 404."""

from typing import Annotated

from ninja import Path, Query, Router
from ninja.pagination import paginate

from linli.core.api import ErrorOut, Page, actor_of
from linli.messaging import selectors, services
from linli.messaging.schemas import (
    MessageCountOut,
    MessageFilters,
    MessageOut,
    MessagePrefsIn,
    MessagePrefsOut,
)

router = Router()

PkPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("", response={200: list[MessageOut], **ERRORS}, summary="我的消息（新的在前）")
@paginate(Page)
def message_list(request, filters: Query[MessageFilters]):
    return selectors.message_list(actor=actor_of(request), unread=filters.unread, category=filters.category)


@router.get("/unread", response={200: MessageCountOut, **ERRORS}, summary="我的未读消息数")
def message_unread(request):
    return {"count": selectors.unread_count(actor_of(request).user)}


@router.post("/read-all", response={200: MessageCountOut, **ERRORS}, summary="全部标为已读")
def message_read_all(request):
    return {"count": services.message_mark_all_read(actor=actor_of(request))}


@router.get("/prefs", response={200: MessagePrefsOut, **ERRORS}, summary="我的消息接收设置")
def prefs_get(request):
    return selectors.prefs_get(actor=actor_of(request))


@router.put("/prefs", response={200: MessagePrefsOut, **ERRORS}, summary="修改消息接收设置")
def prefs_put(request, body: MessagePrefsIn):
    actor = actor_of(request)
    services.prefs_update(
        actor=actor,
        channels={c.category: list(c.channels) for c in body.categories},
        quiet_start=body.quiet_start,
        quiet_end=body.quiet_end,
    )
    return selectors.prefs_get(actor=actor)


@router.get("/{pk}", response={200: MessageOut, **ERRORS}, summary="消息详情")
def message_get(request, pk: PkPath):
    return selectors.message_get(actor=actor_of(request), pk=pk)


@router.post("/{pk}/read", response={200: MessageOut, **ERRORS}, summary="标为已读")
def message_read(request, pk: PkPath):
    return services.message_mark_read(actor=actor_of(request), message_id=pk)
