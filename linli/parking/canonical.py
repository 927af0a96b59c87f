"""The normalised plate read that camera adapters hand to the parking app (pure: no Django;
device_payloads.md §3.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate recognised by a gate camera.

    ``plate`` as read (province character first, no separator); ``direction`` ``in``/``out`` from the
    camera's configured orientation (``unknown`` when the adapter cannot tell: the access point's
    direction decides); ``confidence`` 0–100 when the vendor gives a percentage, else None with the raw
    value in ``confidence_raw``; ``source_event_id`` the vendor's event id (Hikvision ``UUID``, Dahua
    ``GroupID/IndexInGroup``) → idempotency key with the device; ``picture_refs`` are part names or
    fetch URLs, never image bytes (R64: pictures stay out of the default path).
    """

    plate: str
    occurred_at: datetime
    direction: Literal["in", "out", "unknown"] = "unknown"
    plate_color: str = ""
    vehicle_type: str = ""
    vehicle_color: str = ""
    lane: int | None = None
    confidence: int | None = None
    confidence_raw: int | None = None
    source_event_id: str = ""
    picture_refs: tuple[str, ...] = ()
