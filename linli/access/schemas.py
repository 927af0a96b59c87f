"""API types shared by the access sub-routers (``points``, ``insights``): ids, error responses and the
page class that maps each row to its output dict."""

from typing import Annotated, Literal

from ninja import Field, Path

from linli.core.api import ErrorOut, Page

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
PkPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
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
