"""API schemas for messaging (names prefixed ``Message`` to stay unique in the OpenAPI file)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from ninja import Field, Schema

from linli.core.api import LocalTime
from linli.messaging.models import EXTERNAL_CHANNELS, Category

MessageCategoryCode = Literal[tuple(Category.values)]  # type: ignore[valid-type]
MessageChannelCode = Literal[tuple(str(c) for c in EXTERNAL_CHANNELS)]  # type: ignore[valid-type]


class MessageOut(Schema):
    id: int
    category: str
    category_label: str
    title: str
    body: str
    link: str
    estate_id: int | None
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def resolve_category_label(obj) -> str:
        return str(obj.get_category_display())


class MessageCountOut(Schema):
    count: int


class MessageFilters(Schema):
    unread: bool | None = Field(None, description="true 只看未读，false 只看已读")
    category: MessageCategoryCode | None = None


class MessageCategoryPrefOut(Schema):
    category: str
    label: str
    channels: list[str] = Field(description="除站内外另行发送的渠道")


class MessagePrefsOut(Schema):
    categories: list[MessageCategoryPrefOut]
    quiet_start: time | None = Field(description="免打扰开始（本地时间），期间短信和微信延后到结束时发送")
    quiet_end: time | None
    wechat_bound: bool


class MessageCategoryPrefIn(Schema):
    category: MessageCategoryCode
    channels: list[MessageChannelCode] = Field(max_length=2)


class MessagePrefsIn(Schema):
    categories: list[MessageCategoryPrefIn] = Field(max_length=len(Category.values))
    quiet_start: LocalTime | None = None
    quiet_end: LocalTime | None = None
