"""API building blocks shared by every router: the error envelope, documented error responses, path and id
types, pagination (plain and mapped), query datetimes.

Authentication (tokens, the session) is ``accounts.auth``: it needs users and memberships, above the kernel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, ClassVar

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PaginationBase
from pydantic import AfterValidator, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from linli.core.errors import DomainError, PayloadTooLarge, ValidationFailed
from linli.core.scoping import MAX_ID, Actor
from linli.core.tabular import XLSX_CONTENT_TYPE

log = logging.getLogger("linli.api")

# An id as the database can hold it: in a body or query string (``Id``) or in the URL (``PkPath``).
# Anything else is a 400 before a selector runs.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PkPath = Annotated[int, Path(ge=1, le=MAX_ID)]


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Schema):
    error: ErrorBody


Ordering = Annotated[str, Field(max_length=40, pattern=r"^-?[a-z_]+$")]  # "field" or "-field"

# The documented error responses of an endpoint: ``response={200: Out, **ERRORS}``.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {**ERRORS, 409: ErrorOut}
UPLOAD_ERRORS = {**WRITE_ERRORS, 413: ErrorOut}
DELETED = {204: None, **WRITE_ERRORS}
# ``openapi_extra`` of an endpoint answering with a spreadsheet (an import template).
XLSX_RESPONSE = {
    "responses": {
        200: {
            "description": "XLSX",
            "content": {XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
}


def actor_of(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined, return-value]


def _field_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload", "form")]
        key = ".".join(loc) or "__all__"
        fields.setdefault(key, []).append(str(err.get("msg", "invalid")))
    return fields


def install_error_handlers(api) -> None:
    def envelope(request, status: int, code: str, message: str, fields=None):
        body: dict[str, Any] = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        return api.create_response(request, {"error": body}, status=status)

    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        return envelope(request, exc.status, exc.code, exc.message, exc.fields)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        return envelope(request, 400, ValidationFailed.code, _("提交的数据有误"), _field_errors(exc.errors))

    @api.exception_handler(AuthenticationError)
    def auth_error(request, exc):
        return envelope(request, 401, "unauthenticated", _("请先登录或提供有效的访问令牌"))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return envelope(request, 404, "not_found", _("对象不存在或不在您的管辖范围内"))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc):
        return envelope(request, 413, PayloadTooLarge.code, str(PayloadTooLarge.default_message))

    # A body Django cannot parse (broken multipart, too many fields or files, a dropped upload) is the
    # client's fault: 400, never a 500.
    @api.exception_handler(MultiPartParserError)
    @api.exception_handler(SuspiciousOperation)
    @api.exception_handler(UnreadablePostError)
    def unreadable_body(request, exc):
        return envelope(request, 400, ValidationFailed.code, _("提交的数据有误"))

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        return envelope(request, exc.status_code, "http_error", str(exc))

    @api.exception_handler(Exception)
    def server_error(request, exc):
        log.exception("unhandled API error")
        return envelope(request, 500, "server_error", _("服务器内部错误，请稍后重试"))


class Page(PaginationBase):
    """``?page=1&page_size=20`` (at most 100) → ``{"count", "page", "page_size", "items"}``."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=100000)
        page_size: int = Field(20, ge=1, le=100)

    class Output(Schema):
        count: int
        page: int
        page_size: int
        items: list[Any]

    items_attribute = "items"

    def paginate_queryset(self, queryset, pagination: Input, **params):
        offset = (pagination.page - 1) * pagination.page_size
        return {
            "count": queryset.count(),
            "page": pagination.page,
            "page_size": pagination.page_size,
            "items": list(queryset[offset : offset + pagination.page_size]),
        }


class ListFilters(Schema):
    """The filters of a list, shared by its API endpoint (``Query[...]``) and its console page
    (``core.listing.list_page``). ``selector_args()`` turns them into the selector's keyword
    arguments; ``renamed`` names the few whose keyword differs (``{"estate": "estate_id"}``)."""

    renamed: ClassVar[dict[str, str]] = {}

    def selector_args(self, *, exclude: Collection[str] = ()) -> dict[str, Any]:
        return {self.renamed.get(name, name): value for name, value in self if name not in exclude}


class PatchIn(Schema):
    """The body of a partial update: a field left out keeps its value, so fields are declared
    ``X | None = None``. An explicit ``null`` is refused (400, per field) unless the field is listed in
    ``nullable`` (one the model may hold empty), so it never reaches the database as NULL::

        class RuleFields(PatchIn):
            nullable: ClassVar[frozenset[str]] = frozenset({"value"})
    """

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError("not_null", _("不能为空"))
        return value


class MappedPage(Page):
    """``Page`` whose items are turned into plain values by ``mapper`` (for lists whose output is built
    by a function rather than read from model attributes)::

        @paginate(MappedPage.of(alarm_out))
    """

    mapper: ClassVar[Callable[[Any], Any]] = staticmethod(lambda item: item)

    def paginate_queryset(self, queryset, pagination, **params):
        out = super().paginate_queryset(queryset, pagination, **params)
        out["items"] = [self.mapper(item) for item in out["items"]]
        return out

    @classmethod
    def of(cls, mapper: Callable[[Any], Any]) -> type[MappedPage]:
        """A ``MappedPage`` subclass that maps each item with ``mapper``."""
        return type(f"{cls.__name__}[{mapper.__name__}]", (cls,), {"mapper": staticmethod(mapper)})


def _query_datetime(value: datetime) -> datetime:
    """A datetime from a query string: real-world offsets only (±14:00), stored as UTC. PostgreSQL
    refuses offsets beyond ±15:59, so an absurd one must be a 400, not a database error."""
    offset = value.utcoffset()
    if offset is None:
        return value
    if abs(offset) > timedelta(hours=14):
        raise ValueError("时区偏移须在 ±14:00 之内")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("时间超出可表示的范围") from exc


QueryDateTime = Annotated[datetime, AfterValidator(_query_datetime)]


# Out: "HH:MM:SS" without an offset; in: the same, or with an offset (converted to local time).
LOCAL_TIME_PATTERN = (
    r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?$"
)


def _local_time(value: time) -> time:
    """A time of day from a client, as the wall-clock time of the platform's zone (``TIME_ZONE``) that
    the models' ``TimeField`` columns hold. A time with an offset is converted (in Asia/Shanghai,
    ``08:00+08:00`` and ``00:00Z`` are both 08:00); without one it is taken as local. SQLite refuses an
    aware time and PostgreSQL would drop its offset, so none ever reaches the database."""
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=None)
    if abs(offset) > timedelta(hours=14):
        raise ValueError("时区偏移须在 ±14:00 之内")
    moment = datetime.combine(timezone.localdate(), value)  # today's date: the zone's offset as of now
    return moment.astimezone(timezone.get_default_timezone()).time()


# A time of day in the estate's local time. It goes out as "HH:MM:SS" without an offset, so it is
# documented as that string rather than as ``format: time`` (RFC 3339 partial-time + offset, R76).
LocalTime = Annotated[
    time,
    AfterValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_TIME_PATTERN,
            "description": "本地时间 HH:MM[:SS]；带时区偏移时换算为本地时间",
            "examples": ["08:30:00"],
        }
    ),
]
