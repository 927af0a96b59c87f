"""Console list pages read their filters like the API lists: with the same pydantic filter schema.

``list_page`` validates ``request.GET`` with the schema the API list declares (``Query[Filters]``, a
``core.api.ListFilters`` in the app's ``schemas.py``), calls the scoped selector with the validated
filters and paginates the result::

    listing = list_page(
        request,
        lambda f: selectors.notice_list(actor=actor, **f.selector_args()),
        NoticeFilters,
        page_size=20,
    )
    return render(request, "notices/list.html", {"page": listing.page, "query": listing.query})

A page is read by people, not programs: a filter value the schema refuses (``?floor=abc``) is
dropped with a zh-Hans warning shown on the page, and the list is shown without it, instead of the
API's 400. Only when the remaining values still fail (a rule across fields) is the answer a 400
error page (``ValidationFailed``). Empty form fields (``?state=``) count as absent, and the page
number is forgiving (``?page=x`` is the first page, past the end the last one), as Django's
``Paginator.get_page`` is.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import AfterValidator, BaseModel, ValidationError

from linli.core.errors import ValidationFailed

F = TypeVar("F", bound=BaseModel)


def _day_start(value: date) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


def _day_end(value: date) -> datetime:
    try:
        return _day_start(value) + timedelta(days=1)
    except OverflowError as exc:
        raise ValueError("日期超出可表示的范围") from exc


# A page's date input (``<input type="date">``, 2026-10-01) as the moment the API filter takes: the
# start of that day, or for an "until" field the end of it (the start of the next day).
DayStart = Annotated[date, AfterValidator(_day_start)]
DayEnd = Annotated[date, AfterValidator(_day_end)]


@dataclass(frozen=True)
class ListPage(Generic[F]):
    """What a list template needs: the page of rows, the validated filters, the query string of the
    filters for the previous/next links (``?{{ query }}&page=2``) and the warnings about dropped
    filter values."""

    page: Page
    filters: F
    query: str
    errors: tuple[str, ...] = ()


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin in (list, tuple, set, frozenset)


def _raw(params: Mapping[str, Any], Filters: type[BaseModel]) -> dict[str, Any]:
    """The schema's fields present in the query, empty values left out (a form's blank inputs)."""
    getlist = (
        params.getlist if isinstance(params, QueryDict) else (lambda k: [params[k]] if k in params else [])
    )
    raw: dict[str, Any] = {}
    for name, field in Filters.model_fields.items():
        key = field.alias or name
        values = [v.strip() for v in getlist(key) if isinstance(v, str) and v.strip()]
        if values:
            raw[key] = values if _is_list(field.annotation) else values[-1]
    return raw


def _messages(exc: ValidationError, Filters: type[BaseModel]) -> tuple[set[str], list[str]]:
    bad: set[str] = set()
    out: list[str] = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        if not loc:
            continue
        key = str(loc[0])
        if key in bad:
            continue
        bad.add(key)
        field = Filters.model_fields.get(key)
        label = (field.title or field.description or key) if field is not None else key
        out.append(_("筛选条件“%(name)s”的值无效，已忽略") % {"name": label})
    return bad, out


def parse_filters(params: Mapping[str, Any], Filters: type[F]) -> tuple[F, list[str]]:
    """Validate query parameters with ``Filters``; refused values are dropped and described.

    Raises ``ValidationFailed`` (400) when the filters cannot be made valid by dropping values."""
    raw = _raw(params, Filters)
    try:
        return Filters.model_validate(raw), []
    except ValidationError as exc:
        bad, warnings = _messages(exc, Filters)
    try:
        return Filters.model_validate({k: v for k, v in raw.items() if k not in bad}), warnings
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors():
            key = ".".join(str(p) for p in error.get("loc") or ()) or "__all__"
            fields.setdefault(key, []).append(_("筛选条件无效"))
        raise ValidationFailed(fields=fields) from exc


def querystring(params: Mapping[str, Any], *, drop: Iterable[str] = ("page",)) -> str:
    """The non-empty query parameters except ``drop``, url-encoded (for pagination links)."""
    dropped = set(drop)
    items = params.lists() if isinstance(params, QueryDict) else ((k, [v]) for k, v in params.items())
    return urlencode([(k, v) for k, vs in items if k not in dropped for v in vs if v not in ("", None)])


def known_ordering(ordering: str | None, allowed: Collection[str], default: str | None) -> str | None:
    """A page's sort key when the selector knows it, else ``default``: a page falls back where the
    API answers 400 (an old bookmark must not break the list)."""
    return ordering if ordering and ordering.lstrip("-") in allowed else default


def page_of(request: HttpRequest, rows: Any, *, page_size: int) -> Page:
    """The page ``?page=`` asks for, of a list without filters (a bad number is the first page,
    past the end the last one)."""
    return Paginator(rows, page_size).get_page(request.GET.get("page"))


def page_filters(request: HttpRequest, Filters: type[F]) -> tuple[F, tuple[str, ...]]:
    """``request.GET`` validated with ``Filters`` for a page that is not a paged list (a board, a
    chart); dropped values are flashed as warnings, as on list pages."""
    filters, errors = parse_filters(request.GET, Filters)
    for message in errors:
        messages.warning(request, message)
    return filters, tuple(errors)


def list_page(
    request: HttpRequest,
    selector: Callable[[F], Any],
    Filters: type[F],
    *,
    page_size: int,
) -> ListPage[F]:
    """Validate ``request.GET`` with ``Filters``, call ``selector(filters)`` (a scoped queryset or a
    list) and return the requested page. Dropped filter values are flashed as warnings."""
    filters, errors = page_filters(request, Filters)
    page = page_of(request, selector(filters), page_size=page_size)
    return ListPage(page=page, filters=filters, query=querystring(request.GET), errors=errors)
