"""API shapes for notices, receipts and the staff inbox."""

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

from linli.core.api import ListFilters
from linli.notices.models import NoticeCategory, NoticeStatus
from linli.people.schemas import Id, Text


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


DateTime = Annotated[
    datetime,
    Field(ge=datetime(2000, 1, 1), le=datetime(2200, 12, 31)),
    AfterValidator(_aware),
]
CategoryCode = Literal[tuple(NoticeCategory.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(NoticeStatus.values)]  # type: ignore[valid-type]


class NoticeIn(Schema):
    estate_id: Id
    target_id: Id | None = Field(None, description="楼栋或单元；不填为全小区")
    title: Text(120, 1)
    body: Text(20000, 1) = Field(..., description="纯文本，换行保留")
    category: CategoryCode = "notice"
    pinned: bool = False
    expires_at: DateTime | None = None
    publish: bool = Field(False, description="创建后立即发布")


class NoticePatchIn(Schema):
    title: Text(120, 1) | None = None
    body: Text(20000, 1) | None = None
    category: CategoryCode | None = None
    target_id: Id | None = None
    pinned: bool | None = None
    expires_at: DateTime | None = None


class NoticeWithdrawIn(Schema):
    reason: Text(300) = ""


class NoticeOut(Schema):
    id: int
    estate_id: int
    target_id: int
    target: str
    title: str
    body: str
    category: str
    category_label: str
    pinned: bool
    status: str
    published_at: datetime | None
    expires_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_target(obj) -> str:
        return obj.target.name

    @staticmethod
    def resolve_category_label(obj) -> str:
        return str(obj.get_category_display())


class NoticeListOut(NoticeOut):
    read_count: int = 0


class UnreadOut(Schema):
    person_id: int
    name: str
    rooms: list[str]


class ReceiptsOut(Schema):
    notice_id: int
    recipients: int
    read: int
    read_rate: str = Field(..., description="已读率（百分比文本；无收件人时为 —）")
    unread: list[UnreadOut]


class MyNoticeOut(Schema):
    id: int
    title: str
    body: str
    category: str
    category_label: str
    pinned: bool
    published_at: datetime | None
    read_at: datetime | None = None

    @staticmethod
    def resolve_category_label(obj) -> str:
        return str(obj.get_category_display())


# A message of the caller's inbox in the v1 shape (``kind`` is the message category); a comment, not
# a docstring, so the published schema stays as it was.
class StaffNotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    estate_id: int | None
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.category


class CountOut(Schema):
    count: int


class InboxFilters(ListFilters):
    unread: bool | None = Field(None, description="true 只看未读，false 只看已读")


class NoticeFilters(ListFilters):
    renamed: ClassVar[dict[str, str]] = {"estate": "estate_id"}
    estate: Id | None = None
    status: StatusCode | None = None
    category: CategoryCode | None = None
    q: Text(50) | None = Field(None, description="标题包含的文字")
