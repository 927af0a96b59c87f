"""API types shared by the access sub-routers (ids, error responses and mapped pages come from
``core.api``)."""

from typing import Annotated, Literal

from ninja import Field

MethodCode = Literal["qr", "card", "pin", "face", "voice", "staff", "remote", "plate"]
Ordering = Annotated[str | None, Field(None, max_length=20)]
