"""list_page: the API filter schema read from a page's query string, forgiving of bad values."""

from datetime import date, datetime, timedelta
from typing import Literal

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.utils import timezone
from ninja import Field, Schema
from pydantic import model_validator

from linli.core.api import Id
from linli.core.errors import ValidationFailed
from linli.core.listing import DayEnd, DayStart, known_ordering, list_page, parse_filters, querystring


class Filters(Schema):
    estate: Id | None = None
    state: Literal["open", "closed", "all"] = "all"
    q: str | None = Field(None, max_length=5, title="关键词")
    tags: list[str] = []
    since: DayStart | None = None
    until: DayEnd | None = None


class Ranged(Schema):
    low: int | None = None
    high: int | None = None

    @model_validator(mode="after")
    def ordered(self):
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low > high")
        return self


def get(query: str):
    request = RequestFactory().get("/list/?" + query)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_valid_filters_are_parsed_with_the_schema():
    filters, errors = parse_filters(get("estate=7&state=open&q=ab&tags=a&tags=b").GET, Filters)

    assert (filters.estate, filters.state, filters.q, filters.tags, errors) == (
        7,
        "open",
        "ab",
        ["a", "b"],
        [],
    )


def test_blank_form_fields_count_as_absent():
    filters, errors = parse_filters(get("estate=&state=&q=%20").GET, Filters)

    assert (filters.estate, filters.state, filters.q, errors) == (None, "all", None, [])


def test_a_refused_value_is_dropped_with_a_zh_hans_warning_and_the_rest_kept():
    filters, errors = parse_filters(get("estate=abc&state=open&q=toolong").GET, Filters)

    assert (filters.estate, filters.state, filters.q) == (None, "open", None)
    assert errors == ["筛选条件“estate”的值无效，已忽略", "筛选条件“关键词”的值无效，已忽略"]


def test_a_rule_across_fields_that_still_fails_is_a_400():
    with pytest.raises(ValidationFailed):
        parse_filters(get("low=5&high=1").GET, Ranged)


def test_days_become_the_start_and_the_end_of_the_local_day():
    filters, _ = parse_filters(get("since=2026-10-01&until=2026-10-01").GET, Filters)

    start = timezone.make_aware(datetime(2026, 10, 1))
    assert (filters.since, filters.until) == (start, start + timedelta(days=1))


def test_the_last_representable_day_is_refused_not_a_crash():
    filters, errors = parse_filters(get(f"until={date.max.isoformat()}").GET, Filters)

    assert (filters.until, len(errors)) == (None, 1)


def test_querystring_keeps_the_filters_without_the_page_and_encodes_them():
    assert querystring(get("q=a%26b&page=3&state=&tags=x").GET) == "q=a%26b&tags=x"


def test_list_page_calls_the_selector_with_the_filters_and_paginates():
    request = get("state=open&estate=x&page=2")
    seen = []

    listing = list_page(request, lambda f: seen.append(f) or list(range(25)), Filters, page_size=10)

    assert seen[0].state == "open"
    assert (listing.page.number, list(listing.page.object_list)) == (2, list(range(10, 20)))
    assert listing.query == "state=open&estate=x"
    assert [str(m) for m in get_messages(request)] == ["筛选条件“estate”的值无效，已忽略"]


@pytest.mark.parametrize(("page", "number"), [("x", 1), ("999", 3), ("", 1)])
def test_a_bad_page_number_shows_the_first_or_last_page(page, number):
    listing = list_page(get(f"page={page}"), lambda f: list(range(25)), Filters, page_size=10)

    assert listing.page.number == number


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [("-area", "-area"), ("number", "number"), ("secret", "location"), (None, "location")],
)
def test_an_unknown_sort_key_falls_back_to_the_default(ordering, expected):
    assert known_ordering(ordering, {"area", "number"}, "location") == expected
