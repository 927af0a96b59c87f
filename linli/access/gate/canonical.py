"""What door-device adapters hand to the access app (pure: no Django). Vendor codecs
(``devices/adapters/<vendor>/codec.py``) turn pushes into these; ``access.events.record_vendor_events``
stores them (device_payloads.md §1.4, §2.3, §8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

VendorKind = Literal["access", "door", "alarm", "status"]


@dataclass(frozen=True, slots=True)
class VendorAccessEvent:
    """One event of an access-control device, normalised.

    * ``kind``: ``access`` (an authentication result: ``result`` allow/deny with ``method``),
      ``door`` (lock/door state: ``door_state``), ``alarm`` (tailgating, forced, duress, tamper:
      ``alarm``), ``status`` (device health: low battery, reader offline, AC off).
    * ``seq``: the device's own event counter (Hikvision ``serialNo``, Dahua ``RecNo``): with the
      device it is the idempotency key.
    * ``employee_no``: the person key on the device (our ``AccessSubject.pseudonym``), if any.
    * ``live``: False for stored events re-uploaded after a reconnect (never raise live alarms).
    * ``raw``: vendor codes kept for the record (major/minor, Method/ErrorCode); never names or images.
    """

    kind: VendorKind
    occurred_at: datetime
    seq: int | None = None
    door_no: int = 1
    direction: Literal["in", "out", "unknown"] = "unknown"
    method: str = ""  # access.models.Method value: card, qr, pin, face, voice, remote, staff
    result: Literal["allow", "deny", ""] = ""
    reason: str = ""  # e.g. no_right, expired, invalid_card, stranger, liveness_failed
    employee_no: str = ""
    card_no: str = ""
    qr_code: str = ""
    door_state: str = ""  # open, closed, lock_open, lock_closed, held_open, button
    alarm: str = ""  # tailgating, forced, duress, tamper, reverse, climbing, fire_button, emergency
    live: bool = True
    raw: dict = field(default_factory=dict)
