"""API types shared by the access sub-routers: error responses, method codes and the page class that
maps each row to its output dict (ids are ``core.api.Id`` / ``PkPath``)."""

from typing import Annotated, Literal

from ninja import Field

from linli.core.api import ErrorOut, Page

MethodCode = Literal["qr", "card", "pin", "face", "voice", "staff", "remote", "plate"]
Ordering = Annotated[str | None, Field(None, max_length=20)]

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {**ERRORS, 409: ErrorOut}


class MappedPage(Page):
    mapper = staticmethod(lambda x: x)

    def paginate_queryset(self, queryset, pagination, **params):
        out = super().paginate_queryset(queryset, pagination, **params)
        out["items"] = [self.mapper(x) for x in out["items"]]
        return out
