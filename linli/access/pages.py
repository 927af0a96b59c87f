"""Helpers shared by the console and H5 pages of the access sub-packages: error
text of a domain error, the query string of a filtered list, a choice from a fixed set, the estate
filter of the actor's scope and a URL by name."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from linli.core.errors import DomainError
from linli.core.views import positive_int
from linli.places.selectors import estate_list


def error(exc: DomainError) -> str:
    if exc.fields:
        return "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    return exc.message


def query(g, *, drop=("page",)) -> str:
    return urlencode({k: v for k, v in g.items() if k not in drop and v})


def choice(value, allowed) -> str | None:
    return value if value in allowed else None


def estate_filter(actor, g) -> tuple[list, int | None]:
    estates = list(estate_list(actor=actor))
    estate_id = positive_int(g.get("estate"))
    if estate_id and estate_id not in {e.pk for e in estates}:
        estate_id = None
    return estates, estate_id


def url(name: str) -> str:
    return reverse(name)
